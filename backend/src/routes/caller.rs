//! The API's extractors of who is calling: a request's bearer token
//! ([`Bearer`], verified but not looked up) and its [`Caller`] (the user,
//! device and session still live). Refusals answer 401 with the JSON
//! error body.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::{AuthError, Bearer, Caller};
use crate::error::ApiError;
use crate::state::AppState;

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| AuthError::Unauthorized("missing bearer token".into()))?;
        let token = header.strip_prefix("Bearer ").ok_or_else(|| {
            AuthError::Unauthorized("expected `Authorization: Bearer <token>`".into())
        })?;
        Ok(Bearer(state.keys.verify(token.trim())?))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Bearer(claims) = Bearer::from_request_parts(parts, state).await?;
        Ok(Caller::from_claims(state, claims).await?)
    }
}
