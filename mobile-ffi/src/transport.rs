//! HTTP through the app's own network stack. The app may implement
//! [`HttpTransport`] with the platform's client (OkHttp or
//! `HttpURLConnection` on Android, `URLSession` on iOS), as Mozilla's
//! application-services does: the platform's trust store (a county's
//! private CA, an MDM-installed certificate), Android's network security
//! config, iOS ATS, the cellular radio and per-app VPN then apply. Without
//! one, the library uses its own client ([`UreqTransport`]: Rust sockets,
//! bundled web roots), which is what the tests run.
//!
//! A transport only moves bytes: it follows no redirects it was not told
//! to, keeps no cookies, and returns every status (4xx and 5xx too) as a
//! response; only a failure to exchange at all (no network, refused, cut,
//! timed out) is a [`TransportError`]. Calls come on a library thread and
//! may block; the library stops waiting when its call is cancelled.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

/// One header (names as sent; compare them without case).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// One request.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// `GET`, `HEAD`, `POST`, `PATCH`.
    pub method: String,
    pub url: String,
    pub headers: Vec<HttpHeader>,
    /// Empty for `GET` and `HEAD`.
    pub body: Vec<u8>,
    /// Read no more of the reply than this: a longer reply is an error.
    pub max_response_bytes: u64,
}

/// One answer, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

/// The exchange failed: nothing (or not all) came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TransportError {
    /// No network, the server refused or cut the connection, or it timed
    /// out; `detail` is for the log.
    #[error("network: {detail}")]
    Network { detail: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TransportError::Network {
            detail: format!("the app's transport failed: {}", e.reason),
        }
    }
}

fn network(e: impl std::fmt::Display) -> TransportError {
    TransportError::Network {
        detail: e.to_string(),
    }
}

/// Receives a long response as it arrives (the server's event stream).
/// Implemented by the library, called by the transport.
#[uniffi::export]
pub trait HttpStreamSink: Send + Sync {
    /// The status and headers; `false`: stop, close the connection.
    fn on_head(&self, status: u16, headers: Vec<HttpHeader>) -> bool;
    /// The next bytes of the body as they came; `false`: stop, close.
    fn on_data(&self, chunk: Vec<u8>) -> bool;
}

/// The network, as the app provides it (or [`UreqTransport`]).
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    /// One exchange: send `request`, return the whole answer. Recommended
    /// timeouts: connect 15 s, 60 s without a byte, 120 s for the answer
    /// to start.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;

    /// A response read as it arrives: call `sink.on_head` once, then
    /// `sink.on_data` with each piece of the body until it ends or a call
    /// returns `false`, then close and return. No limit on the whole
    /// exchange; 60 s without a byte is a failure (the server sends a
    /// comment every 15 s).
    fn stream(
        &self,
        request: HttpRequest,
        sink: Arc<dyn HttpStreamSink>,
    ) -> Result<(), TransportError>;
}

/// The library's own HTTP client (ureq with rustls and bundled web roots).
#[derive(Debug)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl Default for UreqTransport {
    fn default() -> Self {
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
        Self { agent }
    }
}

impl UreqTransport {
    fn run(
        &self,
        request: &HttpRequest,
    ) -> Result<ureq::http::Response<ureq::Body>, TransportError> {
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(&request.url);
        for h in &request.headers {
            builder = builder.header(&h.name, &h.value);
        }
        if request.body.is_empty() {
            let r = builder.body(()).map_err(network)?;
            self.agent.run(r).map_err(network)
        } else {
            let r = builder.body(request.body.as_slice()).map_err(network)?;
            self.agent.run(r).map_err(network)
        }
    }

    fn headers(r: &ureq::http::Response<ureq::Body>) -> Vec<HttpHeader> {
        r.headers()
            .iter()
            .filter_map(|(name, value)| {
                Some(HttpHeader {
                    name: name.as_str().to_owned(),
                    value: value.to_str().ok()?.to_owned(),
                })
            })
            .collect()
    }
}

impl HttpTransport for UreqTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut r = self.run(&request)?;
        let status = r.status().as_u16();
        let headers = Self::headers(&r);
        let mut body = Vec::new();
        r.body_mut()
            .as_reader()
            .take(request.max_response_bytes.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(|e| network(format!("reply cut: {e}")))?;
        if body.len() as u64 > request.max_response_bytes {
            return Err(network(format!(
                "the reply is longer than {} bytes",
                request.max_response_bytes
            )));
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    fn stream(
        &self,
        request: HttpRequest,
        sink: Arc<dyn HttpStreamSink>,
    ) -> Result<(), TransportError> {
        let r = self.run(&request)?;
        if !sink.on_head(r.status().as_u16(), Self::headers(&r)) {
            return Ok(());
        }
        let mut reader = r.into_body().into_reader();
        let mut buf = vec![0u8; 8 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(network)?;
            if n == 0 || !sink.on_data(buf[..n].to_vec()) {
                return Ok(());
            }
        }
    }
}
