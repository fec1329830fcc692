//! A photo's resumable upload as a phone makes it (docs/photo-upload.md):
//! `HEAD` for what the server holds, `PATCH` in chunks from there; and a
//! `PATCH` whose connection is cut mid-body.

use std::io::{Read, Write};

use serde_json::Value;

use crate::photo::sha;

fn blob_url(base: &str, sha: &str) -> String {
    format!("{base}/api/v1/blobs/{sha}")
}

/// What the server holds of photo `sha`: (offset, complete). An error
/// names a request that failed or a status other than 200.
pub async fn held(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    sha: &str,
) -> Result<(u64, bool), String> {
    let r = http
        .head(blob_url(base, sha))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status() != 200 {
        return Err(format!("HEAD answered {}", r.status()));
    }
    let offset = r
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or("no Upload-Offset")?;
    Ok((
        offset,
        r.headers().get("upload-complete").is_some_and(|v| v == "1"),
    ))
}

/// One chunk of photo `sha` (`total` bytes), at `offset`.
pub async fn patch(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    sha: &str,
    offset: u64,
    total: u64,
    chunk: &[u8],
) -> Result<reqwest::Response, String> {
    http.patch(blob_url(base, sha))
        .bearer_auth(token)
        .header("upload-offset", offset)
        .header("upload-length", total)
        .body(chunk.to_vec())
        .send()
        .await
        .map_err(|e| e.to_string())
}

/// Upload `bytes` from wherever the server is, in chunks of `chunk` bytes
/// (after a 409, from the offset the server holds): the final status (200
/// if the server held it all already) and JSON body. An error names a
/// request that failed.
pub async fn upload(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    bytes: &[u8],
    chunk: usize,
) -> Result<(u16, Value), String> {
    let sha = sha(bytes);
    let total = bytes.len() as u64;
    let (mut offset, complete) = held(http, base, token, &sha).await?;
    if complete {
        return Ok((200, Value::Null));
    }
    loop {
        let start = usize::try_from(offset).map_err(|e| e.to_string())?;
        let end = (start + chunk).min(bytes.len());
        let r = patch(http, base, token, &sha, offset, total, &bytes[start..end]).await?;
        match r.status().as_u16() {
            204 => offset = end as u64,
            409 => offset = held(http, base, token, &sha).await?.0,
            status => return Ok((status, r.json().await.unwrap_or_default())),
        }
    }
}

/// A PATCH to the server at `addr` whose connection is cut after `sent`
/// bytes of `body`.
pub fn cut_patch(
    addr: &str,
    token: &str,
    sha: &str,
    offset: u64,
    total: u64,
    body: &[u8],
    sent: usize,
) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "PATCH /api/v1/blobs/{sha} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\nupload-offset: {offset}\r\nupload-length: {total}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body[..sent]).unwrap();
    s.flush().unwrap();
    s.shutdown(std::net::Shutdown::Both).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
}

/// A PATCH to the server at `addr` that declares `declared` bytes of body
/// and sends none of them: the answer the server gives before reading a
/// body (status line and headers, as text). Deterministic where a client
/// still writing a refused body races the server closing the connection.
pub fn patch_head_only(
    addr: &str,
    token: &str,
    sha: &str,
    offset: u64,
    total: u64,
    declared: usize,
) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "PATCH /api/v1/blobs/{sha} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\nupload-offset: {offset}\r\nupload-length: {total}\r\ncontent-length: {declared}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    s.flush().unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("no answer before the body: {e}"),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}
