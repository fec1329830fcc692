//! Logs forwarded to the app: the library's `tracing` events go to a sink
//! the app installs (Logcat, os_log, a file), called on a thread of its own
//! shortly after the event.

use std::fmt::Write;
use std::sync::{mpsc, Arc, Mutex, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// Receives the library's log lines.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    fn log(&self, level: LogLevel, target: String, message: String);
}

struct Installed {
    sink: Arc<dyn LogSink>,
    max: LogLevel,
}

static SINK: RwLock<Option<Installed>> = RwLock::new(None);
static SUBSCRIBER: OnceLock<bool> = OnceLock::new();

fn level(l: &Level) -> LogLevel {
    match *l {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        _ => LogLevel::Trace,
    }
}

#[derive(Default)]
struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let sep = if self.0.is_empty() { "" } else { " " };
            let _ = write!(self.0, "{sep}{}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let sep = if self.0.is_empty() { "" } else { " " };
            let _ = write!(self.0, "{sep}{}={value}", field.name());
        }
    }
}

struct Forward;

type LogLine = (LogLevel, String, String);

/// Lines go to the app on their own thread: a sink that calls back into the
/// client cannot deadlock with a lock the logging code holds.
fn delivery() -> &'static Mutex<mpsc::Sender<LogLine>> {
    static SENDER: OnceLock<Mutex<mpsc::Sender<LogLine>>> = OnceLock::new();
    SENDER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<LogLine>();
        let spawned = std::thread::Builder::new()
            .name("jishi-logs".into())
            .spawn(move || {
                for (level, target, message) in rx {
                    let sink = SINK
                        .read()
                        .unwrap_or_else(|p| p.into_inner())
                        .as_ref()
                        .map(|i| i.sink.clone());
                    if let Some(sink) = sink {
                        // A sink that throws must not take the library down.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            sink.log(level, target, message)
                        }));
                    }
                }
            });
        if spawned.is_err() {
            // No thread: lines are dropped rather than delivered under locks.
        }
        Mutex::new(tx)
    })
}

impl<S: Subscriber> Layer<S> for Forward {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let max = match SINK.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(installed) => installed.max,
            None => return,
        };
        let lvl = level(event.metadata().level());
        if lvl > max {
            return;
        }
        let mut line = Line::default();
        event.record(&mut line);
        let target = event.metadata().target().to_owned();
        let tx = delivery().lock().unwrap_or_else(|p| p.into_inner());
        let _ = tx.send((lvl, target, line.0));
    }
}

/// Send the library's logs at `max_level` and above to `sink` (replacing
/// any earlier sink). Installs the forwarding once per process; if the
/// process already has a global `tracing` subscriber, that one keeps the
/// logs.
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, max_level: LogLevel) {
    *SINK.write().unwrap_or_else(|p| p.into_inner()) = Some(Installed {
        sink,
        max: max_level,
    });
    SUBSCRIBER.get_or_init(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Forward))
            .is_ok()
    });
}

/// Stop forwarding logs.
#[uniffi::export]
pub fn clear_log_sink() {
    *SINK.write().unwrap_or_else(|p| p.into_inner()) = None;
}
