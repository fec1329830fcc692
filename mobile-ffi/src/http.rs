//! The server's HTTP API as the phone uses it: login, token refresh,
//! logout, one sync round trip, and the photo upload requests, through the
//! app's [`HttpTransport`] (or the library's own), each stopped by its call's
//! cancel or deadline, and every
//! failure typed: no answer at all is [`HttpError::Offline`], an answer is
//! [`HttpError::Status`] with the server's `{code, message}`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::cancel::{Cancel, Stop};
use crate::transport::{HttpHeader, HttpRequest, HttpResponse, HttpTransport, TransportError};

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
    /// 429: too many attempts; wait `retry_after_secs`.
    #[error("limited: wait {retry_after_secs} s: {code}: {message}")]
    Limited {
        retry_after_secs: u64,
        code: String,
        message: String,
    },
    /// The call was cancelled or reached its deadline while waiting.
    #[error("stopped: {0:?}")]
    Stopped(Stop),
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    /// Older servers do not send it.
    #[serde(default)]
    pub refresh_expires_in: Option<u64>,
    pub user_id: String,
    pub role: String,
    /// What to present at the next login or refresh (older servers send
    /// none): tells this phone from an older copy of its folder.
    #[serde(default)]
    pub device_check: Option<String>,
}

/// A login as `POST /api/v1/auth/login` takes it.
#[derive(Serialize)]
pub struct LoginBody<'a> {
    pub login: &'a str,
    pub password: &'a str,
    pub device_id: &'a str,
    pub device_name: &'a str,
    pub actors: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_check: Option<&'a str>,
}

#[derive(Serialize)]
struct RefreshBody<'a> {
    refresh_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_check: Option<&'a str>,
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

/// The server's API over a transport. Every request runs through the
/// call's [`Cancel`]: a cancelled or timed-out call stops waiting at once.
#[derive(Clone)]
pub struct Server {
    base: String,
    transport: Arc<dyn HttpTransport>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("base", &self.base).finish()
    }
}

fn header(name: &str, value: impl Into<String>) -> HttpHeader {
    HttpHeader {
        name: name.to_owned(),
        value: value.into(),
    }
}

fn bearer(token: &str) -> HttpHeader {
    header("authorization", format!("Bearer {token}"))
}

impl Server {
    pub fn new(base: &str, transport: Arc<dyn HttpTransport>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            transport,
        }
    }

    /// The server's address, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: Vec<HttpHeader>,
        body: Vec<u8>,
    ) -> HttpRequest {
        HttpRequest {
            method: method.to_owned(),
            url: self.url(path),
            headers,
            body,
            max_response_bytes: MAX_REPLY,
        }
    }

    /// One exchange through the transport, stopped by `cancel`.
    fn call(&self, cancel: &Arc<Cancel>, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let transport = self.transport.clone();
        match cancel.run(move || transport.send(request)) {
            Err(stop) => Err(HttpError::Stopped(stop)),
            Ok(Err(TransportError::Network { detail })) => Err(HttpError::Offline(detail)),
            Ok(Ok(r)) => Ok(r),
        }
    }

    fn ok_or_status(r: &HttpResponse) -> Result<(), HttpError> {
        if (200..300).contains(&r.status) {
            return Ok(());
        }
        let e: ErrorBody = serde_json::from_slice(&r.body).unwrap_or_default();
        if r.status == 429 {
            return Err(HttpError::Limited {
                retry_after_secs: sync_core::protocol::retry_after_secs(r.header("retry-after")),
                code: e.code,
                message: e.message,
            });
        }
        Err(HttpError::Status {
            status: r.status,
            code: e.code,
            message: e.message,
        })
    }

    fn post_json<B: Serialize>(
        &self,
        cancel: &Arc<Cancel>,
        path: &str,
        body: &B,
    ) -> Result<Vec<u8>, HttpError> {
        let json = serde_json::to_vec(body).map_err(|e| HttpError::Offline(e.to_string()))?;
        let headers = vec![header("content-type", "application/json")];
        let r = self.call(cancel, self.request("POST", path, headers, json))?;
        Self::ok_or_status(&r)?;
        Ok(r.body)
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
        cancel: &Arc<Cancel>,
        login: &LoginBody<'_>,
    ) -> Result<TokenPair, HttpError> {
        let body = self.post_json(cancel, "/api/v1/auth/login", login)?;
        Self::tokens(&body)
    }

    pub fn refresh(
        &self,
        cancel: &Arc<Cancel>,
        refresh_token: &str,
        device_check: Option<&str>,
    ) -> Result<TokenPair, HttpError> {
        let body = self.post_json(
            cancel,
            "/api/v1/auth/refresh",
            &RefreshBody {
                refresh_token,
                device_check,
            },
        )?;
        Self::tokens(&body)
    }

    pub fn logout(&self, cancel: &Arc<Cancel>, refresh_token: &str) -> Result<(), HttpError> {
        self.post_json(
            cancel,
            "/api/v1/auth/logout",
            &RefreshBody {
                refresh_token,
                device_check: None,
            },
        )
        .map(|_| ())
    }

    /// One sync round trip: the encoded request batch up, the reply down.
    pub fn sync(
        &self,
        cancel: &Arc<Cancel>,
        token: &str,
        batch: &[u8],
    ) -> Result<Vec<u8>, HttpError> {
        let headers = vec![bearer(token), header("content-type", SYNC_CONTENT_TYPE)];
        let r = self.call(
            cancel,
            self.request("POST", "/api/v1/sync", headers, batch.to_vec()),
        )?;
        if r.status == 503 {
            return Err(HttpError::Busy {
                retry_after_secs: sync_core::protocol::retry_after_secs(r.header("retry-after")),
            });
        }
        Self::ok_or_status(&r)?;
        Ok(r.body)
    }

    fn upload_answer(r: HttpResponse) -> UploadAnswer {
        let offset = r
            .header("upload-offset")
            .and_then(|v| v.trim().parse().ok());
        let complete = r.header("upload-complete") == Some("1");
        let e: ErrorBody = serde_json::from_slice(&r.body).unwrap_or_default();
        UploadAnswer {
            status: r.status,
            offset,
            complete,
            code: e.code,
            message: e.message,
        }
    }

    pub fn transport(&self) -> Arc<dyn HttpTransport> {
        self.transport.clone()
    }

    /// `GET /api/v1/events`, from after event `last_id` when reconnecting.
    pub fn events_request(&self, token: &str, last_id: Option<u64>) -> HttpRequest {
        let mut headers = vec![bearer(token), header("accept", "text/event-stream")];
        if let Some(id) = last_id {
            headers.push(header("last-event-id", id.to_string()));
        }
        self.request("GET", "/api/v1/events", headers, Vec::new())
    }

    /// An authenticated `GET` of `path` (under `/api/v1/`): the body of a
    /// 2xx answer, at most `max_bytes`.
    pub fn get(
        &self,
        cancel: &Arc<Cancel>,
        token: &str,
        path: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, HttpError> {
        let mut request = self.request(
            "GET",
            path,
            vec![bearer(token), header("accept", "application/json")],
            Vec::new(),
        );
        request.max_response_bytes = max_bytes;
        let r = self.call(cancel, request)?;
        Self::ok_or_status(&r)?;
        Ok(r.body)
    }

    /// An authenticated `PUT` of a JSON body to `path` (under `/api/v1/`):
    /// the body of a 2xx answer.
    pub fn put_json<B: Serialize>(
        &self,
        cancel: &Arc<Cancel>,
        token: &str,
        path: &str,
        body: &B,
    ) -> Result<Vec<u8>, HttpError> {
        let json = serde_json::to_vec(body).map_err(|e| HttpError::Offline(e.to_string()))?;
        let headers = vec![bearer(token), header("content-type", "application/json")];
        let r = self.call(cancel, self.request("PUT", path, headers, json))?;
        Self::ok_or_status(&r)?;
        Ok(r.body)
    }

    /// `GET /api/v1/blobs/{sha}` (or its thumbnail): the photo's bytes.
    pub fn photo(
        &self,
        cancel: &Arc<Cancel>,
        token: &str,
        sha: &str,
        thumbnail: bool,
        max_bytes: u64,
    ) -> Result<Vec<u8>, HttpError> {
        let path = if thumbnail {
            format!("/api/v1/blobs/{sha}/thumbnail")
        } else {
            format!("/api/v1/blobs/{sha}")
        };
        let mut request = self.request("GET", &path, vec![bearer(token)], Vec::new());
        request.max_response_bytes = max_bytes;
        let r = self.call(cancel, request)?;
        Self::ok_or_status(&r)?;
        Ok(r.body)
    }

    /// `HEAD /api/v1/blobs/{sha}`.
    pub fn blob_offset(
        &self,
        cancel: &Arc<Cancel>,
        token: &str,
        sha: &str,
    ) -> Result<UploadAnswer, HttpError> {
        let path = format!("/api/v1/blobs/{sha}");
        let r = self.call(
            cancel,
            self.request("HEAD", &path, vec![bearer(token)], Vec::new()),
        )?;
        Ok(Self::upload_answer(r))
    }

    /// `PATCH /api/v1/blobs/{sha}` with one chunk.
    pub fn blob_chunk(
        &self,
        cancel: &Arc<Cancel>,
        token: &str,
        sha: &str,
        offset: u64,
        total: u64,
        chunk: &[u8],
    ) -> Result<UploadAnswer, HttpError> {
        let path = format!("/api/v1/blobs/{sha}");
        let headers = vec![
            bearer(token),
            header("upload-offset", offset.to_string()),
            header("upload-length", total.to_string()),
            header("content-type", "application/offset+octet-stream"),
        ];
        let r = self.call(
            cancel,
            self.request("PATCH", &path, headers, chunk.to_vec()),
        )?;
        Ok(Self::upload_answer(r))
    }
}
