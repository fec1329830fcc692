//! A photo file as an HTTP answer, the same for the API and the web
//! pages: immutable caching, `ETag` and `304`, the type sniffed from the
//! bytes, and for the original an RFC 9530 `Repr-Digest`.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::view::PhotoFile;
use super::PhotoError;
use crate::state::AppState;

/// The answer for `file` to a request with `headers`.
pub async fn answer(
    state: &AppState,
    file: &PhotoFile,
    headers: &HeaderMap,
) -> Result<Response, PhotoError> {
    let cache = (
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    // The etag is made of hex digits and quotes only.
    let etag_value = HeaderValue::from_str(&file.etag).map_err(|_| PhotoError::NotFound)?;
    if headers.get(header::IF_NONE_MATCH).map(|v| v.as_bytes()) == Some(file.etag.as_bytes()) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), cache],
        )
            .into_response());
    }
    let bytes = state
        .blobs
        .get(&file.key)
        .await?
        .ok_or(PhotoError::NotFound)?;
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
    if let Some(digest) = file.digest.as_deref().and_then(|d| hex::decode(d).ok()) {
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
    Ok(response)
}
