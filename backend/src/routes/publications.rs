//! The public side of weekly publications: the page in the style of an
//! official-account article at `/p/{unit}/{week}`, the same as JSON at
//! `/api/v1/publications/{unit}/{week}`, and the photos it shows. No login:
//! a publication is public by design, and only what it shows is served.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;

use crate::error::ApiError;
use crate::photos::store::thumb_key;
use crate::publications::amendments::{amended_days, amendments_of, Amendment};
use crate::publications::content::Publication;
use crate::publications::notice::NoticeFrame;
use crate::publications::render;
use crate::publications::week::IsoWeek;
use crate::publications::{self as publ};
use crate::state::AppState;
use crate::storage::PublicationRow;

fn week(s: &str) -> Result<IsoWeek, ApiError> {
    IsoWeek::parse(s).map_err(|e| ApiError::bad_request("bad_week", e.to_string()))
}

async fn stored(
    state: &AppState,
    unit: &str,
    w: &str,
) -> Result<(PublicationRow, Publication), ApiError> {
    let w = week(w)?;
    let row = state
        .store
        .publication(unit, &w.to_string())
        .await?
        .ok_or(ApiError::NotFound)?;
    // Masked again as served: a publication stored before the masking
    // rules grew, or a field they did not cover then, is not trusted.
    let p = publ::masking::mask_publication(publ::parse(&row)?);
    Ok((row, p))
}

/// The publication as JSON, with the days amended since.
pub async fn json(
    State(state): State<AppState>,
    Path((unit, w)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (row, p) = stored(&state, &unit, &w).await?;
    let amended: Vec<String> = amended_days(&state.store, &row)
        .await?
        .into_iter()
        .collect();
    let mut value = serde_json::to_value(&p).map_err(ApiError::internal)?;
    value["amended_days"] = serde_json::json!(amended);
    Ok(Json(value).into_response())
}

/// The public page.
pub async fn page(
    State(state): State<AppState>,
    Path((unit, w)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (row, p) = stored(&state, &unit, &w).await?;
    let amended = amended_days(&state.store, &row).await?;
    let photo_base = format!("/p/{}/{}/photos", row.unit_id, row.week);
    let frame = NoticeFrame::load(&state.store, &row.unit_id, &p.unit_name, p.published_at).await?;
    let html = render::article(&p, &frame, &photo_base, &amended, None)?;
    Ok((
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        )],
        Html(html),
    )
        .into_response())
}

/// A photo's thumbnail, served only when this publication shows it.
pub async fn photo(
    State(state): State<AppState>,
    Path((unit, w, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let w = week(&w)?;
    let sha = sync_core::validate::PhotoHash::parse(&sha)
        .map_err(|_| ApiError::NotFound)?
        .to_string();
    if !state
        .store
        .photo_in_publication(&unit, &w.to_string(), &sha)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let etag = format!("\"{sha}-t\"");
    if headers.get(header::IF_NONE_MATCH).map(|v| v.as_bytes()) == Some(etag.as_bytes()) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let bytes = state
        .blobs
        .get(&thumb_key(&sha))
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::ETAG,
                HeaderValue::from_str(&etag).map_err(ApiError::internal)?,
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/v1/publications/{unit}/{week}/amendments`: for leaders and
/// supervisors over the unit, every change made to a published day after
/// publication (what changed is in `/api/v1/documents/{doc_id}` and its
/// `/changes`).
pub async fn amendments(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Path((unit, w)): Path<(String, String)>,
) -> Result<Json<Vec<Amendment>>, ApiError> {
    let over = match (caller.user.role, &caller.user.scope_unit_id) {
        (sync_core::Role::Cadre, _) | (_, None) => false,
        (_, Some(scope)) => state.store.unit_in_scope(&unit, scope).await?,
    };
    if !over {
        return Err(ApiError::NotFound);
    }
    let (row, _) = stored(&state, &unit, &w).await?;
    Ok(Json(amendments_of(&state.store, &row).await?))
}
