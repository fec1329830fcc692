//! `mobile-ffi`: the phone app's whole API, exported to Kotlin and Swift
//! with UniFFI. The app holds no business logic: it opens a
//! [`JishiClient`] on its data folder and calls it. Only this crate knows
//! UniFFI; it converts to and from sync-core's types and exposes no
//! Automerge or SQL detail. No panic crosses the boundary: every exported
//! function runs guarded and a panic becomes [`JishiError::Other`].
//!
//! See `mobile-ffi/README.md` for embedding the library in an app.

uniffi::setup_scaffolding!("jishi");

mod account;
mod cancel;
mod cards;
mod client;
mod comments;
mod error;
mod http;
mod items;
mod live;
mod logs;
mod notices;
mod observe;
mod photos;
mod reads;
mod refused;
mod search;
mod secrets;
mod sync;
mod transport;
mod types;
mod wipe;

pub use cancel::CancelToken;
pub use cards::{MyCard, StatusView, Whereabouts};
pub use client::{JishiClient, LOCK_FILE, REPLICA_FILE};
pub use error::JishiError;
pub use items::{CaseVerdict, ItemStepAction, ItemStepView, ItemView};
pub use logs::{clear_log_sink, set_log_sink, LogLevel, LogSink};
pub use observe::{ChangeListener, ChangeOrigin, DocChange, StatusListener, SyncState, SyncStatus};
pub use photos::{DecodeError, DecodedPhoto, PhotoDecoder, PhotoPrune, PhotoSize};
pub use reads::{FilingRowView, PersonView, Profile, ReviewResult};
pub use refused::RefusedDocument;
pub use search::SearchHit;
pub use secrets::{SecretError, SecretStore};
pub use sync::{SyncObserver, SyncOptions};
pub use transport::{
    HttpHeader, HttpRequest, HttpResponse, HttpStreamSink, HttpTransport, TransportError,
    UreqTransport,
};
pub use types::*;
pub use wipe::WipeReport;
