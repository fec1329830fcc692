//! Prometheus metrics, rendered as text at `GET /metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

pub struct Metrics {
    registry: Registry,
    pub sync_requests: Counter,
    pub sync_docs_accepted: Counter,
    pub sync_docs_refused: Counter,
    pub sync_merge_retries: Counter,
    pub sync_busy: Counter,
    pub sync_seconds: Histogram,
    pub logins: Counter,
    pub login_failures: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("jishi");
        let m = Self {
            sync_requests: Counter::default(),
            sync_docs_accepted: Counter::default(),
            sync_docs_refused: Counter::default(),
            sync_merge_retries: Counter::default(),
            sync_busy: Counter::default(),
            sync_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 14)),
            logins: Counter::default(),
            login_failures: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "sync_requests",
            "Sync requests answered",
            m.sync_requests.clone(),
        );
        registry.register(
            "sync_docs_accepted",
            "Documents that gained changes through sync",
            m.sync_docs_accepted.clone(),
        );
        registry.register(
            "sync_docs_refused",
            "Documents refused by the write rules",
            m.sync_docs_refused.clone(),
        );
        registry.register(
            "sync_merge_retries",
            "Merges run again because a document changed during the request",
            m.sync_merge_retries.clone(),
        );
        registry.register(
            "sync_busy",
            "Sync requests turned away with 503 because as many as allowed were being worked on",
            m.sync_busy.clone(),
        );
        registry.register(
            "sync_seconds",
            "Time to answer a sync request",
            m.sync_seconds.clone(),
        );
        registry.register("logins", "Successful logins", m.logins.clone());
        registry.register("login_failures", "Failed logins", m.login_failures.clone());
        Self { registry, ..m }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
