//! The 督办 pages: the items a leader or supervisor issued or oversees
//! (overdue ones in red, escalated ones marked), the form that issues one,
//! an item with its history and the steps the caller may take (confirm
//! 销号, send back with a reason, add a note), and a unit's 台账 of a month
//! (page, print layout and `.xlsx`).

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::units::overseen;
use super::{china_time, encode_query, WebCaller, WebError};
use crate::access::{may_read, read_scope};
use crate::items::{self, ledger, IssueInput, ItemError, ItemSummary, ListQuery};
use crate::state::AppState;

/// 督办事项 / 问题清单 / 交办任务 (a 固定任务 in the month plan)
pub fn list_zh(list: &str) -> &'static str {
    match list {
        "problem" => "问题清单",
        "task" => "交办任务",
        "complaint" => "投诉举报",
        "request" => "便民诉求",
        _ => "督办事项",
    }
}

pub fn source_zh(source: &str) -> &'static str {
    match source {
        "meeting" => "会议交办",
        "superior" => "上级交办",
        "petition" => "信访",
        "inspection" => "明察暗访",
        "self_check" => "自查",
        "public" => "群众扫码提交",
        "hotline" => "便民热线",
        _ => "其他",
    }
}

pub fn status_zh(status: &str) -> &'static str {
    match status {
        "awaiting_confirmation" => "待确认销号",
        "returned" => "已退回",
        "closed" => "已销号",
        _ => "办理中",
    }
}

pub fn action_zh(action: &str) -> &'static str {
    match action {
        "request_close" => "申请销号",
        "confirm" => "确认销号",
        "send_back" => "退回",
        _ => "进展",
    }
}

/// The web's words for an item error (the API's are English).
fn web_error(e: ItemError) -> WebError {
    match e {
        ItemError::Invalid { code, message } => {
            tracing::info!(code, reason = %message, "web item form refused");
            WebError::Invalid(
                match code {
                    "unknown_person" => "所选人员不在您的管辖范围内，或账号已停用。",
                    "bad_due" => "时限须在今天到两年之内：请填写日期或工作日天数（二选一）。",
                    "bad_item" => {
                        "请填写标题和事项内容；责任人不能是您本人，协办人不能与责任人重复。"
                    }
                    "bad_verdict" => "确认销号投诉时须选择核实结果：属实或不属实。",
                    "bad_step" => {
                        "未保存：请填写内容（退回须写明原因），或该事项当前不能执行此操作。"
                    }
                    _ => "填写的内容不符合要求，请修改后再试。",
                }
                .into(),
            )
        }
        ItemError::Forbidden(m) => {
            tracing::warn!(reason = %m, "web item step forbidden");
            WebError::Forbidden("您不能在这一事项上执行此操作。".into())
        }
        ItemError::Busy(_) => WebError::Invalid("该事项正在同步，请稍后再试。".into()),
        other => other.into(),
    }
}

struct Row {
    s: ItemSummary,
    list: &'static str,
    source: &'static str,
    status: &'static str,
    issued: String,
}

fn row(s: ItemSummary) -> Row {
    Row {
        list: list_zh(&s.list),
        source: source_zh(&s.source),
        status: status_zh(&s.status),
        issued: china_time(s.issued_at),
        s,
    }
}

#[derive(Template)]
#[template(path = "web/items.html")]
struct ListPage<'a> {
    me: &'a str,
    escalated: Vec<Row>,
    waiting: Vec<Row>,
    rows: Vec<Row>,
}

/// `GET /web/items?unit=&month=`
pub async fn list(
    State(state): State<AppState>,
    caller: WebCaller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Html<String>, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let me = &caller.0.user;
    let all = items::list(&state, me, &q).await.map_err(web_error)?;
    let rows: Vec<Row> = all.into_iter().map(row).collect();
    let pick = |f: &dyn Fn(&Row) -> bool| -> Vec<Row> {
        rows.iter()
            .filter(|r| f(r))
            .map(|r| row(r.s.clone()))
            .collect()
    };
    let escalated = pick(&|r| r.s.escalated && r.s.issuer.id != me.id);
    let waiting = pick(&|r| r.s.status == "awaiting_confirmation" && r.s.responsible.id != me.id);
    let page = ListPage {
        me: &me.name,
        escalated,
        waiting,
        rows,
    };
    Ok(Html(page.render().map_err(WebError::internal)?))
}

struct Option_ {
    id: String,
    label: String,
}

#[derive(Template)]
#[template(path = "web/item_new.html")]
struct NewPage<'a> {
    me: &'a str,
    people: Vec<Option_>,
}

/// `GET /web/items/new`: the form, with the people of the caller's scope.
pub async fn new_form(
    State(state): State<AppState>,
    caller: WebCaller,
) -> Result<Html<String>, WebError> {
    let me = &caller.0.user;
    if me.role == sync_core::Role::Cadre {
        return Err(WebError::Forbidden("干部不能交办督办事项。".into()));
    }
    let scope = read_scope(&state.store, me).await?;
    let units: std::collections::HashMap<String, String> = state
        .store
        .units()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let mut people = Vec::new();
    for u in state.store.users().await? {
        if u.disabled || u.id == me.id || !may_read(&state.store, &scope, &u.id).await? {
            continue;
        }
        let unit = units.get(&u.unit_id).cloned().unwrap_or_default();
        people.push(Option_ {
            label: format!(
                "{}（{}{}）",
                u.name,
                unit,
                if u.post.is_empty() {
                    String::new()
                } else {
                    format!(" {}", u.post)
                }
            ),
            id: u.id,
        });
    }
    people.sort_by(|a, b| a.label.cmp(&b.label));
    let page = NewPage {
        me: &me.name,
        people,
    };
    Ok(Html(page.render().map_err(WebError::internal)?))
}

#[derive(Debug, Deserialize)]
pub struct IssueForm {
    list: String,
    source: String,
    title: String,
    content: String,
    #[serde(default)]
    measures: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    workdays: String,
    responsible: String,
    /// Comma- or space-separated user ids (a multi-select sends one field
    /// per choice; both are read).
    #[serde(default)]
    collaborators: String,
}

/// `POST /web/items`: issue, then the item's page.
pub async fn issue(
    State(state): State<AppState>,
    caller: WebCaller,
    form: Result<Form<IssueForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(f) =
        form.map_err(|_| WebError::Invalid("请填写标题、事项内容、责任人和时限。".into()))?;
    let due_workdays = match f.workdays.trim() {
        "" => None,
        n => Some(
            n.parse::<u32>()
                .map_err(|_| WebError::Invalid("工作日天数须为正整数。".into()))?,
        ),
    };
    let input = IssueInput {
        list: f.list,
        source: f.source,
        title: f.title,
        content: f.content,
        measures: f.measures,
        due: Some(f.due.trim().to_owned()).filter(|d| !d.is_empty()),
        due_workdays,
        responsible: f.responsible,
        collaborators: f
            .collaborators
            .split([',', ' ', '，'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let id = items::issue(&state, &caller.0, &input)
        .await
        .map_err(web_error)?;
    Ok(Redirect::to(&format!("/web/items/{id}?done=issued")).into_response())
}

struct StepRow {
    action: &'static str,
    by: String,
    at: String,
    text: String,
    photos: Vec<String>,
    tone: &'static str,
}

#[derive(Template)]
#[template(path = "web/item.html")]
struct ItemPage<'a> {
    me: &'a str,
    item: items::ItemView,
    list: &'static str,
    source: &'static str,
    status: &'static str,
    issued: String,
    collaborators: String,
    history: Vec<StepRow>,
    may_progress: bool,
    may_confirm: bool,
    may_send_back: bool,
    may_request: bool,
    message: Option<&'static str>,
    /// Who filed a case, for its handling chain only.
    filer: Option<crate::cases::Filer>,
    filed: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// `GET /web/items/{item}`
pub async fn page(
    State(state): State<AppState>,
    caller: WebCaller,
    Path(item_id): Path<String>,
    q: Result<Query<Done>, QueryRejection>,
) -> Result<Html<String>, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let me = &caller.0.user;
    let item = items::view(&state, me, &item_id).await.map_err(web_error)?;
    let has = |a: &str| item.may.iter().any(|m| m == a);
    let filer = crate::cases::filer_for(&state, me, &item_id).await?;
    let message = match q.done.as_deref() {
        Some("issued") => Some("已交办，责任人下次同步时即可在手机上收到。"),
        Some("progress") => Some("已记录进展。"),
        Some("request_close") => Some("已申请销号，等待交办人确认。"),
        Some("confirm") => Some("已确认销号。"),
        Some("send_back") => Some("已退回，责任人下次同步时可见退回原因。"),
        _ => None,
    };
    let page = ItemPage {
        me: &me.name,
        list: list_zh(&item.summary.list),
        source: source_zh(&item.summary.source),
        status: status_zh(&item.summary.status),
        issued: china_time(item.summary.issued_at),
        collaborators: item
            .collaborators
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
            .join("、"),
        history: item
            .history
            .iter()
            .map(|s| StepRow {
                action: action_zh(&s.action),
                by: s.by.name.clone(),
                at: china_time(s.at),
                text: s.text.clone(),
                photos: s.photos.clone(),
                tone: match s.action.as_str() {
                    "confirm" => "ok",
                    "send_back" => "warn",
                    _ => "",
                },
            })
            .collect(),
        may_progress: has("progress"),
        may_confirm: has("confirm"),
        may_send_back: has("send_back"),
        may_request: has("request_close"),
        message,
        filed: filer
            .as_ref()
            .map(|f| china_time(f.filed_at))
            .unwrap_or_default(),
        filer,
        item,
    };
    Ok(Html(page.render().map_err(WebError::internal)?))
}

#[derive(Debug, Deserialize)]
pub struct StepForm {
    action: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    verdict: Option<String>,
}

/// `POST /web/items/{item}/steps`: take a step as the caller, back to the
/// item.
pub async fn step(
    State(state): State<AppState>,
    caller: WebCaller,
    Path(item_id): Path<String>,
    form: Result<Form<StepForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(f) = form.map_err(|_| WebError::Invalid("请选择操作并填写内容。".into()))?;
    items::take_step(
        &state,
        &caller.0,
        &item_id,
        &f.action,
        &f.text,
        f.verdict.as_deref(),
    )
    .await
    .map_err(web_error)?;
    Ok(Redirect::to(&format!(
        "/web/items/{}?done={}",
        item_id,
        encode_query(&f.action)
    ))
    .into_response())
}

#[derive(Template)]
#[template(path = "web/item_ledger.html")]
struct LedgerPage<'a> {
    me: &'a str,
    l: ledger::Ledger,
    month_label: String,
}

/// `GET /web/units/{unit}/items/{month}`: the unit's 督办 台账 of a month.
pub async fn ledger_page(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((unit_id, month)): Path<(String, String)>,
) -> Result<Html<String>, WebError> {
    let unit = overseen(&state, &caller, &unit_id).await?;
    let l = ledger::of_month(&state, &caller.0.user, &unit, &month)
        .await
        .map_err(web_error)?;
    let page = LedgerPage {
        me: &caller.0.user.name,
        month_label: crate::publications::week::zh_month(&l.month),
        l,
    };
    Ok(Html(page.render().map_err(WebError::internal)?))
}

/// `GET /web/units/{unit}/items/{month}/export.xlsx`
pub async fn ledger_export(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((unit_id, month)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let unit = overseen(&state, &caller, &unit_id).await?;
    let l = ledger::of_month(&state, &caller.0.user, &unit, &month)
        .await
        .map_err(web_error)?;
    let bytes = ledger::xlsx(&l).map_err(WebError::internal)?;
    Ok(crate::reviews::xlsx::download_named(
        &format!("items-{}-{}.xlsx", l.unit_id, l.month),
        bytes,
    ))
}
