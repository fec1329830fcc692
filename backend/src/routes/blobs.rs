//! Photo upload (resumable) and download (access-controlled).
//!
//! Protocol (docs/photo-upload.md): `HEAD /api/v1/blobs/{sha256}` tells how
//! many bytes the server holds (`Upload-Offset`) and whether the photo is
//! complete (`Upload-Complete: 1`, then nothing needs sending). `PATCH` sends
//! the next chunk at `Upload-Offset` with the total in `Upload-Length`; a
//! chunk is kept only whole and synced to disk before the answer. The last
//! chunk makes the server check the hash and the image and make a
//! thumbnail. `GET /api/v1/blobs/{sha256}` and `…/thumbnail` serve a photo to
//! whoever may read a document that references it.

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
use crate::photos::check_and_thumbnail;
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

/// How much of a photo the server holds for this device.
pub async fn head(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    let sha = parse_sha(&sha)?;
    if let Some(blob) = state.store.blob(&sha).await? {
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
    if let Some(blob) = state.store.blob(&sha).await? {
        // Someone already uploaded this photo: nothing to transfer.
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

async fn finish(
    state: &AppState,
    caller: &Caller,
    sha: &str,
    length: u64,
) -> Result<Response, ApiError> {
    // A turn at the image work before the photo is read: photos in memory
    // at once (each up to the size limit) are as many as the turns.
    let permit = state
        .image_slots
        .clone()
        .acquire_owned()
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
        discard().await;
        return Err(ApiError::bad_request(
            "hash_mismatch",
            "the bytes do not have the SHA-256 named in the path; upload again from 0",
        ));
    }
    let limits = state.photo_limits;
    let (bytes, checked) = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let checked = check_and_thumbnail(&bytes, &limits);
        (bytes, checked)
    })
    .await
    .map_err(ApiError::internal)?;
    let checked = match checked {
        Ok(c) => c,
        Err(e) => {
            discard().await;
            return Err(ApiError::bad_request(e.code(), e.to_string()));
        }
    };
    state
        .blobs
        .put(&photo_key(sha), bytes)
        .await
        .map_err(ApiError::internal)?;
    state
        .blobs
        .put(&thumb_key(sha), checked.thumbnail)
        .await
        .map_err(ApiError::internal)?;
    state
        .store
        .insert_blob(&BlobRow {
            sha256: sha.to_owned(),
            size: length as i64,
            width: i64::from(checked.width),
            height: i64::from(checked.height),
            uploaded_by: caller.user.id.clone(),
        })
        .await?;
    discard().await;
    let body = Finished {
        sha256: sha.to_owned(),
        size: length,
        width: checked.width,
        height: checked.height,
    };
    Ok((
        StatusCode::CREATED,
        offset_headers(length, true),
        Json(body),
    )
        .into_response())
}

/// May the caller see this photo? Its uploader may, whoever may read a
/// document that references it, and anyone once a publication shows it.
async fn may_view(state: &AppState, caller: &Caller, sha: &str) -> Result<BlobRow, ApiError> {
    let blob = state.store.blob(sha).await?.ok_or(ApiError::NotFound)?;
    if blob.uploaded_by == caller.user.id || state.store.photo_is_published(sha).await? {
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
    key: &str,
    etag: String,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
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
        .get(key)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (header::ETAG, etag_value),
            cache,
        ],
        bytes,
    )
        .into_response())
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
    let sha = parse_sha(sha)?;
    may_view(state, caller, &sha).await?;
    if thumbnail {
        serve_blob(state, &thumb_key(&sha), format!("\"{sha}-t\""), headers).await
    } else {
        serve_blob(state, &photo_key(&sha), format!("\"{sha}\""), headers).await
    }
}

/// The photo as uploaded.
pub async fn get_full(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sha = parse_sha(&sha)?;
    may_view(&state, &caller, &sha).await?;
    serve_blob(&state, &photo_key(&sha), format!("\"{sha}\""), &headers).await
}

/// The thumbnail (long edge 320 px).
pub async fn get_thumbnail(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sha = parse_sha(&sha)?;
    may_view(&state, &caller, &sha).await?;
    serve_blob(&state, &thumb_key(&sha), format!("\"{sha}-t\""), &headers).await
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
