//! `POST /api/v1/sync`: the batch endpoint (see `crate::sync`).

use axum::extract::{FromRequest, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::auth::{Bearer, Caller};
use crate::error::ApiError;
use crate::routes::RawBody;
use crate::state::AppState;

pub use sync_core::protocol::CONTENT_TYPE;

/// Seconds a phone turned away as busy is told to wait (`Retry-After`);
/// phones add their own jitter.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// The largest declared body a request turned away as busy has read (and
/// dropped) so that its connection carries the phone's retry. A week's
/// backlog is about 30 KB; the phone has sent the body anyway (no
/// `Expect: 100-continue`), and a closed connection would cost it a new
/// TCP (on the internet, TLS) handshake per retry and the server about
/// 0.3 ms of CPU (BENCHMARKS.md, issue 7). Larger or undeclared bodies are
/// not read: that answer closes the connection.
pub const BUSY_DRAIN_MAX_BYTES: u64 = 256 * 1024;

/// A turn to be worked on, or 503 `busy` at once when `max_sync_requests`
/// requests are already being worked on. Taken after the device's own turn
/// (a device's requests run one at a time, so one device holds at most one
/// of these, however many it sends), before the body is read and before
/// the caller's user and device rows are: a busy answer costs the token's
/// signature check and nothing of the database (under a Monday burst
/// there are about as many busy answers as requests worked on). A burst
/// of phones then sees short requests and quick refusals, instead of every
/// request waiting in line for seconds and timing out on a bad network
/// after the server had done its work.
fn admit(state: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    state
        .sync_admission
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            state.metrics.sync_busy.inc();
            ApiError::Busy {
                retry_after_secs: BUSY_RETRY_AFTER_SECS,
            }
        })
}

/// The busy answer to `request`: when its declared body is small
/// ([`BUSY_DRAIN_MAX_BYTES`]), the body is read and dropped (a frame at a
/// time, never held whole) and the response marked
/// [`crate::app::BodyRead`], so the connection stays open for the retry;
/// otherwise the connection is closed after the answer.
async fn turn_away(request: Request, busy: ApiError) -> Response {
    use futures_util::StreamExt;
    let declared = declared_length(&request);
    let mut response = busy.into_response();
    if declared.is_some_and(|n| n <= BUSY_DRAIN_MAX_BYTES) {
        let mut frames = request.into_body().into_data_stream();
        let mut read = 0u64;
        let mut whole = true;
        while let Some(frame) = frames.next().await {
            match frame {
                Ok(bytes) => {
                    read += bytes.len() as u64;
                    if read > BUSY_DRAIN_MAX_BYTES {
                        whole = false;
                        break;
                    }
                }
                Err(_) => {
                    whole = false;
                    break;
                }
            }
        }
        if whole {
            response.extensions_mut().insert(crate::app::BodyRead);
        }
    }
    response
}

/// The body's length as its `Content-Length` declares it.
fn declared_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Exchange a batch of Automerge sync messages (wire format in
/// docs/sync-protocol.md). What the reply acknowledges is durable.
#[utoipa::path(post, path = "/api/v1/sync",
    request_body(content = Vec<u8>, content_type = "application/vnd.jishi.sync-batch"),
    responses(
        (status = 200, description = "reply batch", content_type = "application/vnd.jishi.sync-batch"),
        (status = 400, description = "malformed batch", body = crate::error::ErrorBody),
        (status = 401, description = "bad or missing token", body = crate::error::ErrorBody),
        (status = 413, description = "body too large", body = crate::error::ErrorBody),
        (status = 503, description = "busy: as many syncs as the server takes at once are being worked on; nothing was stored; send it again after `Retry-After` seconds (a body of at most 256 KiB is read and dropped, and the connection stays open for the retry; a larger one is not read and the connection closes)", body = crate::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn sync(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    request: Request,
) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    // Bodies in memory at once are bounded, whoever sends them: reserve
    // what this one declares (or the largest allowed, when it does not say)
    // before reading it, and hold it while the request is worked on.
    // The device id is the signed token's: a caller cannot take another
    // device's turn. Revocation is checked right after admission.
    let _turn = state.device_gate.turn(&claims.dev).await;
    let _admitted = match admit(&state) {
        Ok(permit) => permit,
        Err(busy) => return Ok(turn_away(request, busy).await),
    };
    let caller = Caller::from_claims(&state, claims).await?;
    let limit = state.config.max_sync_body_bytes;
    let declared = declared_length(&request);
    // Too large by its own account: refused before a byte of it is read.
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    let declared = declared.map_or(limit, |n| n as usize);
    let _reserved = state
        .sync_bytes
        .reserve(declared)
        .await
        .map_err(ApiError::internal)?;
    let RawBody(body) = RawBody::from_request(request, &state).await?;
    let reply = crate::sync::handle(&state, &caller, &body).await?;
    state.metrics.sync_requests.inc();
    state
        .metrics
        .sync_seconds
        .observe(started.elapsed().as_secs_f64());
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], reply).into_response())
}
