//! Issue 23, item 11, over real HTTP: security headers on every answer with
//! pages that satisfy their policy; `/metrics` off unless a token is set,
//! then only for its holder; password guessing that locks out only the
//! guesser's own address (the client address taken from `X-Forwarded-For`
//! only behind a trusted proxy, the counters shared by instances); logins
//! normalized and look-alikes refused.

use base64::Engine;
use reqwest::redirect::Policy;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use backend::config::Secret;
use jishi_tests::{on_both_databases, Db, TestApp, UserBuilder, PASSWORD};

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Every inline script of a page.
fn scripts(html: &str) -> Vec<&str> {
    html.split("<script")
        .skip(1)
        .map(|rest| {
            let body = &rest[rest.find('>').expect("a closed <script> tag") + 1..];
            &body[..body.find("</script>").expect("</script>")]
        })
        .collect()
}

/// Attributes that run script: ` onclick=`, ` onload=` …
fn event_handlers(html: &str) -> Vec<String> {
    let lower = html.to_lowercase();
    lower
        .match_indices(" on")
        .filter_map(|(i, _)| {
            let name: String = lower[i + 3..]
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            let after = &lower[i + 3 + name.len()..];
            (!name.is_empty() && after.trim_start().starts_with('=')).then(|| format!("on{name}"))
        })
        .collect()
}

async fn headers(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let week = backend::publications::week::IsoWeek::parse("2026-W47").unwrap();
    backend::publications::publish_week(
        &app.state.store,
        "t1",
        week,
        &backend::calendar::Calendar::weekdays(),
    )
    .await
    .unwrap();
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(app.url("/web/login"))
        .form(&[("login", "s1"), ("password", PASSWORD), ("next", "/web/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = header(&r, "set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = app.login("s1", "phone-s1", &[]).await.access;

    // (path, web session, bearer token, is an HTML page)
    let cases = [
        ("/web/login", false, false, true),
        ("/web/", true, false, true),
        ("/web/units/t1", true, false, true),
        ("/web/units/t1/reviews/2020-01", true, false, true),
        ("/web/units/t1/weeks/2026-W47", true, false, true),
        ("/web/no/such/page", true, false, true),
        ("/p/t1/2026-W47", false, false, true),
        ("/healthz", false, false, false),
        ("/api/v1/me", false, true, false),
        ("/api/v1/me", false, false, false),
        ("/api/v1/publications/t1/2026-W47", false, false, false),
        ("/api/v1/no/such/route", false, false, false),
        (
            "/api/v1/units/t1/reviews/2020-01/export.xlsx",
            false,
            true,
            false,
        ),
        ("/api/openapi.json", false, false, false),
    ];
    for (path, web, bearer, page) in cases {
        let mut req = http.get(app.url(path));
        if web {
            req = req.header("cookie", &cookie);
        }
        if bearer {
            req = req.bearer_auth(&token);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&r, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&r, "referrer-policy"), "same-origin", "{path}");
        let csp = header(&r, "content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        let content_type = header(&r, "content-type");
        let body = r.text().await.unwrap();
        if !page {
            assert_eq!(csp, "default-src 'none'; frame-ancestors 'none'", "{path}");
            continue;
        }
        assert!(content_type.starts_with("text/html"), "{path} {status}");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("script-src 'unsafe-inline'"), "{path}: {csp}");
        // Every script the page holds is allowed by its hash; nothing runs
        // script another way.
        for script in scripts(&body) {
            let hash =
                base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()));
            assert!(
                csp.contains(&format!("'sha256-{hash}'")),
                "{path}: a script the policy does not allow: {script}"
            );
        }
        // The pages of the base template hold its one script.
        if body.contains("id=\"live-update\"") {
            assert_eq!(scripts(&body).len(), 1, "{path}");
        }
        assert!(!body.contains("<script src"), "{path}");
        assert!(!body.to_lowercase().contains("javascript:"), "{path}");
        assert_eq!(event_handlers(&body), Vec::<String>::new(), "{path}");
    }
}
on_both_databases!(
    every_answer_carries_security_headers_and_pages_satisfy_their_policy,
    headers
);

const METRICS_TOKEN: &str = "metrics-token-for-the-test-0123";

async fn metrics(db: Db) {
    let off = TestApp::spawn(db).await;
    let r = off.http.get(off.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404, "off unless a token is configured");
    let on = TestApp::spawn_with(db, |c| c.metrics_token = Some(Secret::new(METRICS_TOKEN))).await;
    on.seed().await;
    let user_token = on.login("s1", "phone", &[]).await.access;
    for (authorization, status) in [
        (None, 401),
        (Some("Bearer wrong-token".to_owned()), 401),
        (Some(format!("Bearer {METRICS_TOKEN}x")), 401),
        (Some(format!("Bearer {user_token}")), 401),
        (Some(METRICS_TOKEN.to_owned()), 401),
        (Some(format!("Bearer {METRICS_TOKEN}")), 200),
    ] {
        let mut req = on.http.get(on.url("/metrics"));
        if let Some(a) = &authorization {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), status, "{authorization:?}");
        let body = r.text().await.unwrap();
        if status == 200 {
            assert!(body.contains("jishi_logins_total 1"), "{body}");
        } else {
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["code"], "unauthorized", "{body}");
            assert!(!body.contains("jishi_"));
        }
    }
}
on_both_databases!(metrics_are_off_by_default_and_need_their_token, metrics);

/// A login attempt for `login` from `forwarded_for` (as a proxy would say).
async fn attempt(
    app: &TestApp,
    login: &str,
    password: &str,
    forwarded_for: &str,
) -> (u16, Value, String) {
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(
            &json!({"login": login, "password": password, "device_id": format!("lockout-{login}")}),
        )
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = header(&r, "retry-after");
    (status, r.json().await.unwrap_or(Value::Null), retry)
}

const ATTACKER: &str = "203.0.113.7";
const VICTIM: &str = "198.51.100.9";

async fn lockout(db: Db) {
    let app = TestApp::spawn_with(db, |c| {
        c.login_per_minute = 3;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.jwt_secret = Some(Secret::new("lockout-test-secret-0123456789abcdef"));
    })
    .await;
    app.seed().await;
    let other = app.sibling().await;

    // A guesser from one address: refused after three, with Retry-After,
    // on either instance (the counters are in the database).
    let mut statuses = Vec::new();
    for i in 0..4 {
        let on = if i % 2 == 0 { &app } else { &other };
        statuses.push(attempt(on, "u1", "wrong-password", ATTACKER).await.0);
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    let (status, body, retry) = attempt(&other, "u1", PASSWORD, ATTACKER).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
    assert!(
        retry.parse::<u64>().is_ok_and(|s| (1..=61).contains(&s)),
        "{retry}"
    );

    // The victim, from their own address, is not locked out; nor is
    // another person behind the attacker's address.
    assert_eq!(attempt(&app, "u1", PASSWORD, VICTIM).await.0, 200);
    assert_eq!(attempt(&app, "u2", PASSWORD, ATTACKER).await.0, 200);

    // A client's own X-Forwarded-For, left of what the proxy appended,
    // does not make it someone else.
    let (status, _, _) = attempt(&app, "u1", PASSWORD, &format!("{VICTIM}, {ATTACKER}")).await;
    assert_eq!(status, 429);

    // Guessing from many addresses: the account is slowed, never locked.
    for n in 0..30 {
        let from = format!("192.0.2.{}", n / 3 + 1);
        let (status, _, _) = attempt(&app, "l1", "wrong-password", &from).await;
        assert_eq!(status, 401, "attempt {n} from {from}");
    }
    let started = std::time::Instant::now();
    assert_eq!(attempt(&app, "l1", PASSWORD, VICTIM).await.0, 200);
    assert!(
        started.elapsed() >= backend::limits::login::SLOWDOWN,
        "an account under attack is slowed"
    );

    // Without trusted proxies the header is nobody's word: the peer's
    // address is the client's, whatever it claims.
    let direct = TestApp::spawn_with(db, |c| c.login_per_minute = 3).await;
    direct.seed().await;
    for _ in 0..3 {
        assert_eq!(
            attempt(&direct, "u1", "wrong-password", ATTACKER).await.0,
            401
        );
    }
    assert_eq!(attempt(&direct, "u1", PASSWORD, VICTIM).await.0, 429);
}
on_both_databases!(a_password_guesser_locks_out_only_their_own_address, lockout);

async fn logins(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let spec = |login: &str| {
        UserBuilder::cadre("u7")
            .login(login)
            .name("王五")
            .unit("t1")
            .build()
    };
    // Look-alikes of `cadre07`: refused, naming the login and the fix.
    for (login, says) in [
        ("cadre\u{200B}07", "U+200B"),
        ("cadre07\u{200D}", "U+200D"),
        ("\u{202E}70erdac", "U+202E"),
        ("cadre 07", "space"),
        ("cаdre07", "Cyrillic"),
    ] {
        let e = backend::admin::create_user(&app.state.store, spec(login))
            .await
            .expect_err(login)
            .to_string();
        assert!(
            e.contains("the login") && e.contains(says),
            "{login:?}: {e}"
        );
    }
    // Stored normalized: full width and a trailing space are the same
    // login, however it is typed when logging in.
    let user = backend::admin::create_user(&app.state.store, spec("ｃａｄｒｅ０７ "))
        .await
        .unwrap();
    assert_eq!(user.login, "cadre07");
    for typed in ["cadre07", " cadre07", "ｃａｄｒｅ０７", "cadre07\u{3000}"] {
        let (status, body) = app
            .post_json(
                "/api/v1/auth/login",
                &json!({"login": typed, "password": PASSWORD, "device_id": "normalized"}),
            )
            .await;
        assert_eq!(status, 200, "{typed:?}: {body}");
    }
    // A look-alike typed at login is an unknown login: the same 401.
    for typed in ["cadre\u{200B}07", "cаdre07", "cadre 07"] {
        let (status, body) = app
            .post_json(
                "/api/v1/auth/login",
                &json!({"login": typed, "password": PASSWORD, "device_id": "normalized"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("unauthorized")),
            "{typed:?}"
        );
    }
    // A taken id and a taken login are told apart, by the database's own
    // report of which constraint failed (its name on PostgreSQL, its
    // columns on SQLite).
    let same_id = backend::admin::create_user(&app.state.store, spec("cadre08"))
        .await
        .expect_err("u7 exists")
        .to_string();
    assert!(same_id.contains("user u7 already exists"), "{same_id}");
    let same_login = backend::admin::create_user(
        &app.state.store,
        UserBuilder::cadre("u8")
            .login("cadre07")
            .name("王五")
            .unit("t1")
            .build(),
    )
    .await
    .expect_err("cadre07 is taken")
    .to_string();
    assert!(
        same_login.contains("login cadre07 is taken"),
        "{same_login}"
    );
}
on_both_databases!(
    look_alike_logins_are_refused_and_typed_variants_match,
    logins
);
