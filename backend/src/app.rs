//! The application: state, router, and the server's lifecycle.
//!
//! `Application::build` opens storage and binds the port (port 0 picks a free
//! one, as the tests do); `router(state)` is pure, so tests can drive it;
//! `run_until_stopped` serves until the shutdown future resolves, letting
//! requests in flight finish.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
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

use crate::auth::Keys;
use crate::blobs::BlobStore;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::photos::PhotoLimits;
use crate::routes;
use crate::storage::Store;

/// Body limit of every route but sync.
pub const MAX_JSON_BODY: usize = 64 * 1024;

#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub keys: Arc<Keys>,
    pub metrics: Arc<Metrics>,
    /// Bounds the Automerge work running at once on blocking threads.
    pub sync_slots: Arc<tokio::sync::Semaphore>,
    /// Sync requests worked on at once (`max_sync_requests`); a request
    /// that finds none free is answered 503 (`routes::sync`).
    pub sync_admission: Arc<tokio::sync::Semaphore>,
    pub blobs: BlobStore,
    pub photo_limits: PhotoLimits,
    /// Bytes of image work (checking and cleaning photos) in memory at once.
    pub image_budget: crate::photos::ImageBudget,
    pub uploads: Arc<routes::blobs::UploadsInProgress>,
    /// Sync request bodies held in memory at once.
    pub sync_bytes: crate::budget::ByteBudget,
    /// Photo chunk bodies held in memory at once.
    pub upload_bytes: crate::budget::ByteBudget,
    /// One sync at a time per device.
    pub device_gate: crate::fairness::DeviceGate,
    /// This process, among the instances on one database (job leases).
    pub instance: String,
    /// Set when the server stops: long-lived responses (event streams) end.
    pub stopping: Arc<tokio::sync::watch::Sender<bool>>,
    /// Event streams open at once.
    pub event_streams: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data folder {}; pick another with --data-dir",
                config.data_dir.display()
            )
        })?;
        let store = Store::open(
            config.database_url.as_ref().map(|s| s.expose()),
            &config.data_dir,
        )
        .await
        .context("cannot open the database (check --database-url / JISHI_DATABASE_URL)")?;
        let secret = match &config.jwt_secret {
            Some(s) => s.expose().as_bytes().to_vec(),
            None => signing_key(&config.data_dir)?,
        };
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Ok(Self {
            store,
            keys: Arc::new(Keys::from_secret(&secret)),
            metrics: Arc::new(Metrics::new()),
            sync_slots: Arc::new(tokio::sync::Semaphore::new(workers * 2)),
            sync_admission: Arc::new(tokio::sync::Semaphore::new(config.max_sync_requests.max(1))),
            blobs: blob_store(&config)?,
            photo_limits: PhotoLimits::default(),
            image_budget: crate::photos::ImageBudget::new(crate::photos::IMAGE_BYTES_IN_MEMORY),
            uploads: Arc::default(),
            sync_bytes: crate::budget::ByteBudget::new(config.max_sync_inflight_bytes),
            upload_bytes: crate::budget::ByteBudget::new(routes::blobs::UPLOAD_BYTES_IN_MEMORY),
            device_gate: Default::default(),
            instance: sync_core::ItemId::random().as_str().to_owned(),
            stopping: Arc::new(tokio::sync::watch::channel(false).0),
            event_streams: Arc::new(tokio::sync::Semaphore::new(
                crate::routes::events::MAX_STREAMS,
            )),
            config: Arc::new(config),
        })
    }
}

/// Where photos live under `config`: the S3 bucket, or `blobs/` and
/// `uploads/` in the data folder.
pub fn blob_store(config: &Config) -> anyhow::Result<BlobStore> {
    Ok(match config.s3()? {
        Some(s3) => BlobStore::s3(&s3)
            .with_context(|| format!("cannot use the S3 bucket {:?} for photos", s3.bucket))?,
        None => BlobStore::local(
            config.data_dir.join("blobs"),
            config.data_dir.join("uploads"),
        ),
    })
}

/// The signing key kept in the data folder, made on first start.
fn signing_key(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = dir.join("jwt.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return hex::decode(text.trim()).with_context(|| {
            format!(
                "{} is not a hex key; delete it to make a new one",
                path.display()
            )
        });
    }
    let mut key = [0u8; 32];
    rand::fill(&mut key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(hex::encode(key).as_bytes())?;
    file.sync_all()?;
    Ok(key.to_vec())
}

pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let sync_limit = state.config.max_sync_body_bytes;
    let timeout = Duration::from_secs(state.config.request_timeout_secs);
    let api = Router::new()
        .route("/api/v1/auth/login", post(routes::auth::login))
        .route("/api/v1/auth/refresh", post(routes::auth::refresh))
        .route("/api/v1/auth/logout", post(routes::auth::logout))
        .route("/api/v1/me", get(routes::auth::me))
        .route("/api/v1/events", get(routes::events::api_events))
        .route("/api/v1/documents/{doc_id}", get(routes::records::document))
        .route(
            "/api/v1/documents/{doc_id}/changes",
            get(routes::records::changes),
        )
        .route("/api/v1/users/{user_id}/days", get(routes::records::days))
        .route(
            "/api/v1/units/{unit_id}/filing",
            get(routes::records::filing),
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
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY));
    let sync = Router::new()
        .route("/api/v1/sync", post(routes::sync::sync))
        .layer(DefaultBodyLimit::max(sync_limit));
    let blobs = Router::new()
        .route(
            "/api/v1/blobs/{sha}",
            get(routes::blobs::get_full)
                .head(routes::blobs::head)
                .patch(routes::blobs::patch),
        )
        .route(
            "/api/v1/blobs/{sha}/thumbnail",
            get(routes::blobs::get_thumbnail),
        )
        .layer(DefaultBodyLimit::max(routes::blobs::MAX_CHUNK + 1024));
    let public = Router::new()
        .route(
            "/api/v1/publications/{unit}/{week}",
            get(routes::publications::json),
        )
        .route("/p/{unit}/{week}", get(routes::publications::page))
        .route(
            "/api/v1/publications/{unit}/{week}/amendments",
            get(routes::publications::amendments),
        )
        .route(
            "/p/{unit}/{week}/photos/{sha}",
            get(routes::publications::photo),
        );
    Router::new()
        .merge(api)
        .merge(public)
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
        let gc = tokio::spawn(collect_garbage_forever(self.state.clone()));
        let publisher = self
            .state
            .config
            .auto_publish
            .then(|| tokio::spawn(publish_every_monday(self.state.clone())));
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

/// Once a minute, from Monday 08:00 (UTC+8) on, make last week's
/// publication of every publishing unit that has none yet: on time, caught
/// up after downtime, and once whatever the number of instances (one
/// instance holds the job's lease and does the work; the database keeps
/// one publication per unit and week whatever happens).
async fn publish_every_monday(state: AppState) {
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is valid");
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        publish_due(&state, chrono::Utc::now().with_timezone(&china)).await;
    }
}

/// The lease name of the Monday publication job.
pub const PUBLICATION_JOB: &str = "weekly-publication";
/// How long an instance holds a job after its last round: if it dies,
/// another takes over after this.
const JOB_LEASE_MS: i64 = 5 * 60 * 1000;

/// One round of the Monday task at `now`: if this week's Monday hour has
/// come, make last week's publication of every publishing unit that has
/// none. Returns how many it made.
pub async fn publish_due(state: &AppState, now: chrono::DateTime<chrono::FixedOffset>) -> usize {
    let this_week = crate::publications::week::IsoWeek::of(now.date_naive());
    let due = this_week
        .monday()
        .and_hms_opt(state.config.publish_hour, 0, 0)
        .is_some_and(|at| now.naive_local() >= at);
    if !due {
        return 0;
    }
    // Another instance on the same database is doing it.
    match state
        .store
        .take_lease(PUBLICATION_JOB, &state.instance, JOB_LEASE_MS)
        .await
    {
        Ok(true) => {}
        Ok(false) => return 0,
        Err(e) => {
            tracing::warn!(error = %e, "cannot take the publication job's lease");
            return 0;
        }
    }
    let units = match state.store.publishing_units().await {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the publishing units");
            return 0;
        }
    };
    let week = this_week.previous();
    let mut made = 0;
    for unit in units {
        match crate::publications::publish_week(&state.store, &unit, week, &state.config.holidays)
            .await
        {
            Ok((_, true)) => made += 1,
            Ok((_, false)) => {}
            Err(e) => tracing::warn!(unit, %week, error = %e, "weekly publication failed"),
        }
    }
    made
}

/// Every hour, remove photos no document has referenced for the grace
/// period (an upload whose document never arrived), and clean photos stored
/// as uploaded before the server cleaned photos.
async fn collect_garbage_forever(state: AppState) {
    let grace_ms = state.config.blob_grace_secs.saturating_mul(1000) as i64;
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match routes::blobs::collect_garbage(&state, grace_ms).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed unreferenced photos"),
            Err(e) => tracing::warn!(error = %e, "photo garbage collection failed"),
        }
        match routes::blobs::clean_stored_photos(&state, 1000).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(cleaned = n, "cleaned photos stored as uploaded"),
            Err(e) => tracing::warn!(error = %e, "cleaning stored photos failed"),
        }
        let grace = Duration::from_secs(state.config.blob_grace_secs);
        match state.blobs.collect_stale_staged(grace).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed abandoned partial uploads"),
            Err(e) => tracing::warn!(error = %e, "partial upload clean-up failed"),
        }
        // Leases of event streams whose instance died; attempt counters
        // no limit reads any more.
        if let Err(e) = state.store.remove_expired_event_streams().await {
            tracing::warn!(error = %e, "removing expired event-stream leases failed");
        }
        if let Err(e) = state.store.remove_old_attempts().await {
            tracing::warn!(error = %e, "removing old attempt counters failed");
        }
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
