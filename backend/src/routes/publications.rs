//! The public side of weekly publications: the page in the style of an
//! official-account article at `/p/{unit}/{week}`, the same as JSON at
//! `/api/v1/publications/{unit}/{week}`, and the photos it shows. No login:
//! a publication is public by design, and only what it shows is served.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;

use crate::error::ApiError;
use crate::photos::store::thumb_key;
use crate::publications::amendments::{amended_days, amendments_of, Amendment};
use crate::publications::monthly::MonthPart;
use crate::publications::notice::{zh_date, NoticeFrame};
use crate::publications::render::withdrawal_line;
use crate::publications::render::{self, NoticeLink, VersionsView};
use crate::publications::versions::{names_of, shown, Notice, Shown};
use crate::publications::{self as publ};
use crate::publications::{Period, PublishError};
use crate::state::AppState;
use crate::storage::{Unit, VersionAction, VersionRow};

fn period(s: &str) -> Result<Period, ApiError> {
    Period::parse(s).ok_or_else(|| {
        ApiError::bad_request(
            "bad_week",
            "a notice is named by its ISO week (2026-W47) or its month's start or end (2026-12-start, 2026-11-end)",
        )
    })
}

/// An error of a public page: a page in Chinese for people who followed a
/// link or typed an address, not the API's JSON.
pub struct PageError(ApiError);

impl<E: Into<ApiError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (title, message) = match &self.0 {
            ApiError::NotFound => (
                "没有找到这份公示",
                "地址可能有误，或者这份公示还没有发布。请到本单位的公示栏查看全部公示。",
            ),
            ApiError::BadRequest { .. } => (
                "地址有误",
                "公示的地址格式不对，请核对链接，或到本单位的公示栏查看全部公示。",
            ),
            _ => ("暂时无法显示", "服务器暂时出错，请稍后再试。"),
        };
        // The API's answer logs what went wrong and sets the status.
        let status = self.0.into_response().status();
        match render::public_error(title, message) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => status.into_response(),
        }
    }
}

/// The published notice of `unit` for week `w`.
async fn notice(state: &AppState, unit: &str, w: &str) -> Result<Notice, ApiError> {
    let w = period(w)?;
    Notice::load(&state.store, unit, &w.to_string())
        .await?
        .ok_or(ApiError::NotFound)
}

/// What a version says as served: a weekly notice masked again (one
/// stored before the masking rules grew, or a field they did not cover
/// then, is not trusted; a month notice is younger than the rules).
fn served(v: &VersionRow) -> Result<Shown, ApiError> {
    Ok(match shown(v)? {
        Shown::Week(p) => Shown::Week(publ::masking::mask_publication(p)),
        other => other,
    })
}

/// Where the public reads version `n` of a notice (the current one at the
/// notice's own address).
fn public_url(notice: &Notice, n: i64) -> Option<String> {
    let c = notice.current();
    if !notice.public(n) {
        return None;
    }
    Some(if n == c.version {
        format!("/p/{}/{}", c.unit_id, c.week)
    } else {
        format!("/p/{}/{}/v/{n}", c.unit_id, c.week)
    })
}

#[derive(serde::Serialize)]
struct VersionJson {
    version: i64,
    action: VersionAction,
    reason: String,
    /// Who approved (version 1), corrected or withdrew it; empty when it
    /// published by itself.
    by: String,
    /// ms since the epoch.
    at: i64,
    current: bool,
    /// Where the public reads it (null once withdrawn).
    url: Option<String>,
}

fn versions_json(notice: &Notice, names: &BTreeMap<String, String>) -> Vec<VersionJson> {
    notice
        .versions()
        .iter()
        .map(|v| VersionJson {
            version: v.version,
            action: v.action,
            reason: v.reason.clone(),
            by: names.get(&v.by_user).cloned().unwrap_or_default(),
            at: v.created_at,
            current: v.version == notice.current().version,
            url: public_url(notice, v.version),
        })
        .collect()
}

/// Version `n` of a notice as JSON: the publication (or, for a
/// withdrawal, what is left of it), its status and every version.
async fn version_value(
    state: &AppState,
    notice: &Notice,
    n: i64,
) -> Result<serde_json::Value, ApiError> {
    let v = notice.version(n).ok_or(ApiError::NotFound)?;
    let current = notice.current();
    let names = names_of(&state.store, notice)
        .await
        .map_err(PublishError::from)?;
    let mut value = match served(v)? {
        Shown::Week(mut p) => {
            if n != current.version {
                p = p.without_photos();
            }
            serde_json::to_value(&p).map_err(ApiError::internal)?
        }
        Shown::Month(m) => serde_json::to_value(&m).map_err(ApiError::internal)?,
        Shown::Withdrawn => serde_json::json!({
            "unit_id": v.unit_id,
            "unit_name": state.store.unit(&v.unit_id).await?.map(|u| u.name).unwrap_or_default(),
            "week": v.week,
            "title": v.title,
            "withdrawal": { "reason": v.reason, "at": v.created_at,
                            "by": names.get(&v.by_user).cloned().unwrap_or_default() },
        }),
    };
    // The days amended since the current version (what stands now); a
    // month notice's plans change by design (销号), its changes are the
    // month-end notice's to show.
    let weekly = matches!(Period::parse(&v.week), Some(Period::Week(_)));
    let amended: Vec<String> = if n == current.version && weekly {
        amended_days(&state.store, &current.as_publication())
            .await?
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    value["amended_days"] = serde_json::json!(amended);
    // The notice's key, for every kind (a month notice's content has none).
    value["week"] = serde_json::json!(v.week);
    value["version"] = serde_json::json!(n);
    value["status"] = serde_json::json!(if n != current.version {
        "superseded"
    } else if notice.withdrawn() {
        "withdrawn"
    } else {
        "published"
    });
    value["approved_by"] = serde_json::json!(names.get(&notice.first().by_user));
    value["versions"] =
        serde_json::to_value(versions_json(notice, &names)).map_err(ApiError::internal)?;
    Ok(value)
}

/// `GET /api/v1/publications/{unit}/{week}`: the current version as JSON,
/// with the days amended since and every version.
pub async fn json(
    State(state): State<AppState>,
    Path((unit, w)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let notice = notice(&state, &unit, &w).await?;
    let n = notice.current().version;
    Ok(Json(version_value(&state, &notice, n).await?).into_response())
}

/// `GET /api/v1/publications/{unit}/{week}/versions/{n}`: one version
/// (none once a withdrawal took it down).
pub async fn version_json(
    State(state): State<AppState>,
    Path((unit, w, n)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let notice = notice(&state, &unit, &w).await?;
    let n = version_number(&n)?;
    if !notice.public(n) {
        return Err(ApiError::NotFound);
    }
    Ok(Json(version_value(&state, &notice, n).await?).into_response())
}

fn version_number(n: &str) -> Result<i64, ApiError> {
    n.parse::<i64>()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| ApiError::bad_request("bad_version", "a version is a number from 1"))
}

/// A public page: caches keep it but ask each time (a withdrawal or a
/// correction must reach the next reader at once, not after a cache's
/// lifetime).
fn cacheable(html: String) -> Response {
    (
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, no-cache"),
        )],
        Html(html),
    )
        .into_response()
}

/// The page of version `n` of a notice, as the public reads it.
async fn render_version(
    state: &AppState,
    headers: &HeaderMap,
    notice: &Notice,
    n: i64,
) -> Result<String, ApiError> {
    let v = notice.version(n).ok_or(ApiError::NotFound)?;
    let names = names_of(&state.store, notice)
        .await
        .map_err(PublishError::from)?;
    let versions = VersionsView::of(notice, n, &names, |k| public_url(notice, k));
    let unit_name = state
        .store
        .unit(&v.unit_id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let url = publ::qr::notice_url(
        state.config.public_url.as_deref(),
        headers,
        &v.unit_id,
        &v.week,
    );
    match served(v)? {
        Shown::Month(m) => {
            let frame = NoticeFrame::load(&state.store, &v.unit_id, &m.unit_name, m.published_at)
                .await?
                .at(url);
            Ok(render::month_article(&m, &frame, None, &versions)?)
        }
        Shown::Week(p) => {
            let current = notice.current();
            let (p, amended) = if n == current.version {
                let amended = amended_days(&state.store, &current.as_publication()).await?;
                (p, amended)
            } else {
                (p.without_photos(), Default::default())
            };
            let photo_base = format!("/p/{}/{}/photos", v.unit_id, v.week);
            let frame = NoticeFrame::load(&state.store, &v.unit_id, &p.unit_name, p.published_at)
                .await?
                .at(url);
            Ok(render::article(
                &p,
                &frame,
                &photo_base,
                &amended,
                None,
                &versions,
            )?)
        }
        Shown::Withdrawn => {
            let frame =
                NoticeFrame::load(&state.store, &v.unit_id, &unit_name, v.created_at).await?;
            let line = withdrawal_line(v, &names);
            Ok(render::withdrawn(
                &v.title, &unit_name, &line, &frame, &versions, None,
            )?)
        }
    }
}

/// `GET /p/{unit}/{week}`: the public page of the current version.
pub async fn page(
    State(state): State<AppState>,
    Path((unit, w)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let notice = notice(&state, &unit, &w).await?;
    let n = notice.current().version;
    Ok(cacheable(
        render_version(&state, &headers, &notice, n).await?,
    ))
}

/// `GET /p/{unit}/{week}/v/{n}`: an earlier version, marked as replaced.
pub async fn version_page(
    State(state): State<AppState>,
    Path((unit, w, n)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let notice = notice(&state, &unit, &w).await?;
    let n = version_number(&n)?;
    if !notice.public(n) {
        return Err(ApiError::NotFound.into());
    }
    Ok(cacheable(
        render_version(&state, &headers, &notice, n).await?,
    ))
}

/// The unit whose notices cover `unit_id`: itself when it publishes
/// (townships and departments), else the nearest one above it (a village's
/// township); none above (a county).
async fn publishing_unit_of(state: &AppState, unit_id: &str) -> Result<Unit, ApiError> {
    let units = state.store.units().await?;
    let mut at = units.iter().find(|u| u.id == unit_id);
    for _ in 0..64 {
        let Some(u) = at else { break };
        if matches!(u.level.as_str(), "township" | "department") {
            return Ok(u.clone());
        }
        at = u
            .parent_id
            .as_deref()
            .and_then(|p| units.iter().find(|x| x.id == p));
    }
    Err(ApiError::NotFound)
}

/// The notices that cover a unit (see `publishing_unit_of`), newest first,
/// as links.
async fn unit_notices(
    state: &AppState,
    unit_id: &str,
) -> Result<(Unit, Vec<NoticeLink>), ApiError> {
    let unit = publishing_unit_of(state, unit_id).await?;
    let mut out = Vec::new();
    let mut published = state.store.unit_publications(&unit.id).await?;
    // Newest first by the time they cover, whatever the kind (the keys of
    // weeks and months do not sort together): a week by its Sunday, a
    // month's commitments by its first day, its month-end by its last.
    published.sort_by_cached_key(|(key, at)| {
        std::cmp::Reverse((Period::parse(key).map(|p| p.covers_until()), *at))
    });
    for (w, created_at) in published {
        let Some(notice) = Notice::load(&state.store, &unit.id, &w).await? else {
            continue;
        };
        let published = crate::china::at_ms(created_at)
            .map(|t| zh_date(t.date_naive()))
            .unwrap_or_default();
        out.push(NoticeLink {
            title: notice.current().title.clone(),
            url: format!("/p/{}/{}", unit.id, w),
            week: w,
            published,
            action: notice.current().action,
        });
    }
    Ok((unit, out))
}

/// `GET /p/{unit}`: the unit's notice board, every notice newest first,
/// and its posts' 权力清单 and 责任清单 in force (a village's address leads
/// to its township's board, which shows the village's lists too).
pub async fn unit_page(
    State(state): State<AppState>,
    Path(unit): Path<String>,
) -> Result<Response, PageError> {
    let (board, notices) = unit_notices(&state, &unit).await?;
    if board.id != unit {
        // A village's notices are its township's: one board, one address.
        return Ok(Redirect::to(&format!("/p/{}", board.id)).into_response());
    }
    let frame = NoticeFrame::load(
        &state.store,
        &board.id,
        &board.name,
        crate::storage::now_ms(),
    )
    .await?;
    let posts = crate::post_lists::board_lists(&state.store, &board).await?;
    Ok(cacheable(render::notices(
        &board.id,
        &board.name,
        &notices,
        &frame,
        &posts,
    )?))
}

#[derive(serde::Serialize)]
struct NoticeItem {
    title: String,
    /// The notice's key: an ISO week (`2026-W47`), or a month's start or
    /// end (`2026-12-start`, `2026-11-end`).
    week: String,
    /// `week`, `month_start` or `month_end`.
    kind: &'static str,
    url: String,
    /// `publish` (as first published), `correct` or `withdraw`: what its
    /// current version did.
    status: VersionAction,
}

/// `GET /api/v1/publications/{unit}`: the notices that cover the unit
/// (a village's are its township's, and the answer names the township),
/// newest first.
pub async fn unit_json(
    State(state): State<AppState>,
    Path(unit): Path<String>,
) -> Result<Response, ApiError> {
    let (board, notices) = unit_notices(&state, &unit).await?;
    let items: Vec<NoticeItem> = notices
        .into_iter()
        .map(|n| NoticeItem {
            kind: match Period::parse(&n.week) {
                Some(Period::Month(k)) if k.part == MonthPart::Start => "month_start",
                Some(Period::Month(_)) => "month_end",
                _ => "week",
            },
            title: n.title,
            week: n.week,
            url: n.url,
            status: n.action,
        })
        .collect();
    Ok(
        Json(serde_json::json!({ "unit_id": board.id, "unit_name": board.name, "notices": items }))
            .into_response(),
    )
}

/// A photo's thumbnail, served only when this publication shows it.
pub async fn photo(
    State(state): State<AppState>,
    Path((unit, w, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let w = period(&w)?;
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
    public_thumbnail(&state, &sha, "t", &headers).await
}

/// The thumbnail of photo `sha` to the public: revalidated each time (a
/// 304 by its ETag, `"{sha}-{tag}"`), so a photo stops being served the
/// moment what showed it (a notice, a card) no longer does.
pub(crate) async fn public_thumbnail(
    state: &AppState,
    sha: &str,
    tag: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let etag = format!("\"{sha}-{tag}\"");
    if headers.get(header::IF_NONE_MATCH).map(|v| v.as_bytes()) == Some(etag.as_bytes()) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let bytes = state
        .blobs
        .get(&thumb_key(sha))
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, no-cache"),
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
/// the current version was published (what changed is in `/api/v1/documents/{doc_id}` and its
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
    let notice = notice(&state, &unit, &w).await?;
    Ok(Json(
        amendments_of(&state.store, &notice.current().as_publication()).await?,
    ))
}
