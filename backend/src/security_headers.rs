//! The headers every response carries against framing, type sniffing,
//! leaking the address of a page, and script injected into a page:
//! `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
//! `Referrer-Policy: same-origin`, and a `Content-Security-Policy`. HTML
//! pages (the supervisors' pages and the public publication) may run only
//! the script of `web/base.html` and the proof of work of the public case
//! form (`cases/form.html`), each allowed by its hash, load images,
//! styles and event streams from this server and post forms to it; every
//! other answer (JSON, photos, spreadsheets) may load nothing and be framed
//! nowhere. The pages' styles are inline (`style` blocks and attributes),
//! so styles are allowed inline; scripts are not.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue};
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The policy of everything that is not an HTML page.
pub const CSP_NONE: &str = "default-src 'none'; frame-ancestors 'none'";

/// The inline script of a template.
fn script_of(template: &'static str) -> &'static str {
    template
        .split_once("<script>")
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map_or("", |(script, _)| script)
}

/// The inline script of the web pages' base template.
fn page_script() -> &'static str {
    script_of(include_str!("../templates/web/base.html"))
}

/// The proof of work of the public case form.
fn case_form_script() -> &'static str {
    script_of(include_str!("../templates/cases/form.html"))
}

/// The policy of the HTML pages.
pub fn page_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        let hash = |script: &str| {
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()))
        };
        let (base, form) = (hash(page_script()), hash(case_form_script()));
        format!(
            "default-src 'none'; script-src 'sha256-{base}' 'sha256-{form}'; \
             style-src 'unsafe-inline'; \
             img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
             frame-ancestors 'none'"
        )
    })
}

/// Add the headers to a response (a handler's own are kept).
pub async fn add(mut response: Response) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let policy = if html { page_policy() } else { CSP_NONE };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, policy),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.entry(name).or_insert(value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_policy_allows_the_base_script_by_its_hash() {
        let script = page_script();
        assert!(script.contains("EventSource"), "{script}");
        assert!(case_form_script().contains("zeroBits"));
        let policy = page_policy();
        assert!(policy.contains("script-src 'sha256-"), "{policy}");
        assert!(!policy.contains("unsafe-eval"));
        assert!(!policy.contains("script-src 'unsafe-inline'"));
    }
}
