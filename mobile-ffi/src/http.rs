//! The server's HTTP API as the phone uses it: login, token refresh,
//! logout, one sync round trip, and the photo upload requests. Blocking
//! (the app calls from a background thread), with timeouts, and every
//! failure typed: no answer at all is [`HttpError::Offline`], an answer is
//! [`HttpError::Status`] with the server's `{code, message}`.

use std::io::Read;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The content type of sync batches.
pub const SYNC_CONTENT_TYPE: &str = "application/vnd.jishi.sync-batch";
/// The most a reply may hold (the server sends at most a few MB).
const MAX_REPLY: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Offline(String),
    #[error("server answered {status}: {code}: {message}")]
    Status {
        status: u16,
        code: String,
        message: String,
    },
    /// 503: the server is busy with other phones' syncs; nothing of the
    /// request was stored. Send it again after `retry_after_secs`.
    #[error("server busy: send again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub user_id: String,
    pub role: String,
}

#[derive(Serialize)]
struct LoginBody<'a> {
    login: &'a str,
    password: &'a str,
    device_id: &'a str,
    device_name: &'a str,
    actors: &'a [String],
}

#[derive(Serialize)]
struct RefreshBody<'a> {
    refresh_token: &'a str,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// What a photo request got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadAnswer {
    pub status: u16,
    pub offset: Option<u64>,
    pub complete: bool,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Server {
    base: String,
    agent: ureq::Agent,
}

impl Server {
    pub fn new(base: &str) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // No limit on a whole exchange (a week's backlog over 2G takes
            // minutes); a stalled one fails.
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .timeout_per_write(Some(Duration::from_secs(60)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .user_agent(concat!("jishi-mobile/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    /// The server's address, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn read(mut r: ureq::http::Response<ureq::Body>) -> Result<(u16, Vec<u8>), HttpError> {
        let status = r.status().as_u16();
        let mut body = Vec::new();
        r.body_mut()
            .as_reader()
            .take(MAX_REPLY)
            .read_to_end(&mut body)
            .map_err(|e| HttpError::Offline(format!("reply cut: {e}")))?;
        Ok((status, body))
    }

    fn ok_or_status(status: u16, body: &[u8]) -> Result<(), HttpError> {
        if (200..300).contains(&status) {
            return Ok(());
        }
        let e: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
        Err(HttpError::Status {
            status,
            code: e.code,
            message: e.message,
        })
    }

    fn post_json<B: Serialize>(&self, path: &str, body: &B) -> Result<Vec<u8>, HttpError> {
        let json = serde_json::to_vec(body).map_err(|e| HttpError::Offline(e.to_string()))?;
        let r = self
            .agent
            .post(self.url(path))
            .content_type("application/json")
            .send(&json[..])
            .map_err(offline)?;
        let (status, body) = Self::read(r)?;
        Self::ok_or_status(status, &body)?;
        Ok(body)
    }

    fn tokens(body: &[u8]) -> Result<TokenPair, HttpError> {
        serde_json::from_slice(body).map_err(|e| HttpError::Status {
            status: 200,
            code: "bad_reply".into(),
            message: e.to_string(),
        })
    }

    pub fn login(
        &self,
        login: &str,
        password: &str,
        device_id: &str,
        device_name: &str,
        actors: &[String],
    ) -> Result<TokenPair, HttpError> {
        let body = self.post_json(
            "/api/v1/auth/login",
            &LoginBody {
                login,
                password,
                device_id,
                device_name,
                actors,
            },
        )?;
        Self::tokens(&body)
    }

    pub fn refresh(&self, refresh_token: &str) -> Result<TokenPair, HttpError> {
        let body = self.post_json("/api/v1/auth/refresh", &RefreshBody { refresh_token })?;
        Self::tokens(&body)
    }

    pub fn logout(&self, refresh_token: &str) -> Result<(), HttpError> {
        self.post_json("/api/v1/auth/logout", &RefreshBody { refresh_token })
            .map(|_| ())
    }

    /// One sync round trip: the encoded request batch up, the reply down.
    pub fn sync(&self, token: &str, batch: &[u8]) -> Result<Vec<u8>, HttpError> {
        let r = self
            .agent
            .post(self.url("/api/v1/sync"))
            .header("authorization", format!("Bearer {token}"))
            .content_type(SYNC_CONTENT_TYPE)
            .send(batch)
            .map_err(offline)?;
        if r.status().as_u16() == 503 {
            let header = r.headers().get("retry-after").and_then(|v| v.to_str().ok());
            return Err(HttpError::Busy {
                retry_after_secs: sync_core::protocol::retry_after_secs(header),
            });
        }
        let (status, body) = Self::read(r)?;
        Self::ok_or_status(status, &body)?;
        Ok(body)
    }

    fn upload_answer(r: ureq::http::Response<ureq::Body>) -> Result<UploadAnswer, HttpError> {
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let offset = header("upload-offset").and_then(|v| v.trim().parse().ok());
        let complete = header("upload-complete").as_deref() == Some("1");
        let (status, body) = Self::read(r)?;
        let e: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
        Ok(UploadAnswer {
            status,
            offset,
            complete,
            code: e.code,
            message: e.message,
        })
    }

    /// `HEAD /api/v1/blobs/{sha}`.
    pub fn blob_offset(&self, token: &str, sha: &str) -> Result<UploadAnswer, HttpError> {
        let r = self
            .agent
            .head(self.url(&format!("/api/v1/blobs/{sha}")))
            .header("authorization", format!("Bearer {token}"))
            .call()
            .map_err(offline)?;
        Self::upload_answer(r)
    }

    /// `PATCH /api/v1/blobs/{sha}` with one chunk.
    pub fn blob_chunk(
        &self,
        token: &str,
        sha: &str,
        offset: u64,
        total: u64,
        chunk: &[u8],
    ) -> Result<UploadAnswer, HttpError> {
        let r = self
            .agent
            .patch(self.url(&format!("/api/v1/blobs/{sha}")))
            .header("authorization", format!("Bearer {token}"))
            .header("upload-offset", offset.to_string())
            .header("upload-length", total.to_string())
            .content_type("application/offset+octet-stream")
            .send(chunk)
            .map_err(offline)?;
        Self::upload_answer(r)
    }
}

fn offline(e: ureq::Error) -> HttpError {
    HttpError::Offline(e.to_string())
}
