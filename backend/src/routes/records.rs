//! Reading records: a document, its change log, a user's days, a unit's
//! filing. Every query is scoped: outside the caller's scope is 404, the same
//! as what does not exist.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use sync_core::document::Record;
use sync_core::ids::Period;
use sync_core::{DocId, Role};

use crate::access::{may_read, may_read_doc, read_scope};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::records::{days_of, decode, Day};
use crate::state::AppState;
use crate::storage::{ChangeLogRow, FilingRow};

#[derive(Debug, Deserialize)]
pub struct Range {
    pub from: String,
    pub to: String,
}

impl Range {
    fn parse(&self) -> Result<(String, String), ApiError> {
        let from = Period::parse_day(&self.from)
            .map_err(|e| ApiError::bad_request("bad_date", format!("from: {e}")))?;
        let to = Period::parse_day(&self.to)
            .map_err(|e| ApiError::bad_request("bad_date", format!("to: {e}")))?;
        if to < from || (to - from).num_days() > 366 {
            return Err(ApiError::bad_request(
                "bad_range",
                "`to` must follow `from`, at most 366 days later",
            ));
        }
        Ok((
            from.format("%Y-%m-%d").to_string(),
            to.format("%Y-%m-%d").to_string(),
        ))
    }
}

async fn readable_doc(state: &AppState, caller: &Caller, doc_id: &str) -> Result<DocId, ApiError> {
    let id =
        DocId::parse(doc_id).map_err(|e| ApiError::bad_request("bad_doc_id", e.to_string()))?;
    let scope = read_scope(&state.store, &caller.user).await?;
    if !may_read_doc(&state.store, &scope, &id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(id)
}

/// One document as plain values.
#[utoipa::path(get, path = "/api/v1/documents/{doc_id}", params(("doc_id" = String, Path)),
    responses((status = 200), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn document(
    State(state): State<AppState>,
    caller: Caller,
    Path(doc_id): Path<String>,
) -> Result<Json<Record>, ApiError> {
    let id = readable_doc(&state, &caller, &doc_id).await?;
    let docs = state
        .store
        .load_documents(std::slice::from_ref(&doc_id))
        .await?;
    let stored = docs.get(&doc_id).ok_or(ApiError::NotFound)?;
    Ok(Json(decode(id, &stored.bytes).map_err(ApiError::internal)?))
}

/// Every change the server accepted for a document: who, which device, when.
#[utoipa::path(get, path = "/api/v1/documents/{doc_id}/changes", params(("doc_id" = String, Path)),
    responses((status = 200), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn changes(
    State(state): State<AppState>,
    caller: Caller,
    Path(doc_id): Path<String>,
) -> Result<Json<Vec<ChangeLogRow>>, ApiError> {
    readable_doc(&state, &caller, &doc_id).await?;
    let rows = state.store.change_log(&doc_id).await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound);
    }
    Ok(Json(rows))
}

/// A user's diaries and night logs, day by day, over `from..=to`.
#[utoipa::path(get, path = "/api/v1/users/{user_id}/days", params(("user_id" = String, Path), ("from" = String, Query), ("to" = String, Query)),
    responses((status = 200), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn days(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    Query(range): Query<Range>,
) -> Result<Json<Vec<Day>>, ApiError> {
    let (from, to) = range.parse()?;
    let scope = read_scope(&state.store, &caller.user).await?;
    if !may_read(&state.store, &scope, &user_id).await?
        || state.store.user(&user_id).await?.is_none()
    {
        return Err(ApiError::NotFound);
    }
    Ok(Json(days_of(&state.store, &user_id, &from, &to).await?))
}

/// Filing figures of every cadre under a unit over `from..=to`.
#[utoipa::path(get, path = "/api/v1/units/{unit_id}/filing", params(("unit_id" = String, Path), ("from" = String, Query), ("to" = String, Query)),
    responses((status = 200), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn filing(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit_id): Path<String>,
    Query(range): Query<Range>,
) -> Result<Json<Vec<FilingRow>>, ApiError> {
    let (from, to) = range.parse()?;
    let allowed = match (caller.user.role, &caller.user.scope_unit_id) {
        (Role::Cadre, _) | (_, None) => false,
        (_, Some(scope)) => state.store.unit_in_scope(&unit_id, scope).await?,
    };
    if !allowed {
        return Err(ApiError::NotFound);
    }
    Ok(Json(state.store.filing(&unit_id, &from, &to).await?))
}
