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
use jishi_world::http::{self as phone_http, Busy, Device, HttpError};
use sync_core::memory::MemoryReplica;
use sync_core::protocol::Batch;
use sync_core::session::{ClientSession, ClientStore};
use sync_core::{Actor, CoreError, ItemId, UserId};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::live::{Watcher, WATCHER_LOGIN};
use crate::photos::{upload_all, Album, PhotoFile, UploadOutcome};
use crate::process;
use crate::report::{ErrorTally, PhotoFigures, Report, ServerFigures, SyncFigures};
use crate::seed::{cadre_login, cadre_user};
use crate::week::{write_cadre_week, write_cadre_week_with_photos, Camera, WeekShape, Written};

/// Attempts at one login when the server fails (5xx) or asks to slow down.
const LOGIN_ATTEMPTS: usize = 10;
/// Different photos the phones' photos are made from (see
/// [`crate::photos::Album`]).
const ALBUM_PHOTOS: usize = 8;

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
    /// Photos each phone takes in its week and uploads after its sync.
    pub photos: usize,
    /// Long edge of those photos, pixels.
    pub photo_edge: u32,
    /// Bytes per upload request (`PATCH`).
    pub photo_chunk: u64,
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
    /// Photos to upload after the sync.
    photos: Vec<PhotoFile>,
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
    photos: AtomicU64,
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
                let photos = match progress.photos.load(Ordering::Relaxed) {
                    0 => String::new(),
                    n => format!(", photos {n}"),
                };
                eprintln!(
                    "[{phase} {:>6.1}s] cadres {}/{total}, docs {}{photos}, requests {} (busy {}), errors {}{rss}",
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
pub(crate) type Failure = (String, String);

/// A failed request as the report groups it; a refused login says how to
/// raise the server's limit.
pub(crate) fn failure(e: HttpError) -> Failure {
    let mut message = match &e {
        HttpError::Status { body, .. } => body.clone(),
        other => format!("{other:#}"),
    };
    if e.kind() == "login: HTTP 429" {
        message.push_str(
            " (the server limits logins per minute: start it with JISHI_LOGIN_PER_MINUTE=100000)",
        );
    }
    (e.kind(), message)
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
    let device = Device {
        login,
        password,
        device_id,
        device_name: "压测手机",
        actors,
    };
    phone_http::login(http, url, &device)
        .await
        .map(|t| t.access)
        .map_err(failure)
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
        photos: Vec::new(),
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
    /// When the documents were done, and what uploading the photos did.
    docs_done_at: Option<Instant>,
    uploads: Option<UploadOutcome>,
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
    // Busy answers are waited out for as long as the server says.
    let mut busy = Busy::new(index as u64, u64::MAX);
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
        let busy_before = busy.answers;
        let (sent, down) = phone_http::post_sync(&http, &url, &token, up, &mut busy).await;
        out.busy += busy.answers - busy_before;
        progress
            .busy
            .fetch_add(busy.answers - busy_before, Ordering::Relaxed);
        let down = down.map_err(failure);
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

/// Documents per second between the moments the first 10% and the first
/// 90% of the documents were acknowledged, from each phone's (moment its
/// documents were done, how many): the rate the server sustains, without
/// the start (every phone arriving at once) and the end (the last phones
/// turned away as busy waiting out their `Retry-After` while the server
/// has little else to do), which weigh heavily in a short run and hardly
/// at all in a county's morning. `None` with too few phones to tell.
pub(crate) fn sustained_docs_per_sec(done: &[(Duration, u64)]) -> Option<f64> {
    let mut done: Vec<(Duration, u64)> = done.iter().copied().filter(|d| d.1 > 0).collect();
    if done.len() < 10 {
        return None;
    }
    done.sort();
    let total: u64 = done.iter().map(|d| d.1).sum();
    // The moment the running count first reaches `share` of the total.
    let reached = |share: f64| {
        let target = (total as f64 * share).ceil() as u64;
        let mut count = 0;
        done.iter()
            .find(|d| {
                count += d.1;
                count >= target
            })
            .map(|d| (d.0, count))
    };
    let (from, count_from) = reached(0.1)?;
    let (to, count_to) = reached(0.9)?;
    let secs = to.checked_sub(from)?.as_secs_f64();
    (secs > 0.0).then(|| (count_to - count_from) as f64 / secs)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// p50, p90, p99 and max of durations in microseconds, as milliseconds.
fn quantiles_ms(mut us: Vec<u64>) -> [f64; 4] {
    us.sort_unstable();
    let max = us.last().map_or(0.0, |&l| l as f64 / 1000.0);
    [
        percentile(&us, 50.0),
        percentile(&us, 90.0),
        percentile(&us, 99.0),
        max,
    ]
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
    let album = match o.photos {
        0 => None,
        _ => Some(Arc::new(
            Album::new(o.photo_edge, ALBUM_PHOTOS).context("cannot make the album's photos")?,
        )),
    };
    let photos_per_week = o.photos;
    let mut writers = JoinSet::new();
    for mut group in groups {
        let album = album.clone();
        writers.spawn_blocking(move || {
            let mut written = Written::default();
            for phone in &mut group {
                let (user, index) = (&phone.user, phone.index);
                written += match album.as_deref() {
                    None => write_cadre_week(&mut phone.replica, user, index, shape)?,
                    Some(album) => {
                        let camera = Camera {
                            album,
                            per_week: photos_per_week,
                        };
                        let (w, photos) = write_cadre_week_with_photos(
                            &mut phone.replica,
                            user,
                            index,
                            shape,
                            camera,
                        )?;
                        phone.photos = photos;
                        w
                    }
                };
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
    let mut photo_figures = album.as_ref().map(|_| PhotoFigures {
        taken: phones.iter().map(|p| p.photos.len() as u64).sum(),
        taken_bytes: phones
            .iter()
            .flat_map(|p| &p.photos)
            .map(PhotoFile::len)
            .sum(),
        chunk: o.photo_chunk,
        ..PhotoFigures::default()
    });
    eprintln!(
        "wrote {} documents{} on {} phones in {write_secs:.1}s",
        written.docs,
        photo_figures
            .as_ref()
            .map(|p| format!(" and took {} photos", p.taken))
            .unwrap_or_default(),
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
    // What the ceiling measurement replays before and after the sync phase.
    let first_requests: Vec<Vec<u8>> = phones
        .iter()
        .filter_map(|p| p.prepared.as_ref()?.first.clone())
        .collect();
    let ceiling_before = if first_requests.is_empty() {
        None
    } else {
        eprintln!(
            "ceiling (before the sync phase): the same {} requests through the server's sync in this process",
            first_requests.len()
        );
        Some(crate::ceiling::measure(first_requests.clone(), cores).await?)
    };
    let progress = Arc::new(Progress::default());
    let watcher = watch("sync", phones.len(), progress.clone(), o.server_pid);
    let server_rss_before = o.server_pid.and_then(process::rss);
    let server_cpu_before = o.server_pid.and_then(process::cpu_seconds);
    let own_cpu_before = process::cpu_seconds(std::process::id());
    let started = Instant::now();
    let slots = Arc::new(Semaphore::new(o.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let phones_synced = phones.len();
    let photo_chunk = o.photo_chunk.max(1);
    for mut phone in phones {
        let (http, url) = (http.clone(), url.clone());
        let (slots, progress) = (slots.clone(), progress.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await;
            let photos = std::mem::take(&mut phone.photos);
            let (index, token) = (phone.index, phone.token.clone());
            let mut outcome = sync_phone(http.clone(), url.clone(), phone, progress.clone()).await;
            outcome.docs_done_at = Some(Instant::now());
            // Then the photos, one at a time, as the app does.
            if !photos.is_empty() {
                let uploads = upload_all(&http, &url, &token, index, &photos, photo_chunk).await;
                progress
                    .photos
                    .fetch_add(uploads.uploaded, Ordering::Relaxed);
                progress
                    .requests
                    .fetch_add(uploads.latencies_us.len() as u64, Ordering::Relaxed);
                progress.busy.fetch_add(uploads.busy, Ordering::Relaxed);
                outcome.uploads = Some(uploads);
            }
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
    let mut docs_done_at = started;
    let mut phones_done: Vec<(Duration, u64)> = Vec::new();
    let mut photos_done_at = started;
    let mut photo_latencies = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let mut outcome = result.context("sync task panicked")?;
        if let Some(at) = outcome.docs_done_at {
            docs_done_at = docs_done_at.max(at);
            phones_done.push((at.duration_since(started), outcome.docs_synced));
        }
        if let (Some(uploads), Some(figures)) = (outcome.uploads.take(), photo_figures.as_mut()) {
            if let Some(at) = uploads.done_at {
                photos_done_at = photos_done_at.max(at);
            }
            figures.uploaded += uploads.uploaded;
            figures.bytes += uploads.bytes;
            figures.requests += uploads.latencies_us.len() as u64;
            figures.busy += uploads.busy;
            photo_latencies.extend(uploads.latencies_us);
            for (kind, message) in uploads.problems {
                tally(&mut errors, kind, message);
            }
        }
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
    // Documents per second over the time until the last phone's documents
    // were synced (its photos went up after).
    sync.secs = docs_done_at.duration_since(started).as_secs_f64();
    if let Some(p) = photo_figures.as_mut() {
        p.secs = photos_done_at.duration_since(started).as_secs_f64();
        p.per_sec = p.uploaded as f64 / p.secs.max(1e-9);
        p.mib_per_sec = p.bytes as f64 / 1048576.0 / p.secs.max(1e-9);
        p.latency_ms = quantiles_ms(photo_latencies);
    }
    let phase_secs = started.elapsed().as_secs_f64();
    watcher.abort();
    let live = match live_watcher {
        Some(w) => Some(w.finish(&acked, Duration::from_secs(10)).await),
        None => None,
    };
    let server_cpu_after = o.server_pid.and_then(process::cpu_seconds);
    let own_cpu_after = process::cpu_seconds(std::process::id());
    let ceiling = match ceiling_before {
        None => None,
        Some(before) => {
            eprintln!(
                "ceiling (after the sync phase): the same {} requests through the server's sync in this process",
                first_requests.len()
            );
            let after = crate::ceiling::measure(first_requests, cores).await?;
            Some(crate::ceiling::Ceilings { before, after })
        }
    };
    sync.cadres = phones_synced;
    sync.docs_per_sec = sync.docs_synced as f64 / sync.secs.max(1e-9);
    sync.sustained_docs_per_sec = sustained_docs_per_sec(&phones_done);
    sync.round_trips_mean =
        round_trips.iter().map(|&r| r as f64).sum::<f64>() / round_trips.len().max(1) as f64;
    sync.round_trips_max = round_trips.iter().copied().max().unwrap_or(0);
    sync.phone_ms = quantiles_ms(phone_times);
    sync.latency_ms = quantiles_ms(latencies);
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
        photos: photo_figures,
        phase_secs,
        server,
        live,
        ceiling,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use backend::app::Application;
    use backend::config::Config;

    const PASSWORD: &str = "load-test-password-1";

    #[test]
    fn the_sustained_rate_leaves_out_the_first_and_last_tenth() {
        let ms = Duration::from_millis;
        // 100 phones of 10 documents, one every 10 ms from 0.1 s on, then
        // a straggler 5 s later: 10 documents per 10 ms in between.
        let mut done: Vec<(Duration, u64)> = (0..100).map(|i| (ms(100 + 10 * i), 10)).collect();
        done.push((ms(6_000), 10));
        // A failed phone with nothing synced counts for nothing.
        done.push((ms(9_000), 0));
        let rate = sustained_docs_per_sec(&done).unwrap();
        // 10% (101 documents) at the 11th phone, 90% (909) at the 91st.
        assert!((rate - 800.0 / 0.8).abs() < 1e-6, "{rate}");
        // The whole-phase rate is far lower: the straggler's wait.
        assert!(1010.0 / 6.0 < rate / 5.0);
        assert_eq!(sustained_docs_per_sec(&done[..5]), None);
        // Everything done at one moment: no time between, no rate.
        assert_eq!(sustained_docs_per_sec(&vec![(ms(5), 3); 20]), None);
    }

    /// A server on a free loopback port over a fresh SQLite folder with
    /// `cadres` seeded cadres; its URL and the sender that stops it.
    async fn server(
        dir: &std::path::Path,
        cadres: usize,
    ) -> (
        String,
        backend::state::AppState,
        tokio::sync::oneshot::Sender<()>,
    ) {
        crate::seed::seed(crate::seed::SeedOptions {
            data_dir: dir.to_path_buf(),
            database_url: None,
            cadres,
            townships: 1,
            villages_per_township: 1,
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.to_path_buf(),
            login_per_minute: 1_000,
            auto_publish: false,
            ..Config::default()
        };
        let app = Application::build(config).await.unwrap();
        let url = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        (url, state, stop)
    }

    fn options(url: String, cadres: usize, photos: usize) -> RunOptions {
        RunOptions {
            url,
            label: "test".into(),
            cadres,
            password: PASSWORD.into(),
            concurrency: 2,
            login_concurrency: 2,
            shape: WeekShape {
                first_day: chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
                days: 3,
                entries_per_diary: 2,
            },
            server_pid: None,
            watch: false,
            unprepared: false,
            photos,
            photo_edge: 320,
            photo_chunk: 8 * 1024,
        }
    }

    /// The whole run through a real server: every cadre's documents are
    /// acknowledged, and with `--photos` every photo is uploaded in chunks
    /// and is the one its diary names (the server checked its SHA-256 and
    /// decoded it).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn phones_sync_their_week_then_upload_their_photos() {
        let dir = tempfile::tempdir().unwrap();
        let (url, state, stop) = server(dir.path(), 2).await;
        let report = run(options(url, 2, 3)).await.unwrap();
        assert_eq!(report.error_count(), 0, "{}", report.text());
        assert_eq!(report.sync.docs_synced, 2 * 3 * 2);
        assert_eq!(report.sync.cadres_complete, 2);
        let photos = report.photos.as_ref().expect("photo figures");
        assert_eq!((photos.taken, photos.uploaded), (6, 6), "{}", report.text());
        assert_eq!(photos.bytes, photos.taken_bytes);
        // More than one PATCH per photo: the files are over the chunk size.
        assert!(photos.requests > 2 * 6, "{}", report.text());
        assert!(report.text().contains("photos: 6/6 uploaded"));
        let album = Album::new(320, ALBUM_PHOTOS).unwrap();
        for cadre in 0..2 {
            for k in 0..3 {
                let photo = album.photo(cadre, k);
                let blob = state.store.blob(photo.hash.as_str()).await.unwrap();
                let blob = blob.unwrap_or_else(|| panic!("cadre {cadre} photo {k} not stored"));
                assert_eq!(blob.size as u64, photo.len());
                assert_eq!((blob.width, blob.height), (320, 240));
            }
        }
        let _ = stop.send(());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_photos_the_report_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let (url, _state, stop) = server(dir.path(), 1).await;
        let report = run(options(url, 1, 0)).await.unwrap();
        assert_eq!(report.error_count(), 0, "{}", report.text());
        assert_eq!(report.sync.docs_synced, 3 * 2);
        assert!(report.photos.is_none());
        assert!(!report.text().contains("photos:"));
        let _ = stop.send(());
    }
}
