//! The posts' 权力清单 and 责任清单 of a unit on the web pages
//! (`post_lists`): every post of the unit with its current lists, an
//! edit form per post and kind that saves a new version, and each list's
//! history. Leaders, supervisors and admins over the unit read them; only
//! admins over it save. The edit form carries the version it was opened
//! on: a save after someone else's is refused with the text kept, never
//! stored over theirs unseen.

use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use sync_core::Role;

use super::{china_time, encode_query, WebCaller, WebError};
use crate::post_lists::{
    self, entries_text, Entry, ListKind, PostList, PostListError, PostName, SaveRequest, Saver,
    MAX_ENTRIES,
};
use crate::state::AppState;
use crate::storage::Unit;

/// The largest edit form: a list at its bounds, percent-encoded.
pub const MAX_FORM: usize = 1024 * 1024;

/// A logged-in admin; anyone else is refused before the body is read.
pub struct ListAdmin(pub WebCaller);

impl FromRequestParts<AppState> for ListAdmin {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let caller = WebCaller::from_request_parts(parts, state).await?;
        if caller.0.user.role != Role::Admin {
            return Err(WebError::Forbidden(
                "岗位权力清单和责任清单由管理员维护；领导和督导可以查看。".into(),
            ));
        }
        Ok(ListAdmin(caller))
    }
}

/// A list as a page shows it.
pub struct ListView {
    pub version: i64,
    pub saved_on: String,
    pub withdrawn: bool,
    pub entries: Vec<Entry>,
}

impl ListView {
    fn of(l: &PostList) -> ListView {
        ListView {
            version: l.version,
            saved_on: l.saved_on(),
            withdrawn: l.withdrawn(),
            entries: l.entries.clone(),
        }
    }
}

/// One kind of list of a post, with its links.
pub struct KindBlock {
    pub kind: &'static str,
    pub zh: &'static str,
    pub list: Option<ListView>,
    pub edit_url: String,
    pub history_url: String,
}

pub struct PostBlock {
    pub anchor: String,
    pub post: String,
    pub holders: String,
    pub kinds: Vec<KindBlock>,
}

#[derive(Template)]
#[template(path = "web/post_lists.html")]
struct OverviewPage<'a> {
    me: &'a str,
    unit: &'a Unit,
    posts: Vec<PostBlock>,
    admin: bool,
    message: Option<String>,
}

fn query_of(post: &str, kind: ListKind) -> String {
    format!("post={}&kind={}", encode_query(post), kind.as_str())
}

fn html(status: StatusCode, page: Result<String, askama::Error>) -> Result<Response, WebError> {
    Ok((status, Html(page.map_err(WebError::internal)?)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    saved: Option<i64>,
}

/// `GET /web/units/{unit}/posts`: the unit's posts and their current lists.
pub async fn overview(
    State(state): State<AppState>,
    caller: WebCaller,
    Path(unit_id): Path<String>,
    q: Result<Query<SavedQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let user = &caller.0.user;
    let unit = post_lists::overseen_unit(&state.store, user, &unit_id).await?;
    let posts = post_lists::overview(&state.store, &unit.id)
        .await?
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let kinds = ListKind::ALL
                .into_iter()
                .map(|kind| {
                    let list = match kind {
                        ListKind::Power => p.power.as_ref(),
                        ListKind::Duty => p.duty.as_ref(),
                    };
                    let q = query_of(&p.post, kind);
                    KindBlock {
                        kind: kind.as_str(),
                        zh: kind.zh(),
                        list: list.map(ListView::of),
                        edit_url: format!("/web/units/{}/posts/edit?{q}", unit.id),
                        history_url: format!("/web/units/{}/posts/history?{q}", unit.id),
                    }
                })
                .collect();
            PostBlock {
                anchor: format!("post-{}", i + 1),
                post: p.post,
                holders: p.holders.join("、"),
                kinds,
            }
        })
        .collect();
    let message = q
        .ok()
        .and_then(|q| q.0.saved)
        .map(|v| format!("已保存为第 {v} 版。"));
    html(
        StatusCode::OK,
        OverviewPage {
            me: &user.name,
            unit: &unit,
            posts,
            admin: user.role == Role::Admin,
            message,
        }
        .render(),
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    post: String,
    #[serde(default)]
    kind: String,
}

/// The post and kind a page is asked for, or what to fix.
fn asked(q: Result<Query<ListQuery>, QueryRejection>) -> Result<(PostName, ListKind), WebError> {
    let Query(q) = q.map_err(|_| WebError::Invalid("请从岗位列表进入。".into()))?;
    let invalid = |e: PostListError| WebError::Invalid(e.zh().unwrap_or_default());
    Ok((
        PostName::parse(&q.post).map_err(invalid)?,
        ListKind::parse(&q.kind).map_err(invalid)?,
    ))
}

#[derive(Template)]
#[template(path = "web/post_list_edit.html")]
struct EditPage<'a> {
    me: &'a str,
    unit: &'a Unit,
    post: &'a str,
    kind: &'static str,
    kind_zh: &'static str,
    text: &'a str,
    note: &'a str,
    based_on: i64,
    message: Option<String>,
    history_url: String,
    max_entries: usize,
}

struct Edit<'a> {
    unit: &'a Unit,
    post: &'a PostName,
    kind: ListKind,
    text: &'a str,
    note: &'a str,
    based_on: i64,
}

fn edit_page(
    status: StatusCode,
    me: &str,
    e: Edit<'_>,
    message: Option<String>,
) -> Result<Response, WebError> {
    html(
        status,
        EditPage {
            me,
            unit: e.unit,
            post: e.post.as_str(),
            kind: e.kind.as_str(),
            kind_zh: e.kind.zh(),
            text: e.text,
            note: e.note,
            based_on: e.based_on,
            message,
            history_url: format!(
                "/web/units/{}/posts/history?{}",
                e.unit.id,
                query_of(e.post.as_str(), e.kind)
            ),
            max_entries: MAX_ENTRIES,
        }
        .render(),
    )
}

/// `GET /web/units/{unit}/posts/edit?post=&kind=`: the form, starting
/// from the current version's entries.
pub async fn edit_form(
    State(state): State<AppState>,
    ListAdmin(caller): ListAdmin,
    Path(unit_id): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let user = &caller.0.user;
    let unit = post_lists::editable_unit(&state.store, user, &unit_id).await?;
    let (post, kind) = asked(q)?;
    let current = post_lists::history(&state.store, &unit.id, &post, kind)
        .await?
        .into_iter()
        .next();
    let text = current
        .as_ref()
        .map(|l| entries_text(&l.entries))
        .unwrap_or_default();
    let edit = Edit {
        unit: &unit,
        post: &post,
        kind,
        text: &text,
        note: "",
        based_on: current.map_or(0, |l| l.version),
    };
    edit_page(StatusCode::OK, &user.name, edit, None)
}

#[derive(Debug, Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    post: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    entries: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    based_on: String,
}

/// `POST /web/units/{unit}/posts` (post, kind, entries, note, based_on):
/// save a new version, then back to the unit's posts; a refusal shows the
/// form again with the text as typed.
pub async fn save(
    State(state): State<AppState>,
    ListAdmin(caller): ListAdmin,
    Path(unit_id): Path<String>,
    form: Result<Form<SaveForm>, FormRejection>,
) -> Result<Response, WebError> {
    let user = &caller.0.user;
    let unit = post_lists::editable_unit(&state.store, user, &unit_id).await?;
    let Form(form) = form.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            WebError::Invalid("提交的清单过长，请精简后再保存。".into())
        } else {
            WebError::Invalid("表单不完整，请从岗位列表重新进入编辑。".into())
        }
    })?;
    let invalid = |e: PostListError| WebError::Invalid(e.zh().unwrap_or_default());
    let post = PostName::parse(&form.post).map_err(invalid)?;
    let kind = ListKind::parse(&form.kind).map_err(invalid)?;
    let based_on = form
        .based_on
        .trim()
        .parse::<i64>()
        .map_err(|_| WebError::Invalid("表单不完整，请从岗位列表重新进入编辑。".into()))?;
    let edit = |based_on| Edit {
        unit: &unit,
        post: &post,
        kind,
        text: &form.entries,
        note: &form.note,
        based_on,
    };
    let entries = match post_lists::parse_entries(&form.entries) {
        Ok(entries) => entries,
        Err(e) => return edit_page(StatusCode::BAD_REQUEST, &user.name, edit(based_on), e.zh()),
    };
    let req = SaveRequest {
        unit_id: &unit.id,
        post: &post,
        kind,
        entries: &entries,
        note: &form.note,
        based_on: Some(based_on),
    };
    match post_lists::save(&state.store, &req, Saver::Web(user)).await {
        Ok(saved) => Ok(Redirect::to(&format!(
            "/web/units/{}/posts?saved={}",
            unit.id, saved.version
        ))
        .into_response()),
        Err(e @ PostListError::Stale { current, .. }) => {
            edit_page(StatusCode::CONFLICT, &user.name, edit(current), e.zh())
        }
        Err(e @ (PostListError::Store(_) | PostListError::Access(_))) => Err(e.into()),
        Err(e) => edit_page(StatusCode::BAD_REQUEST, &user.name, edit(based_on), e.zh()),
    }
}

pub struct VersionView {
    pub version: i64,
    pub saved_at: String,
    pub by: String,
    pub note: String,
    pub withdrawn: bool,
    pub current: bool,
    pub entries: Vec<Entry>,
}

#[derive(Template)]
#[template(path = "web/post_list_history.html")]
struct HistoryPage<'a> {
    me: &'a str,
    unit: &'a Unit,
    post: &'a str,
    kind_zh: &'static str,
    versions: Vec<VersionView>,
    edit_url: Option<String>,
}

/// `GET /web/units/{unit}/posts/history?post=&kind=`: every version,
/// newest first, with who saved it, when and why.
pub async fn history(
    State(state): State<AppState>,
    caller: WebCaller,
    Path(unit_id): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let user = &caller.0.user;
    let unit = post_lists::overseen_unit(&state.store, user, &unit_id).await?;
    let (post, kind) = asked(q)?;
    let lists = post_lists::history(&state.store, &unit.id, &post, kind).await?;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut versions = Vec::new();
    for (i, l) in lists.into_iter().enumerate() {
        let by = if l.saved_by.is_empty() {
            "命令行".to_owned()
        } else {
            let name = match names.get(&l.saved_by) {
                Some(name) => name.clone(),
                None => {
                    let name = state
                        .store
                        .user(&l.saved_by)
                        .await?
                        .map_or_else(|| l.saved_by.clone(), |u| u.name);
                    names.insert(l.saved_by.clone(), name.clone());
                    name
                }
            };
            if l.via == "cli" {
                format!("{name}（命令行）")
            } else {
                name
            }
        };
        versions.push(VersionView {
            version: l.version,
            saved_at: china_time(l.saved_at),
            withdrawn: l.withdrawn(),
            current: i == 0,
            by,
            note: l.note,
            entries: l.entries,
        });
    }
    html(
        StatusCode::OK,
        HistoryPage {
            me: &user.name,
            unit: &unit,
            post: post.as_str(),
            kind_zh: kind.zh(),
            versions,
            edit_url: (user.role == Role::Admin).then(|| {
                format!(
                    "/web/units/{}/posts/edit?{}",
                    unit.id,
                    query_of(post.as_str(), kind)
                )
            }),
        }
        .render(),
    )
}
