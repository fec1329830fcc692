//! The QR code a printed notice carries to its own page: people reading
//! the notice board scan it to read the notice on their phone, with its
//! photos, its versions and the channel back.

use std::fmt::Write;

use qrcodegen::{QrCode, QrCodeEcc};

/// An SVG of the QR code of `text` (a URL), or None when it does not fit a
/// QR code. The SVG holds only shapes: nothing of `text` is in it as text.
pub fn svg(text: &str) -> Option<String> {
    svg_labelled(text, "本公示网址的二维码")
}

/// The QR code of `text` with `label` read out in its place.
pub fn svg_labelled(text: &str, label: &str) -> Option<String> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let border = 2;
    let n = qr.size();
    let dim = n + 2 * border;
    let mut path = String::new();
    for y in 0..n {
        for x in 0..n {
            if qr.get_module(x, y) {
                let _ = write!(path, "M{},{}h1v1h-1z", x + border, y + border);
            }
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {dim} {dim}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"{label}\">\
         <rect width=\"{dim}\" height=\"{dim}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

/// Where the public reaches this server: the configured `public_url`, or
/// else the address the request was made to (its `Host`, when it is a
/// plain host name or address). None when neither is usable.
pub fn origin(configured: Option<&str>, host: Option<&str>) -> Option<String> {
    if let Some(url) = configured {
        return Some(url.trim_end_matches('/').to_owned());
    }
    let host = host?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    plain.then(|| format!("http://{host}"))
}

/// The public address of a unit's notice of a week, for its QR code: on
/// the configured `public_url`, else on the `Host` the page was asked at.
pub fn notice_url(
    public_url: Option<&str>,
    headers: &axum::http::HeaderMap,
    unit: &str,
    week: &str,
) -> Option<String> {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok());
    origin(public_url, host).map(|o| format!("{o}/p/{unit}/{week}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_becomes_shapes_only() {
        let s = svg("https://jishi.example.gov.cn/p/shimen/2026-W48").unwrap();
        assert!(s.starts_with("<svg") && s.contains("<path d=\"M"));
        assert!(!s.contains("jishi.example"), "no text of the URL in it");
        // Same input, same code.
        assert_eq!(
            s,
            svg("https://jishi.example.gov.cn/p/shimen/2026-W48").unwrap()
        );
        assert!(svg(&"x".repeat(5000)).is_none(), "too long for a QR code");
    }

    #[test]
    fn the_origin_is_configured_or_the_host_asked() {
        assert_eq!(
            origin(Some("https://jishi.example.gov.cn/"), Some("10.0.0.5:8080")).as_deref(),
            Some("https://jishi.example.gov.cn")
        );
        assert_eq!(
            origin(None, Some("127.0.0.1:8080")).as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin(None, Some("evil\"><script>")), None);
        assert_eq!(origin(None, None), None);
    }
}
