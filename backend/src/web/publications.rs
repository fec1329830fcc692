//! Weekly publications for supervisors: the preview before Monday, the
//! publish button, and the amendments made after publication.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::units::{overseen, publishes};
use super::{china_now, china_time, WebCaller, WebError};
use crate::calendar::Calendar;
use crate::publications::amendments::{amended_days, amendments_of};
use crate::publications::monthly::MonthPart;
use crate::publications::notice::NoticeFrame;
use crate::publications::qr::notice_url;
use crate::publications::render::withdrawal_line;
use crate::publications::render::{self, PreviewBar, VersionsView};
use crate::publications::versions::{approve, names_of, Amend, Notice, Shown, VersionError};
use crate::publications::{self as publ, make, Made, Period};
use crate::state::AppState;
use crate::storage::{Approval, Unit, VersionAction};
use sync_core::Role;

fn period(s: &str) -> Result<Period, WebError> {
    Period::parse(s).ok_or_else(|| {
        WebError::Invalid(format!(
            "公示“{s}”的地址有误：周公示写作 2026-W47，月初、月底公示写作 2026-12-start、2026-11-end。"
        ))
    })
}

/// Publishing is the supervisors' (and admins') act.
fn may_publish(caller: &WebCaller) -> bool {
    matches!(caller.0.user.role, Role::Supervisor | Role::Admin)
}

/// A notice is published from when the scheduled task would publish it
/// (`Period::due_ms`): a week from the Monday after it at the publish hour
/// (records synced on Monday morning make it in), a month's start on its
/// first workday, its end after the review deadline.
async fn due(state: &AppState, unit_id: &str, period: Period) -> Result<bool, WebError> {
    let calendar = Calendar::of_unit(&state.store, unit_id).await?;
    Ok(china_now().timestamp_millis() >= period.due_ms(&state.config, &calendar))
}

/// When `period` is due, in words: `下周一 8:00`.
fn when_due(state: &AppState, period: Period) -> String {
    let hour = state.config.publish_hour;
    match period {
        Period::Week(_) => format!("下周一 {hour}:00"),
        Period::Month(k) if k.part == MonthPart::Start => {
            format!("本月第一个工作日 {hour}:00")
        }
        Period::Month(_) => format!(
            "月度点评截止（次月{}日）后的次日 {hour}:00",
            state.config.review_deadline_day.clamp(1, 28)
        ),
    }
}

/// Has the period ended (its records can still change while it runs)?
fn ended(period: Period, today: chrono::NaiveDate) -> bool {
    match period {
        Period::Week(w) => w.sunday() < today,
        Period::Month(k) if k.part == MonthPart::Start => true,
        Period::Month(k) => crate::reviews::last_day(k.first) < today,
    }
}

/// Where the notice's preview leads back to.
fn back_to(unit: &Unit, period: Period) -> String {
    match period {
        Period::Week(w) => format!("/web/units/{}?week={w}", unit.id),
        Period::Month(_) => format!("/web/units/{}", unit.id),
    }
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

/// A leader of the unit itself (his scope is the unit): who approves its
/// notice when the unit publishes on approval.
fn leads(caller: &WebCaller, unit: &Unit) -> bool {
    caller.0.user.role == Role::Leader && caller.0.user.scope_unit_id.as_deref() == Some(&unit.id)
}

#[derive(Debug, Deserialize)]
pub struct VersionQuery {
    /// An earlier version to read.
    v: Option<i64>,
}

/// `GET /web/units/{unit}/weeks/{week}[?v=N]`: the notice as it stands (or
/// version N), with the correction and withdrawal form; before it is
/// published, the preview of what it would say now, with the publish or
/// approve button.
pub async fn preview(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((unit_id, w)): Path<(String, String)>,
    q: Result<Query<VersionQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Html<String>, WebError> {
    let unit = publishing_unit(&state, &caller, &unit_id).await?;
    let week = period(&w)?;
    let Query(q) = q.map_err(|_| WebError::Invalid("版本号应为数字。".into()))?;
    let base = format!("/web/units/{}/weeks/{}", unit.id, week);
    let back_url = back_to(&unit, week);
    // The printed copy's QR code leads to the public page.
    let url = notice_url(
        state.config.public_url.as_deref(),
        &headers,
        &unit.id,
        &week.to_string(),
    );
    if let Some(notice) = Notice::load(&state.store, &unit.id, &week.to_string())
        .await
        .map_err(WebError::internal)?
    {
        return Ok(Html(
            published(&state, &unit, week, &notice, q.v, url).await?,
        ));
    }
    let now = china_now();
    let d = make(&state, &unit.id, week, now.timestamp_millis())
        .await
        .map_err(WebError::internal)?;
    let ended = ended(week, now.date_naive());
    let due = due(&state, &unit.id, week).await?;
    let when = when_due(&state, week);
    let running = match week {
        Period::Week(_) => "预览：这一周还没有结束，内容还会变化。",
        Period::Month(_) => "预览：这个月还没有结束，内容还会变化。",
    };
    let on_approval = publ::approval_of(&state.store, &unit.id)
        .await
        .map_err(WebError::internal)?
        == Approval::Leader;
    let bar = if on_approval {
        let approves = due && leads(&caller, &unit);
        PreviewBar {
            note: match (ended, due, approves) {
                (false, _, _) => running.into(),
                (true, false, _) => format!("预览：尚未公示，{when}由本单位领导审核公示。"),
                (true, true, true) => {
                    "预览：请审核以下内容，审核通过后即公示，您将作为审核人列在公示上。".into()
                }
                (true, true, false) => format!("预览：尚未公示，待{}领导审核后公示。", unit.name),
            },
            back_url,
            publish_action: approves.then(|| base.clone()),
            approve_digest: approves.then(|| d.digest()),
            ..Default::default()
        }
    } else {
        PreviewBar {
            note: match (ended, due) {
                (false, _) => running.into(),
                (true, false) => format!("预览：尚未公示，将于{when}自动公示。"),
                (true, true) if may_publish(&caller) => "预览：尚未公示，可以确认公示。".into(),
                (true, true) => "预览：尚未公示，将由督导人员或系统自动公示。".into(),
            },
            back_url,
            publish_action: (due && may_publish(&caller)).then(|| base.clone()),
            ..Default::default()
        }
    };
    let frame = NoticeFrame::load(&state.store, &unit.id, &unit.name, now.timestamp_millis())
        .await?
        .at(url);
    Ok(Html(match &d {
        Made::Week(d) => render::article(
            &d.publication,
            &frame,
            "/web/photos",
            &BTreeSet::new(),
            Some(&bar),
            &VersionsView::default(),
        )?,
        Made::Month(d) => {
            render::month_article(&d.notice, &frame, Some(&bar), &VersionsView::default())?
        }
    }))
}

/// A published notice as overseers read it: any version (earlier ones
/// even after a withdrawal), the current one with the form to correct or
/// withdraw it.
async fn published(
    state: &AppState,
    unit: &Unit,
    week: Period,
    notice: &Notice,
    asked: Option<i64>,
    url: Option<String>,
) -> Result<String, WebError> {
    let base = format!("/web/units/{}/weeks/{}", unit.id, week);
    let back_url = back_to(unit, week);
    let current = notice.current();
    let shown = asked.unwrap_or(current.version);
    let v = notice.version(shown).ok_or(WebError::NotFound)?;
    let names = names_of(&state.store, notice).await?;
    let url_of = |n: i64| {
        Some(if n == current.version {
            base.clone()
        } else {
            format!("{base}?v={n}")
        })
    };
    let versions = VersionsView::of(notice, shown, &names, url_of);
    let public = notice
        .public(current.version)
        .then(|| format!("/p/{}/{}", unit.id, week));
    let is_current = shown == current.version;
    let bar = PreviewBar {
        note: format!(
            "已于{}公示{}。",
            china_time(notice.first().created_at),
            match (current.version, current.action) {
                (1, _) => String::new(),
                (n, VersionAction::Withdraw) => format!("，第{n}版已撤回"),
                (n, _) => format!("，现行为第{n}版"),
            }
        ),
        back_url,
        public_url: public,
        amendments_url: Some(format!("{base}/amendments")),
        amend_action: is_current.then(|| format!("{base}/versions")),
        ..Default::default()
    };
    let html = match publ::versions::shown(v).map_err(WebError::internal)? {
        Shown::Month(m) => {
            let frame = NoticeFrame::load(&state.store, &unit.id, &m.unit_name, m.published_at)
                .await?
                .at(url);
            render::month_article(&m, &frame, Some(&bar), &versions)?
        }
        Shown::Week(p) => {
            // As the public page shows it.
            let p = publ::masking::mask_publication(p);
            let amended = if is_current {
                amended_days(&state.store, &current.as_publication()).await?
            } else {
                BTreeSet::new()
            };
            let frame = NoticeFrame::load(&state.store, &unit.id, &p.unit_name, p.published_at)
                .await?
                .at(url);
            render::article(&p, &frame, "/web/photos", &amended, Some(&bar), &versions)?
        }
        Shown::Withdrawn => {
            let frame = NoticeFrame::load(&state.store, &unit.id, &unit.name, v.created_at).await?;
            render::withdrawn(
                &v.title,
                &unit.name,
                &withdrawal_line(v, &names),
                &frame,
                &versions,
                Some(&bar),
            )?
        }
    };
    Ok(html)
}

#[derive(Debug, Deserialize, Default)]
pub struct PublishForm {
    /// The approval's: the digest of the draft the leader read.
    #[serde(default)]
    digest: Option<String>,
}

/// `POST /web/units/{unit}/weeks/{week}`: publish a finished week now (the
/// same as the Monday task; a second press changes nothing), or, where the
/// unit publishes on approval, its leader approves the draft he read.
pub async fn publish(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((unit_id, w)): Path<(String, String)>,
    form: Result<Form<PublishForm>, FormRejection>,
) -> Result<Response, WebError> {
    let unit = publishing_unit(&state, &caller, &unit_id).await?;
    let week = period(&w)?;
    let Form(form) = form.unwrap_or_default();
    let on_approval = publ::approval_of(&state.store, &unit.id)
        .await
        .map_err(WebError::internal)?
        == Approval::Leader;
    if on_approval && !leads(&caller, &unit) {
        return Err(WebError::Forbidden(format!(
            "{}的公示由本单位领导审核后发布。",
            unit.name
        )));
    }
    if !on_approval && !may_publish(&caller) {
        return Err(WebError::Forbidden("公示由督导人员发布。".into()));
    }
    if !due(&state, &unit.id, week).await? {
        return Err(WebError::Invalid(match week {
            Period::Week(_) => format!(
                "这一周的公示要到下周一 {}:00 以后才能发布，好让周一早上同步的记录都能收入。",
                state.config.publish_hour
            ),
            Period::Month(_) => format!("这份公示要到{}才能发布。", when_due(&state, week)),
        }));
    }
    let page = format!("/web/units/{}/weeks/{}", unit.id, week);
    if on_approval {
        let seen = form.digest.unwrap_or_default();
        return match approve(&state, &unit.id, week, &caller.0.user.id, &seen).await {
            Ok(row) => {
                tracing::info!(unit = %row.unit_id, week = %row.week, by = %caller.0.user.id, "approved and published");
                Ok(Redirect::to(&page).into_response())
            }
            Err(VersionError::AlreadyPublished) => Ok(Redirect::to(&page).into_response()),
            Err(VersionError::Stale) => Err(WebError::Invalid(
                "您查看之后又有记录同步进来，公示内容已有变化。请返回重新查看，确认后再审核。"
                    .into(),
            )),
            Err(e) => Err(version_error(e)),
        };
    }
    let (row, made) = publ::publish(&state, &unit.id, week)
        .await
        .map_err(WebError::internal)?;
    if made {
        tracing::info!(unit = %row.unit_id, week = %row.week, by = %caller.0.user.id, "published from the web pages");
    }
    Ok(Redirect::to(&page).into_response())
}

fn version_error(e: VersionError) -> WebError {
    match e {
        VersionError::NotPublished => {
            WebError::Invalid("这份公示还没有发布，无需更正或撤回。".into())
        }
        VersionError::AlreadyPublished => WebError::Invalid("这份公示已经发布。".into()),
        VersionError::Reason(m) => WebError::Invalid(m.into()),
        VersionError::Stale => WebError::Invalid("公示内容已有变化，请重新查看。".into()),
        VersionError::Raced => WebError::Invalid(
            "就在刚才，另一位同志也更正或撤回了这份公示。请返回查看现行版本后再操作。".into(),
        ),
        VersionError::AlreadyWithdrawn => WebError::Invalid("这份公示已经撤回。".into()),
        VersionError::Publish(e) => WebError::internal(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct AmendForm {
    action: String,
    #[serde(default)]
    reason: String,
}

/// `POST /web/units/{unit}/weeks/{week}/versions`: correct (a new snapshot
/// of the records now) or withdraw the published notice, with a reason.
/// Leaders and supervisors over the unit.
pub async fn amend(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((unit_id, w)): Path<(String, String)>,
    form: Result<Form<AmendForm>, FormRejection>,
) -> Result<Response, WebError> {
    let unit = publishing_unit(&state, &caller, &unit_id).await?;
    let week = period(&w)?;
    let Form(form) =
        form.map_err(|_| WebError::Invalid("请选择更正或撤回，并写明原因。".into()))?;
    let what = match form.action.as_str() {
        "correct" => Amend::Correct,
        "withdraw" => Amend::Withdraw,
        _ => return Err(WebError::Invalid("请选择更正或撤回。".into())),
    };
    let v = publ::versions::amend(
        &state,
        &unit.id,
        week,
        what,
        &form.reason,
        &caller.0.user.id,
    )
    .await
    .map_err(version_error)?;
    Ok(Redirect::to(&format!("/web/units/{}/weeks/{}", v.unit_id, v.week)).into_response())
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
    let week = period(&w)?;
    let notice = Notice::load(&state.store, &unit.id, &week.to_string())
        .await
        .map_err(WebError::internal)?
        .ok_or(WebError::NotFound)?;
    let row = notice.current().as_publication();
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
                } else if a.doc_id.starts_with("plan") {
                    "月度计划"
                } else {
                    "工作日志"
                },
                who: names
                    .get(&a.user_id)
                    .cloned()
                    .unwrap_or_else(|| a.user_id.clone()),
                device: a.device_id,
                at: china_time(a.received_at),
                link: {
                    // A plan's period is its month: its page shows the month.
                    let (from, to) = match crate::reviews::parse_month(&a.day) {
                        Some(first) => (
                            first.to_string(),
                            crate::reviews::last_day(first).to_string(),
                        ),
                        None => (a.day.clone(), a.day.clone()),
                    };
                    format!(
                        "/web/users/{owner}?from={from}&to={to}#{}",
                        super::cadre::anchor(&a.doc_id)
                    )
                },
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
