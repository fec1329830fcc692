//! The one HTTP error: a status and a JSON body `{"code", "message"}`.
//!
//! Client faults get a 4xx with a code the app can act on; internal causes
//! are logged with the request and never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::problem::Problem;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    /// The state changed under the request, or forbids it now: 409 with
    /// `code` (`conflict` unless a more precise one is known).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("too many requests")]
    TooManyRequests,
    /// A limit of the caller's own (its open event streams, its login
    /// attempts): 429 with `Retry-After` and what to do.
    #[error("{message}")]
    Limited {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    #[error("request body too large")]
    PayloadTooLarge,
    /// As many requests as the server takes at once are being worked on:
    /// 503 with `Retry-After`, nothing of the request read or stored.
    #[error("busy")]
    Busy { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        match p {
            Problem::NotFound => ApiError::NotFound,
            Problem::Invalid { code, message } => ApiError::BadRequest { code, message },
            Problem::Forbidden(m) => ApiError::Forbidden(m),
            Problem::Unauthorized(m) => ApiError::Unauthorized(m),
            Problem::Conflict { code, message } => ApiError::Conflict { code, message },
            Problem::Limited {
                code,
                message,
                retry_after_secs,
            } => ApiError::Limited {
                code,
                message,
                retry_after_secs,
            },
            Problem::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            ApiError::BadRequest { code, message } => {
                (StatusCode::BAD_REQUEST, *code, message.clone())
            }
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m.clone()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m.clone()),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such resource".to_owned(),
            ),
            ApiError::Conflict { code, message } => (StatusCode::CONFLICT, *code, message.clone()),
            ApiError::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many attempts; wait a minute and try again".to_owned(),
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request body is larger than allowed".to_owned(),
            ),
            ApiError::Limited {
                code,
                message,
                retry_after_secs,
            } => {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(
                        axum::http::header::RETRY_AFTER,
                        retry_after_secs.to_string(),
                    )],
                    Json(ErrorBody {
                        code: (*code).to_owned(),
                        message: message.clone(),
                    }),
                )
                    .into_response();
            }
            ApiError::Busy { retry_after_secs } => {
                let body = Json(ErrorBody {
                    code: "busy".to_owned(),
                    message: format!(
                        "the server is busy with other phones' syncs; nothing was stored, send it again in {retry_after_secs} s"
                    ),
                });
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(
                        axum::http::header::RETRY_AFTER,
                        retry_after_secs.to_string(),
                    )],
                    body,
                )
                    .into_response();
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; it has been logged".to_owned(),
                )
            }
        };
        (
            status,
            Json(ErrorBody {
                code: code.to_owned(),
                message,
            }),
        )
            .into_response()
    }
}
