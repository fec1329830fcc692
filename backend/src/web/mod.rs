//! The supervisors' web pages: server-rendered (askama), in Chinese,
//! usable on a phone screen and a desktop, with no script.
//!
//! A leader or supervisor logs in with the same account as the API; the
//! session is an HttpOnly, SameSite=Strict cookie holding a token the API
//! refuses, bound to a device registered at login (logging out revokes it,
//! and a disabled user or revoked device loses access on the next page).
//! Every page reads through the same scope rules as the API, and a comment
//! is written into the document through the same write rules as a phone's.

mod cadre;
mod calendar;
mod cases;
mod error;
mod events;
mod items;
mod photo_caption;
mod post_lists;
mod publications;
mod reviews;
mod roster;
pub(crate) mod session;
mod units;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::state::AppState;
pub use error::WebError;
pub use session::WebCaller;

/// The web pages' routes, under `/web`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/web", get(|| async { Redirect::to("/web/") }))
        .route("/web/", get(units::home))
        .route("/web/login", get(session::login_page).post(session::login))
        .route("/web/logout", post(session::logout))
        .route("/web/events", get(events::web_events))
        .route("/web/units/{unit}", get(units::unit_page))
        .route("/web/users/{user}", get(cadre::timeline))
        .route("/web/documents/{doc}/comments", post(cadre::add_comment))
        .route("/web/photos/{sha}", get(cadre::thumbnail))
        .route("/web/photos/{sha}/full", get(cadre::full_photo))
        .route("/web/units/{unit}/reviews/{month}", get(reviews::page))
        .route(
            "/web/units/{unit}/reviews/{month}/export.xlsx",
            get(reviews::export),
        )
        .route("/web/reviews/{month}/{user}", post(reviews::submit))
        .route(
            "/web/reviews/{month}/{user}/statement",
            post(reviews::statement),
        )
        .route(
            "/web/units/{unit}/weeks/{week}",
            get(publications::preview).post(publications::publish),
        )
        .route(
            "/web/units/{unit}/weeks/{week}/versions",
            post(publications::amend),
        )
        .route(
            "/web/units/{unit}/weeks/{week}/amendments",
            get(publications::amendments),
        )
        .route("/web/items", get(items::list).post(items::issue))
        .route("/web/items/new", get(items::new_form))
        .route("/web/items/{item}", get(items::page))
        .route("/web/items/{item}/steps", post(items::step))
        .route("/web/units/{unit}/items/{month}", get(items::ledger_page))
        .route("/web/units/{unit}/cases/{month}", get(cases::stats_page))
        .route(
            "/web/units/{unit}/cases/{month}/export.xlsx",
            get(cases::stats_export),
        )
        .route(
            "/web/units/{unit}/items/{month}/export.xlsx",
            get(items::ledger_export),
        )
        .route(
            "/web/units/{unit}/posts",
            get(post_lists::overview)
                .post(post_lists::save)
                .layer(DefaultBodyLimit::max(post_lists::MAX_FORM)),
        )
        .route("/web/units/{unit}/posts/edit", get(post_lists::edit_form))
        .route("/web/units/{unit}/posts/history", get(post_lists::history))
        .route("/web/calendar", get(calendar::show).post(calendar::save))
        .route("/web/admin/import", get(roster::form))
        .route("/web/admin/import/template.xlsx", get(roster::template))
        .route(
            "/web/admin/import/preview",
            post(roster::preview).layer(DefaultBodyLimit::max(roster::MAX_UPLOAD + 64 * 1024)),
        )
        .route(
            "/web/admin/import/apply",
            post(roster::apply).layer(DefaultBodyLimit::max(roster::MAX_CONFIRM)),
        )
        .route("/web/{*rest}", get(|| async { WebError::NotFound }))
        .layer(middleware::from_fn(same_origin))
        .layer(DefaultBodyLimit::max(64 * 1024))
}

/// Refuse a form posted from another site (the cookie is SameSite=Strict
/// already; this also covers browsers that ignore it).
async fn same_origin(req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let headers = req.headers();
        let value = |name| {
            headers
                .get(name)
                .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
        };
        // Behind a proxy that rewrites Host, the public host is forwarded.
        let hosts = [value("host"), value("x-forwarded-host")];
        let origin = value("origin");
        let cross_site = value("sec-fetch-site") == Some("cross-site");
        let foreign_origin = match origin {
            Some(o) => {
                let origin_host = o.split_once("://").map(|(_, rest)| rest);
                !hosts.iter().flatten().any(|h| origin_host == Some(*h))
            }
            None => false,
        };
        if cross_site || foreign_origin {
            return WebError::Forbidden("不接受来自其他网站的提交。".into()).into_response();
        }
    }
    let mut response = next.run(req).await;
    // Pages show personal records: not kept by a shared office computer's
    // browser (photos say for themselves how they may be cached).
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(axum::http::HeaderValue::from_static("no-store"));
    response
}

/// Now in the publications' time zone (UTC+8).
pub fn china_now() -> DateTime<FixedOffset> {
    crate::china::now()
}

pub fn china_today() -> NaiveDate {
    china_now().date_naive()
}

/// `2026-11-23 09:05` in UTC+8, from ms since the epoch.
pub fn china_time(ms: i64) -> String {
    crate::china::at_ms(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// `11月23日 周一`.
pub fn zh_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    const DAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    format!(
        "{}月{}日 {}",
        d.month(),
        d.day(),
        DAYS[d.weekday().num_days_from_monday() as usize]
    )
}

/// `path` if it is one of our own pages under `prefix`, safe to redirect
/// to: printable ASCII only (a header value), no other host (`//`), no
/// backslash.
pub fn own_page<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let printable = path
        .bytes()
        .all(|b| (0x21..0x7f).contains(&b) && b != b'\\');
    (printable && path.starts_with(prefix) && !path.contains("//")).then_some(path)
}

/// Percent-encode a query value.
pub fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_own_pages_are_redirect_targets() {
        assert_eq!(
            own_page("/web/units/t1?week=2026-W47", "/web/"),
            Some("/web/units/t1?week=2026-W47")
        );
        assert_eq!(own_page("//evil.example/web/", "/web/"), None);
        assert_eq!(own_page("/web//evil.example", "/web/"), None);
        assert_eq!(own_page("https://evil.example/web/", "/web/"), None);
        assert_eq!(own_page("/web/\r\nSet-Cookie: x=1", "/web/"), None);
        assert_eq!(own_page("/web/\\evil", "/web/"), None);
        assert_eq!(own_page("/web/用户", "/web/"), None);
        assert_eq!(own_page("/p/t1/2026-W47", "/web/"), None);
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            encode_query("/web/units/t1?a=b&c"),
            "/web/units/t1%3Fa%3Db%26c"
        );
        assert_eq!(encode_query("已保存"), "%E5%B7%B2%E4%BF%9D%E5%AD%98");
    }
}
