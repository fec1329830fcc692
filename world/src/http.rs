//! The simulated phones' HTTP, as the app speaks it: login, the sync
//! session (waiting out busy answers as the server asks), the resumable
//! photo upload. One driver for `jishi demo`, the load generator and the
//! tests; each adds only what it measures.

use std::time::{Duration, Instant};

pub use reqwest::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sync_core::protocol::{self, Batch};
use sync_core::session::{ClientSession, ClientStore, SyncStats};
use sync_core::upload::{Upload, UploadRequest, UploadResponse, UploadState};
use sync_core::validate::PhotoHash;
use sync_core::CoreError;

/// A failed request: what the phone was doing and what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{phase}: cannot reach the server ({kind}): {source}")]
    Transport {
        phase: &'static str,
        kind: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("{phase}: the server answered HTTP {status}: {body}")]
    Status {
        phase: &'static str,
        status: u16,
        body: String,
    },
    #[error("{phase}: {message}")]
    Unreadable {
        phase: &'static str,
        message: String,
    },
}

impl HttpError {
    fn transport(phase: &'static str, source: reqwest::Error) -> Self {
        let kind = if source.is_timeout() {
            "timeout"
        } else if source.is_connect() {
            "connect"
        } else {
            "transport"
        };
        HttpError::Transport {
            phase,
            kind,
            source,
        }
    }

    async fn status(phase: &'static str, r: reqwest::Response) -> Self {
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        HttpError::Status {
            phase,
            status,
            body: body.chars().take(300).collect(),
        }
    }

    /// A short kind to count failures by: `sync: HTTP 503`, `login: timeout`.
    pub fn kind(&self) -> String {
        match self {
            HttpError::Transport { phase, kind, .. } => format!("{phase}: {kind}"),
            HttpError::Status { phase, status, .. } => format!("{phase}: HTTP {status}"),
            HttpError::Unreadable { phase, .. } => format!("{phase}: unreadable"),
        }
    }

    /// The HTTP status, for an answer.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An HTTP client for one or many phones.
pub fn client(timeout: Duration) -> Result<Client, HttpError> {
    Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| HttpError::transport("client", e))
}

/// Milliseconds a busy answer asks to wait (its `Retry-After`, read as
/// the protocol says: 1 to 60 seconds).
pub fn retry_after_ms(headers: &reqwest::header::HeaderMap) -> u64 {
    let header = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok());
    protocol::retry_after_secs(header) * 1000
}

/// A wait of 0 to `max_ms` for `phone`'s `attempt`th busy answer, spread
/// over the phones without a random source (the same run waits the same),
/// so that phones turned away together do not all come back together.
pub fn spread_ms(phone: u64, attempt: u64, max_ms: u64) -> u64 {
    let mixed = phone
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(attempt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    (mixed >> 17) % max_ms.max(1)
}

/// How one phone waits out busy answers (503 with `Retry-After`: the
/// server stored nothing): as told, plus a spread of up to as long again,
/// at most `max` times per request.
#[derive(Debug, Clone)]
pub struct Busy {
    phone: u64,
    max: u64,
    /// Busy answers waited out so far, over all requests.
    pub answers: u64,
}

impl Busy {
    pub fn new(phone: u64, max_per_request: u64) -> Self {
        Self {
            phone,
            max: max_per_request,
            answers: 0,
        }
    }

    /// Wait out a busy answer, unless this request has had `max` already.
    async fn wait_out(&mut self, r: &reqwest::Response, this_request: &mut u64) -> bool {
        if r.status() != StatusCode::SERVICE_UNAVAILABLE || *this_request >= self.max {
            return false;
        }
        *this_request += 1;
        self.answers += 1;
        let wait = retry_after_ms(r.headers());
        let spread = spread_ms(self.phone, self.answers, wait);
        tokio::time::sleep(Duration::from_millis(wait + spread)).await;
        true
    }
}

/// A device logging in: who, and the device it is.
pub struct Device<'a> {
    pub login: &'a str,
    pub password: &'a str,
    pub device_id: &'a str,
    pub device_name: &'a str,
    /// The replica's Automerge actors (hex).
    pub actors: &'a [String],
}

/// The tokens a login hands out.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// Log in; the tokens.
pub async fn login(http: &Client, base: &str, d: &Device<'_>) -> Result<Tokens, HttpError> {
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({
            "login": d.login,
            "password": d.password,
            "device_id": d.device_id,
            "device_name": d.device_name,
            "actors": d.actors,
        }))
        .send()
        .await
        .map_err(|e| HttpError::transport("login", e))?;
    if !r.status().is_success() {
        return Err(HttpError::status("login", r).await);
    }
    let body: Value = r
        .json()
        .await
        .map_err(|e| HttpError::transport("login", e))?;
    let token = |name: &str| {
        body[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| HttpError::Unreadable {
                phase: "login",
                message: format!("no {name} in {body}"),
            })
    };
    Ok(Tokens {
        access: token("access_token")?,
        refresh: token("refresh_token")?,
    })
}

/// Post one sync request, waiting out busy answers; the reply's bytes, and
/// when the answered attempt was sent (for latencies).
pub async fn post_sync(
    http: &Client,
    base: &str,
    token: &str,
    body: Vec<u8>,
    busy: &mut Busy,
) -> (Instant, Result<bytes::Bytes, HttpError>) {
    let endpoint = format!("{base}/api/v1/sync");
    let mut this_request = 0;
    loop {
        let sent = Instant::now();
        let response = http
            .post(&endpoint)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, protocol::CONTENT_TYPE)
            .body(body.clone())
            .send()
            .await;
        let r = match response {
            Err(e) => return (sent, Err(HttpError::transport("sync", e))),
            Ok(r) => r,
        };
        if busy.wait_out(&r, &mut this_request).await {
            continue;
        }
        if !r.status().is_success() {
            return (sent, Err(HttpError::status("sync", r).await));
        }
        let bytes = r.bytes().await.map_err(|e| HttpError::transport("sync", e));
        return (sent, bytes);
    }
}

/// Why a sync session did not finish.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the phone's replica: {0}")]
    Replica(#[from] CoreError),
    #[error("the server refused {count} document(s), first {doc}: {code} {message}")]
    Refused {
        count: usize,
        doc: String,
        code: String,
        message: String,
    },
}

/// One whole sync session of `store`, request after request until it has
/// nothing more to say. Fails if the server refused any document: a
/// simulated phone's edits are all valid, so a refusal is a bug.
pub async fn sync(
    http: &Client,
    base: &str,
    token: &str,
    store: &mut impl ClientStore,
    busy: &mut Busy,
) -> Result<SyncStats, SyncError> {
    let mut session = ClientSession::new(store)?;
    while let Some(request) = session.next_request(store)? {
        let up = request.encode();
        let sent = up.len();
        let (_, reply) = post_sync(http, base, token, up, busy).await;
        let down = reply?;
        session.record_bytes(sent, down.len());
        let batch = Batch::decode(&down).map_err(CoreError::from)?;
        session.handle_reply(store, batch)?;
    }
    if let Some(p) = session.problems().first() {
        return Err(SyncError::Refused {
            count: session.problems().len(),
            doc: p.doc.to_string(),
            code: p.code.clone(),
            message: p.message.clone(),
        });
    }
    Ok(session.stats().clone())
}

/// A photo file to upload.
pub struct PhotoFile<'a> {
    pub hash: &'a PhotoHash,
    pub len: u64,
    /// Bytes `start..end` of the file.
    pub bytes: &'a (dyn Fn(u64, u64) -> Option<Vec<u8>> + Sync),
}

/// What uploading one photo did.
#[derive(Debug, Default)]
pub struct Uploaded {
    /// Microseconds of each answered request.
    pub latencies_us: Vec<u64>,
    /// Failed attempts that were tried again.
    pub retried: Vec<HttpError>,
}

/// Why a photo is not on the server.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the server refused photo {hash}: {reason}")]
    Refused { hash: String, reason: String },
    #[error("the upload of photo {hash} failed {failures} times in a row")]
    GaveUp { hash: String, failures: u32 },
    #[error("the upload of photo {hash} asked for bytes past the file")]
    PastTheEnd { hash: String },
    #[error("the phone's replica: {0}")]
    Replica(#[from] CoreError),
    #[error("the upload of photo {hash} stopped at {state}")]
    Stopped { hash: String, state: String },
}

/// One photo through the resumable upload (`HEAD` / `PATCH
/// /api/v1/blobs/{sha256}`, see `docs/photo-upload.md`), driven by the
/// app's state machine (`sync_core::upload::Upload`); `on_state` after
/// every answer (the app records it in its replica). Gives up after
/// `max_failures` failed requests in a row (the app leaves the photo in
/// its outbox).
#[allow(clippy::too_many_arguments)]
pub async fn upload_photo(
    http: &Client,
    base: &str,
    token: &str,
    photo: &PhotoFile<'_>,
    chunk: u64,
    max_failures: u32,
    busy: &mut Busy,
    mut on_state: impl FnMut(&UploadState) -> Result<(), CoreError>,
) -> (Uploaded, Result<(), UploadError>) {
    let mut out = Uploaded::default();
    let hash = photo.hash.to_string();
    let endpoint = format!("{base}/api/v1/blobs/{hash}");
    let mut upload = Upload::new(photo.hash.clone(), photo.len, chunk);
    let mut this_request = 0;
    while let Some(request) = upload.next() {
        let builder = match request {
            UploadRequest::Head => http.head(&endpoint),
            UploadRequest::Patch { offset, len } => {
                let Some(body) = (photo.bytes)(offset, offset + len) else {
                    return (out, Err(UploadError::PastTheEnd { hash }));
                };
                http.patch(&endpoint)
                    .header("upload-offset", offset)
                    .header("upload-length", photo.len)
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/offset+octet-stream",
                    )
                    .body(body)
            }
        };
        let sent = Instant::now();
        let answer = match builder.bearer_auth(token).send().await {
            Ok(r) if busy.wait_out(&r, &mut this_request).await => continue,
            Ok(r) => classify(r).await,
            Err(e) => Err(HttpError::transport("photo", e)),
        };
        this_request = 0;
        out.latencies_us.push(sent.elapsed().as_micros() as u64);
        let response = answer.unwrap_or_else(|e| {
            out.retried.push(e);
            UploadResponse::Failed
        });
        upload.handle(response);
        if let Err(e) = on_state(upload.state()) {
            return (out, Err(e.into()));
        }
        if upload.failures() >= max_failures {
            let failures = upload.failures();
            return (out, Err(UploadError::GaveUp { hash, failures }));
        }
    }
    let result = match upload.state() {
        UploadState::Done => Ok(()),
        UploadState::Failed { reason } => Err(UploadError::Refused {
            hash,
            reason: reason.clone(),
        }),
        other => Err(UploadError::Stopped {
            hash,
            state: format!("{other:?}"),
        }),
    };
    (out, result)
}

/// The server's answer as the upload state machine takes it; `Err` for an
/// answer worth another attempt (5xx, 429, 401).
async fn classify(r: reqwest::Response) -> Result<UploadResponse, HttpError> {
    let status = r.status();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let offset = header("upload-offset");
    let complete = header("upload-complete") == Some(1);
    match (status.as_u16(), offset) {
        (200..=299, Some(offset)) => Ok(UploadResponse::Offset { offset, complete }),
        (409, Some(offset)) => Ok(UploadResponse::OffsetMismatch { offset }),
        (400..=499, _) if status != StatusCode::TOO_MANY_REQUESTS && status.as_u16() != 401 => {
            let e = HttpError::status("photo", r).await;
            Ok(UploadResponse::Refused {
                code: e.kind(),
                message: e.to_string(),
            })
        }
        _ => Err(HttpError::status("photo", r).await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_stay_below_the_wait_and_differ_between_phones() {
        let waits: std::collections::BTreeSet<u64> =
            (0..50).map(|phone| spread_ms(phone, 1, 5_000)).collect();
        assert!(waits.iter().all(|w| *w < 5_000));
        assert!(waits.len() > 40, "{waits:?}");
        assert_eq!(spread_ms(3, 2, 0), 0);
    }
}
