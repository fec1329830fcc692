//! Photo upload (resumable) and download (access-controlled).
//!
//! Protocol (docs/photo-upload.md): `HEAD /api/v1/blobs/{sha256}` tells how
//! many bytes the server holds (`Upload-Offset`) and whether the caller's
//! account has sent the whole photo already (`Upload-Complete: 1`, then
//! nothing needs sending). `PATCH` sends the next chunk at `Upload-Offset`
//! with the total in `Upload-Length`; a chunk is kept only whole and synced
//! to disk before the answer. The last chunk makes the server check the
//! hash, then check the image, remove its metadata, turn it upright and
//! make a thumbnail (`crate::photos`, under the image budget); the cleaned
//! file is stored under the photo's name. `GET /api/v1/blobs/{sha256}` serves
//! the photo to its uploaders and to whoever may read a document that
//! references it *and* whose owner uploaded it; `…/thumbnail` also to anyone
//! once a publication shows the photo (the publication's own page serves it
//! without login).

use std::collections::HashSet;
use std::sync::Mutex;

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sha2::{Digest, Sha256};
use sync_core::upload::{PatchHeaders, PatchRefusal};
use sync_core::validate::PhotoHash;

use crate::app::AppState;
use crate::auth::Caller;
use crate::blobs::{photo_key, thumb_key};
use crate::error::ApiError;
use crate::photos::{Checked, ImageWorkError};
use crate::routes::RawBody;
use crate::storage::BlobRow;
use crate::sync::{may_read, read_scope};

/// Largest chunk one PATCH may carry.
pub const MAX_CHUNK: usize = 1024 * 1024;
/// Chunk bodies held in memory at once, whoever sends them: a PATCH
/// reserves what it declares before its body is read, and waits its turn
/// past this.
pub const UPLOAD_BYTES_IN_MEMORY: usize = 32 * MAX_CHUNK;

const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_COMPLETE: HeaderName = HeaderName::from_static("upload-complete");

/// Uploads being written right now, (device, sha): one writer each.
#[derive(Debug, Default)]
pub struct UploadsInProgress(Mutex<HashSet<(String, String)>>);

struct UploadGuard<'a> {
    set: &'a UploadsInProgress,
    key: (String, String),
}

impl<'a> UploadGuard<'a> {
    fn take(set: &'a UploadsInProgress, device: &str, sha: &str) -> Result<Self, ApiError> {
        let key = (device.to_owned(), sha.to_owned());
        let mut held = set.0.lock().unwrap_or_else(|p| p.into_inner());
        if !held.insert(key.clone()) {
            return Err(ApiError::Conflict(
                "another upload of this photo from this device is in progress".into(),
            ));
        }
        Ok(Self { set, key })
    }
}

impl Drop for UploadGuard<'_> {
    fn drop(&mut self) {
        let mut held = self.set.0.lock().unwrap_or_else(|p| p.into_inner());
        held.remove(&self.key);
    }
}

fn parse_sha(s: &str) -> Result<String, ApiError> {
    PhotoHash::parse(s).map(|h| h.to_string()).map_err(|_| {
        ApiError::bad_request(
            "bad_hash",
            "the path must end in a SHA-256 of 64 lower-case hex digits",
        )
    })
}

/// A refused `PATCH` as the HTTP answer the protocol gives it.
fn patch_refused(refusal: PatchRefusal) -> Response {
    match refusal {
        PatchRefusal::OffsetConflict { held } => offset_conflict(held),
        PatchRefusal::TooLarge { .. } => ApiError::PayloadTooLarge.into_response(),
        PatchRefusal::BadHeader(_) | PatchRefusal::ZeroLength | PatchRefusal::ChunkPastLength => {
            ApiError::bad_request(refusal.code(), refusal.to_string()).into_response()
        }
    }
}

fn offset_headers(offset: u64, complete: bool) -> [(HeaderName, HeaderValue); 2] {
    [
        (UPLOAD_OFFSET, HeaderValue::from(offset)),
        (
            UPLOAD_COMPLETE,
            HeaderValue::from_static(if complete { "1" } else { "0" }),
        ),
    ]
}

/// The photo, if the caller's account has sent all of its bytes: then
/// nothing needs sending. Someone else's upload does not count: the bytes
/// are the proof that the caller holds the photo, and what the caller's
/// documents may show.
async fn uploaded_by_caller(
    state: &AppState,
    caller: &Caller,
    sha: &str,
) -> Result<Option<BlobRow>, ApiError> {
    match state.store.blob(sha).await? {
        Some(blob) if state.store.is_uploader(sha, &caller.user.id).await? => Ok(Some(blob)),
        _ => Ok(None),
    }
}

/// How much of a photo the server holds for this device.
pub async fn head(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    let sha = parse_sha(&sha)?;
    if let Some(blob) = uploaded_by_caller(&state, &caller, &sha).await? {
        return Ok((StatusCode::OK, offset_headers(blob.size as u64, true)).into_response());
    }
    let len = state
        .blobs
        .staged_len(&caller.device_id, &sha)
        .await
        .map_err(ApiError::internal)?;
    Ok((StatusCode::OK, offset_headers(len, false)).into_response())
}

#[derive(serde::Serialize)]
struct Finished {
    sha256: String,
    size: u64,
    width: u32,
    height: u32,
}

/// Send the next chunk of a photo.
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    // Room for the body, then the body, before any answer: an answer sent
    // before the body is read leaves the rest of it on the connection,
    // which then cannot carry the client's next request. (The route's
    // limit refuses a longer body while it is read.)
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(MAX_CHUNK, |n| n.min(MAX_CHUNK));
    let _reserved = state
        .upload_bytes
        .reserve(declared)
        .await
        .map_err(ApiError::internal)?;
    let headers = request.headers().clone();
    let RawBody(body) = RawBody::from_request(request, &state).await?;
    let sha = parse_sha(&sha)?;
    // The headers are judged before anything is read from storage; the
    // decision itself is `sync_core::upload` (sans I/O, fuzzed).
    let value = |name: &HeaderName| headers.get(name).map(HeaderValue::as_bytes);
    let patch = match PatchHeaders::parse(
        value(&UPLOAD_OFFSET),
        value(&UPLOAD_LENGTH),
        state.photo_limits.max_bytes,
    ) {
        Ok(patch) => patch,
        Err(refusal) => return Ok(patch_refused(refusal)),
    };
    if let Some(blob) = uploaded_by_caller(&state, &caller, &sha).await? {
        // This account already sent this photo: nothing to transfer.
        return Ok((StatusCode::OK, offset_headers(blob.size as u64, true)).into_response());
    }
    let _guard = UploadGuard::take(&state.uploads, &caller.device_id, &sha)?;
    let have = state
        .blobs
        .staged_len(&caller.device_id, &sha)
        .await
        .map_err(ApiError::internal)?;
    let step = match patch.step(body.len(), have) {
        Ok(step) => step,
        Err(refusal) => return Ok(patch_refused(refusal)),
    };
    state
        .blobs
        .append_staged(&caller.device_id, &sha, step.offset, body.to_vec())
        .await
        .map_err(ApiError::internal)?;
    if !step.completes {
        return Ok((StatusCode::NO_CONTENT, offset_headers(step.end, false)).into_response());
    }
    finish(&state, &caller, &sha, step.length).await
}

fn offset_conflict(have: u64) -> Response {
    let body = crate::error::ErrorBody {
        code: "offset_mismatch".into(),
        message: PatchRefusal::OffsetConflict { held: have }.to_string(),
    };
    (
        StatusCode::CONFLICT,
        offset_headers(have, false),
        Json(body),
    )
        .into_response()
}

fn refused(e: ImageWorkError) -> ApiError {
    match e {
        ImageWorkError::Refused(e) => ApiError::bad_request(e.code(), e.to_string()),
        other => ApiError::internal(other),
    }
}

async fn finish(
    state: &AppState,
    caller: &Caller,
    sha: &str,
    length: u64,
) -> Result<Response, ApiError> {
    // Room for the file before it is read: the image work's memory is a
    // budget of bytes (`crate::photos`).
    let turn = state
        .image_budget
        .file_turn(length)
        .await
        .map_err(ApiError::internal)?;
    let bytes = state
        .blobs
        .read_staged(&caller.device_id, sha)
        .await
        .map_err(ApiError::internal)?;
    let discard = || async {
        if let Err(e) = state.blobs.discard_staged(&caller.device_id, sha).await {
            tracing::warn!(sha, error = %e, "cannot discard a staged upload");
        }
    };
    if hex::encode(Sha256::digest(&bytes)) != sha {
        drop(turn);
        discard().await;
        return Err(ApiError::bad_request(
            "hash_mismatch",
            "the bytes do not have the SHA-256 named in the path; upload again from 0",
        ));
    }
    if let Some(blob) = state.store.blob(sha).await? {
        // Another account's upload of the same photo finished first: these
        // bytes prove that this account holds the photo too.
        drop(turn);
        state.store.add_uploader(sha, &caller.user.id).await?;
        discard().await;
        return Ok(finished(&blob));
    }
    let limits = state.photo_limits;
    let checked = match turn.plan(bytes, limits).await {
        Ok((bytes, turn)) => turn.check(bytes, limits).await,
        Err(e) => Err(e),
    };
    let checked = match checked {
        Ok(c) => c,
        Err(e) => {
            discard().await;
            return Err(refused(e));
        }
    };
    let blob = store_checked(state, sha, length, &caller.user.id, checked).await?;
    discard().await;
    Ok(finished(&blob))
}

/// The answer to the last chunk.
fn finished(blob: &BlobRow) -> Response {
    let size = blob.size as u64;
    let body = Finished {
        sha256: blob.sha256.clone(),
        size,
        width: blob.width as u32,
        height: blob.height as u32,
    };
    (StatusCode::CREATED, offset_headers(size, true), Json(body)).into_response()
}

/// Write a checked photo's files, then its row: the row is what says the
/// photo is there.
async fn store_checked(
    state: &AppState,
    sha: &str,
    length: u64,
    uploader: &str,
    checked: Checked,
) -> Result<BlobRow, ApiError> {
    tracing::info!(
        sha,
        cleaning = checked.cleaning.as_str(),
        uploaded = length,
        stored = checked.stored.len(),
        "photo stored"
    );
    let stored_sha256 = hex::encode(Sha256::digest(&checked.stored));
    let (width, height) = (i64::from(checked.width), i64::from(checked.height));
    state
        .blobs
        .put(&photo_key(sha), checked.stored)
        .await
        .map_err(ApiError::internal)?;
    state
        .blobs
        .put(&thumb_key(sha), checked.thumbnail)
        .await
        .map_err(ApiError::internal)?;
    let blob = BlobRow {
        sha256: sha.to_owned(),
        size: length as i64,
        width,
        height,
        uploaded_by: uploader.to_owned(),
        stored_sha256: Some(stored_sha256),
    };
    state.store.insert_blob(&blob).await?;
    Ok(blob)
}

/// Clean a photo stored as uploaded (before the server cleaned photos):
/// the same check as an upload, its files replaced by the clean ones. A
/// photo the check now refuses is withheld (`None`).
pub async fn clean_stored(state: &AppState, blob: &BlobRow) -> Result<Option<BlobRow>, ApiError> {
    let sha = blob.sha256.as_str();
    let turn = state
        .image_budget
        .file_turn(blob.size as u64)
        .await
        .map_err(ApiError::internal)?;
    let Some(bytes) = state
        .blobs
        .get(&photo_key(sha))
        .await
        .map_err(ApiError::internal)?
    else {
        return Ok(None);
    };
    let limits = state.photo_limits;
    let checked = match turn.plan(bytes, limits).await {
        Ok((bytes, turn)) => turn.check(bytes, limits).await,
        Err(e) => Err(e),
    };
    let checked = match checked {
        Ok(c) => c,
        Err(ImageWorkError::Refused(e)) => {
            tracing::warn!(sha, error = %e, "a photo stored before photos were cleaned fails the check; withheld");
            return Ok(None);
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    let stored_sha256 = hex::encode(Sha256::digest(&checked.stored));
    let (width, height) = (i64::from(checked.width), i64::from(checked.height));
    state
        .blobs
        .put(&photo_key(sha), checked.stored)
        .await
        .map_err(ApiError::internal)?;
    state
        .blobs
        .put(&thumb_key(sha), checked.thumbnail)
        .await
        .map_err(ApiError::internal)?;
    state
        .store
        .set_blob_cleaned(sha, &stored_sha256, width, height)
        .await?;
    Ok(Some(BlobRow {
        width,
        height,
        stored_sha256: Some(stored_sha256),
        ..blob.clone()
    }))
}

/// Clean up to `limit` photos stored as uploaded (the hourly task; a
/// photo asked for is cleaned at once). Returns how many were cleaned.
pub async fn clean_stored_photos(state: &AppState, limit: i64) -> Result<usize, ApiError> {
    let mut cleaned = 0;
    for sha in state.store.uncleaned_blobs(limit).await? {
        if let Some(blob) = state.store.blob(&sha).await? {
            if clean_stored(state, &blob).await?.is_some() {
                cleaned += 1;
            }
        }
    }
    Ok(cleaned)
}

/// Which file of a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoSize {
    /// The photo as stored (cleaned), at the size it was uploaded.
    Original,
    /// Long edge 320 px: what a publication shows.
    Thumbnail,
}

/// The photo, if the caller may see it at this size: the original to its
/// uploaders and to whoever may read a document that references it and
/// whose owner uploaded it; the thumbnail also to anyone once a
/// publication shows it. Otherwise 404, as for a photo that does not exist.
async fn may_view(
    state: &AppState,
    caller: &Caller,
    sha: &str,
    size: PhotoSize,
) -> Result<BlobRow, ApiError> {
    let blob = state.store.blob(sha).await?.ok_or(ApiError::NotFound)?;
    if state.store.is_uploader(sha, &caller.user.id).await?
        || (size == PhotoSize::Thumbnail && state.store.photo_is_published(sha).await?)
    {
        return Ok(blob);
    }
    let scope = read_scope(&state.store, &caller.user).await?;
    for owner in state.store.photo_owners(sha).await? {
        if may_read(&state.store, &scope, &owner).await? {
            return Ok(blob);
        }
    }
    Err(ApiError::NotFound)
}

async fn serve_blob(
    state: &AppState,
    blob: &BlobRow,
    size: PhotoSize,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    // A photo stored before photos were cleaned is cleaned before it is
    // served.
    let cleaned;
    let blob = match &blob.stored_sha256 {
        Some(_) => blob,
        None => {
            cleaned = clean_stored(state, blob).await?.ok_or(ApiError::NotFound)?;
            &cleaned
        }
    };
    let sha = &blob.sha256;
    let stored = blob.stored_sha256.as_deref().unwrap_or(sha);
    let (key, etag) = match size {
        // The validator of the original is the hash of what is served; it
        // is the photo's name when the upload was clean already.
        PhotoSize::Original => (photo_key(sha), format!("\"{stored}\"")),
        PhotoSize::Thumbnail => (thumb_key(sha), format!("\"{sha}-t\"")),
    };
    let cache = (
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    let etag_value = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    if headers.get(header::IF_NONE_MATCH).map(|v| v.as_bytes()) == Some(etag.as_bytes()) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), cache],
        )
            .into_response());
    }
    let bytes = state
        .blobs
        .get(&key)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let kind = sync_core::photo_strip::ImageKind::sniff(&bytes)
        .unwrap_or(sync_core::photo_strip::ImageKind::Jpeg);
    let mut response = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind.mime())),
            (header::ETAG, etag_value),
            cache,
        ],
        bytes,
    )
        .into_response();
    if size == PhotoSize::Original {
        // RFC 9530: what a client can check the download against.
        if let Ok(digest) = hex::decode(stored) {
            use base64::Engine;
            let value = format!(
                "sha-256=:{}:",
                base64::engine::general_purpose::STANDARD.encode(digest)
            );
            if let Ok(v) = HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static("repr-digest"), v);
            }
        }
    }
    Ok(response)
}

/// A photo or its thumbnail for `caller`, if they may see it (the web
/// pages' photos go through here too).
pub async fn photo_for(
    state: &AppState,
    caller: &Caller,
    sha: &str,
    thumbnail: bool,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let size = if thumbnail {
        PhotoSize::Thumbnail
    } else {
        PhotoSize::Original
    };
    let sha = parse_sha(sha)?;
    let blob = may_view(state, caller, &sha, size).await?;
    serve_blob(state, &blob, size, headers).await
}

/// The photo as stored: no metadata, upright, at the size uploaded.
pub async fn get_full(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    photo_for(&state, &caller, &sha, false, &headers).await
}

/// The thumbnail (long edge 320 px).
pub async fn get_thumbnail(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    photo_for(&state, &caller, &sha, true, &headers).await
}

/// Remove photos no document references, finished more than `grace_ms` ago.
pub async fn collect_garbage(state: &AppState, grace_ms: i64) -> Result<usize, ApiError> {
    let before = crate::storage::now_ms() - grace_ms;
    let mut removed = 0;
    for sha in state.store.unreferenced_blobs(before).await? {
        if state.store.delete_unreferenced_blob(&sha).await? {
            state
                .blobs
                .delete(&photo_key(&sha))
                .await
                .map_err(ApiError::internal)?;
            state
                .blobs
                .delete(&thumb_key(&sha))
                .await
                .map_err(ApiError::internal)?;
            removed += 1;
        }
    }
    Ok(removed)
}
