//! Health, metrics, the OpenAPI document, and the JSON answers for unknown
//! routes and contained panics.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sha2::{Digest, Sha256};
use utoipa::OpenApi;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Jishi API",
        description = "Offline-first work records of village and township officials. Sync bodies use the batch format of docs/sync-protocol.md."
    ),
    paths(
        healthz,
        crate::routes::auth::login,
        crate::routes::auth::refresh,
        crate::routes::auth::logout,
        crate::routes::auth::me,
        crate::routes::people::people,
        crate::routes::sync::sync,
        crate::routes::records::document,
        crate::routes::records::changes,
        crate::routes::records::days,
        crate::routes::records::filing,
        crate::routes::items::issue,
        crate::routes::items::list,
        crate::routes::items::get,
        crate::routes::items::step,
        crate::routes::post_lists::unit_lists,
        crate::routes::cards::get_mine,
        crate::routes::cards::put_mine,
        crate::routes::cases::challenge,
        crate::routes::cases::file_json,
        crate::routes::cases::lookup_json,
        crate::routes::cases::take_call,
        crate::routes::cases::filer,
    ),
    components(schemas(
        ErrorBody,
        crate::auth::TokenPair,
        crate::routes::auth::LoginRequest,
        crate::routes::auth::RefreshRequest,
        crate::routes::people::People,
        crate::routes::people::Person,
        crate::items::IssueInput,
        crate::items::ItemSummary,
        crate::items::ItemView,
        crate::items::StepView,
        crate::items::Person,
        crate::routes::items::StepInput,
        crate::routes::post_lists::UnitPostLists,
        crate::post_lists::PostList,
        crate::post_lists::Entry,
        crate::post_lists::ListKind,
        crate::routes::cards::MyCard,
        crate::routes::cards::CardInput,
        crate::routes::cases::Challenge,
        crate::routes::cases::PublicFiling,
        crate::routes::cases::CodeInput,
        crate::cases::Filing,
        crate::cases::Filed,
        crate::cases::Filer,
        crate::cases::PublicCase
    ))
)]
pub struct ApiDoc;

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "healthy"), (status = 503, description = "database unreachable")))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(serde_json::json!({"status": "ok", "database": state.store.dialect()}))
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

/// Prometheus text, for the holder of `metrics_token` only; without one
/// configured the route is off (404, like an unknown route).
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.config.metrics_token else {
        return ApiError::NotFound.into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    if !same_secret(presented, token.expose()) {
        let mut refused =
            ApiError::Unauthorized("metrics need `Authorization: Bearer <metrics_token>`".into())
                .into_response();
        refused.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        return refused;
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Whether two secrets are equal, in time that does not depend on where
/// they differ (both are hashed to the same length first).
fn same_secret(presented: &str, expected: &str) -> bool {
    let (a, b) = (
        Sha256::digest(presented.as_bytes()),
        Sha256::digest(expected.as_bytes()),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// What no route answers: JSON for programs, a Chinese page under the
/// public notices' `/p/` (people follow those links).
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/p/") || uri.path() == "/p" {
        return super::publications::PageError::from(ApiError::NotFound).into_response();
    }
    ApiError::NotFound.into_response()
}

/// A panic in a handler is a bug; the client gets a JSON 500, the process
/// lives on.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()
}
