//! HTTP handlers. They parse, call the auth, sync and storage layers, and
//! shape replies; they never see SQL.

pub mod auth;
pub mod caller;
pub mod cards;
pub mod cases;
pub mod events;
pub mod items;
pub mod ops;
pub mod people;
pub mod photos;
pub mod post_lists;
pub mod publications;
pub mod records;
pub mod reviews;
pub mod sync;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body whose every failure is an `ApiError` (JSON `{code, message}`).
pub struct ApiJson<T>(pub T);

/// The raw body, with a too-large body answered as 413 JSON.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::bad_request("bad_body", e.body_text())
                }
            })
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        serde_json::from_slice(&bytes).map(ApiJson).map_err(|e| {
            ApiError::bad_request(
                "bad_json",
                format!("the body is not the expected JSON: {e}"),
            )
        })
    }
}
