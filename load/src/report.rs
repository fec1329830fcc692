//! The figures of one run, as text for people and as JSON for scripts.
//! Bytes are HTTP body bytes (the sync batches), without HTTP headers.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::live::LiveFigures;
use crate::week::{WeekShape, Written};

#[derive(Debug, Clone)]
pub struct ErrorTally {
    pub count: u64,
    /// The first message of this kind.
    pub example: String,
}

#[derive(Debug, Clone, Default)]
pub struct SyncFigures {
    /// Phones that took part (logged in).
    pub cadres: usize,
    /// Phones whose every document the server acknowledged, without error.
    pub cadres_complete: u64,
    /// Wall time of the sync phase.
    pub secs: f64,
    pub docs_synced: u64,
    /// Documents still unacknowledged at the end (failed or refused).
    pub docs_left: u64,
    pub docs_per_sec: f64,
    /// Documents/s between 10% and 90% of the documents acknowledged
    /// (`run::sustained_docs_per_sec`).
    pub sustained_docs_per_sec: Option<f64>,
    pub requests: u64,
    pub round_trips_mean: f64,
    pub round_trips_max: u32,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// p50, p90, p99, max of one sync request the server worked on,
    /// milliseconds (requests turned away as busy are not in it).
    pub latency_ms: [f64; 4],
    /// Requests the server turned away as busy (503, `Retry-After`); the
    /// phone waited and sent the same request again.
    pub busy: u64,
    /// p50, p90, p99, max of one phone's whole sync, from its first request
    /// to its last reply (busy answers and waits included), milliseconds.
    pub phone_ms: [f64; 4],
    /// Documents the server refused.
    pub refused: u64,
    /// CPU seconds the load tool itself used during the phase.
    pub load_cpu_secs: Option<f64>,
}

/// The photos of `run --photos N`, uploaded by each phone after its sync.
#[derive(Debug, Clone, Default)]
pub struct PhotoFigures {
    /// Photos the phones took, and their bytes.
    pub taken: u64,
    pub taken_bytes: u64,
    /// Bytes per `PATCH`.
    pub chunk: u64,
    /// Photos the server holds at the end, and their bytes.
    pub uploaded: u64,
    pub bytes: u64,
    /// From the start of the sync phase to the last photo uploaded.
    pub secs: f64,
    pub per_sec: f64,
    pub mib_per_sec: f64,
    /// Upload requests (`HEAD` and `PATCH`), and p50, p90, p99, max of one,
    /// milliseconds.
    pub requests: u64,
    pub latency_ms: [f64; 4],
    pub busy: u64,
}

#[derive(Debug, Clone)]
pub struct ServerFigures {
    pub pid: u32,
    /// `VmHWM` at the end: the peak over the server's whole life, logins
    /// included.
    pub peak_rss: Option<u64>,
    /// `VmRSS` when the sync phase starts (after the logins).
    pub rss_before_sync: Option<u64>,
    /// The largest `VmRSS` sampled (every 250 ms) during the sync phase.
    pub rss_max_during_sync: Option<u64>,
    pub rss_end: Option<u64>,
    pub cpu_secs_sync: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub label: String,
    pub date: String,
    pub url: String,
    pub host: Value,
    pub cadres: usize,
    pub concurrency: usize,
    pub login_concurrency: usize,
    pub shape: WeekShape,
    pub logins_ok: usize,
    /// Failed login attempts that were tried again.
    pub login_retries: u64,
    pub login_secs: f64,
    pub written: Written,
    pub write_secs: f64,
    /// Each phone's first request was made before the sync phase.
    pub prepared: bool,
    pub sync: SyncFigures,
    /// With `--photos`.
    pub photos: Option<PhotoFigures>,
    /// Wall time of the whole sync phase (documents, then photos).
    pub phase_secs: f64,
    pub server: Option<ServerFigures>,
    /// The supervisor's event stream (`run --watch`).
    pub live: Option<LiveFigures>,
    /// The same first requests through the server's sync alone, in this
    /// process, before and after the sync phase (see [`crate::ceiling`]).
    pub ceiling: Option<crate::ceiling::Ceilings>,
    pub errors: BTreeMap<String, ErrorTally>,
}

fn mib(bytes: Option<u64>) -> String {
    bytes
        .map(|b| format!("{:.0} MiB", b as f64 / 1048576.0))
        .unwrap_or_else(|| "-".into())
}

/// p50, p90, p99, max as JSON.
fn quantiles_json(q: &[f64; 4]) -> Value {
    json!({ "p50": q[0], "p90": q[1], "p99": q[2], "max": q[3] })
}

fn secs(s: Option<f64>) -> String {
    s.map(|s| format!("{s:.1} s")).unwrap_or_else(|| "-".into())
}

impl Report {
    fn per_doc(&self, bytes: u64) -> f64 {
        bytes as f64 / self.sync.docs_synced.max(1) as f64
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().map(|e| e.count).sum()
    }

    pub fn text(&self) -> String {
        let s = &self.sync;
        let w = &self.written;
        let mut out = String::new();
        let mut line = |l: String| {
            out.push_str(&l);
            out.push('\n');
        };
        line(format!("== jishi-load: {} ({}) ==", self.label, self.date));
        line(format!(
            "host: {} cores, {}, {} memory, load before {}",
            self.host["cores"],
            self.host["cpu_model"].as_str().unwrap_or("?"),
            mib(self.host["memory_bytes"].as_u64()),
            self.host["loadavg_before"].as_str().unwrap_or("?"),
        ));
        line(format!(
            "cadres {} (concurrency {}, logins {} at a time); a week = {} diaries of {} entries + {} night logs",
            self.cadres,
            self.concurrency,
            self.login_concurrency,
            self.shape.days,
            self.shape.entries_per_diary,
            self.shape.days
        ));
        line(format!(
            "login:  {}/{} in {:.1} s ({} failed attempts retried)",
            self.logins_ok, self.cadres, self.login_secs, self.login_retries
        ));
        line(format!(
            "write:  {} documents in {:.1} s; diary text {:.0} B, saved diary {:.0} B, saved document {:.0} B (means)",
            w.docs,
            self.write_secs,
            w.diary_text_bytes as f64 / w.diaries.max(1) as f64,
            w.diary_saved_bytes as f64 / w.diaries.max(1) as f64,
            w.saved_bytes as f64 / w.docs.max(1) as f64,
        ));
        line(format!(
            "sync:   {} documents in {:.2} s = {:.0} documents/s; {}/{} cadres complete, {} documents left",
            s.docs_synced, s.secs, s.docs_per_sec, s.cadres_complete, s.cadres, s.docs_left
        ));
        if let Some(rate) = s.sustained_docs_per_sec {
            line(format!(
                "        sustained: {rate:.0} documents/s between 10% and 90% of the documents acknowledged (without the start and the last busy phones' waits)"
            ));
        }
        line(format!(
            "        first requests {}",
            if self.prepared {
                "prepared by the phones before the sync phase"
            } else {
                "made inside the sync phase (--unprepared)"
            }
        ));
        line(format!(
            "        round trips per cadre: mean {:.2}, max {}; {} requests",
            s.round_trips_mean, s.round_trips_max, s.requests
        ));
        line(format!(
            "        bytes per document: up {:.0}, down {:.0} (total up {:.1} MiB, down {:.1} MiB)",
            self.per_doc(s.bytes_up),
            self.per_doc(s.bytes_down),
            s.bytes_up as f64 / 1048576.0,
            s.bytes_down as f64 / 1048576.0
        ));
        line(format!(
            "        one sync request: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            s.latency_ms[0], s.latency_ms[1], s.latency_ms[2], s.latency_ms[3]
        ));
        line(format!(
            "        one phone's whole sync: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} busy answers (503) waited out",
            s.phone_ms[0], s.phone_ms[1], s.phone_ms[2], s.phone_ms[3], s.busy
        ));
        if let Some(p) = &self.photos {
            line(format!(
                "photos: {}/{} uploaded ({:.1} MiB, {:.0} KiB each) in {:.2} s after the sync phase began = {:.1} photos/s, {:.1} MiB/s",
                p.uploaded,
                p.taken,
                p.bytes as f64 / 1048576.0,
                p.taken_bytes as f64 / 1024.0 / p.taken.max(1) as f64,
                p.secs,
                p.per_sec,
                p.mib_per_sec
            ));
            line(format!(
                "        {} upload requests (HEAD, PATCH of {} KiB): p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} busy answers waited out",
                p.requests,
                p.chunk / 1024,
                p.latency_ms[0],
                p.latency_ms[1],
                p.latency_ms[2],
                p.latency_ms[3],
                p.busy
            ));
            line(format!(
                "        documents/s above is over the time to the last phone's documents ({:.2} s); the whole phase with photos took {:.2} s, and the CPU below is for both",
                s.secs, self.phase_secs
            ));
        }
        if let Some(srv) = &self.server {
            line(format!(
                "server: pid {}, peak RSS (VmHWM) {}; RSS before sync {}, max during sync {}, at end {}; CPU during sync {}",
                srv.pid,
                mib(srv.peak_rss),
                mib(srv.rss_before_sync),
                mib(srv.rss_max_during_sync),
                mib(srv.rss_end),
                secs(srv.cpu_secs_sync)
            ));
        }
        if let Some(l) = &self.live {
            line(format!(
                "live:   a supervisor's event stream heard {}/{} documents ({} before the phone read its reply); after the ack: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                l.heard, l.documents, l.heard_before_ack, l.delay_ms[0], l.delay_ms[1], l.delay_ms[2]
            ));
        }
        if let Some(c) = &self.ceiling {
            line(format!(
                "ceiling: the same {} documents through sync_core::session::serve in this process on {} threads (Automerge alone: no HTTP, database or write policy): {:.0} documents/s before the sync phase, {:.0} after, mean {:.0}; the sync above is {:.0}% of the mean",
                c.after.documents,
                c.after.threads,
                c.before.docs_per_sec,
                c.after.docs_per_sec,
                c.docs_per_sec(),
                100.0 * s.docs_per_sec / c.docs_per_sec().max(1e-9)
            ));
        }
        line(format!(
            "load tool CPU during sync: {}",
            secs(s.load_cpu_secs)
        ));
        line(format!("errors: {}", self.error_count()));
        for (kind, e) in &self.errors {
            line(format!("  {kind} x{}: {}", e.count, e.example));
        }
        out
    }

    pub fn json(&self) -> Value {
        let s = &self.sync;
        let w = &self.written;
        json!({
            "label": self.label,
            "date": self.date,
            "url": self.url,
            "host": self.host,
            "cadres": self.cadres,
            "concurrency": self.concurrency,
            "login_concurrency": self.login_concurrency,
            "week": {
                "first_day": self.shape.first_day.to_string(),
                "days": self.shape.days,
                "entries_per_diary": self.shape.entries_per_diary,
            },
            "login": { "ok": self.logins_ok, "retries": self.login_retries, "secs": self.login_secs },
            "write": {
                "secs": self.write_secs,
                "documents": w.docs,
                "diary_text_bytes_mean": w.diary_text_bytes as f64 / w.diaries.max(1) as f64,
                "diary_saved_bytes_mean": w.diary_saved_bytes as f64 / w.diaries.max(1) as f64,
                "saved_bytes_mean": w.saved_bytes as f64 / w.docs.max(1) as f64,
            },
            "sync": {
                "first_requests_prepared": self.prepared,
                "secs": s.secs,
                "cadres": s.cadres,
                "cadres_complete": s.cadres_complete,
                "documents": s.docs_synced,
                "documents_left": s.docs_left,
                "documents_per_sec": s.docs_per_sec,
                "sustained_documents_per_sec": s.sustained_docs_per_sec,
                "requests": s.requests,
                "round_trips_mean": s.round_trips_mean,
                "round_trips_max": s.round_trips_max,
                "bytes_up": s.bytes_up,
                "bytes_down": s.bytes_down,
                "bytes_up_per_doc": self.per_doc(s.bytes_up),
                "bytes_down_per_doc": self.per_doc(s.bytes_down),
                "latency_ms": quantiles_json(&s.latency_ms),
                "busy": s.busy,
                "phone_ms": quantiles_json(&s.phone_ms),
                "refused": s.refused,
                "load_cpu_secs": s.load_cpu_secs,
            },
            "photos": self.photos.as_ref().map(|p| json!({
                "taken": p.taken,
                "taken_bytes": p.taken_bytes,
                "chunk_bytes": p.chunk,
                "uploaded": p.uploaded,
                "bytes": p.bytes,
                "secs": p.secs,
                "photos_per_sec": p.per_sec,
                "mib_per_sec": p.mib_per_sec,
                "requests": p.requests,
                "latency_ms": quantiles_json(&p.latency_ms),
                "busy": p.busy,
            })),
            "phase_secs": self.phase_secs,
            "server": self.server.as_ref().map(|srv| json!({
                "pid": srv.pid,
                "peak_rss_bytes": srv.peak_rss,
                "rss_before_sync_bytes": srv.rss_before_sync,
                "rss_max_during_sync_bytes": srv.rss_max_during_sync,
                "rss_end_bytes": srv.rss_end,
                "cpu_secs_sync": srv.cpu_secs_sync,
            })),
            "live": self.live.as_ref().map(LiveFigures::json),
            "ceiling": self.ceiling.as_ref().map(|c| json!({
                "documents": c.after.documents,
                "threads": c.after.threads,
                "documents_per_sec": c.docs_per_sec(),
                "before": { "secs": c.before.secs, "documents_per_sec": c.before.docs_per_sec },
                "after": { "secs": c.after.secs, "documents_per_sec": c.after.docs_per_sec },
            })),
            "errors": self.errors.iter().map(|(k, e)| (k.clone(), json!({
                "count": e.count, "example": e.example,
            }))).collect::<serde_json::Map<_, _>>(),
        })
    }
}
