//! Logging in and out of the web pages, and the session extractor.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use sync_core::{Actor, Role};

use super::WebError;
use crate::auth::{self, AuthError, Caller};
use crate::client_addr::ClientAddr;
use crate::limits::login::LoginLimitError;
use crate::state::AppState;

const COOKIE: &str = "jishi_web";
/// A web session lasts a working day.
pub const SESSION_SECS: u64 = 12 * 3600;

/// A logged-in leader, supervisor or admin on the web pages.
pub struct WebCaller(pub Caller);

impl WebCaller {
    /// The unit whose subtree this person oversees.
    pub fn scope(&self) -> Result<&str, WebError> {
        self.0
            .user
            .scope_unit_id
            .as_deref()
            .ok_or_else(|| WebError::Forbidden(NOT_FOR_CADRES.into()))
    }
}

const NOT_FOR_CADRES: &str = "网页端供领导、督导和管理员使用；干部请使用手机应用填写和查看纪实。";

fn session_cookie(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

impl FromRequestParts<AppState> for WebCaller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        // After login, back here; a form's target cannot be reached by the
        // redirect (GET), so back to the page the form was on.
        let next = if parts.method == axum::http::Method::GET {
            parts.uri.path_and_query().map(|p| p.as_str().to_owned())
        } else {
            parts
                .headers
                .get(header::REFERER)
                .and_then(|r| r.to_str().ok())
                .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
                .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()))
        };
        let next = next
            .filter(|n| super::own_page(n, "/web/").is_some())
            .unwrap_or_else(|| "/web/".into());
        let login = || WebError::Login { next: next.clone() };
        let token = session_cookie(parts).ok_or_else(login)?;
        let claims = state.keys.verify_web(token).map_err(|_| login())?;
        let caller = Caller::from_claims(state, claims)
            .await
            .map_err(|e| match e {
                AuthError::Unauthorized(_) => login(),
                other => other.into(),
            })?;
        if caller.user.role == Role::Cadre || caller.user.scope_unit_id.is_none() {
            return Err(WebError::Forbidden(NOT_FOR_CADRES.into()));
        }
        Ok(WebCaller(caller))
    }
}

#[derive(Template)]
#[template(path = "web/login.html")]
struct LoginPage<'a> {
    next: &'a str,
    login: &'a str,
    error: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Only our own pages are a place to go after login (no open redirect).
fn safe_next(next: &str) -> &str {
    super::own_page(next, "/web/").unwrap_or("/web/")
}

fn login_form(status: StatusCode, next: &str, login: &str, error: Option<&str>) -> Response {
    match (LoginPage {
        next: safe_next(next),
        login,
        error,
    })
    .render()
    {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => WebError::internal(e).into_response(),
    }
}

/// `GET /web/login`
pub async fn login_page(
    query: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = query.map(|q| q.0.next).unwrap_or_default();
    login_form(StatusCode::OK, &next, "", None)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /web/login`: check the password, register this browser as a
/// device with its own writer, and set the session cookie.
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_form(
            StatusCode::BAD_REQUEST,
            "",
            "",
            Some("请填写用户名和密码。"),
        );
    };
    let login = form.login.trim();
    if login.is_empty()
        || form.password.is_empty()
        || login.len() > 128
        || form.password.len() > 1024
    {
        return login_form(
            StatusCode::BAD_REQUEST,
            &form.next,
            login,
            Some("请填写用户名和密码。"),
        );
    }
    let user = match auth::check_password(&state, login, form.password, client).await {
        Ok(user) => user,
        Err(AuthError::Limited(LoginLimitError::TooMany { .. })) => {
            return login_form(
                StatusCode::TOO_MANY_REQUESTS,
                &form.next,
                login,
                Some("尝试次数过多，请一分钟后再试。"),
            )
        }
        Err(AuthError::Unauthorized(_)) => {
            return login_form(
                StatusCode::UNAUTHORIZED,
                &form.next,
                login,
                Some("用户名或密码错误。"),
            )
        }
        Err(e) => return WebError::from(e).into_response(),
    };
    if user.role == Role::Cadre || user.scope_unit_id.is_none() {
        return login_form(
            StatusCode::FORBIDDEN,
            &form.next,
            login,
            Some(NOT_FOR_CADRES),
        );
    }
    match start_session(&state, &user).await {
        Ok(cookie) => (
            [(header::SET_COOKIE, cookie)],
            Redirect::to(safe_next(&form.next)),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn start_session(
    state: &AppState,
    user: &crate::storage::User,
) -> Result<HeaderValue, WebError> {
    let mut id = [0u8; 12];
    rand::fill(&mut id);
    let device_id = format!("web-{}", hex::encode(id));
    let actor = Actor::random();
    state
        .store
        .register_device(&device_id, &user.id, "网页", &[actor.to_hex()])
        .await?;
    let token = state.keys.issue_web(user, &device_id, SESSION_SECS)?;
    let secure = if state.config.web_secure_cookie {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/web; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECS}{secure}"
    ))
    .map_err(WebError::internal)
}

/// `POST /web/logout`: the session's device is revoked at once.
pub async fn logout(
    State(state): State<AppState>,
    caller: WebCaller,
) -> Result<Response, WebError> {
    state.store.revoke_device(&caller.0.device_id).await?;
    Ok((
        [(
            header::SET_COOKIE,
            HeaderValue::from_static("jishi_web=; Path=/web; HttpOnly; SameSite=Strict; Max-Age=0"),
        )],
        Redirect::to("/web/login"),
    )
        .into_response())
}
