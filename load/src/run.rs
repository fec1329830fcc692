//! `jishi-load run`: N phones against a running server, in three phases so
//! the sync figures measure sync alone.
//!
//! 1. Log in: each cadre's phone, with its own device id and a fresh actor,
//!    calls `POST /api/v1/auth/login` (argon2 on the server: slow on purpose).
//! 2. Write offline: each phone writes a week (see [`crate::week`]) into its
//!    in-memory replica, and prepares its first sync request (loads each
//!    document and encodes its Automerge message). No network.
//! 3. Sync: every phone runs a whole `ClientSession` through
//!    `POST /api/v1/sync`, at most `concurrency` phones at once. Documents per
//!    second is documents acknowledged over the wall time of this phase only.
//!
//! A real phone prepares its request on its own CPU; here the phones share
//! the server's machine, so the first request is prepared before the clock
//! starts (`--unprepared` makes it inside the sync phase, as before). The
//! rest of the session's CPU work (applying replies, any later request)
//! runs in the sync phase, on blocking threads so that the request timings
//! are not inflated by a busy async worker; the report shows the CPU
//! seconds of the server and of the load tool.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};
use sync_core::memory::MemoryReplica;
use sync_core::protocol::Batch;
use sync_core::session::{ClientSession, ClientStore};
use sync_core::{Actor, CoreError, ItemId, UserId};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::live::{Watcher, WATCHER_LOGIN};
use crate::process;
use crate::report::{ErrorTally, Report, ServerFigures, SyncFigures};
use crate::seed::{cadre_login, cadre_user};
use crate::week::{write_cadre_week, WeekShape, Written};

const SYNC_CONTENT_TYPE: &str = "application/vnd.jishi.sync-batch";
/// Attempts at one login when the server fails (5xx) or asks to slow down.
const LOGIN_ATTEMPTS: usize = 10;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub url: String,
    pub label: String,
    pub cadres: usize,
    pub password: String,
    pub concurrency: usize,
    pub login_concurrency: usize,
    pub shape: WeekShape,
    pub server_pid: Option<u32>,
    /// Hold a supervisor's event stream open during the sync and time the
    /// live updates.
    pub watch: bool,
    /// Make each phone's first request inside the sync phase, on the load
    /// tool's share of the cores, instead of before it (see [`prepare`]).
    pub unprepared: bool,
}

/// One cadre's phone.
struct Phone {
    index: usize,
    user: UserId,
    replica: MemoryReplica,
    token: String,
    /// The session and its first request, made before the sync phase (on
    /// the phone's own CPU in real life; see [`prepare`]).
    prepared: Option<Prepared>,
}

/// A sync session whose first request is already encoded.
struct Prepared {
    session: ClientSession,
    /// `None`: the session had nothing to send.
    first: Option<Vec<u8>>,
}

/// Start `phone`'s sync session and encode its first request: the
/// Automerge work of loading each document and generating its message,
/// which a real phone does on its own CPU. Done before the sync phase, so
/// that on one machine the load tool's share of the cores does not count
/// against the server.
fn prepare(phone: &mut Phone) -> Result<(), CoreError> {
    let mut session = ClientSession::new(&mut phone.replica)?;
    let first = session
        .next_request(&mut phone.replica)?
        .map(|b| b.encode());
    phone.prepared = Some(Prepared { session, first });
    Ok(())
}

/// Counters the progress line reads while a phase runs.
#[derive(Default)]
struct Progress {
    done: AtomicU64,
    docs: AtomicU64,
    requests: AtomicU64,
    busy: AtomicU64,
    errors: AtomicU64,
    /// Largest server RSS sampled during the phase.
    server_rss_max: AtomicU64,
}

/// Print a line on stderr every second while a phase runs, and sample the
/// server's resident memory four times a second.
fn watch(
    phase: &'static str,
    total: usize,
    progress: Arc<Progress>,
    server_pid: Option<u32>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        for n in 0u64.. {
            tick.tick().await;
            let rss = server_pid.and_then(process::rss);
            if let Some(rss) = rss {
                progress.server_rss_max.fetch_max(rss, Ordering::Relaxed);
            }
            if n % 4 == 0 && n > 0 {
                let rss = rss
                    .map(|b| format!(", server RSS {} MiB", b >> 20))
                    .unwrap_or_default();
                eprintln!(
                    "[{phase} {:>6.1}s] cadres {}/{total}, docs {}, requests {} (busy {}), errors {}{rss}",
                    started.elapsed().as_secs_f64(),
                    progress.done.load(Ordering::Relaxed),
                    progress.docs.load(Ordering::Relaxed),
                    progress.requests.load(Ordering::Relaxed),
                    progress.busy.load(Ordering::Relaxed),
                    progress.errors.load(Ordering::Relaxed),
                );
            }
        }
    })
}

fn tally(errors: &mut BTreeMap<String, ErrorTally>, kind: String, message: String) {
    let t = errors.entry(kind).or_insert_with(|| ErrorTally {
        count: 0,
        example: message,
    });
    t.count += 1;
}

/// A failed request: a short kind to group by, and one message to show.
type Failure = (String, String);

async fn http_failure(phase: &str, response: reqwest::Response) -> Failure {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let mut message: String = body.chars().take(300).collect();
    if status.as_u16() == 429 {
        message.push_str(
            " (the server limits logins per minute: start it with JISHI_LOGIN_PER_MINUTE=100000)",
        );
    }
    (format!("{phase}: HTTP {}", status.as_u16()), message)
}

fn transport_failure(phase: &str, e: reqwest::Error) -> Failure {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    };
    (format!("{phase}: {kind}"), format!("{e:#}"))
}

/// The server failed or asked to slow down: worth another attempt.
fn worth_retrying(failure: &Failure) -> bool {
    ["HTTP 500", "HTTP 429", "HTTP 503"]
        .iter()
        .any(|status| failure.0.ends_with(status))
}

/// Log `login` in on device `device_id` with `actors`; the access token.
async fn login_as(
    http: &reqwest::Client,
    url: &str,
    login: &str,
    password: &str,
    device_id: &str,
    actors: &[String],
) -> Result<String, Failure> {
    let body = json!({
        "login": login,
        "password": password,
        "device_id": device_id,
        "device_name": "压测手机",
        "actors": actors,
    });
    let response = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .map_err(|e| transport_failure("login", e))?;
    if !response.status().is_success() {
        return Err(http_failure("login", response).await);
    }
    let body: Value = response
        .json()
        .await
        .map_err(|e| transport_failure("login", e))?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ("login: no token".to_owned(), body.to_string()))
}

async fn login(
    http: &reqwest::Client,
    url: &str,
    password: &str,
    index: usize,
    run_tag: &str,
) -> Result<Phone, Failure> {
    let login = cadre_login(index);
    let user = cadre_user(index).map_err(|e| ("login: bad id".to_owned(), e.to_string()))?;
    let replica = MemoryReplica::new(Actor::random());
    let device = format!("load-{login}-{run_tag}");
    let token = login_as(
        http,
        url,
        &login,
        password,
        &device,
        &[replica.actor().to_hex()],
    )
    .await?;
    Ok(Phone {
        index,
        user,
        replica,
        token,
        prepared: None,
    })
}

/// What one phone's sync session did.
#[derive(Default)]
struct SyncOutcome {
    round_trips: u32,
    bytes_up: u64,
    bytes_down: u64,
    docs_synced: u64,
    docs_left: u64,
    /// Microseconds of each sync request the server worked on, send to
    /// last byte of the reply.
    latencies_us: Vec<u64>,
    /// Busy answers (503) waited out.
    busy: u64,
    /// Microseconds from the first request to the end of the session.
    session_us: u64,
    problems: Vec<Failure>,
    failure: Option<Failure>,
    /// The documents the phone had to send, and when its first sync reply
    /// was read (for the live-update watcher).
    docs: Vec<String>,
    first_ack: Option<Instant>,
}

fn client_failure(e: CoreError) -> Failure {
    ("sync: client".to_owned(), e.to_string())
}

fn panicked(e: tokio::task::JoinError) -> Failure {
    ("sync: client panicked".to_owned(), e.to_string())
}

/// One whole sync session of `phone`, as the app runs it: request, reply,
/// until the session has nothing more to say. A failed request ends it.
/// The first request is the prepared one when there is one.
async fn sync_phone(
    http: reqwest::Client,
    url: String,
    phone: Phone,
    progress: Arc<Progress>,
) -> SyncOutcome {
    let mut out = SyncOutcome::default();
    let Phone {
        index,
        mut replica,
        token,
        prepared,
        ..
    } = phone;
    let before = replica.pending().map(|p| p.len() as u64).unwrap_or(0);
    out.docs = replica.doc_ids().iter().map(ToString::to_string).collect();
    let (mut session, mut first) = match prepared {
        Some(Prepared { session, first }) => (session, Some(first)),
        None => match ClientSession::new(&mut replica) {
            Ok(s) => (s, None),
            Err(e) => {
                out.failure = Some(client_failure(e));
                return out;
            }
        },
    };
    let endpoint = format!("{url}/api/v1/sync");
    let session_started = Instant::now();
    loop {
        let request = match first.take() {
            Some(prepared) => Ok(prepared),
            None => {
                let step = tokio::task::spawn_blocking(move || {
                    let request = session
                        .next_request(&mut replica)
                        .map(|b| b.map(|b| b.encode()));
                    (replica, session, request)
                })
                .await;
                match step {
                    Ok((r, s, request)) => {
                        replica = r;
                        session = s;
                        request.map_err(client_failure)
                    }
                    Err(e) => {
                        out.failure = Some(panicked(e));
                        return out;
                    }
                }
            }
        };
        let up = match request {
            Ok(Some(up)) => up,
            Ok(None) => break,
            Err(f) => {
                out.failure = Some(f);
                break;
            }
        };
        let up_len = up.len();
        let (sent, response) = loop {
            let sent = Instant::now();
            let response = http
                .post(&endpoint)
                .bearer_auth(&token)
                .header(reqwest::header::CONTENT_TYPE, SYNC_CONTENT_TYPE)
                .body(up.clone())
                .send()
                .await;
            // Busy: nothing was stored; wait as told (plus a spread of
            // up to as long again, so that phones turned away together do
            // not all come back together) and send the same bytes again.
            match &response {
                Ok(r) if r.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE => {
                    let wait = r
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(1)
                        .clamp(1, 60)
                        * 1000;
                    out.busy += 1;
                    progress.busy.fetch_add(1, Ordering::Relaxed);
                    let spread = spread_ms(index, out.busy, wait);
                    tokio::time::sleep(Duration::from_millis(wait + spread)).await;
                }
                _ => break (sent, response),
            }
        };
        let down = match response {
            Ok(r) if r.status().is_success() => {
                r.bytes().await.map_err(|e| transport_failure("sync", e))
            }
            Ok(r) => Err(http_failure("sync", r).await),
            Err(e) => Err(transport_failure("sync", e)),
        };
        out.latencies_us.push(sent.elapsed().as_micros() as u64);
        progress.requests.fetch_add(1, Ordering::Relaxed);
        let down = match down {
            Ok(d) => d,
            Err(f) => {
                out.failure = Some(f);
                break;
            }
        };
        out.first_ack.get_or_insert_with(Instant::now);
        session.record_bytes(up_len, down.len());
        let step = tokio::task::spawn_blocking(move || {
            let result = Batch::decode(&down)
                .map_err(CoreError::from)
                .and_then(|reply| session.handle_reply(&mut replica, reply));
            (replica, session, result)
        })
        .await;
        match step {
            Ok((r, s, result)) => {
                replica = r;
                session = s;
                if let Err(e) = result {
                    out.failure = Some(client_failure(e));
                    break;
                }
            }
            Err(e) => {
                out.failure = Some(panicked(e));
                return out;
            }
        }
    }
    out.session_us = session_started.elapsed().as_micros() as u64;
    let stats = session.stats();
    out.round_trips = stats.round_trips;
    out.bytes_up = stats.bytes_sent;
    out.bytes_down = stats.bytes_received;
    out.problems = session
        .problems()
        .iter()
        .map(|p| (format!("sync: refused {}", p.code), p.message.clone()))
        .collect();
    let left = replica.pending().map(|p| p.len() as u64).unwrap_or(before);
    out.docs_left = left;
    out.docs_synced = before.saturating_sub(left);
    progress.docs.fetch_add(out.docs_synced, Ordering::Relaxed);
    out
}

/// A wait of 0 to `max_ms` for `phone`'s `attempt`th busy answer, spread
/// over the phones without a random source (the same run waits the same).
fn spread_ms(phone: usize, attempt: u64, max_ms: u64) -> u64 {
    let mixed = (phone as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(attempt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    (mixed >> 17) % max_ms.max(1)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

pub async fn run(o: RunOptions) -> anyhow::Result<Report> {
    let url = o.url.trim_end_matches('/').to_owned();
    let host = process::host();
    let date = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(o.concurrency.max(o.login_concurrency))
        .build()
        .context("cannot build the HTTP client")?;
    let health = http
        .get(format!("{url}/healthz"))
        .send()
        .await
        .with_context(|| format!("no server answers at {url}"))?;
    anyhow::ensure!(
        health.status().is_success(),
        "{url}/healthz answered {}",
        health.status()
    );
    let mut errors = BTreeMap::new();
    let run_tag = ItemId::random().as_str()[..8].to_owned();

    // 1. Log in.
    let progress = Arc::new(Progress::default());
    let watcher = watch("login", o.cadres, progress.clone(), o.server_pid);
    let started = Instant::now();
    let slots = Arc::new(Semaphore::new(o.login_concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for index in 0..o.cadres {
        let (http, url, password, tag) = (
            http.clone(),
            url.clone(),
            o.password.clone(),
            run_tag.clone(),
        );
        let (slots, progress) = (slots.clone(), progress.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await;
            // Logins are not what is measured, but every failed attempt is
            // reported: a few retries keep one failure from leaving a
            // phone out of the sync phase.
            let mut failed = Vec::new();
            let mut attempt = 1;
            let result = loop {
                match login(&http, &url, &password, index, &tag).await {
                    Err(f) if attempt < LOGIN_ATTEMPTS && worth_retrying(&f) => {
                        progress.errors.fetch_add(1, Ordering::Relaxed);
                        failed.push(f);
                        tokio::time::sleep(Duration::from_millis(100 * attempt as u64)).await;
                        attempt += 1;
                    }
                    other => break other,
                }
            };
            if result.is_err() {
                progress.errors.fetch_add(1, Ordering::Relaxed);
            }
            progress.done.fetch_add(1, Ordering::Relaxed);
            (result, failed)
        });
    }
    let mut phones = Vec::with_capacity(o.cadres);
    let mut login_retries = 0;
    while let Some(result) = tasks.join_next().await {
        let (result, failed) = result.context("login task panicked")?;
        login_retries += failed.len() as u64;
        for (kind, message) in failed {
            tally(&mut errors, format!("{kind} (retried)"), message);
        }
        match result {
            Ok(phone) => phones.push(phone),
            Err((kind, message)) => tally(&mut errors, kind, message),
        }
    }
    watcher.abort();
    let login_secs = started.elapsed().as_secs_f64();
    let logins_ok = phones.len();
    eprintln!("logged in {logins_ok}/{} in {login_secs:.1}s", o.cadres);
    anyhow::ensure!(
        !phones.is_empty(),
        "no cadre could log in: {errors:?} (seeded with the same --password and --cadres?)"
    );

    // 2. Write a week offline, on every core.
    phones.sort_by_key(|p| p.index);
    let started = Instant::now();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let chunk = phones.len().div_ceil(cores);
    let mut groups: Vec<Vec<Phone>> = Vec::new();
    let mut rest = phones.into_iter().peekable();
    while rest.peek().is_some() {
        groups.push(rest.by_ref().take(chunk).collect());
    }
    let shape = o.shape;
    let prepare_first = !o.unprepared;
    let mut writers = JoinSet::new();
    for mut group in groups {
        writers.spawn_blocking(move || {
            let mut written = Written::default();
            for phone in &mut group {
                written += write_cadre_week(&mut phone.replica, &phone.user, phone.index, shape)?;
                if prepare_first {
                    prepare(phone)?;
                }
            }
            Ok::<_, CoreError>((group, written))
        });
    }
    let mut phones = Vec::new();
    let mut written = Written::default();
    while let Some(result) = writers.join_next().await {
        let (group, w) = result
            .context("writing task panicked")?
            .context("writing a week failed")?;
        phones.extend(group);
        written += w;
    }
    phones.sort_by_key(|p| p.index);
    let write_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "wrote {} documents on {} phones in {write_secs:.1}s",
        written.docs,
        phones.len()
    );

    // 3. Sync, with the supervisor watching if asked.
    let live_watcher = if o.watch {
        let token = login_as(
            &http,
            &url,
            WATCHER_LOGIN,
            &o.password,
            &format!("load-watch-{run_tag}"),
            &[],
        )
        .await
        .map_err(|(kind, message)| {
            anyhow::anyhow!(
                "the watcher's {kind}: {message} (seeded by this version of `jishi-load seed`?)"
            )
        })?;
        Some(Watcher::start(&http, &url, &token).await?)
    } else {
        None
    };
    // What the ceiling measurement replays after the sync phase.
    let first_requests: Vec<Vec<u8>> = phones
        .iter()
        .filter_map(|p| p.prepared.as_ref()?.first.clone())
        .collect();
    let progress = Arc::new(Progress::default());
    let watcher = watch("sync", phones.len(), progress.clone(), o.server_pid);
    let server_rss_before = o.server_pid.and_then(process::rss);
    let server_cpu_before = o.server_pid.and_then(process::cpu_seconds);
    let own_cpu_before = process::cpu_seconds(std::process::id());
    let started = Instant::now();
    let slots = Arc::new(Semaphore::new(o.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let phones_synced = phones.len();
    for phone in phones {
        let (http, url) = (http.clone(), url.clone());
        let (slots, progress) = (slots.clone(), progress.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await;
            let outcome = sync_phone(http, url, phone, progress.clone()).await;
            progress.done.fetch_add(1, Ordering::Relaxed);
            if outcome.failure.is_some() {
                progress.errors.fetch_add(1, Ordering::Relaxed);
            }
            outcome
        });
    }
    let mut latencies = Vec::new();
    let mut phone_times = Vec::new();
    let mut sync = SyncFigures::default();
    let mut round_trips = Vec::new();
    let mut acked: Vec<(String, Instant)> = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let outcome = result.context("sync task panicked")?;
        if let Some(at) = outcome.first_ack {
            acked.extend(outcome.docs.iter().map(|d| (d.clone(), at)));
        }
        sync.docs_synced += outcome.docs_synced;
        sync.docs_left += outcome.docs_left;
        sync.bytes_up += outcome.bytes_up;
        sync.bytes_down += outcome.bytes_down;
        sync.requests += outcome.latencies_us.len() as u64;
        round_trips.push(outcome.round_trips);
        latencies.extend(outcome.latencies_us);
        phone_times.push(outcome.session_us);
        sync.busy += outcome.busy;
        sync.refused += outcome.problems.len() as u64;
        for (kind, message) in outcome.problems {
            tally(&mut errors, kind, message);
        }
        match outcome.failure {
            Some((kind, message)) => tally(&mut errors, kind, message),
            None if outcome.docs_left == 0 => sync.cadres_complete += 1,
            None => {}
        }
    }
    sync.secs = started.elapsed().as_secs_f64();
    watcher.abort();
    let live = match live_watcher {
        Some(w) => Some(w.finish(&acked, Duration::from_secs(10)).await),
        None => None,
    };
    let server_cpu_after = o.server_pid.and_then(process::cpu_seconds);
    let own_cpu_after = process::cpu_seconds(std::process::id());
    let ceiling = if first_requests.is_empty() {
        None
    } else {
        eprintln!(
            "ceiling: the same {} requests through the server's sync in this process",
            first_requests.len()
        );
        Some(crate::ceiling::measure(first_requests, cores).await?)
    };
    latencies.sort_unstable();
    sync.cadres = phones_synced;
    sync.docs_per_sec = sync.docs_synced as f64 / sync.secs.max(1e-9);
    sync.round_trips_mean =
        round_trips.iter().map(|&r| r as f64).sum::<f64>() / round_trips.len().max(1) as f64;
    sync.round_trips_max = round_trips.iter().copied().max().unwrap_or(0);
    phone_times.sort_unstable();
    sync.phone_ms = [
        percentile(&phone_times, 50.0),
        percentile(&phone_times, 90.0),
        percentile(&phone_times, 99.0),
        phone_times
            .last()
            .map(|&l| l as f64 / 1000.0)
            .unwrap_or(0.0),
    ];
    sync.latency_ms = [
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        latencies.last().map(|&l| l as f64 / 1000.0).unwrap_or(0.0),
    ];
    sync.load_cpu_secs = own_cpu_before
        .zip(own_cpu_after)
        .map(|(before, after)| after - before);
    let server = o.server_pid.map(|pid| ServerFigures {
        pid,
        peak_rss: process::peak_rss(pid),
        rss_before_sync: server_rss_before,
        rss_max_during_sync: Some(progress.server_rss_max.load(Ordering::Relaxed))
            .filter(|&b| b > 0),
        rss_end: process::rss(pid),
        cpu_secs_sync: server_cpu_before
            .zip(server_cpu_after)
            .map(|(before, after)| after - before),
    });

    Ok(Report {
        label: o.label,
        date,
        url,
        host,
        cadres: o.cadres,
        concurrency: o.concurrency,
        login_concurrency: o.login_concurrency,
        shape: o.shape,
        logins_ok,
        login_retries,
        login_secs,
        written,
        write_secs,
        prepared: prepare_first,
        sync,
        server,
        live,
        ceiling,
        errors,
    })
}
