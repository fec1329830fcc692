//! Login, refresh, logout, and who am I.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use sync_core::Actor;

use crate::auth::{self, Caller, TokenPair};
use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::routes::ApiJson;
use crate::state::AppState;
use crate::storage::User;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
    /// A stable id the phone generated for itself (1–64 of A-Z a-z 0-9 _ -).
    pub device_id: String,
    #[serde(default)]
    pub device_name: String,
    /// The Automerge actor ids (hex) this device writes with.
    #[serde(default)]
    pub actors: Vec<String>,
    /// The last `device_check` this device received (none on its first
    /// login): an older copy of the phone's folder is refused with 409
    /// `device_copied`.
    #[serde(default)]
    pub device_check: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
    /// As at login.
    #[serde(default)]
    pub device_check: Option<String>,
}

fn valid_device_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Log in on a device: registers the device and its actors, returns tokens.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest,
    responses((status = 200, body = TokenPair), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    if req.login.is_empty() || req.login.len() > 128 || req.password.len() > 1024 {
        return Err(ApiError::bad_request(
            "bad_login",
            "login and password are required",
        ));
    }
    if req.device_check.as_ref().is_some_and(|c| c.len() > 256) {
        return Err(ApiError::bad_request(
            "bad_device",
            "device_check is at most 256 characters",
        ));
    }
    if !valid_device_id(&req.device_id) || req.device_name.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "bad_device",
            "device_id must be 1 to 64 characters of A-Z a-z 0-9 _ -; device_name at most 100",
        ));
    }
    if req.actors.len() > 16 {
        return Err(ApiError::bad_request(
            "bad_actor",
            "at most 16 actors per device",
        ));
    }
    let mut actors = Vec::with_capacity(req.actors.len());
    for a in &req.actors {
        let actor =
            Actor::from_hex(a).map_err(|e| ApiError::bad_request("bad_actor", e.to_string()))?;
        actors.push(actor.to_hex());
    }
    let user = auth::check_password(&state, &req.login, req.password, client).await?;
    state
        .store
        .register_device(&req.device_id, &user.id, &req.device_name, &actors)
        .await?;
    let check = auth::check_device(
        &state,
        &user.id,
        &req.device_id,
        req.device_check.as_deref(),
    )
    .await?;
    state.metrics.logins.inc();
    Ok(Json(
        auth::issue_pair(&state, &user, &req.device_id, None, check).await?,
    ))
}

/// Rotate a refresh token. A used token presented again after the grace
/// period revokes its whole family.
#[utoipa::path(post, path = "/api/v1/auth/refresh", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = crate::error::ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    if req.refresh_token.len() > 256 || req.device_check.as_ref().is_some_and(|c| c.len() > 256) {
        return Err(ApiError::Unauthorized(
            "refresh token is not valid; log in again".into(),
        ));
    }
    Ok(Json(
        auth::refresh(&state, &req.refresh_token, req.device_check.as_deref()).await?,
    ))
}

/// End this session: its refresh family is revoked, and its access tokens
/// stop working on their next request.
#[utoipa::path(post, path = "/api/v1/auth/logout", request_body = RefreshRequest,
    responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    let hash = auth::token_hash(&req.refresh_token);
    let token = state
        .store
        .refresh_token(&hash)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("refresh token is not valid".into()))?;
    state.store.revoke_family(&token.family_id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn me(caller: Caller) -> Json<User> {
    Json(caller.user)
}
