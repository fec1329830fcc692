//! `live()`: while the app is open and online, the phone listens to the
//! server's change events (`GET /api/v1/events`, server-sent events) and
//! syncs the records when something it may read changed: a supervisor's
//! comment reaches the cadre's screen (through the change listeners)
//! without polling. Events are hints, never data: what arrives is fetched
//! by the ordinary sync. The stream reconnects by itself after a cut, with
//! `Last-Event-ID` so nothing in between is missed, and with a fresh token
//! when the old one expired.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use sync_core::session::ClientStore;

use crate::cancel::{off_thread, Cancel, CancelToken};
use crate::client::{call_cancel, JishiClient};
use crate::error::JishiError;
use crate::observe::SyncState;
use crate::sync::SyncOptions;
use crate::transport::{HttpHeader, HttpStreamSink, TransportError};

/// The longest wait before reconnecting after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A stream open this long counts as healthy: the next cut reconnects at
/// once.
const HEALTHY_AFTER: Duration = Duration::from_secs(60);
/// The most of one event the parser keeps (the server's are ~100 bytes).
const MAX_EVENT_BYTES: usize = 64 * 1024;

/// What the stream's thread hands to `live()`.
#[derive(Debug, PartialEq, Eq)]
enum Message {
    Head {
        status: u16,
        retry_after: Option<String>,
    },
    Event {
        kind: String,
        id: Option<u64>,
        data: String,
    },
    End(Result<(), TransportError>),
}

/// Server-sent events, parsed as the bytes come (the format's whole
/// grammar for what the server sends: `event`, `id`, `data` fields, comment
/// lines, LF or CRLF line ends, a blank line ending an event).
#[derive(Debug, Default)]
struct Parser {
    line: Vec<u8>,
    kind: String,
    id: Option<u64>,
    data: String,
    overflow: bool,
}

impl Parser {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Message>) {
        for &b in bytes {
            if b != b'\n' {
                if self.line.len() < MAX_EVENT_BYTES {
                    self.line.push(b);
                } else {
                    self.overflow = true;
                }
                continue;
            }
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            self.line(&line, out);
        }
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<Message>) {
        if line.is_empty() {
            let data = std::mem::take(&mut self.data);
            let kind = std::mem::take(&mut self.kind);
            if !std::mem::take(&mut self.overflow) && (!data.is_empty() || !kind.is_empty()) {
                out.push(Message::Event {
                    kind: if kind.is_empty() {
                        "message".into()
                    } else {
                        kind
                    },
                    id: self.id,
                    data,
                });
            }
            return;
        }
        if line[0] == b':' {
            return;
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (&*text, ""),
        };
        match field {
            "event" => self.kind = value.to_owned(),
            "id" => self.id = value.trim().parse().ok().or(self.id),
            "data" => {
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(value);
            }
            _ => {}
        }
    }
}

/// The stream's receiving end, handed to the transport.
struct Sink {
    queue: Arc<Mutex<VecDeque<Message>>>,
    parser: Mutex<Parser>,
    cancel: Arc<Cancel>,
    /// Set when the listener has stopped reading (a failed catch-up, a
    /// refusal): the transport closes the connection at its next chunk
    /// instead of holding it until the server ends it.
    closed: std::sync::atomic::AtomicBool,
}

impl Sink {
    /// Whether the listener still wants this stream.
    fn wanted(&self) -> bool {
        !self.closed.load(std::sync::atomic::Ordering::Acquire) && self.cancel.check().is_ok()
    }

    fn push(&self, messages: impl IntoIterator<Item = Message>) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(messages);
        self.cancel.poke();
    }
}

impl HttpStreamSink for Sink {
    fn on_head(&self, status: u16, headers: Vec<HttpHeader>) -> bool {
        let retry_after = headers
            .into_iter()
            .find(|h| h.name.eq_ignore_ascii_case("retry-after"))
            .map(|h| h.value);
        self.push([Message::Head {
            status,
            retry_after,
        }]);
        status == 200 && self.wanted()
    }

    fn on_data(&self, chunk: Vec<u8>) -> bool {
        let mut out = Vec::new();
        self.parser
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .feed(&chunk, &mut out);
        if !out.is_empty() {
            self.push(out);
        }
        self.wanted()
    }
}

#[derive(Deserialize)]
struct Changed {
    #[serde(default)]
    cursor: u64,
}

/// How one connection ended.
enum Ended {
    /// Cut or closed after a while: reconnect.
    Cut { healthy: bool },
    /// The token was refused: renew it, then reconnect.
    Unauthorized,
    /// Refused for now: wait this long.
    Wait(Duration),
}

impl JishiClient {
    fn catch_up(&self, cancel: &Arc<Cancel>) -> Result<(), JishiError> {
        let records = SyncOptions {
            photos: false,
            deadline_secs: None,
        };
        self.sync_blocking(&records, cancel, None).map(|_| ())
    }

    fn stored_cursor(&self) -> u64 {
        ClientStore::cursor(&mut *self.replica()).unwrap_or(0)
    }

    /// One connection to the event stream, until it ends.
    fn listen_once(
        &self,
        cancel: &Arc<Cancel>,
        last_id: &mut Option<u64>,
    ) -> Result<Ended, JishiError> {
        let token = self.access_token(cancel, false)?;
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let sink = Arc::new(Sink {
            queue: queue.clone(),
            parser: Mutex::default(),
            cancel: cancel.clone(),
            closed: std::sync::atomic::AtomicBool::new(false),
        });
        let request = self.server.events_request(&token, *last_id);
        let transport = self.server.transport();
        let ends = sink.clone();
        std::thread::Builder::new()
            .name("jishi-events".into())
            .spawn(move || {
                let result = transport.stream(request, ends.clone());
                ends.push([Message::End(result)]);
            })
            .map_err(|e| JishiError::other(format!("cannot start the event stream: {e}")))?;
        let opened = Instant::now();
        let next = || queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        let result = loop {
            let message = match cancel.wait_for(next) {
                Ok(m) => m,
                Err(stop) => break Err(stop.into()),
            };
            match message {
                Message::Head { status: 200, .. } => {
                    tracing::info!("live: listening to the server's changes");
                    self.observers.set_live(true);
                    self.publish_status();
                }
                Message::Head { status: 401, .. } => break Ok(Ended::Unauthorized),
                Message::Head {
                    status: status @ (403 | 404),
                    ..
                } => {
                    break Err(JishiError::forbidden(
                        "events_refused",
                        format!("the server refused the change events ({status})"),
                    ))
                }
                Message::Head {
                    status,
                    retry_after,
                } => {
                    tracing::info!(status, "live: the event stream was refused; waiting");
                    let secs = sync_core::protocol::retry_after_secs(retry_after.as_deref());
                    break Ok(Ended::Wait(Duration::from_secs(secs.max(1))));
                }
                Message::Event { kind, id, data } => {
                    *last_id = id.or(*last_id);
                    let newer = match kind.as_str() {
                        "changed" => serde_json::from_str::<Changed>(&data)
                            .map(|c| c.cursor > self.stored_cursor())
                            .unwrap_or(true),
                        "resync" => true,
                        _ => false,
                    };
                    if newer {
                        // Whatever else came meanwhile is fetched by the
                        // same sync.
                        queue
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .retain(|m| matches!(m, Message::End(_)));
                        if let Err(e) = self.catch_up(cancel) {
                            break Err(e);
                        }
                    }
                }
                Message::End(r) => {
                    if let Err(e) = r {
                        tracing::info!(error = %e, "live: the event stream was cut");
                    }
                    break Ok(Ended::Cut {
                        healthy: opened.elapsed() >= HEALTHY_AFTER,
                    });
                }
            }
        };
        sink.closed
            .store(true, std::sync::atomic::Ordering::Release);
        self.observers.set_live(false);
        self.publish_status();
        result
    }

    fn live_blocking(&self, cancel: &Arc<Cancel>) -> Result<(), JishiError> {
        let mut last_id = None;
        let mut backoff = Duration::from_secs(1);
        let mut renewed = false;
        loop {
            // What changed while the stream was down.
            let caught_up = self.catch_up(cancel);
            let ended = match caught_up {
                Ok(()) => self.listen_once(cancel, &mut last_id),
                Err(e) => Err(e),
            };
            let wait = match ended {
                Ok(Ended::Cut { healthy: true }) => {
                    backoff = Duration::from_secs(1);
                    Duration::ZERO
                }
                Ok(Ended::Cut { healthy: false }) => backoff,
                Ok(Ended::Unauthorized) if !renewed => {
                    renewed = true;
                    self.access_token(cancel, true)?;
                    continue;
                }
                Ok(Ended::Unauthorized) => {
                    return Err(JishiError::login_required(
                        "session_expired",
                        "the server refused the session's token for change events",
                    ))
                }
                Ok(Ended::Wait(d)) => d,
                Err(e @ (JishiError::Offline { .. } | JishiError::Busy { .. })) => {
                    tracing::info!(error = %e, "live: offline; trying again");
                    self.set_sync_state(SyncState::Offline);
                    backoff
                }
                Err(e) => return Err(e),
            };
            renewed = false;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            cancel.sleep(wait)?;
        }
    }
}

#[uniffi::export]
impl JishiClient {
    /// Stay in step with the server while the app is open: listen to its
    /// change events and sync the records whenever something this account
    /// may read changed, so the change listeners hear a leader's comment or
    /// a second phone's records within a second, without polling. Syncs
    /// once at the start. Reconnects by itself after a cut (waiting up to a
    /// minute while offline). Runs until cancelled (its token, its coroutine
    /// or task): then it returns `Cancelled`. Ends early only with
    /// `LoginRequired` or `Forbidden`. Photos still go up with `sync()`.
    #[uniffi::method(default(cancel = None))]
    pub async fn live(self: Arc<Self>, cancel: Option<Arc<CancelToken>>) -> Result<(), JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || self.live_blocking(&c)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pieces: &[&[u8]]) -> Vec<Message> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        for piece in pieces {
            p.feed(piece, &mut out);
        }
        out
    }

    #[test]
    fn events_are_parsed_across_pieces_and_line_ends() {
        let got = parse(&[
            b": keep-alive\n\nevent: chan",
            b"ged\r\nid: 7\r\ndata: {\"doc\":\"diary:u1:2026-11-17\",",
            b"\"cursor\":7}\r\n\r\nevent: resync\ndata: {}\n\n",
        ]);
        assert_eq!(
            got,
            vec![
                Message::Event {
                    kind: "changed".into(),
                    id: Some(7),
                    data: "{\"doc\":\"diary:u1:2026-11-17\",\"cursor\":7}".into(),
                },
                Message::Event {
                    kind: "resync".into(),
                    id: Some(7),
                    data: "{}".into(),
                },
            ]
        );
    }

    #[test]
    fn an_oversized_event_is_dropped_and_the_next_one_kept() {
        let mut big = b"data: ".to_vec();
        big.extend(std::iter::repeat_n(b'x', MAX_EVENT_BYTES * 2));
        big.extend(b"\n\ndata: 1\nid: 3\n\n");
        let got = parse(&[&big]);
        assert_eq!(
            got,
            vec![Message::Event {
                kind: "message".into(),
                id: Some(3),
                data: "1".into(),
            }]
        );
    }
}
