//! A cadre's timeline (days with entries, night activities, photos and
//! comments; the month's plan with its tasks), commenting, and photos.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use sync_core::document::{Comment, Record, TaskKind, TaskStatus};
use sync_core::{DocId, Edit, ItemId, UserId};

use super::photo_caption::{self, Claimed, PhotoView};
use super::{china_time, china_today, zh_date, WebCaller, WebError};
use crate::access::{may_read, may_read_doc, read_scope};
use crate::calendar::Calendar;
use crate::photos::view::{self, PhotoSize};
use crate::publications::content::{category_zh, night_zh};
use crate::records::{days_of, decode};
use crate::reviews::last_day;
use crate::state::AppState;
use crate::storage::StoreError;
use crate::sync::{edit_on_server, ServerEditError};

pub struct CommentView {
    pub author: String,
    pub role: &'static str,
    pub text: String,
    pub at: String,
}

pub struct EntryView {
    pub time: String,
    pub category: &'static str,
    pub place: String,
    pub text: String,
    pub households: u64,
    pub photos: Vec<PhotoView>,
    pub deleted: bool,
}

pub struct ActivityView {
    pub kind: &'static str,
    pub start: String,
    pub end: String,
    pub place: String,
    pub households: u64,
    pub issues: String,
    pub help: String,
    pub photos: Vec<PhotoView>,
    pub deleted: bool,
}

pub struct DocView<T> {
    pub doc_id: String,
    /// The element id in the page (`diary-u1-2026-11-23`).
    pub anchor: String,
    pub items: Vec<T>,
    pub comments: Vec<CommentView>,
}

pub struct DayView {
    pub date: String,
    pub label: String,
    pub diary: Option<DocView<EntryView>>,
    pub summary: String,
    pub night: Option<DocView<ActivityView>>,
    pub stayed: Option<String>,
    /// A workday with no record.
    pub missing: bool,
}

pub struct TaskView {
    /// For a 固定任务 handed down as an item: its id and who handed it.
    pub item: Option<(String, String)>,
    pub title: String,
    pub kind: &'static str,
    pub due: String,
    pub status: &'static str,
    pub note: String,
    /// Still open after the month ended.
    pub overdue: bool,
}

pub struct PlanView {
    pub doc_id: String,
    pub anchor: String,
    pub tasks: Vec<TaskView>,
    pub summary: String,
    pub comments: Vec<CommentView>,
    pub open_at_end: usize,
}

#[derive(Template)]
#[template(path = "web/cadre.html")]
struct Timeline<'a> {
    me: &'a str,
    /// Whose records: the page offers a reload when one of them changes.
    user_id: String,
    name: String,
    unit_id: String,
    unit_name: String,
    post: String,
    from: String,
    to: String,
    back: String,
    month: String,
    days: Vec<DayView>,
    plan: Option<PlanView>,
}

/// A document's element id in the page.
pub fn anchor(doc_id: &str) -> String {
    doc_id.replace(':', "-")
}

fn role_zh(role: &str) -> &'static str {
    match role {
        "cadre" => "干部",
        "leader" => "领导",
        "supervisor" => "督导",
        "admin" => "管理员",
        _ => "",
    }
}

fn comments(list: &[Comment], names: &BTreeMap<String, String>) -> Vec<CommentView> {
    list.iter()
        .filter(|c| !c.deleted)
        .map(|c| CommentView {
            author: names
                .get(&c.author)
                .cloned()
                .unwrap_or_else(|| c.author.clone()),
            role: role_zh(&c.role),
            text: c.text.clone(),
            at: china_time(c.at),
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

fn day(s: Option<&str>, default: NaiveDate) -> Result<NaiveDate, WebError> {
    match s {
        None | Some("") => Ok(default),
        Some(s) => sync_core::ids::Period::parse_day(s)
            .map_err(|_| WebError::Invalid("日期格式应为 2026-11-23。".into())),
    }
}

/// A person the caller may read (their scope covers the person's unit).
async fn readable_person(
    state: &AppState,
    caller: &WebCaller,
    user_id: &str,
) -> Result<crate::storage::User, WebError> {
    let scope = read_scope(&state.store, &caller.0.user).await?;
    if !may_read(&state.store, &scope, user_id).await? {
        return Err(WebError::NotFound);
    }
    state.store.user(user_id).await?.ok_or(WebError::NotFound)
}

/// `GET /web/users/{user}?from=2026-11-10&to=2026-11-23`
pub async fn timeline(
    State(state): State<AppState>,
    caller: WebCaller,
    Path(user_id): Path<String>,
    q: Result<Query<RangeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Html<String>, WebError> {
    let Query(q) = q.map_err(|_| WebError::Invalid("日期格式应为 2026-11-23。".into()))?;
    let person = readable_person(&state, &caller, &user_id).await?;
    let today = china_today();
    let to = day(q.to.as_deref(), today)?;
    let from = day(
        q.from.as_deref(),
        to.checked_sub_days(chrono::Days::new(13)).unwrap_or(to),
    )?;
    if to < from || (to - from).num_days() > 62 {
        return Err(WebError::Invalid(
            "结束日期应不早于开始日期，且相隔不超过62天。".into(),
        ));
    }
    let names: BTreeMap<String, String> = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let records = days_of(&state.store, &user_id, &from.to_string(), &to.to_string()).await?;
    let calendar = Calendar::of_unit(&state.store, &person.unit_id).await?;
    let mut by_date: BTreeMap<String, DayView> = BTreeMap::new();
    for d in records {
        let Ok(date) = NaiveDate::parse_from_str(&d.date, "%Y-%m-%d") else {
            continue;
        };
        let mut view = DayView {
            label: zh_date(date),
            date: d.date.clone(),
            diary: None,
            summary: String::new(),
            night: None,
            stayed: None,
            missing: false,
        };
        if let Some(Record::Diary(diary)) = &d.diary {
            view.summary = diary.summary.clone();
            view.diary = Some(DocView {
                doc_id: diary.id.to_string(),
                anchor: anchor(&diary.id.to_string()),
                items: diary
                    .entries
                    .iter()
                    .map(|e| EntryView {
                        time: e.time.clone(),
                        category: category_zh(e.category),
                        place: e.place.clone(),
                        text: e.text.clone(),
                        households: e.households,
                        photos: e
                            .photos
                            .iter()
                            .map(|p| photo_caption::view(p, Claimed::Day(date)))
                            .collect(),
                        deleted: e.deleted,
                    })
                    .collect(),
                comments: comments(&diary.comments, &names),
            });
            // A diary with no live entry (all deleted, or only a status)
            // is a day not filed, if it was a working day.
            view.missing = diary.entries.iter().all(|e| e.deleted) && calendar.is_workday(date);
        }
        if let Some(Record::Night(night)) = &d.night {
            view.stayed = night
                .stayed_overnight
                .then(|| night.overnight_place.clone().unwrap_or_default());
            view.night = Some(DocView {
                doc_id: night.id.to_string(),
                anchor: anchor(&night.id.to_string()),
                items: night
                    .activities
                    .iter()
                    .map(|a| ActivityView {
                        kind: night_zh(a.kind),
                        start: a.start.clone(),
                        end: a.end.clone().unwrap_or_default(),
                        place: a.place.clone(),
                        households: a.households,
                        issues: a.issues.clone(),
                        help: a.help.clone(),
                        photos: a
                            .photos
                            .iter()
                            .map(|p| photo_caption::view(p, Claimed::Night(date)))
                            .collect(),
                        deleted: a.deleted,
                    })
                    .collect(),
                comments: comments(&night.comments, &names),
            });
        }
        by_date.insert(d.date, view);
    }
    // Workdays before today with no record at all.
    let mut d = from;
    while d <= to && d < today {
        if calendar.is_workday(d) {
            by_date.entry(d.to_string()).or_insert_with(|| DayView {
                date: d.to_string(),
                label: zh_date(d),
                diary: None,
                summary: String::new(),
                night: None,
                stayed: None,
                missing: true,
            });
        }
        d = match d.succ_opt() {
            Some(n) => n,
            None => break,
        };
    }
    let days: Vec<DayView> = by_date.into_values().rev().collect();
    let plan = plan_view(&state, &person.id, to, today, &names).await?;
    let unit_name = state
        .store
        .unit(&person.unit_id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let page = Timeline {
        me: &caller.0.user.name,
        back: format!("/web/users/{}?from={from}&to={to}", person.id),
        user_id: person.id.clone(),
        name: person.name,
        unit_id: person.unit_id,
        unit_name,
        post: person.post,
        from: from.to_string(),
        to: to.to_string(),
        month: format!("{}年{}月", to.year(), to.month()),
        days,
        plan,
    };
    Ok(Html(page.render().map_err(WebError::internal)?))
}

async fn plan_view(
    state: &AppState,
    user_id: &str,
    in_month: NaiveDate,
    today: NaiveDate,
    names: &BTreeMap<String, String>,
) -> Result<Option<PlanView>, WebError> {
    let Ok(owner) = UserId::parse(user_id) else {
        return Ok(None);
    };
    let id = DocId::plan(&owner, in_month);
    let key = id.to_string();
    let docs = state
        .store
        .load_documents(std::slice::from_ref(&key))
        .await?;
    let month = in_month.format("%Y-%m").to_string();
    let handed = crate::items::plan::handed(&state.store, user_id, &month).await?;
    let plan = match docs.get(&key) {
        Some(stored) => match decode(id, &stored.bytes).map_err(WebError::internal)? {
            Record::Plan(plan) => Some(plan),
            _ => None,
        },
        None => None,
    };
    if plan.is_none() && handed.is_empty() {
        return Ok(None);
    }
    let first = NaiveDate::from_ymd_opt(in_month.year(), in_month.month(), 1).unwrap_or(in_month);
    let month_over = today > last_day(first);
    let own = plan.iter().flat_map(|p| &p.tasks).map(|t| (t, None));
    let from_above = handed.iter().map(|h| (&h.task, Some(h)));
    let tasks: Vec<TaskView> = own
        .chain(from_above)
        .filter(|(t, _)| !t.deleted)
        .map(|(t, h)| TaskView {
            item: h.map(|h| (h.task.id.clone(), h.issuer_name.clone())),
            title: t.title.clone(),
            kind: match t.kind {
                TaskKind::Fixed => "固定任务",
                TaskKind::Dynamic => "动态任务",
            },
            due: t.due.clone().unwrap_or_default(),
            status: match t.status {
                TaskStatus::Open => "进行中",
                TaskStatus::Done => "已销号",
                TaskStatus::Dropped => "已取消",
            },
            note: t.note.clone(),
            overdue: month_over && t.status == TaskStatus::Open,
        })
        .collect();
    Ok(Some(PlanView {
        anchor: anchor(&key),
        doc_id: key,
        open_at_end: tasks.iter().filter(|t| t.overdue).count(),
        tasks,
        summary: plan.as_ref().map(|p| p.summary.clone()).unwrap_or_default(),
        comments: plan
            .as_ref()
            .map(|p| comments(&p.comments, names))
            .unwrap_or_default(),
    }))
}

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    text: String,
    #[serde(default)]
    back: String,
}

/// `POST /web/documents/{doc}/comments`: a comment written into the
/// document as a phone would, merging with the cadre's offline edits.
pub async fn add_comment(
    State(state): State<AppState>,
    caller: WebCaller,
    Path(doc_id): Path<String>,
    form: Result<Form<CommentForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|_| WebError::Invalid("请填写评论内容。".into()))?;
    let id = DocId::parse(&doc_id).map_err(|_| WebError::NotFound)?;
    let scope = read_scope(&state.store, &caller.0.user).await?;
    if !may_read_doc(&state.store, &scope, &id).await? {
        return Err(WebError::NotFound);
    }
    let text = form.text.trim().to_owned();
    if text.is_empty() {
        return Err(WebError::Invalid("评论内容不能为空。".into()));
    }
    if text.chars().count() > 1000 {
        return Err(WebError::Invalid("评论最多1000字。".into()));
    }
    let edit = Edit::AddComment {
        id: ItemId::random(),
        on: None,
        text,
    };
    edit_on_server(&state, &caller.0, &id, edit)
        .await
        .map_err(|e| match e {
            ServerEditError::NoDocument => {
                WebError::Invalid("这份记录还没有同步到服务器，暂时不能评论。".into())
            }
            ServerEditError::Invalid(m) => {
                tracing::info!(doc = %id, reason = %m, "web comment refused");
                WebError::Invalid("评论未保存：内容不符合要求，请修改后再试。".into())
            }
            ServerEditError::Forbidden(m) => {
                tracing::warn!(doc = %id, user = %caller.0.user.id, reason = %m, "web comment forbidden");
                WebError::Forbidden("您不能在这份记录上评论。".into())
            }
            ServerEditError::Busy(_)
            | ServerEditError::Store(StoreError::Conflict(_) | StoreError::Stale(_)) => {
                WebError::Invalid("这份记录正在同步，请稍后再提交评论。".into())
            }
            ServerEditError::Store(e) => e.into(),
            ServerEditError::Internal(e) => WebError::Internal(e),
        })?;
    let back = match super::own_page(&form.back, "/web/users/") {
        Some(back) => back.split('#').next().unwrap_or(back).to_owned(),
        None => match id.owner() {
            Some(owner) => format!("/web/users/{owner}"),
            None => format!("/web/items/{id}"),
        },
    };
    Ok(Redirect::to(&format!("{back}#{}", anchor(&id.to_string()))).into_response())
}

/// `GET /web/photos/{sha}`: a thumbnail the caller may see.
pub async fn thumbnail(
    State(state): State<AppState>,
    caller: WebCaller,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let file = view::open(&state, &caller.0.user, &sha, PhotoSize::Thumbnail).await?;
    Ok(crate::photos::http::answer(&state, &file, &headers).await?)
}

/// `GET /web/photos/{sha}/full`
pub async fn full_photo(
    State(state): State<AppState>,
    caller: WebCaller,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let file = view::open(&state, &caller.0.user, &sha, PhotoSize::Original).await?;
    Ok(crate::photos::http::answer(&state, &file, &headers).await?)
}
