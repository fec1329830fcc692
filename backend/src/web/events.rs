//! `GET /web/events`: the same stream as `/api/v1/events` for a page with
//! the session cookie (`crate::events`). Its refusals are JSON, as an
//! `EventSource` reads them.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;

use super::WebCaller;
use crate::error::ApiError;
use crate::events::{self, Events};
use crate::state::AppState;

pub async fn web_events(
    State(state): State<AppState>,
    caller: WebCaller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Events, ApiError> {
    let since = events::since(&headers, query.as_deref())?;
    Ok(events::open(state, caller.0, since).await?)
}
