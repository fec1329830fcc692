//! The public's cases of a unit and month (群众反映办理统计): received,
//! answered within three working days, late, open, overdue, founded; a
//! page to print and `.xlsx`. For those over the unit, like its 台账.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, Response};

use super::units::overseen;
use super::{WebCaller, WebError};
use crate::cases::stats::{self, CaseStats};
use crate::cases::CaseError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "web/case_stats.html")]
struct StatsPage<'a> {
    me: &'a str,
    month_label: String,
    s: CaseStats,
}

fn web_error(e: CaseError) -> WebError {
    match e {
        CaseError::BadMonth => WebError::Invalid(e.zh()),
        other => other.into(),
    }
}

/// `GET /web/units/{unit}/cases/{month}`
pub async fn stats_page(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((unit_id, month)): Path<(String, String)>,
) -> Result<Html<String>, WebError> {
    let unit = overseen(&state, &caller, &unit_id).await?;
    let s = stats::of_month(&state, &unit, &month)
        .await
        .map_err(web_error)?;
    let page = StatsPage {
        me: &caller.0.user.name,
        month_label: crate::publications::week::zh_month(&s.month),
        s,
    };
    Ok(Html(page.render().map_err(WebError::internal)?))
}

/// `GET /web/units/{unit}/cases/{month}/export.xlsx`
pub async fn stats_export(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((unit_id, month)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let unit = overseen(&state, &caller, &unit_id).await?;
    let s = stats::of_month(&state, &unit, &month)
        .await
        .map_err(web_error)?;
    let bytes = stats::xlsx(&s).map_err(WebError::internal)?;
    Ok(crate::reviews::xlsx::download_named(
        &format!("cases-{}-{}.xlsx", s.unit_id, s.month),
        bytes,
    ))
}
