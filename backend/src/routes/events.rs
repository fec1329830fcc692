//! `GET /api/v1/events`: the caller's changes as server-sent events
//! (`crate::events`), for the phone app and API clients.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::events::{self, Events};
use crate::state::AppState;

pub async fn api_events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Events, ApiError> {
    let since = events::since(&headers, query.as_deref())?;
    Ok(events::open(state, caller, since).await?)
}
