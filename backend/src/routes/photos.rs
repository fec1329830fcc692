//! Photo upload (resumable) and download (access-controlled), over HTTP.
//!
//! Protocol (docs/photo-upload.md): `HEAD /api/v1/blobs/{sha256}` tells how
//! many bytes the server holds (`Upload-Offset`) and whether the caller's
//! account has sent the whole photo already (`Upload-Complete: 1`, then
//! nothing needs sending). `PATCH` sends the next chunk at `Upload-Offset`
//! with the total in `Upload-Length`; a chunk is kept only whole and synced
//! to disk before the answer. The last chunk makes the server check the
//! hash, then check the image, remove its metadata, turn it upright and
//! make a thumbnail (`crate::photos::upload`). `GET /api/v1/blobs/{sha256}`
//! serves the photo to whoever may see it (`crate::photos::view`);
//! `…/thumbnail` also to anyone once a publication shows the photo (the
//! publication's own page serves it without login).

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sync_core::upload::{PatchHeaders, PatchRefusal};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::photos::upload::{self, UploadGuard, MAX_CHUNK};
use crate::photos::view::{self, PhotoSize};
use crate::photos::{self, parse_hash};
use crate::routes::RawBody;
use crate::state::AppState;
use crate::storage::BlobRow;

const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_COMPLETE: HeaderName = HeaderName::from_static("upload-complete");

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
    let sha = parse_hash(&sha)?;
    if let Some(blob) = upload::uploaded_by(&state, &caller.user.id, &sha).await? {
        return Ok((StatusCode::OK, offset_headers(blob.size as u64, true)).into_response());
    }
    let len = state
        .blobs
        .staged_len(&caller.device_id, &sha)
        .await
        .map_err(photos::PhotoError::from)?;
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
        .and_then(|v| v.parse::<usize>().ok());
    // A chunk declared longer than allowed is refused from its header,
    // before a byte of it is read (the connection is closed after the
    // answer: its body is still on it).
    if declared.is_some_and(|n| n > MAX_CHUNK) {
        return Err(ApiError::PayloadTooLarge);
    }
    let declared = declared.unwrap_or(MAX_CHUNK);
    let _reserved = state
        .upload_bytes
        .reserve(declared)
        .await
        .map_err(ApiError::internal)?;
    let headers = request.headers().clone();
    let RawBody(body) = RawBody::from_request(request, &state).await?;
    let sha = parse_hash(&sha)?;
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
    if let Some(blob) = upload::uploaded_by(&state, &caller.user.id, &sha).await? {
        // This account already sent this photo: nothing to transfer.
        return Ok((StatusCode::OK, offset_headers(blob.size as u64, true)).into_response());
    }
    let _guard = UploadGuard::take(&state.uploads, &caller.device_id, &sha)?;
    let have = state
        .blobs
        .staged_len(&caller.device_id, &sha)
        .await
        .map_err(photos::PhotoError::from)?;
    let step = match patch.step(body.len(), have) {
        Ok(step) => step,
        Err(refusal) => return Ok(patch_refused(refusal)),
    };
    state
        .blobs
        .append_staged(&caller.device_id, &sha, step.offset, body.to_vec())
        .await
        .map_err(photos::PhotoError::from)?;
    if !step.completes {
        return Ok((StatusCode::NO_CONTENT, offset_headers(step.end, false)).into_response());
    }
    let blob = upload::finish(
        &state,
        &caller.user.id,
        &caller.device_id,
        &sha,
        step.length,
    )
    .await?;
    Ok(finished(&blob))
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

async fn photo(
    state: &AppState,
    caller: &Caller,
    sha: &str,
    size: PhotoSize,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let file = view::open(state, &caller.user, sha, size).await?;
    Ok(photos::http::answer(state, &file, headers).await?)
}

/// The photo as stored: no metadata, upright, at the size uploaded.
pub async fn get_full(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    photo(&state, &caller, &sha, PhotoSize::Original, &headers).await
}

/// The thumbnail (long edge 320 px).
pub async fn get_thumbnail(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    photo(&state, &caller, &sha, PhotoSize::Thumbnail, &headers).await
}
