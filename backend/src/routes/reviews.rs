//! Monthly reviews over the API: a unit's month (facts, reviewers, reviews,
//! ranking), submitting a review, and the export as `.xlsx`. Leaders and
//! supervisors see the units in their scope; a unit's members see its
//! results once the deadline has passed, up to their township (never the
//! county's results, which hold every township's people).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sync_core::Role;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::reviews::assign::Org;
use crate::reviews::results::{rank, Facts, ResultRow};
use crate::reviews::{deadline_ms, last_day, member_sees, parse_month, xlsx, ReviewInput};
use crate::routes::ApiJson;
use crate::storage::{now_ms, ReviewRow, Unit};

#[derive(Debug, Serialize)]
pub struct UnitMonth {
    pub unit_id: String,
    pub unit_name: String,
    pub month: String,
    pub deadline_ms: i64,
    /// The deadline has passed: the results are published to the unit.
    pub published: bool,
    pub rows: Vec<ResultRow>,
}

fn month_or_400(month: &str) -> Result<chrono::NaiveDate, ApiError> {
    parse_month(month)
        .ok_or_else(|| ApiError::bad_request("bad_month", "月份格式应为 YYYY-MM，例如 2026-11"))
}

/// The reviewer of `user`: an admin's override, else the unit tree's.
pub async fn reviewer_of(
    state: &AppState,
    user: &crate::storage::User,
) -> Result<Option<String>, ApiError> {
    if let Some(r) = state.store.reviewer_override(&user.id).await? {
        return Ok(Some(r));
    }
    let units = state.store.units().await?;
    let users = state.store.users().await?;
    Ok(Org::new(&units, &users).reviewer(user).map(str::to_owned))
}

/// Everything about a unit's month.
pub async fn unit_month(state: &AppState, unit: &Unit, month: &str) -> Result<UnitMonth, ApiError> {
    let first = month_or_400(month)?;
    let (from, to) = (
        first.format("%Y-%m-%d").to_string(),
        last_day(first).format("%Y-%m-%d").to_string(),
    );
    let units = state.store.units().await?;
    let users = state.store.users().await?;
    let org = Org::new(&units, &users);
    let names: BTreeMap<&str, &str> = units
        .iter()
        .map(|u| (u.id.as_str(), u.name.as_str()))
        .collect();
    let filing: BTreeMap<String, crate::storage::FilingRow> = state
        .store
        .filing(&unit.id, &from, &to)
        .await?
        .into_iter()
        .map(|f| (f.user_id.clone(), f))
        .collect();
    let mut rows = Vec::new();
    for user in state.store.users_under(&unit.id).await? {
        if user.disabled || !matches!(user.role, Role::Cadre | Role::Leader) {
            continue;
        }
        let (tasks_done, tasks_open) = state.store.task_counts(&user.id, month).await?;
        let f = filing.get(&user.id);
        let facts = Facts {
            days_filed: f.map_or(0, |f| f.days_filed),
            entries: f.map_or(0, |f| f.entries),
            night_activities: f.map_or(0, |f| f.night_activities),
            nights_stayed: f.map_or(0, |f| f.nights_stayed),
            tasks_done,
            tasks_open,
        };
        let reviewer_id = match state.store.reviewer_override(&user.id).await? {
            Some(r) => Some(r),
            None => org.reviewer(&user).map(str::to_owned),
        };
        rows.push(ResultRow {
            review: state.store.review(&user.id, month).await?,
            unit_name: names
                .get(user.unit_id.as_str())
                .copied()
                .unwrap_or("")
                .to_owned(),
            user_id: user.id,
            name: user.name,
            reviewer_id,
            facts,
            total: None,
            rank: None,
            bottom: false,
        });
    }
    let deadline = deadline_ms(first, state.config.review_deadline_day);
    Ok(UnitMonth {
        unit_id: unit.id.clone(),
        unit_name: unit.name.clone(),
        month: month.to_owned(),
        deadline_ms: deadline,
        published: now_ms() > deadline,
        rows: rank(rows),
    })
}

/// May the caller see this unit's month? Leaders and supervisors over it;
/// after the deadline, its members: their own unit and those above it up to
/// their township or department (`member_sees`), never the county above
/// nor a sibling township.
async fn visible_unit(
    state: &AppState,
    caller: &Caller,
    unit_id: &str,
    month: &str,
) -> Result<Unit, ApiError> {
    let first = month_or_400(month)?;
    let unit = state.store.unit(unit_id).await?.ok_or(ApiError::NotFound)?;
    let over = match (caller.user.role, &caller.user.scope_unit_id) {
        (Role::Cadre, _) | (_, None) => false,
        (_, Some(scope)) => state.store.unit_in_scope(unit_id, scope).await?,
    };
    if over {
        return Ok(unit);
    }
    // The caller's unit and those above it, nearest first.
    let mut chain = Vec::new();
    let mut at = Some(caller.user.unit_id.clone());
    while let Some(id) = at.filter(|_| chain.len() < 64) {
        let Some(u) = state.store.unit(&id).await? else {
            break;
        };
        at = u.parent_id.clone();
        chain.push(u);
    }
    if member_sees(&chain, unit_id)
        && now_ms() > deadline_ms(first, state.config.review_deadline_day)
    {
        return Ok(unit);
    }
    Err(ApiError::NotFound)
}

/// `GET /api/v1/units/{unit}/reviews/{month}`
pub async fn get_unit_month(
    State(state): State<AppState>,
    caller: Caller,
    Path((unit_id, month)): Path<(String, String)>,
) -> Result<Json<UnitMonth>, ApiError> {
    let unit = visible_unit(&state, &caller, &unit_id, &month).await?;
    Ok(Json(unit_month(&state, &unit, &month).await?))
}

/// `GET /api/v1/units/{unit}/reviews/{month}/export.xlsx`
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path((unit_id, month)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let unit = visible_unit(&state, &caller, &unit_id, &month).await?;
    let m = unit_month(&state, &unit, &month).await?;
    let bytes = xlsx::export(&m.unit_name, &m.month, &m.rows).map_err(ApiError::internal)?;
    xlsx_response(&m.unit_id, &m.month, bytes)
}

/// A unit's month as a spreadsheet download.
pub fn xlsx_response(unit_id: &str, month: &str, bytes: Vec<u8>) -> Result<Response, ApiError> {
    let name = format!("attachment; filename=\"reviews-{unit_id}-{month}.xlsx\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&name).map_err(ApiError::internal)?,
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Submit (or resubmit) a review: only its reviewer, or an admin.
pub async fn submit_review(
    state: &AppState,
    reviewer: &crate::storage::User,
    user_id: &str,
    month: &str,
    input: &ReviewInput,
) -> Result<ReviewRow, ApiError> {
    let first = month_or_400(month)?;
    let user = state.store.user(user_id).await?.ok_or(ApiError::NotFound)?;
    let assigned = reviewer_of(state, &user).await?.as_deref() == Some(reviewer.id.as_str());
    let scope = crate::sync::read_scope(&state.store, reviewer).await?;
    let in_scope = crate::sync::may_read(&state.store, &scope, &user.id).await?;
    // The assigned reviewer (by the tree or an admin's override) reviews;
    // an admin, anyone within their own scope.
    let allowed = if reviewer.role == Role::Admin {
        in_scope
    } else {
        assigned
    };
    if !allowed {
        // Outside the caller's scope a person is as unknown as one who
        // does not exist: a refusal here would tell that they do.
        return Err(if in_scope {
            ApiError::Forbidden("您不是该干部本月的点评人".into())
        } else {
            ApiError::NotFound
        });
    }
    input
        .validate()
        .map_err(|e| ApiError::bad_request("invalid_review", e.message))?;
    let now = now_ms();
    let row = ReviewRow {
        user_id: user.id,
        month: month.to_owned(),
        reviewer_id: reviewer.id.clone(),
        targets: input.targets,
        conduct: input.conduct,
        comment: input.comment.clone(),
        submitted_at: now,
        late: now > deadline_ms(first, state.config.review_deadline_day),
    };
    state.store.insert_review(&row).await?;
    Ok(row)
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
