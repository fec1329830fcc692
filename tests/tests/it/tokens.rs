//! Token attacks (issue 8, item 8): forged, altered, misdirected, expired
//! and revoked access tokens are all refused with 401; the legitimate one
//! works. Each case is a real request to `GET /api/v1/me`.

use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use jishi_tests::{on_both_databases, Db, TestApp};

const SECRET: &str = "token-attack-test-secret-0123456789abcdef0123456789";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn b64(v: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

fn sign(alg: Algorithm, key: &[u8], claims: &Value) -> String {
    encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).unwrap()
}

fn claims(sub: &str, dev: &str, sid: &str) -> Value {
    json!({
        "sub": sub, "dev": dev, "role": "cadre", "sid": sid, "iss": "jishi", "aud": "jishi-api",
        "iat": now(), "nbf": now(), "exp": now() + 600,
    })
}

/// The session an access token names.
fn session_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let c: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    c["sid"]
        .as_str()
        .expect("an API token names its session")
        .to_owned()
}

fn with(mut c: Value, key: &str, value: Value) -> Value {
    c[key] = value;
    c
}

fn without(mut c: Value, key: &str) -> Value {
    c.as_object_mut().unwrap().remove(key);
    c
}

async fn status(app: &TestApp, authorization: Option<&str>) -> u16 {
    let mut r = app.http.get(app.url("/api/v1/me"));
    if let Some(a) = authorization {
        r = r.header("authorization", a);
    }
    r.send().await.unwrap().status().as_u16()
}

async fn attacks(db: Db) {
    let app = TestApp::spawn_with(db, |c| {
        c.jwt_secret = Some(backend::config::Secret::new(SECRET));
    })
    .await;
    app.seed().await;
    let s = app.login("u1", "phone-1", &[]).await;
    let other = app.login("u2", "phone-2", &[]).await;
    let sid = session_of(&s.access);
    let other_sid = session_of(&other.access);
    let ended = app.login("u1", "phone-1", &[]).await;
    let (status_code, _) = app
        .post_json(
            "/api/v1/auth/logout",
            &serde_json::json!({"refresh_token": ended.refresh}),
        )
        .await;
    assert_eq!(status_code, 204);
    let key = SECRET.as_bytes();
    let good = claims("u1", "phone-1", &sid);
    let bearer = |t: &str| format!("Bearer {t}");

    // The legitimate token, and one we sign ourselves the same way, work.
    assert_eq!(status(&app, Some(&bearer(&s.access))).await, 200);
    assert_eq!(
        status(&app, Some(&bearer(&sign(Algorithm::HS256, key, &good)))).await,
        200
    );

    let (header, payload) = {
        let mut parts = s.access.split('.');
        (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        )
    };
    let tampered_payload = {
        let mut c: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&payload)
                .unwrap(),
        )
        .unwrap();
        c["sub"] = json!("u2");
        c["dev"] = json!("phone-2");
        b64(c.to_string().as_bytes())
    };
    let signature = s.access.rsplit('.').next().unwrap().to_owned();
    let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let web_aud = with(good.clone(), "aud", json!("jishi-web"));

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        ("empty bearer", Some("Bearer ".into())),
        ("not a bearer scheme", Some(format!("Basic {}", s.access))),
        ("garbage", Some(bearer("not.a.jwt"))),
        (
            "alg none, no signature",
            Some(bearer(&format!(
                "{none_header}.{}.",
                b64(good.to_string().as_bytes())
            ))),
        ),
        (
            "alg none with the real signature",
            Some(bearer(&format!("{none_header}.{payload}.{signature}"))),
        ),
        (
            "HS384 with the right key (algorithm swap)",
            Some(bearer(&sign(Algorithm::HS384, key, &good))),
        ),
        (
            "HS512 with the right key",
            Some(bearer(&sign(Algorithm::HS512, key, &good))),
        ),
        (
            "wrong key",
            Some(bearer(&sign(
                Algorithm::HS256,
                b"another-secret-another-secret-00",
                &good,
            ))),
        ),
        (
            "payload changed to another user",
            Some(bearer(&format!("{header}.{tampered_payload}.{signature}"))),
        ),
        (
            "signature removed",
            Some(bearer(&format!("{header}.{payload}."))),
        ),
        (
            "expired",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &with(good.clone(), "exp", json!(now() - 60)),
            ))),
        ),
        (
            "not yet valid",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &with(good.clone(), "nbf", json!(now() + 600)),
            ))),
        ),
        (
            "exp as a string",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &with(good.clone(), "exp", json!((now() + 600).to_string())),
            ))),
        ),
        (
            "no exp",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &without(good.clone(), "exp"),
            ))),
        ),
        (
            "no iss",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &without(good.clone(), "iss"),
            ))),
        ),
        (
            "wrong iss",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &with(good.clone(), "iss", json!("someone-else")),
            ))),
        ),
        (
            "no aud",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &without(good.clone(), "aud"),
            ))),
        ),
        (
            "wrong aud",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &with(good.clone(), "aud", json!("other-api")),
            ))),
        ),
        (
            "a web-session token used on the API",
            Some(bearer(&sign(Algorithm::HS256, key, &web_aud))),
        ),
        (
            "no sub",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &without(good.clone(), "sub"),
            ))),
        ),
        (
            "a user that does not exist",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &claims("nobody", "phone-1", &sid),
            ))),
        ),
        (
            "a device that does not exist",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &claims("u1", "no-such-phone", &sid),
            ))),
        ),
        (
            "another user's device",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &claims("u1", "phone-2", &sid),
            ))),
        ),
        (
            "no session",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &without(good.clone(), "sid"),
            ))),
        ),
        (
            "a session that does not exist",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &claims("u1", "phone-1", "no-such-session"),
            ))),
        ),
        (
            "another user's session",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &claims("u1", "phone-1", &other_sid),
            ))),
        ),
        (
            "another user's session on their device",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &claims("u1", "phone-2", &other_sid),
            ))),
        ),
        (
            "a session that logged out",
            Some(bearer(&sign(
                Algorithm::HS256,
                key,
                &claims("u1", "phone-1", &session_of(&ended.access)),
            ))),
        ),
        (
            "a logged-out session's own token",
            Some(bearer(&ended.access)),
        ),
    ];
    let total = cases.len();
    let mut let_in = Vec::new();
    for (name, authorization) in &cases {
        let code = status(&app, authorization.as_deref()).await;
        if code != 401 {
            let_in.push(format!("{name}: {code}"));
        }
    }
    assert!(let_in.is_empty(), "not refused with 401: {let_in:?}");

    // Revocation: a disabled user's and a revoked device's valid tokens.
    let s2 = app.login("u2", "phone-3", &[]).await;
    app.state.store.revoke_device("phone-3").await.unwrap();
    assert_eq!(
        status(&app, Some(&bearer(&s2.access))).await,
        401,
        "revoked device"
    );
    app.state.store.disable_user("u1").await.unwrap();
    assert_eq!(
        status(&app, Some(&bearer(&s.access))).await,
        401,
        "disabled user"
    );
    eprintln!("token attacks: {} cases refused, 0 let in", total + 2);
}
on_both_databases!(forged_and_misdirected_tokens_are_refused, attacks);
