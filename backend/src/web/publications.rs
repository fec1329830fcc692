//! Weekly publications for supervisors: the preview before Monday, the
//! publish button, and the amendments made after publication.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::units::{overseen, publishes};
use super::{china_now, china_time, WebCaller, WebError};
use crate::publications::amendments::{amended_days, amendments_of};
use crate::publications::notice::NoticeFrame;
use crate::publications::render::{self, PreviewBar};
use crate::publications::week::IsoWeek;
use crate::publications::{self as publ, draft};
use crate::state::AppState;
use crate::storage::Unit;
use sync_core::Role;

fn week(s: &str) -> Result<IsoWeek, WebError> {
    IsoWeek::parse(s).map_err(|_| WebError::Invalid(format!("周次“{s}”格式应为 2026-W47。")))
}

/// Publishing is the supervisors' (and admins') act.
fn may_publish(caller: &WebCaller) -> bool {
    matches!(caller.0.user.role, Role::Supervisor | Role::Admin)
}

/// A week is published from the Monday after it, at the publish hour (the
/// hour the Monday task publishes it anyway): records synced on Monday
/// morning make it in.
fn due(state: &AppState, week: IsoWeek) -> bool {
    let now = china_now().naive_local();
    week.sunday()
        .succ_opt()
        .and_then(|monday| monday.and_hms_opt(state.config.publish_hour, 0, 0))
        .is_some_and(|at| now >= at)
}

async fn publishing_unit(
    state: &AppState,
    caller: &WebCaller,
    unit_id: &str,
) -> Result<Unit, WebError> {
    let unit = overseen(state, caller, unit_id).await?;
    if !publishes(&unit) {
        return Err(WebError::Invalid(format!(
            "{}不单独公示；周公示由乡镇和部门发布。",
            unit.name
        )));
    }
    Ok(unit)
}

/// `GET /web/units/{unit}/weeks/{week}`: the publication as it stands, or
/// the preview of what it would say now, with the publish button.
pub async fn preview(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((unit_id, w)): Path<(String, String)>,
) -> Result<Html<String>, WebError> {
    let unit = publishing_unit(&state, &caller, &unit_id).await?;
    let week = week(&w)?;
    let base = format!("/web/units/{}/weeks/{}", unit.id, week);
    let back_url = format!("/web/units/{}?week={}", unit.id, week);
    let html = match state.store.publication(&unit.id, &week.to_string()).await? {
        Some(row) => {
            // As the public page shows it.
            let p = publ::masking::mask_publication(publ::parse(&row).map_err(WebError::internal)?);
            let amended = amended_days(&state.store, &row).await?;
            let bar = PreviewBar {
                note: format!("已于{}公示。", china_time(row.created_at)),
                back_url,
                publish_action: None,
                public_url: Some(format!("/p/{}/{}", row.unit_id, row.week)),
                amendments_url: Some(format!("{base}/amendments")),
            };
            let frame =
                NoticeFrame::load(&state.store, &unit.id, &p.unit_name, p.published_at).await?;
            render::article(&p, &frame, "/web/photos", &amended, Some(&bar))?
        }
        None => {
            let now = china_now();
            let d = draft(
                &state.store,
                &unit.id,
                week,
                &state.config.holidays,
                now.timestamp_millis(),
            )
            .await
            .map_err(WebError::internal)?;
            let ended = week.sunday() < now.date_naive();
            let due = due(&state, week);
            let hour = state.config.publish_hour;
            let bar = PreviewBar {
                note: match (ended, due) {
                    (false, _) => "预览：这一周还没有结束，内容还会变化。".into(),
                    (true, false) => format!("预览：尚未公示，将于下周一 {hour}:00 自动公示。"),
                    (true, true) if may_publish(&caller) => "预览：尚未公示，可以确认公示。".into(),
                    (true, true) => "预览：尚未公示，将由督导人员或系统自动公示。".into(),
                },
                back_url,
                publish_action: (due && may_publish(&caller)).then(|| base.clone()),
                public_url: None,
                amendments_url: None,
            };
            let frame = NoticeFrame::load(
                &state.store,
                &unit.id,
                &d.publication.unit_name,
                d.publication.published_at,
            )
            .await?;
            render::article(
                &d.publication,
                &frame,
                "/web/photos",
                &BTreeSet::new(),
                Some(&bar),
            )?
        }
    };
    Ok(Html(html))
}

/// `POST /web/units/{unit}/weeks/{week}`: publish a finished week now (the
/// same as the Monday task; a second press changes nothing).
pub async fn publish(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((unit_id, w)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let unit = publishing_unit(&state, &caller, &unit_id).await?;
    let week = week(&w)?;
    if !may_publish(&caller) {
        return Err(WebError::Forbidden("周公示由督导人员发布。".into()));
    }
    if !due(&state, week) {
        return Err(WebError::Invalid(format!(
            "这一周的公示要到下周一 {}:00 以后才能发布，好让周一早上同步的记录都能收入。",
            state.config.publish_hour
        )));
    }
    let (row, made) = publ::publish_week(&state.store, &unit.id, week, &state.config.holidays)
        .await
        .map_err(WebError::internal)?;
    if made {
        tracing::info!(unit = %row.unit_id, week = %row.week, by = %caller.0.user.id, "published from the web pages");
    }
    Ok(Redirect::to(&format!("/web/units/{}/weeks/{}", row.unit_id, row.week)).into_response())
}

pub struct AmendmentView {
    pub day: String,
    pub kind: &'static str,
    pub who: String,
    pub device: String,
    pub at: String,
    pub link: String,
}

#[derive(Template)]
#[template(path = "web/amendments.html")]
struct AmendmentsPage<'a> {
    me: &'a str,
    unit_id: String,
    unit_name: String,
    week: String,
    title: String,
    published: String,
    items: Vec<AmendmentView>,
}

/// `GET /web/units/{unit}/weeks/{week}/amendments`
pub async fn amendments(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((unit_id, w)): Path<(String, String)>,
) -> Result<Html<String>, WebError> {
    let unit = publishing_unit(&state, &caller, &unit_id).await?;
    let week = week(&w)?;
    let row = state
        .store
        .publication(&unit.id, &week.to_string())
        .await?
        .ok_or(WebError::NotFound)?;
    let names: BTreeMap<String, String> = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let items = amendments_of(&state.store, &row)
        .await?
        .into_iter()
        .map(|a| {
            let owner = a.doc_id.split(':').nth(1).unwrap_or_default().to_owned();
            AmendmentView {
                kind: if a.doc_id.starts_with("night") {
                    "夜间活动"
                } else {
                    "工作日志"
                },
                who: names
                    .get(&a.user_id)
                    .cloned()
                    .unwrap_or_else(|| a.user_id.clone()),
                device: a.device_id,
                at: china_time(a.received_at),
                link: format!(
                    "/web/users/{owner}?from={}&to={}#{}",
                    a.day,
                    a.day,
                    super::cadre::anchor(&a.doc_id)
                ),
                day: a.day,
            }
        })
        .collect();
    let page = AmendmentsPage {
        me: &caller.0.user.name,
        unit_id: unit.id,
        unit_name: unit.name,
        week: week.to_string(),
        title: row.title.clone(),
        published: china_time(row.created_at),
        items,
    };
    Ok(Html(page.render().map_err(WebError::internal)?))
}
