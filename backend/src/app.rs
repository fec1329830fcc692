//! The application: the router and the server's lifecycle (the state is
//! `state.rs`, the scheduled work `jobs.rs`).
//!
//! `Application::build` opens storage and binds the port (port 0 picks a free
//! one, as the tests do); `router(state)` is pure, so tests can drive it;
//! `run_until_stopped` serves until the shutdown future resolves, letting
//! requests in flight finish.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::jobs;
use crate::routes;
use crate::state::AppState;

/// Body limit of every route but sync.
pub const MAX_JSON_BODY: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let sync_limit = state.config.max_sync_body_bytes;
    let timeout = Duration::from_secs(state.config.request_timeout_secs);
    let api = Router::new()
        .route("/api/v1/auth/login", post(routes::auth::login))
        .route("/api/v1/auth/refresh", post(routes::auth::refresh))
        .route("/api/v1/auth/logout", post(routes::auth::logout))
        .route("/api/v1/me", get(routes::auth::me))
        .route("/api/v1/people", get(routes::people::people))
        .route("/api/v1/events", get(routes::events::api_events))
        .route("/api/v1/documents/{doc_id}", get(routes::records::document))
        .route(
            "/api/v1/documents/{doc_id}/changes",
            get(routes::records::changes),
        )
        .route("/api/v1/users/{user_id}/days", get(routes::records::days))
        .route(
            "/api/v1/items",
            get(routes::items::list).post(routes::items::issue),
        )
        .route("/api/v1/items/{item_id}", get(routes::items::get))
        .route("/api/v1/items/{item_id}/steps", post(routes::items::step))
        .route("/api/v1/cases", post(routes::cases::take_call))
        .route("/api/v1/cases/{item_id}/filer", get(routes::cases::filer))
        .route(
            "/api/v1/units/{unit_id}/filing",
            get(routes::records::filing),
        )
        .route(
            "/api/v1/me/card",
            get(routes::cards::get_mine).put(routes::cards::put_mine),
        )
        .route(
            "/api/v1/units/{unit_id}/post-lists",
            get(routes::post_lists::unit_lists),
        )
        .route(
            "/api/v1/units/{unit_id}/reviews/{month}",
            get(routes::reviews::get_unit_month),
        )
        .route(
            "/api/v1/units/{unit_id}/reviews/{month}/export.xlsx",
            get(routes::reviews::export),
        )
        .route(
            "/api/v1/reviews/{month}/{user_id}",
            axum::routing::put(routes::reviews::put_review),
        )
        .route(
            "/api/v1/reviews/{month}/{user_id}/statement",
            axum::routing::put(routes::reviews::put_statement),
        )
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY));
    let sync = Router::new()
        .route("/api/v1/sync", post(routes::sync::sync))
        .layer(DefaultBodyLimit::max(sync_limit));
    let blobs = Router::new()
        .route(
            "/api/v1/blobs/{sha}",
            get(routes::photos::get_full)
                .head(routes::photos::head)
                .patch(routes::photos::patch),
        )
        .route(
            "/api/v1/blobs/{sha}/thumbnail",
            get(routes::photos::get_thumbnail),
        )
        .layer(DefaultBodyLimit::max(
            crate::photos::upload::MAX_CHUNK + 1024,
        ));
    let public = Router::new()
        .route(
            "/api/v1/publications/{unit}/{week}",
            get(routes::publications::json),
        )
        .route("/p/{unit}/{week}", get(routes::publications::page))
        .route(
            "/api/v1/publications/{unit}/{week}/versions/{version}",
            get(routes::publications::version_json),
        )
        .route(
            "/p/{unit}/{week}/v/{version}",
            get(routes::publications::version_page),
        )
        .route(
            "/api/v1/publications/{unit}",
            get(routes::publications::unit_json),
        )
        .route("/p/{unit}", get(routes::publications::unit_page))
        .route(
            "/api/v1/publications/{unit}/{week}/amendments",
            get(routes::publications::amendments),
        )
        .route(
            "/p/{unit}/{week}/photos/{sha}",
            get(routes::publications::photo),
        )
        .route("/c/{card}", get(routes::cards::card_page))
        .route("/c/{card}/photo", get(routes::cards::card_photo))
        .route("/api/v1/cards/{card}", get(routes::cards::card_json))
        .route("/p/{unit}/cards", get(routes::cards::unit_cards_page))
        .route("/p/{unit}/cards/print", get(routes::cards::print_page));
    // Cases the public files: small bodies only.
    let cases = Router::new()
        .route(
            "/api/v1/public/cases/challenge",
            get(routes::cases::challenge),
        )
        .route("/api/v1/public/cases", post(routes::cases::file_json))
        .route(
            "/api/v1/public/cases/lookup",
            post(routes::cases::lookup_json),
        )
        .route(
            "/f",
            get(routes::cases::form_page).post(routes::cases::form_post),
        )
        .route(
            "/q",
            get(routes::cases::lookup_page).post(routes::cases::lookup_post),
        )
        .layer(DefaultBodyLimit::max(crate::cases::MAX_FORM_BYTES));
    Router::new()
        .merge(api)
        .merge(public)
        .merge(cases)
        .merge(sync)
        .merge(blobs)
        .merge(crate::web::router())
        .route("/healthz", get(routes::ops::healthz))
        .route("/metrics", get(routes::ops::metrics))
        .route("/api/openapi.json", get(routes::ops::openapi))
        .fallback(routes::ops::not_found)
        .with_state(state)
        .layer(axum::middleware::map_response(close_after_refused_body))
        .layer(CatchPanicLayer::custom(routes::ops::panic_response))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(axum::middleware::map_response(crate::security_headers::add))
}

/// Marks a refusal whose request body was read to its end all the same:
/// its connection can carry the next request.
#[derive(Debug, Clone, Copy)]
pub struct BodyRead;

/// A body refused as too large, or a sync turned away as busy, was not read
/// to its end (unless the answer is marked [`BodyRead`]): the connection
/// cannot carry another request, so say so (`Connection: close`) rather
/// than let the client reuse it and lose its next request when the server
/// closes it (seen as `IncompleteMessage` by a pooled HTTP client).
async fn close_after_refused_body(
    mut response: axum::response::Response,
) -> axum::response::Response {
    if response.extensions().get::<BodyRead>().is_none()
        && matches!(
            response.status(),
            axum::http::StatusCode::PAYLOAD_TOO_LARGE | axum::http::StatusCode::SERVICE_UNAVAILABLE
        )
    {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Connections the kernel holds for the server before it accepts them
/// (capped by `net.core.somaxconn`, 4096 on current Linux). Tokio's default
/// is 1,024: when a county's phones connected at once, and phones turned
/// away as busy came back on new connections, the queue overflowed and the
/// kernel dropped their handshakes, which the phones' kernels resend after
/// a second: a second of latency for nothing (BENCHMARKS.md, issue 7).
pub const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` with `LISTEN_BACKLOG`, reusing the address as
/// `TcpListener::bind` does (a restarted server need not wait out
/// TIME_WAIT).
fn listen_on(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listen = config.listen;
        let state = AppState::new(config).await?;
        let listener = listen_on(listen).with_context(|| {
            format!("cannot listen on {listen}; pick another address with --listen")
        })?;
        Ok(Self { listener, state })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve until `shutdown` resolves; requests in flight finish first.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.state.store.clone();
        let follower = store.follow_other_instances();
        let gc = tokio::spawn(jobs::collect_garbage_forever(self.state.clone()));
        let publisher = self
            .state
            .config
            .auto_publish
            .then(|| tokio::spawn(jobs::publish_every_monday(self.state.clone())));
        let header_timeout = Duration::from_secs(self.state.config.header_timeout_secs.max(1));
        let stopping = self.state.stopping.clone();
        let shutdown = async move {
            shutdown.await;
            // Event streams end, so their connections can close.
            stopping.send_replace(true);
        };
        let result =
            crate::serve::serve(self.listener, router(self.state), header_timeout, shutdown).await;
        gc.abort();
        if let Some(f) = follower {
            f.abort();
        }
        if let Some(p) = publisher {
            p.abort();
        }
        store.close().await;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read a number from a /proc file, if there is one.
    fn proc_number(path: &str) -> Option<u64> {
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    }

    /// More connections than Tokio's default backlog (1,024) complete their
    /// handshake while the server is too busy to accept them: none is
    /// dropped to be resent a second later.
    #[tokio::test]
    async fn the_listener_queues_more_than_tokio_default_backlog() {
        const CONNECTIONS: usize = 1_300;
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct it is given.
        let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
        let somaxconn = proc_number("/proc/sys/net/core/somaxconn").unwrap_or(0);
        if got != 0 || (limit.rlim_cur as usize) < CONNECTIONS + 200 || somaxconn < 2048 {
            eprintln!(
                "skipped: needs {} open files (have {}) and net.core.somaxconn >= 2048 (have {somaxconn})",
                CONNECTIONS + 200,
                limit.rlim_cur
            );
            return;
        }
        let listener = listen_on("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        // Nothing accepts: every handshake waits in the kernel's queue.
        let connected = tokio::task::spawn_blocking(move || {
            let mut open = Vec::with_capacity(CONNECTIONS);
            for _ in 0..CONNECTIONS {
                // A dropped handshake would be resent after a second.
                match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(700)) {
                    Ok(s) => open.push(s),
                    Err(_) => break,
                }
            }
            open.len()
        })
        .await
        .unwrap();
        assert_eq!(connected, CONNECTIONS);
    }
}
