//! The live-update watcher of `jishi-load run --watch` (issue 7): a
//! supervisor over the whole county holds `GET /api/v1/events` open while
//! the phones sync, and notes when it first hears of each document. The
//! run then reports, per document, how long after its phone's sync was
//! acknowledged the supervisor heard of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};

/// The login `seed` gives the county's supervisor.
pub const WATCHER_LOGIN: &str = "sup00001";

/// A supervisor's open event stream.
pub struct Watcher {
    heard: Arc<Mutex<HashMap<String, Instant>>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// What the watcher heard, against when each document was acknowledged.
#[derive(Debug, Clone, Default)]
pub struct LiveFigures {
    pub documents: u64,
    pub heard: u64,
    /// Heard before its phone had read the sync reply (the event left the
    /// server with the commit, the reply right after it).
    pub heard_before_ack: u64,
    /// p50, p99, max of (heard − acknowledged), milliseconds, 0 when heard
    /// first.
    pub delay_ms: [f64; 3],
}

impl LiveFigures {
    pub fn json(&self) -> Value {
        json!({
            "documents": self.documents,
            "heard": self.heard,
            "missed": self.documents - self.heard,
            "heard_before_ack": self.heard_before_ack,
            "delay_ms": { "p50": self.delay_ms[0], "p99": self.delay_ms[1], "max": self.delay_ms[2] },
        })
    }
}

/// One event of a server-sent-event stream: its `event:` and `data:`.
fn parse_event(block: &str) -> (Option<&str>, String) {
    let mut kind = None;
    let mut data = String::new();
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            kind = Some(v.trim());
        } else if let Some(v) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    (kind, data)
}

impl Watcher {
    /// Open the stream with `token` and start listening.
    pub async fn start(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<Self> {
        let mut response = http
            .get(format!("{url}/api/v1/events"))
            .bearer_auth(token)
            // No overall timeout: the stream lives as long as the run.
            .timeout(Duration::from_secs(24 * 3600))
            .send()
            .await
            .context("opening the supervisor's event stream")?;
        anyhow::ensure!(
            response.status().is_success(),
            "GET /api/v1/events answered {}",
            response.status()
        );
        let heard: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let sink = heard.clone();
        let task = tokio::spawn(async move {
            let mut buffer = String::new();
            while let Some(chunk) = response.chunk().await? {
                let now = Instant::now();
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    let (kind, data) = parse_event(&block);
                    if kind == Some("changed") {
                        let doc: Value = serde_json::from_str(&data)?;
                        if let Some(doc) = doc["doc"].as_str() {
                            let mut heard = sink.lock().unwrap_or_else(|p| p.into_inner());
                            heard.entry(doc.to_owned()).or_insert(now);
                        }
                    }
                }
            }
            Ok(())
        });
        Ok(Self { heard, task })
    }

    fn heard_count(&self, docs: &[(String, Instant)]) -> usize {
        let heard = self.heard.lock().unwrap_or_else(|p| p.into_inner());
        docs.iter().filter(|(d, _)| heard.contains_key(d)).count()
    }

    /// Wait (up to `patience`) until every document of `acked` has been
    /// heard of, then compare.
    pub async fn finish(self, acked: &[(String, Instant)], patience: Duration) -> LiveFigures {
        let deadline = Instant::now() + patience;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        while self.heard_count(acked) < acked.len() && Instant::now() < deadline {
            if self.task.is_finished() {
                break;
            }
            tick.tick().await;
        }
        self.task.abort();
        let heard = self.heard.lock().unwrap_or_else(|p| p.into_inner());
        let mut delays = Vec::new();
        let mut before = 0;
        for (doc, ack) in acked {
            if let Some(at) = heard.get(doc) {
                match at.checked_duration_since(*ack) {
                    Some(d) => delays.push(d.as_secs_f64() * 1000.0),
                    None => {
                        before += 1;
                        delays.push(0.0);
                    }
                }
            }
        }
        delays.sort_by(f64::total_cmp);
        let q = |p: f64| {
            if delays.is_empty() {
                0.0
            } else {
                delays[(((delays.len() - 1) as f64) * p).round() as usize]
            }
        };
        LiveFigures {
            documents: acked.len() as u64,
            heard: delays.len() as u64,
            heard_before_ack: before,
            delay_ms: [q(0.5), q(0.99), q(1.0)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_event;

    #[test]
    fn reads_an_event_block() {
        let (kind, data) =
            parse_event("id: 7\nevent: changed\ndata: {\"doc\":\"diary:u1:2026-11-16\"}\n\n");
        assert_eq!(kind, Some("changed"));
        assert_eq!(data, "{\"doc\":\"diary:u1:2026-11-16\"}");
        assert_eq!(parse_event(": keep-alive\n\n").0, None);
    }
}
