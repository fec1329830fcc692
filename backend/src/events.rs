//! `GET /api/v1/events` (bearer token) and `GET /web/events` (the web
//! session): server-sent events naming each document in the caller's read
//! scope as it is committed, whichever instance took the write (the store's
//! change feed; PostgreSQL `LISTEN/NOTIFY` between instances). An event is
//! a hint to sync or reload, never the data itself.
//!
//! - `event: changed`, `id: N`, `data: {"doc": "diary:u1:2026-11-17", "cursor": N}`
//! - `event: resync`: events may have been missed (this client fell behind,
//!   or the feed between instances reconnected): sync once.
//! - A client that reconnects sends `Last-Event-ID: N` (or `?since=N`): the
//!   documents changed after `N` come first, at most 500 (more: `resync`).
//!
//! The stream ends when the server stops, when the token it was opened
//! with expires (the client reconnects with a fresh one), or when the
//! session, device or user loses access (checked before each event and
//! every 15 s); a comment line is sent every 15 s so proxies keep the
//! connection.
//!
//! A user holds at most `max_event_streams_per_user` streams open at once,
//! a device `max_event_streams_per_device`, counted in the database across
//! instances (`storage::streams`: a lease per stream, renewed on the 15 s
//! check, freed when the stream ends, running out 45 s after its instance
//! died). One more is answered 429 `too_many_streams` with `Retry-After`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, KeepAliveStream, Sse};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};

use crate::access::AccessError;
use crate::access::{may_read, read_scope};
use crate::auth::Caller;
use crate::problem::{IntoProblem, Problem};
use crate::state::AppState;
use crate::storage::{Feed, ReadScope, Store, StreamCap, StreamLease};

/// Event streams one instance keeps open at once.
pub const MAX_STREAMS: usize = 10_000;
/// Documents sent on reconnection before the client is told to sync.
const CATCH_UP_LIMIT: usize = 500;
/// How often an idle stream re-checks access and sends a keep-alive.
const CHECK_EVERY: Duration = Duration::from_secs(15);
/// Feed items a stream takes at once (one access check for all of them).
const MAX_BATCH: usize = 1_000;
/// Owners whose readability a stream remembers.
const OWNER_CACHE: usize = 10_000;
/// A stream's lease outlives three missed renewals (`CHECK_EVERY`).
const LEASE_MS: i64 = 3 * 15_000;
/// What a client refused a stream is told to wait.
const RETRY_AFTER_SECS: u64 = 15;

/// The response: the stream with keep-alive comments.
pub type Events = Sse<KeepAliveStream<EventStream>>;

/// The response body: events the stream's task produces.
pub struct EventStream(mpsc::Receiver<Event>);

impl futures_util::Stream for EventStream {
    type Item = Result<Event, Infallible>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|e| e.map(Ok))
    }
}

/// Where a reconnecting client left off: `Last-Event-ID`, else `?since=`.
pub fn since(headers: &HeaderMap, query: Option<&str>) -> Result<Option<u64>, EventsError> {
    let bad = || EventsError::BadCursor;
    if let Some(v) = headers.get("last-event-id") {
        return v
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .map(Some)
            .ok_or_else(bad);
    }
    let value = query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("since="));
    match value {
        Some(v) => v.parse().map(Some).map_err(|_| bad()),
        None => Ok(None),
    }
}

/// Why a stream was not opened.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("Last-Event-ID and since must be the number of an earlier event")]
    BadCursor,
    /// This instance holds as many streams as it keeps.
    #[error("too many event streams on this server")]
    ServerFull,
    #[error("{0}")]
    TooManyStreams(String),
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Store(#[from] crate::storage::StoreError),
}

impl IntoProblem for EventsError {
    fn into_problem(self) -> Problem {
        match self {
            EventsError::BadCursor => Problem::Invalid {
                code: "bad_cursor",
                message: self.to_string(),
            },
            EventsError::ServerFull => Problem::Limited {
                code: "rate_limited",
                message: "too many attempts; wait a minute and try again".into(),
                retry_after_secs: 60,
            },
            EventsError::TooManyStreams(message) => Problem::Limited {
                code: "too_many_streams",
                message,
                retry_after_secs: RETRY_AFTER_SECS,
            },
            EventsError::Access(e) => e.into_problem(),
            EventsError::Store(e) => e.into_problem(),
        }
    }
}

crate::edge_error!(EventsError);

/// Open a stream of `caller`'s changes, from `since` when reconnecting.
pub async fn open(
    state: AppState,
    caller: Caller,
    since: Option<u64>,
) -> Result<Events, EventsError> {
    let permit = state
        .event_streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| EventsError::ServerFull)?;
    let lease = Lease::take(&state, &caller).await?;
    let scope = read_scope(&state.store, &caller.user).await?;
    // Subscribed before the catch-up is read: nothing falls in between.
    let feed = state.store.subscribe();
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let _permit = permit;
        let user = caller.user.id.clone();
        if let Err(End::Failed(e)) = run(&state, &caller, &scope, &lease, feed, since, &tx).await {
            tracing::warn!(user, error = %e, "an event stream failed");
        }
        // Freed before the response ends, so a server stopping waits for
        // it; the lease's drop is the fallback.
        lease.release().await;
    });
    Ok(Sse::new(EventStream(rx)).keep_alive(KeepAlive::new().interval(CHECK_EVERY)))
}

/// A stream's place among the user's and the device's streams.
struct Lease {
    store: Store,
    id: Option<String>,
}

impl Lease {
    async fn take(state: &AppState, caller: &Caller) -> Result<Lease, EventsError> {
        let lease = StreamLease {
            id: sync_core::ItemId::random().as_str().to_owned(),
            user_id: caller.user.id.clone(),
            device_id: caller.device_id.clone(),
            instance: state.instance.clone(),
        };
        let taken = state
            .store
            .open_event_stream(
                &lease,
                state.config.max_event_streams_per_user,
                state.config.max_event_streams_per_device,
                LEASE_MS,
            )
            .await?;
        let refused = EventsError::TooManyStreams;
        match taken {
            Ok(()) => Ok(Lease {
                store: state.store.clone(),
                id: Some(lease.id),
            }),
            Err(StreamCap::PerUser(n)) => Err(refused(format!(
                "this account already has {n} event streams open, the most allowed; close one (or let it end) and try again"
            ))),
            Err(StreamCap::PerDevice(n)) => Err(refused(format!(
                "this device already has {n} event streams open, the most allowed; close one (or let it end) and try again"
            ))),
        }
    }

    /// Renew the lease; false if it was lost (the stream should end).
    async fn renew(&self) -> Result<bool, crate::storage::StoreError> {
        match &self.id {
            Some(id) => Ok(self.store.renew_event_stream(id, LEASE_MS).await?),
            None => Ok(false),
        }
    }

    async fn release(mut self) {
        if let Some(id) = self.id.take() {
            if let Err(e) = self.store.close_event_stream(&id).await {
                tracing::warn!(error = %e, "an event stream's lease was not freed; it runs out by itself");
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let store = self.store.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = store.close_event_stream(&id).await;
                });
            }
        }
    }
}

/// Why a stream's task stopped early.
enum End {
    /// The client went away.
    Gone,
    Failed(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for End {
    fn from(e: E) -> Self {
        End::Failed(e.into())
    }
}

async fn send(tx: &mpsc::Sender<Event>, event: Event) -> Result<(), End> {
    tx.send(event).await.map_err(|_| End::Gone)
}

fn changed(doc: &str, cursor: u64) -> Event {
    Event::default()
        .event("changed")
        .id(cursor.to_string())
        .data(serde_json::json!({ "doc": doc, "cursor": cursor }).to_string())
}

fn resync() -> Event {
    Event::default().event("resync").data("{}")
}

async fn run(
    state: &AppState,
    caller: &Caller,
    scope: &ReadScope,
    lease: &Lease,
    mut feed: broadcast::Receiver<Feed>,
    since: Option<u64>,
    tx: &mpsc::Sender<Event>,
) -> Result<(), End> {
    let mut cursor = 0u64;
    if let Some(since) = since {
        let (docs, after, more) = state
            .store
            .changed_since(scope, since, CATCH_UP_LIMIT, true)
            .await?;
        for doc in &docs {
            send(tx, changed(doc, after)).await?;
        }
        if more {
            send(tx, resync()).await?;
        }
        cursor = after;
    }
    let mut stopping = state.stopping.subscribe();
    if *stopping.borrow_and_update() {
        return Ok(());
    }
    let mut owners: HashMap<String, bool> = HashMap::new();
    let mut check = tokio::time::interval(CHECK_EVERY);
    check.tick().await;
    // The token the stream was opened with expires: the client reconnects
    // with a fresh one.
    let expired = tokio::time::sleep(Duration::from_secs(caller.seconds_left()));
    tokio::pin!(expired);
    loop {
        tokio::select! {
            // Set once, to true: the server is stopping.
            _ = stopping.changed() => return Ok(()),
            _ = tx.closed() => return Err(End::Gone),
            _ = &mut expired => return Ok(()),
            _ = check.tick() => {
                if !caller.still_allowed(state).await? || !lease.renew().await? {
                    return Ok(());
                }
            }
            got = feed.recv() => {
                // Everything already waiting goes out together, after one
                // access check: under a burst of commits a check per event
                // (two queries) made the stream fall seconds behind.
                let mut batch = vec![got];
                while batch.len() < MAX_BATCH {
                    match feed.try_recv() {
                        Ok(next) => batch.push(Ok(next)),
                        Err(broadcast::error::TryRecvError::Lagged(n)) => batch.push(Err(RecvError::Lagged(n))),
                        Err(_) => break,
                    }
                }
                let mut events = Vec::with_capacity(batch.len());
                for got in batch {
                    match got {
                        Ok(Feed::Changed(c)) => {
                            let seq = u64::try_from(c.seq).unwrap_or(0);
                            if seq <= cursor {
                                continue; // Sent by the catch-up.
                            }
                            // An item reaches the people named on it too.
                            let named = c.doc_id.starts_with("item:")
                                && state.store.is_participant(&c.doc_id, scope.user_id()).await?;
                            let readable = named || match owners.get(&c.owner_id) {
                                Some(ok) => *ok,
                                None => {
                                    let ok = may_read(&state.store, scope, &c.owner_id).await?;
                                    if owners.len() >= OWNER_CACHE {
                                        owners.clear();
                                    }
                                    owners.insert(c.owner_id.clone(), ok);
                                    ok
                                }
                            };
                            if readable {
                                events.push(changed(&c.doc_id, seq));
                            }
                        }
                        Ok(Feed::Gap) | Err(RecvError::Lagged(_)) => events.push(resync()),
                        Err(RecvError::Closed) => return Ok(()),
                    }
                }
                if events.is_empty() {
                    continue;
                }
                // Revocation takes effect before the next event.
                if !caller.still_allowed(state).await? {
                    return Ok(());
                }
                for event in events {
                    send(tx, event).await?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_comes_from_last_event_id_then_since() {
        let mut h = HeaderMap::new();
        assert_eq!(since(&h, None).ok(), Some(None));
        assert_eq!(since(&h, Some("since=42")).ok(), Some(Some(42)));
        assert_eq!(since(&h, Some("a=1&since=7")).ok(), Some(Some(7)));
        assert!(since(&h, Some("since=-1")).is_err());
        h.insert("last-event-id", "9".parse().unwrap());
        assert_eq!(since(&h, Some("since=42")).ok(), Some(Some(9)));
        h.insert("last-event-id", "nine".parse().unwrap());
        assert!(since(&h, None).is_err());
    }
}
