//! What a phone does over HTTP, for the tests that drive a server with
//! sync-core's client side directly: log in, run one whole sync session,
//! and read back what the server holds of a document.

use std::collections::BTreeSet;
use std::fmt;

use jishi_world::http::{self as phone_http, Busy, Device, HttpError};
use serde_json::Value;
use sync_core::protocol::Batch;
use sync_core::session::{ClientSession, ClientStore, DocProblem, SyncStats};
use sync_core::DocId;

use crate::county::PASSWORD;

/// The tokens of a login.
#[derive(Debug, Clone)]
pub struct Session {
    pub access: String,
    pub refresh: String,
}

/// Log in as `login` (with the test password) from device `device`,
/// registering `actors`; fails the test unless the server answers 200.
pub async fn login(
    http: &reqwest::Client,
    base: &str,
    login: &str,
    device: &str,
    actors: &[String],
) -> Session {
    let d = Device {
        login,
        password: PASSWORD,
        device_id: device,
        device_name: "测试手机",
        actors,
    };
    let t = phone_http::login(http, base, &d)
        .await
        .unwrap_or_else(|e| panic!("login {login}: {e}"));
    Session {
        access: t.access,
        refresh: t.refresh,
    }
}

/// A sync session that ran to its end.
#[derive(Debug, Clone)]
pub struct Synced {
    pub stats: SyncStats,
    /// The documents the server refused.
    pub problems: Vec<DocProblem>,
}

impl Synced {
    /// The session, as a failure if the server refused any document.
    pub fn without_problems(self) -> Result<SyncStats, SyncFailure> {
        if self.problems.is_empty() {
            Ok(self.stats)
        } else {
            Err(SyncFailure::Problems(self.problems))
        }
    }
}

/// Why a sync session stopped before its end.
#[derive(Debug, Clone)]
pub enum SyncFailure {
    /// The request or the reply's body was lost (cut, refused, timed out).
    Network(String),
    /// The server answered something other than 200.
    Status(u16),
    /// The reply was not a whole batch (a cut reply never decodes).
    Undecodable(String),
    /// The phone's side of the session failed.
    Client(String),
    /// The session ended, with documents refused (from
    /// [`Synced::without_problems`]).
    Problems(Vec<DocProblem>),
}

impl fmt::Display for SyncFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Network(e) => write!(f, "sync request failed: {e}"),
            Self::Status(s) => write!(f, "sync answered {s}"),
            Self::Undecodable(e) => write!(f, "sync reply does not decode: {e}"),
            Self::Client(e) => write!(f, "the phone's session failed: {e}"),
            Self::Problems(p) => write!(f, "documents refused: {p:?}"),
        }
    }
}

/// One whole sync session of `client` with the server at `base`: requests
/// until the session has nothing more to send; the first failure ends it
/// (a busy answer too: the tests see every answer).
pub async fn sync_session(
    http: &reqwest::Client,
    base: &str,
    client: &mut impl ClientStore,
    token: &str,
) -> Result<Synced, SyncFailure> {
    let client_failed = |e: sync_core::CoreError| SyncFailure::Client(e.to_string());
    let mut session = ClientSession::new(client).map_err(client_failed)?;
    let mut busy = Busy::new(0, 0);
    while let Some(request) = session.next_request(client).map_err(client_failed)? {
        let up = request.encode();
        let sent = up.len();
        let (_, reply) = phone_http::post_sync(http, base, token, up, &mut busy).await;
        let down = reply.map_err(|e| match e {
            HttpError::Status { status, .. } => SyncFailure::Status(status),
            other => SyncFailure::Network(other.to_string()),
        })?;
        session.record_bytes(sent, down.len());
        let batch = Batch::decode(&down).map_err(|e| SyncFailure::Undecodable(e.to_string()))?;
        session.handle_reply(client, batch).map_err(client_failed)?;
    }
    Ok(Synced {
        stats: session.stats().clone(),
        problems: session.problems().to_vec(),
    })
}

/// The entry texts of document `doc` on the server, as `token` reads them
/// over HTTP (none if the server has no such document).
pub async fn server_entries(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    doc: &DocId,
) -> BTreeSet<String> {
    let r = http
        .get(format!("{base}/api/v1/documents/{doc}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("read a document");
    if r.status() == 404 {
        return BTreeSet::new();
    }
    assert_eq!(r.status(), 200, "reading {doc}");
    let v: Value = r.json().await.expect("document JSON");
    v["entries"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["text"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
