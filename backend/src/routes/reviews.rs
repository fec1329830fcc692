//! Monthly reviews over the API: a unit's month (facts, reviewers, reviews,
//! ranking), submitting a review, and the export as `.xlsx`. Leaders and
//! supervisors see the units in their scope; a unit's members see its
//! results once the deadline has passed, up to their township (never the
//! county's results, which hold every township's people).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::reviews::month::{submit_review, unit_month, visible_unit, UnitMonth};
use crate::reviews::{xlsx, ReviewInput};
use crate::routes::ApiJson;
use crate::state::AppState;
use crate::storage::ReviewRow;

/// `GET /api/v1/units/{unit}/reviews/{month}`
pub async fn get_unit_month(
    State(state): State<AppState>,
    caller: Caller,
    Path((unit_id, month)): Path<(String, String)>,
) -> Result<Json<UnitMonth>, ApiError> {
    let unit = visible_unit(&state, &caller.user, &unit_id, &month).await?;
    Ok(Json(unit_month(&state, &unit, &month).await?))
}

/// `GET /api/v1/units/{unit}/reviews/{month}/export.xlsx`
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path((unit_id, month)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let unit = visible_unit(&state, &caller.user, &unit_id, &month).await?;
    let m = unit_month(&state, &unit, &month).await?;
    let bytes = xlsx::export(&m.unit_name, &m.month, &m.rows).map_err(ApiError::internal)?;
    Ok(xlsx::download(&m.unit_id, &m.month, bytes))
}

/// `PUT /api/v1/reviews/{month}/{user}` with `{targets, conduct, comment}`.
pub async fn put_review(
    State(state): State<AppState>,
    caller: Caller,
    Path((month, user_id)): Path<(String, String)>,
    ApiJson(input): ApiJson<ReviewInput>,
) -> Result<Json<ReviewRow>, ApiError> {
    Ok(Json(
        submit_review(&state, &caller.user, &user_id, &month, &input).await?,
    ))
}

#[derive(Debug, serde::Deserialize)]
pub struct StatementInput {
    pub text: String,
}

/// `PUT /api/v1/reviews/{month}/{user}/statement` with `{text}`: the 表态
/// of a person ranked 末位, by them or a leader over them; 201 once, 409
/// `statement_exists` after (it is never changed), 409 `not_bottom` or
/// `not_published` when there is none to make.
pub async fn put_statement(
    State(state): State<AppState>,
    caller: Caller,
    Path((month, user_id)): Path<(String, String)>,
    ApiJson(input): ApiJson<StatementInput>,
) -> Result<(axum::http::StatusCode, Json<crate::storage::StatementRow>), ApiError> {
    let row = crate::reviews::month::submit_statement(
        &state,
        &caller.user,
        &user_id,
        &month,
        &input.text,
    )
    .await?;
    Ok((axum::http::StatusCode::CREATED, Json(row)))
}
