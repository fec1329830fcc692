//! What a web page answers when it cannot show what was asked: a page in
//! Chinese with the right status, or the login page for a missing session.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::error::ApiError;
use crate::problem::Problem;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No valid session: go to the login page, then back to `next`.
    #[error("login required")]
    Login { next: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error("too many attempts")]
    TooMany,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl WebError {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        WebError::Internal(e.into())
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthorized(_) => WebError::Login {
                next: "/web/".into(),
            },
            ApiError::Forbidden(m) => WebError::Forbidden(m),
            ApiError::NotFound => WebError::NotFound,
            ApiError::BadRequest { message, .. } => WebError::Invalid(message),
            ApiError::Conflict { .. } => WebError::Invalid(CONFLICT.into()),
            ApiError::TooManyRequests | ApiError::Limited { .. } | ApiError::Busy { .. } => {
                WebError::TooMany
            }
            ApiError::PayloadTooLarge => WebError::Invalid("提交的内容过大。".into()),
            ApiError::Internal(e) => WebError::Internal(e),
        }
    }
}

impl From<Problem> for WebError {
    fn from(p: Problem) -> Self {
        match p {
            Problem::NotFound => WebError::NotFound,
            Problem::Invalid { message, .. } => WebError::Invalid(message),
            Problem::Forbidden(m) => WebError::Forbidden(m),
            Problem::Unauthorized(_) => WebError::Login {
                next: "/web/".into(),
            },
            Problem::Conflict { .. } => WebError::Invalid(CONFLICT.into()),
            Problem::Limited { .. } => WebError::TooMany,
            Problem::Internal(e) => WebError::Internal(e),
        }
    }
}

/// What a page says when the records changed under the request.
const CONFLICT: &str = "数据正在更新，请稍后再试。";

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            WebError::Login { next } => {
                return Redirect::to(&format!("/web/login?next={}", super::encode_query(next)))
                    .into_response();
            }
            WebError::Forbidden(m) => (StatusCode::FORBIDDEN, "无权访问", m.clone()),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "未找到",
                "您要找的页面不存在，或不在您的管辖范围内。".to_owned(),
            ),
            WebError::Invalid(m) => (StatusCode::BAD_REQUEST, "提交有误", m.clone()),
            WebError::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                "操作过于频繁",
                "尝试次数过多，请一分钟后再试。".to_owned(),
            ),
            WebError::Internal(e) => {
                tracing::error!(error = ?e, "web page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "服务器出错",
                    "服务器内部错误，请稍后再试；如果一直出现，请联系管理员。".to_owned(),
                )
            }
        };
        match (ErrorPage {
            title,
            message: &message,
        })
        .render()
        {
            Ok(html) => (
                status,
                [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
                Html(html),
            )
                .into_response(),
            // Never HTML that was not escaped: the message may echo input.
            Err(_) => (status, message).into_response(),
        }
    }
}
