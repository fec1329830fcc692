//! `GET /api/v1/people`: the names the caller's screens show. A comment, a
//! review or a record names its writer by user id; the phone and the pages
//! turn ids into names with this list. It holds the caller, the people whose
//! records the caller may read (a leader's or supervisor's subtree), and the
//! people who may read the caller's (the leaders and supervisors above them,
//! and their reviewer): never a cadre the caller cannot read.

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use sync_core::Role;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::reviews::month::reviewer_of;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: String,
    pub name: String,
    /// `cadre`, `leader`, `supervisor` or `admin`.
    pub role: String,
    pub unit_id: String,
    pub unit_name: String,
    /// 职务.
    pub post: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct People {
    /// By id.
    pub people: Vec<Person>,
}

/// The people whose names the caller's screens show.
#[utoipa::path(get, path = "/api/v1/people",
    responses((status = 200, body = People), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn people(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<People>, ApiError> {
    let units = state.store.units().await?;
    let users = state.store.users().await?;
    let unit: HashMap<&str, _> = units.iter().map(|u| (u.id.as_str(), u)).collect();
    let path = |id: &str| unit.get(id).map(|u| u.path.as_str());
    let me = &caller.user;
    let my_path = path(&me.unit_id);
    let scope_of = |u: &crate::storage::User| match (u.role, &u.scope_unit_id) {
        (Role::Cadre, _) | (_, None) => None,
        (_, Some(s)) => path(s),
    };
    let my_scope = scope_of(me);
    let reviewer = reviewer_of(&state, me).await?;
    let mut people: Vec<Person> = users
        .iter()
        .filter(|u| !u.disabled)
        .filter(|u| {
            let mine = u.id == me.id;
            let i_read =
                my_scope.is_some_and(|s| path(&u.unit_id).is_some_and(|p| p.starts_with(s)));
            let reads_me = scope_of(u).is_some_and(|s| my_path.is_some_and(|p| p.starts_with(s)));
            mine || i_read || reads_me || reviewer.as_deref() == Some(u.id.as_str())
        })
        .map(|u| Person {
            id: u.id.clone(),
            name: u.name.clone(),
            role: u.role.as_str().to_owned(),
            unit_id: u.unit_id.clone(),
            unit_name: unit
                .get(u.unit_id.as_str())
                .map(|x| x.name.clone())
                .unwrap_or_default(),
            post: u.post.clone(),
        })
        .collect();
    people.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Json(People { people }))
}
