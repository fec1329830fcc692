//! The demo's phones and reviewers talk to the server over real HTTP, as
//! the app does: login, the sync session, the resumable photo upload.

use anyhow::{anyhow, bail, Context};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sync_core::protocol::Batch;
use sync_core::replica::{OutboxPhoto, Replica};
use sync_core::session::{ClientSession, SyncStats};
use sync_core::upload::{Upload, UploadRequest, UploadResponse, UploadState, DEFAULT_CHUNK};
use sync_core::validate::PhotoHash;

/// Network failures in a row after which a photo upload gives up.
const MAX_UPLOAD_FAILURES: u32 = 4;

pub fn client() -> anyhow::Result<Client> {
    Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .context("cannot make an HTTP client")
}

/// Log in and return the access token.
pub async fn login(
    http: &Client,
    base: &str,
    login: &str,
    password: &str,
    device_id: &str,
    actors: &[String],
) -> anyhow::Result<String> {
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({
            "login": login,
            "password": password,
            "device_id": device_id,
            "device_name": "演示手机",
            "actors": actors,
        }))
        .send()
        .await
        .with_context(|| format!("cannot reach the server at {base} to log in {login}"))?;
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    if status != StatusCode::OK {
        bail!("login of {login} refused: {status} {body}");
    }
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("login of {login}: no access_token in {body}"))
}

/// Busy answers (503) one sync request waits out before giving up.
const MAX_BUSY_ANSWERS: u32 = 30;

/// The `Retry-After` of a busy answer, in seconds.
fn retry_after_secs(r: &reqwest::Response) -> u64 {
    sync_core::protocol::retry_after_secs(
        r.headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
    )
}

fn rand_u16() -> u16 {
    // An item id is 16 random bytes in hex.
    let id = sync_core::ItemId::random();
    u16::from_str_radix(id.as_str().get(..4).unwrap_or("0"), 16).unwrap_or(0)
}

/// One whole sync session of `replica`, waiting out busy answers (503 with
/// `Retry-After`) as the app must. Fails if the server refused any
/// document: the demo's edits are all valid, so a refusal is a bug.
pub async fn sync(
    http: &Client,
    base: &str,
    token: &str,
    replica: &mut Replica,
) -> anyhow::Result<SyncStats> {
    let mut session = ClientSession::new(replica)?;
    while let Some(request) = session.next_request(replica)? {
        let up = request.encode();
        let sent = up.len();
        let mut busy = 0u32;
        let r = loop {
            let r = http
                .post(format!("{base}/api/v1/sync"))
                .bearer_auth(token)
                .header("content-type", "application/vnd.jishi.sync-batch")
                .body(up.clone())
                .send()
                .await
                .context("sync request failed")?;
            // Busy: the server stored nothing; wait as it says (plus a
            // spread, so that phones turned away together do not all come
            // back together) and send the same bytes again.
            if r.status() != StatusCode::SERVICE_UNAVAILABLE || busy >= MAX_BUSY_ANSWERS {
                break r;
            }
            busy += 1;
            let wait_ms = retry_after_secs(&r) * 1000;
            let spread_ms = u64::from(rand_u16()) % wait_ms.max(1);
            tokio::time::sleep(std::time::Duration::from_millis(wait_ms + spread_ms)).await;
        };
        let status = r.status();
        if status != StatusCode::OK {
            let text = r.text().await.unwrap_or_default();
            bail!("sync answered {status}: {text}");
        }
        let down = r.bytes().await.context("sync reply cut")?;
        session.record_bytes(sent, down.len());
        let batch = Batch::decode(&down).map_err(|e| anyhow!("sync reply unreadable: {e}"))?;
        session.handle_reply(replica, batch)?;
    }
    if let Some(p) = session.problems().first() {
        bail!(
            "the server refused {} document(s), first {}: {} {}",
            session.problems().len(),
            p.doc,
            p.code,
            p.message
        );
    }
    Ok(session.stats().clone())
}

struct Answer {
    status: u16,
    offset: Option<u64>,
    complete: bool,
    body: String,
}

async fn answer(r: reqwest::Response) -> Answer {
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let offset = header("upload-offset").and_then(|v| v.trim().parse().ok());
    let complete = header("upload-complete").as_deref() == Some("1");
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    Answer {
        status,
        offset,
        complete,
        body,
    }
}

/// Upload one photo of the outbox with the resumable protocol, recording
/// its state in the replica as the app does.
pub async fn upload_photo(
    http: &Client,
    base: &str,
    token: &str,
    replica: &mut Replica,
    photo: &OutboxPhoto,
) -> anyhow::Result<()> {
    let hash = PhotoHash::parse(&photo.sha256)?;
    let bytes = std::fs::read(&photo.path)
        .with_context(|| format!("cannot read the queued photo {}", photo.path))?;
    let url = format!("{base}/api/v1/blobs/{hash}");
    let mut upload = Upload::new(hash.clone(), photo.size, DEFAULT_CHUNK);
    while let Some(request) = upload.next() {
        let sent = match request {
            UploadRequest::Head => http.head(&url).bearer_auth(token).send().await,
            UploadRequest::Patch { offset, len } => {
                let chunk = usize::try_from(offset)
                    .ok()
                    .zip(usize::try_from(offset + len).ok())
                    .and_then(|(s, e)| bytes.get(s..e))
                    .ok_or_else(|| anyhow!("the upload of {hash} asked for bytes past the file"))?;
                http.patch(&url)
                    .bearer_auth(token)
                    .header("upload-offset", offset)
                    .header("upload-length", photo.size)
                    .body(chunk.to_vec())
                    .send()
                    .await
            }
        };
        let response = match sent {
            Err(_) => UploadResponse::Failed,
            Ok(r) => {
                let a = answer(r).await;
                match (a.status, a.offset) {
                    (200..=299, Some(offset)) => UploadResponse::Offset {
                        offset,
                        complete: a.complete,
                    },
                    (409, Some(offset)) => UploadResponse::OffsetMismatch { offset },
                    (400..=499, _) => UploadResponse::Refused {
                        code: a.status.to_string(),
                        message: a.body,
                    },
                    _ => UploadResponse::Failed,
                }
            }
        };
        upload.handle(response);
        replica.record_upload(upload.state(), &hash)?;
        if upload.failures() >= MAX_UPLOAD_FAILURES {
            bail!("the upload of photo {hash} failed {MAX_UPLOAD_FAILURES} times in a row");
        }
    }
    match upload.state() {
        UploadState::Done => Ok(()),
        UploadState::Failed { reason } => bail!("the server refused photo {hash}: {reason}"),
        other => bail!("the upload of photo {hash} stopped at {other:?}"),
    }
}
