//! The public side of weekly publications: the page in the style of an
//! official-account article at `/p/{unit}/{week}`, the same as JSON at
//! `/api/v1/publications/{unit}/{week}`, and the photos it shows. No login:
//! a publication is public by design, and only what it shows is served.

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, FixedOffset};

use crate::app::AppState;
use crate::blobs::thumb_key;
use crate::error::ApiError;
use crate::publications::content::Publication;
use crate::publications::week::{zh_day, IsoWeek};
use crate::publications::{self as publ};
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
    let p = publ::masking::mask_publication(publ::parse(&row).map_err(ApiError::internal)?);
    Ok((row, p))
}

/// Days their owner edited after the publication was made (a supervisor's
/// comment is not an amendment of the record).
pub async fn amended_days(
    state: &AppState,
    row: &PublicationRow,
) -> Result<BTreeSet<String>, ApiError> {
    Ok(amendments_of(state, row)
        .await?
        .into_iter()
        .map(|a| a.day)
        .collect())
}

/// The publication as JSON, with the days amended since.
pub async fn json(
    State(state): State<AppState>,
    Path((unit, w)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (row, p) = stored(&state, &unit, &w).await?;
    let amended: Vec<String> = amended_days(&state, &row).await?.into_iter().collect();
    let mut value = serde_json::to_value(&p).map_err(ApiError::internal)?;
    value["amended_days"] = serde_json::json!(amended);
    Ok(Json(value).into_response())
}

#[derive(Template)]
#[template(path = "publication.html")]
struct Page<'a> {
    p: &'a Publication,
    published: String,
    week_range: String,
    photo_base: &'a str,
    amended: &'a BTreeSet<String>,
    /// The bar above the article in the supervisors' preview.
    preview: Option<&'a PreviewBar>,
}

/// What the supervisors' preview shows above the article.
#[derive(Debug, Default)]
pub struct PreviewBar {
    pub note: String,
    pub back_url: String,
    /// Where the publish form posts, while it is not published.
    pub publish_action: Option<String>,
    pub public_url: Option<String>,
    pub amendments_url: Option<String>,
}

/// The article's HTML: the public page, and the supervisors' preview (with
/// its own photo route and a banner).
pub fn render_article(
    p: &Publication,
    photo_base: &str,
    amended: &BTreeSet<String>,
    preview: Option<&PreviewBar>,
) -> Result<String, ApiError> {
    let w = week(&p.week)?;
    let china = FixedOffset::east_opt(8 * 3600)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("offset")))?;
    let published = DateTime::from_timestamp_millis(p.published_at)
        .map(|t| t.with_timezone(&china).format("%Y年%m月%d日").to_string())
        .unwrap_or_default();
    Page {
        p,
        published,
        week_range: format!("{}至{}", zh_day(w.monday()), zh_day(w.sunday())),
        photo_base,
        amended,
        preview,
    }
    .render()
    .map_err(ApiError::internal)
}

/// The public page.
pub async fn page(
    State(state): State<AppState>,
    Path((unit, w)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (row, p) = stored(&state, &unit, &w).await?;
    let amended = amended_days(&state, &row).await?;
    let photo_base = format!("/p/{}/{}/photos", row.unit_id, row.week);
    let html = render_article(&p, &photo_base, &amended, None)?;
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

/// One change that arrived after a publication was made, to a document it
/// was made from.
#[derive(Debug, serde::Serialize)]
pub struct Amendment {
    pub doc_id: String,
    pub day: String,
    /// Who made the change, and on which device.
    pub user_id: String,
    pub device_id: String,
    /// When the server received it (ms since the epoch).
    pub received_at: i64,
    pub change_hash: String,
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
    Ok(Json(amendments_of(&state, &row).await?))
}

/// Every change its owner made to a published day that arrived after the
/// publication.
pub async fn amendments_of(
    state: &AppState,
    row: &PublicationRow,
) -> Result<Vec<Amendment>, ApiError> {
    let heads: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_str(&row.heads).map_err(ApiError::internal)?;
    let mut out = Vec::new();
    for (doc_id, published) in &heads {
        let owner = doc_id.split(':').nth(1).unwrap_or_default();
        for c in state.store.change_log(doc_id).await? {
            if c.user_id == owner
                && c.received_at > row.created_at
                && !published.contains(&c.change_hash)
            {
                out.push(Amendment {
                    doc_id: doc_id.clone(),
                    day: doc_id.rsplit(':').next().unwrap_or_default().to_owned(),
                    user_id: c.user_id,
                    device_id: c.device_id,
                    received_at: c.received_at,
                    change_hash: c.change_hash,
                });
            }
        }
    }
    out.sort_by(|a, b| (a.received_at, &a.doc_id).cmp(&(b.received_at, &b.doc_id)));
    Ok(out)
}
