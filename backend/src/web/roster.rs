//! The admins' roster import (`roster`): a form to upload the county's
//! .xlsx, a preview of what it creates and changes (or every bad row), a
//! confirmation that applies exactly what was previewed, and the template
//! to download. Only admins, and only within their scope: an admin of a
//! county imports that county's units and people. The preview carries the
//! file's rows (not the file) in the confirmation form and the digest of
//! its plan; applying plans again and refuses a plan that is not the one
//! shown (the database changed in between), showing the new one instead.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequestParts, Multipart, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use sync_core::Role;

use super::{WebCaller, WebError};
use crate::roster::{self, Action, Plan, RosterError, RosterFile, RowProblem};
use crate::state::AppState;

/// The largest roster file taken (a county's roster is a few hundred KB).
pub const MAX_UPLOAD: usize = 5 * 1024 * 1024;
/// The largest confirmation form (the rows of the largest file as JSON).
pub const MAX_CONFIRM: usize = 8 * 1024 * 1024;

/// A logged-in admin; anyone else is refused before the body is read.
pub struct AdminCaller(pub WebCaller);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let caller = WebCaller::from_request_parts(parts, state).await?;
        if caller.0.user.role != Role::Admin {
            return Err(WebError::Forbidden("名册导入仅供管理员使用。".into()));
        }
        Ok(AdminCaller(caller))
    }
}

#[derive(Template)]
#[template(path = "web/roster_form.html")]
struct FormPage<'a> {
    me: &'a str,
    scope_name: String,
    message: Option<&'a str>,
}

pub struct UnitLine {
    pub row: u32,
    pub id: String,
    pub name: String,
    pub level: &'static str,
    pub parent: String,
    pub action: &'static str,
    pub changes: Vec<String>,
}

pub struct PersonLine {
    pub row: u32,
    pub login: String,
    pub name: String,
    pub unit: String,
    pub role: &'static str,
    pub post: String,
    pub action: &'static str,
    pub changes: Vec<String>,
}

#[derive(Template)]
#[template(path = "web/roster_preview.html")]
struct PreviewPage<'a> {
    me: &'a str,
    message: Option<&'a str>,
    /// When refused: every problem, in Chinese.
    problems: Vec<String>,
    units: Vec<UnitLine>,
    people: Vec<PersonLine>,
    /// (create, change, unchanged) of units and of people.
    unit_counts: (usize, usize, usize),
    people_counts: (usize, usize, usize),
    nothing: bool,
    /// The confirmation form's fields.
    roster: String,
    digest: String,
}

pub struct AccountLine {
    pub login: String,
    pub name: String,
    pub unit: String,
    pub password: String,
}

#[derive(Template)]
#[template(path = "web/roster_done.html")]
struct DonePage<'a> {
    me: &'a str,
    units_created: usize,
    units_changed: usize,
    people_created: usize,
    people_changed: usize,
    accounts: Vec<AccountLine>,
}

fn page(status: StatusCode, html: Result<String, askama::Error>) -> Result<Response, WebError> {
    Ok((status, Html(html.map_err(WebError::internal)?)).into_response())
}

fn action_zh(a: &Action) -> &'static str {
    match a {
        Action::Create => "新建",
        Action::Change(_) => "修改",
        Action::Unchanged => "不变",
    }
}

fn changes_zh(a: &Action) -> Vec<String> {
    match a {
        Action::Change(changes) => changes
            .iter()
            .map(|c| {
                let (from, to) = c.zh();
                format!("{}：{from} → {to}", c.field.zh())
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn counts(c: roster::Counts) -> (usize, usize, usize) {
    (c.create, c.change, c.unchanged)
}

/// The preview of `plan`, with its confirmation form.
fn preview_page(
    me: &str,
    file: &RosterFile,
    plan: &Plan,
    message: Option<&str>,
) -> Result<String, askama::Error> {
    PreviewPage {
        me,
        message,
        problems: Vec::new(),
        units: plan
            .units
            .iter()
            .map(|u| UnitLine {
                row: u.row,
                id: u.id.clone(),
                name: u.name.clone(),
                level: roster::level_zh(&u.level),
                parent: u.parent.clone().unwrap_or_default(),
                action: action_zh(&u.action),
                changes: changes_zh(&u.action),
            })
            .collect(),
        people: plan
            .people
            .iter()
            .map(|p| PersonLine {
                row: p.row,
                login: p.login.clone(),
                name: p.name.clone(),
                unit: p.unit.clone(),
                role: roster::role_zh(p.role),
                post: p.post.clone(),
                action: action_zh(&p.action),
                changes: changes_zh(&p.action),
            })
            .collect(),
        unit_counts: counts(plan.unit_counts()),
        people_counts: counts(plan.people_counts()),
        nothing: plan.changes_nothing(),
        roster: serde_json::to_string(file).unwrap_or_default(),
        digest: plan.digest(),
    }
    .render()
}

/// The refusal: every problem, nothing imported.
fn refused_page(me: &str, problems: &[RowProblem]) -> Result<Response, WebError> {
    page(
        StatusCode::BAD_REQUEST,
        PreviewPage {
            me,
            message: None,
            problems: problems.iter().map(RowProblem::zh).collect(),
            units: Vec::new(),
            people: Vec::new(),
            unit_counts: (0, 0, 0),
            people_counts: (0, 0, 0),
            nothing: true,
            roster: String::new(),
            digest: String::new(),
        }
        .render(),
    )
}

fn form_page(
    status: StatusCode,
    me: &str,
    scope_name: String,
    message: Option<&str>,
) -> Result<Response, WebError> {
    page(
        status,
        FormPage {
            me,
            scope_name,
            message,
        }
        .render(),
    )
}

async fn scope_name(state: &AppState, caller: &WebCaller) -> Result<String, WebError> {
    let scope = caller.scope()?;
    Ok(state
        .store
        .unit(scope)
        .await?
        .map(|u| u.name)
        .unwrap_or_else(|| scope.to_owned()))
}

/// `GET /web/admin/import`
pub async fn form(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
) -> Result<Response, WebError> {
    let name = scope_name(&state, &caller).await?;
    form_page(StatusCode::OK, &caller.0.user.name, name, None)
}

/// `GET /web/admin/import/template.xlsx`
pub async fn template(AdminCaller(_): AdminCaller) -> Result<Response, WebError> {
    let bytes = roster::template()?;
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
        )],
        bytes,
    )
        .into_response();
    let disposition = format!("attachment; filename=\"{}\"", roster::TEMPLATE_FILE_NAME);
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(WebError::internal)?,
    );
    Ok(response)
}

/// `POST /web/admin/import/preview` (multipart, field `roster`): what
/// importing the file would do, or every bad row.
pub async fn preview(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, WebError> {
    let me = caller.0.user.name.as_str();
    let scope = caller.scope()?.to_owned();
    let mut bytes = None;
    let mut refused = None;
    if let Ok(mut multipart) = multipart {
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(e) => {
                    refused = Some(e.status());
                    break;
                }
            };
            if field.name() == Some("roster") {
                match field.bytes().await {
                    Ok(b) => bytes = Some(b),
                    Err(e) => {
                        refused = Some(e.status());
                        break;
                    }
                }
            }
        }
    }
    let (status, message) = match (refused, &bytes) {
        (Some(StatusCode::PAYLOAD_TOO_LARGE), _) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "文件超过 {} MB，未导入；请删去多余的工作表和格式，或分成几个文件导入。",
                MAX_UPLOAD / 1024 / 1024
            ),
        ),
        (Some(_), _) => (
            StatusCode::BAD_REQUEST,
            "文件没有上传完整；请重新选择文件上传。".to_owned(),
        ),
        (None, Some(b)) if !b.is_empty() => (StatusCode::OK, String::new()),
        (None, _) => (
            StatusCode::BAD_REQUEST,
            "请选择要导入的名册文件（.xlsx）。".to_owned(),
        ),
    };
    let Some(bytes) = bytes.filter(|_| status == StatusCode::OK) else {
        let name = scope_name(&state, &caller).await?;
        return form_page(status, me, name, Some(&message));
    };
    let read = tokio::task::spawn_blocking(move || roster::read(&bytes))
        .await
        .map_err(WebError::internal)?;
    let file = match read {
        Ok(file) => file,
        Err(problems) => return refused_page(me, &problems),
    };
    match roster::plan_against(&state.store, &file, Some(&scope)).await {
        Ok(plan) => page(StatusCode::OK, preview_page(me, &file, &plan, None)),
        Err(RosterError::Refused(problems)) => refused_page(me, &problems),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    roster: String,
    digest: String,
}

/// `POST /web/admin/import/apply`: apply what the preview showed; the
/// new accounts' initial passwords, shown this once.
pub async fn apply(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Result<Response, WebError> {
    let me = caller.0.user.name.as_str();
    let scope = caller.scope()?.to_owned();
    let invalid = || WebError::Invalid("确认信息不完整，请重新上传名册并预览。".into());
    let Form(form) = form.map_err(|_| invalid())?;
    let file: RosterFile = serde_json::from_str(&form.roster).map_err(|_| invalid())?;
    let plan = match roster::plan_against(&state.store, &file, Some(&scope)).await {
        Ok(plan) => plan,
        Err(RosterError::Refused(problems)) => return refused_page(me, &problems),
        Err(e) => return Err(e.into()),
    };
    if plan.digest() != form.digest {
        return page(
            StatusCode::CONFLICT,
            preview_page(
                me,
                &file,
                &plan,
                Some("数据在预览之后有了变化，本次没有导入任何内容。以下是按当前数据重新生成的预览，请核对后再次确认。"),
            ),
        );
    }
    let applied = roster::apply(&state.store, &plan, &mut |_| {}).await?;
    page(
        StatusCode::OK,
        DonePage {
            me,
            units_created: applied.units_created,
            units_changed: applied.units_changed,
            people_created: applied.people_created,
            people_changed: applied.people_changed,
            accounts: applied
                .accounts
                .into_iter()
                .map(|a| AccountLine {
                    login: a.login,
                    name: a.name,
                    unit: a.unit,
                    password: a.password,
                })
                .collect(),
        }
        .render(),
    )
}
