//! 督办 items and 问题清单 problems over the API: issue, list, read, and
//! take a step (progress, request to close, confirm, send back). The
//! phone works items offline through sync; these routes serve the web
//! pages' programs and other systems.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::items::{self, IssueInput, ItemSummary, ItemView, ListQuery};
use crate::routes::ApiJson;
use crate::state::AppState;

/// `POST /api/v1/items`: issue an item (leaders, supervisors, admins) to a
/// responsible person in the caller's scope; 201 with the item.
#[utoipa::path(post, path = "/api/v1/items", request_body = IssueInput,
    responses((status = 201, body = ItemView), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn issue(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<IssueInput>,
) -> Result<(StatusCode, Json<ItemView>), ApiError> {
    let id = items::issue(&state, &caller, &input).await?;
    let view = items::view(&state, &caller.user, &id.to_string()).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// `GET /api/v1/items?unit=&month=`: the items the caller is named on and
/// those of the units they oversee, newest first, with overdue marks.
#[utoipa::path(get, path = "/api/v1/items", params(ListQuery),
    responses((status = 200, body = [ItemSummary]), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<ItemSummary>>, ApiError> {
    Ok(Json(items::list(&state, &caller.user, &q).await?))
}

/// `GET /api/v1/items/{item_id}` (`item:{key}`): the item, its history and
/// the steps the caller may take.
#[utoipa::path(get, path = "/api/v1/items/{item_id}", params(("item_id" = String, Path)),
    responses((status = 200, body = ItemView), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(item_id): Path<String>,
) -> Result<Json<ItemView>, ApiError> {
    Ok(Json(items::view(&state, &caller.user, &item_id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StepInput {
    /// `progress`, `request_close`, `confirm` or `send_back`.
    pub action: String,
    #[serde(default)]
    pub text: String,
    /// `founded` (属实) or `unfounded` (不属实): with the `confirm` of a
    /// complaint, and nothing else.
    #[serde(default)]
    pub verdict: Option<String>,
}

/// `POST /api/v1/items/{item_id}/steps` with `{action, text}`: 201 with the
/// item after the step; 403 when the caller's part does not allow it (a
/// responsible person confirming their own item), 400 when the item does
/// not stand where the step makes sense.
#[utoipa::path(post, path = "/api/v1/items/{item_id}/steps", params(("item_id" = String, Path)),
    request_body = StepInput,
    responses((status = 201, body = ItemView), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn step(
    State(state): State<AppState>,
    caller: Caller,
    Path(item_id): Path<String>,
    ApiJson(input): ApiJson<StepInput>,
) -> Result<(StatusCode, Json<ItemView>), ApiError> {
    items::take_step(
        &state,
        &caller,
        &item_id,
        &input.action,
        &input.text,
        input.verdict.as_deref(),
    )
    .await?;
    let view = items::view(&state, &caller.user, &item_id).await?;
    Ok((StatusCode::CREATED, Json(view)))
}
