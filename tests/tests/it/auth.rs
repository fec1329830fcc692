//! Login, refresh rotation and reuse, logout, device revocation.

use serde_json::{json, Value};

use jishi_tests::{on_both_databases, Db, TestApp, PASSWORD};

async fn login_refresh_logout(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let s = app.login("u1", "phone-a", &[]).await;
    let (status, me) = app.get("/api/v1/me", &s.access).await;
    assert_eq!(status, 200);
    assert_eq!(me["id"], "u1");
    assert_eq!(me["role"], "cadre");

    // Wrong password and unknown login: the same 401.
    for (login, pw) in [("u1", "wrong-password"), ("nobody", PASSWORD)] {
        let (status, body) = app
            .post_json(
                "/api/v1/auth/login",
                &json!({"login": login, "password": pw, "device_id": "d"}),
            )
            .await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["code"], "unauthorized");
    }

    // Rotation: the new token works, the old one is spent.
    let (status, next) = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": s.refresh}))
        .await;
    assert_eq!(status, 200, "{next}");
    let next_refresh = next["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next_refresh, s.refresh);
    let (status, _) = app
        .get("/api/v1/me", next["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);

    // Logout revokes the family.
    let (status, _) = app
        .post_json(
            "/api/v1/auth/logout",
            &json!({"refresh_token": next_refresh}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": next_refresh}),
        )
        .await;
    assert_eq!(status, 401);
}
on_both_databases!(login_refresh_logout_works, login_refresh_logout);

async fn refresh_reuse(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let s = app.login("u1", "phone-a", &[]).await;
    // A retry within the grace period (the reply was lost) still works.
    let (status, first) = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": s.refresh}))
        .await;
    assert_eq!(status, 200);
    let (status, retry) = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": s.refresh}))
        .await;
    assert_eq!(
        status, 200,
        "a retry within the grace period must succeed: {retry}"
    );
    // Only the newest token of the family stays valid.
    let (status, _) = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": first["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": retry["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 200);
}
on_both_databases!(refresh_retry_within_grace, refresh_reuse);

async fn reuse_after_grace_revokes_family(db: Db) {
    let app = TestApp::spawn_with(db, |c| c.refresh_grace_secs = 0).await;
    app.seed().await;
    let s = app.login("u1", "phone-a", &[]).await;
    let (_, next) = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": s.refresh}))
        .await;
    // Someone replays the spent token: the whole family dies.
    let (status, _) = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": s.refresh}))
        .await;
    assert_eq!(status, 401);
    let (status, _) = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": next["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 401, "the family must be revoked after a reuse");
    assert!(!app
        .state
        .store
        .security_events("refresh_reuse")
        .await
        .unwrap()
        .is_empty());
}
on_both_databases!(
    refresh_reuse_revokes_the_family,
    reuse_after_grace_revokes_family
);

async fn revoked_device(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let s = app.login("u1", "phone-a", &[]).await;
    app.state.store.revoke_device("phone-a").await.unwrap();
    let (status, body) = app.get("/api/v1/me", &s.access).await;
    assert_eq!(status, 401, "a revoked device loses access at once: {body}");
    let (status, _) = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": s.refresh}))
        .await;
    assert_eq!(status, 401);
    // The same device id cannot come back by logging in again.
    let (status, body) = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"login": "u1", "password": PASSWORD, "device_id": "phone-a"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "device_revoked");
}
on_both_databases!(a_revoked_device_loses_access_at_once, revoked_device);

/// Log in as u1 on `device`, presenting `check` (a phone's last
/// `device_check`, none on its first login).
async fn login_with_check(app: &TestApp, device: &str, check: Option<&str>) -> (u16, Value) {
    app.post_json(
        "/api/v1/auth/login",
        &json!({"login": "u1", "password": PASSWORD, "device_id": device, "device_check": check}),
    )
    .await
}

async fn refresh_with_check(app: &TestApp, refresh: &Value, check: &Value) -> (u16, Value) {
    app.post_json(
        "/api/v1/auth/refresh",
        &json!({"refresh_token": refresh, "device_check": check}),
    )
    .await
}

/// A copy of a phone's folder restored from a backup (or cloned to a second
/// phone) presents an older `device_check` than the phone that went on, and
/// is refused with its own code; the phone itself never is, not even when
/// a reply is lost and it presents the same value again.
async fn restored_copy(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let (status, first) = login_with_check(&app, "phone-a", None).await;
    assert_eq!(status, 200, "{first}");
    // The backup is taken now: it holds `first`'s check and refresh token.
    let backup = first.clone();
    // The phone goes on: a refresh whose reply is lost, then the retry
    // with the same values, then another.
    let (status, lost) =
        refresh_with_check(&app, &first["refresh_token"], &first["device_check"]).await;
    assert_eq!(status, 200, "{lost}");
    let (status, retry) =
        refresh_with_check(&app, &first["refresh_token"], &first["device_check"]).await;
    assert_eq!(
        status, 200,
        "a retry after a lost reply is the phone itself: {retry}"
    );
    let (status, next) =
        refresh_with_check(&app, &retry["refresh_token"], &retry["device_check"]).await;
    assert_eq!(status, 200, "{next}");

    // The restored copy logs in with the password and the old check.
    let (status, body) = login_with_check(&app, "phone-a", backup["device_check"].as_str()).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "device_copied");
    // A copy from before the phone received any check presents none.
    let (status, body) = login_with_check(&app, "phone-a", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("device_copied"))
    );
    assert_eq!(
        app.state
            .store
            .security_events("device_copied")
            .await
            .unwrap()
            .len(),
        2
    );
    // The copy's first contact is usually a refresh with the backup's
    // token: it is refused without touching the phone's own session.
    let (status, body) =
        refresh_with_check(&app, &backup["refresh_token"], &backup["device_check"]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("device_copied")),
        "{body}"
    );
    let (status, next) =
        refresh_with_check(&app, &next["refresh_token"], &next["device_check"]).await;
    assert_eq!(status, 200, "the phone's session goes on: {next}");
    // The phone itself goes on.
    let (status, body) = login_with_check(&app, "phone-a", next["device_check"].as_str()).await;
    assert_eq!(status, 200, "{body}");
    // The copy as a new device is welcome.
    let (status, body) = login_with_check(&app, "phone-a2", None).await;
    assert_eq!(status, 200, "{body}");

    // Two copies that both hold the current value: the second to move on
    // is the one refused, whichever it is.
    let current = body["device_check"].clone();
    let (status, a) = refresh_with_check(&app, &body["refresh_token"], &current).await;
    assert_eq!(status, 200, "{a}");
    let (status, b) = login_with_check(&app, "phone-a2", current.as_str()).await;
    assert_eq!(status, 200, "{b}");
    let (status, body) = refresh_with_check(&app, &a["refresh_token"], &a["device_check"]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("device_copied")),
        "{body}"
    );

    // An app that never presents a check is never refused for it.
    for _ in 0..2 {
        let (status, body) = login_with_check(&app, "phone-old", None).await;
        assert_eq!(status, 200, "{body}");
    }
    // Oversized values are refused before anything is looked up.
    let big = "x".repeat(300);
    let (status, body) = login_with_check(&app, "phone-a", Some(&big)).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_device")));
}
on_both_databases!(a_restored_copy_of_a_phone_is_refused, restored_copy);

async fn bad_requests(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    for body in [
        json!({}),
        json!({"login": "u1", "password": PASSWORD}),
        json!({"login": "u1", "password": PASSWORD, "device_id": "bad id!"}),
        json!({"login": "u1", "password": PASSWORD, "device_id": "d", "actors": ["zz"]}),
        json!({"login": "u1", "password": PASSWORD, "device_id": "d", "surprise": 1}),
    ] {
        let (status, reply) = app.post_json("/api/v1/auth/login", &body).await;
        assert_eq!(status, 400, "{body} -> {reply}");
        assert!(
            reply["code"].is_string() && reply["message"].is_string(),
            "{reply}"
        );
    }
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .body(vec![b'x'; 100_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let (status, body) = app.get("/nowhere", "x").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    assert!(app.healthy().await);
}
on_both_databases!(bad_requests_get_clear_4xx, bad_requests);

async fn login_rate_limit(db: Db) {
    let app = TestApp::spawn_with(db, |c| c.login_per_minute = 3).await;
    app.seed().await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, _) = app
            .post_json(
                "/api/v1/auth/login",
                &json!({"login": "u1", "password": "wrong-password", "device_id": "d"}),
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses, vec![401, 401, 401, 429, 429]);
}
on_both_databases!(logins_are_rate_limited, login_rate_limit);

/// Many phones logging in at once: every login succeeds (no "database is
/// locked" from a transaction that reads, then writes).
async fn concurrent_logins(db: Db) {
    let app = std::sync::Arc::new(TestApp::spawn(db).await);
    app.seed().await;
    let mut tasks = Vec::new();
    for n in 0..24 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let login = ["u1", "u2", "l1", "s1"][n % 4];
            let actor = sync_core::Actor::random().to_hex();
            app.post_json(
                "/api/v1/auth/login",
                &json!({"login": login, "password": PASSWORD, "device_id": format!("dev-{n}"), "actors": [actor]}),
            )
            .await
        }));
    }
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
}
on_both_databases!(concurrent_logins_all_succeed, concurrent_logins);

/// Issue 23, item 10: logging out, or a refresh family revoked because a
/// spent refresh token came back, ends the session's access tokens at once
/// (the next request is 401, the sync endpoint included), not when they
/// expire 15 minutes later; the user's other sessions go on.
async fn revoked_sessions_stop_at_once(db: Db) {
    let app = TestApp::spawn_with(db, |c| c.refresh_grace_secs = 0).await;
    app.seed().await;
    let sync_status = |token: String| {
        let app = &app;
        async move {
            app.http
                .post(app.url("/api/v1/sync"))
                .bearer_auth(token)
                .header("content-type", "application/vnd.jishi.sync-batch")
                .body(vec![1u8, 0])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };

    // Logout: that session's access token stops; another session of the
    // same device, and one of another device, do not.
    let a = app.login("u1", "phone-a", &[]).await;
    let a2 = app.login("u1", "phone-a", &[]).await;
    let b = app.login("u1", "phone-b", &[]).await;
    assert_eq!(app.get("/api/v1/me", &a.access).await.0, 200);
    let (status, _) = app
        .post_json("/api/v1/auth/logout", &json!({"refresh_token": a.refresh}))
        .await;
    assert_eq!(status, 204);
    let (status, body) = app.get("/api/v1/me", &a.access).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    assert_eq!(sync_status(a.access.clone()).await, 401);
    assert_eq!(app.get("/api/v1/me", &a2.access).await.0, 200);
    assert_eq!(app.get("/api/v1/me", &b.access).await.0, 200);

    // Reuse of a spent refresh token revokes the family: the access tokens
    // issued with it, old and new, stop at once.
    let c = app.login("u2", "phone-c", &[]).await;
    let (status, next) = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": c.refresh}))
        .await;
    assert_eq!(status, 200, "{next}");
    let next_access = next["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/me", &next_access).await.0, 200);
    let (status, _) = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": c.refresh}))
        .await;
    assert_eq!(status, 401);
    for token in [&c.access, &next_access] {
        assert_eq!(app.get("/api/v1/me", token).await.0, 401);
        assert_eq!(sync_status(token.clone()).await, 401);
    }
    assert_eq!(app.get("/api/v1/me", &b.access).await.0, 200);

    // A new password ends every session of the user at once.
    backend::admin::reset_password(&app.state.store, "u1", "another-horse-7".into())
        .await
        .unwrap();
    for token in [&a2.access, &b.access] {
        assert_eq!(app.get("/api/v1/me", token).await.0, 401);
    }
}
on_both_databases!(
    a_revoked_session_stops_working_at_once,
    revoked_sessions_stop_at_once
);

/// `GET /api/v1/people`: the names a caller's screens show, by role.
async fn people(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    app.seed_other_county().await;
    let ids = |v: &Value| -> Vec<String> {
        v["people"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // A cadre: themselves and those over them; not another cadre.
    let u1 = app.login("u1", "p-u1", &[]).await;
    let (status, v) = app.get("/api/v1/people", &u1.access).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(ids(&v), ["l1", "s1", "u1"]);
    assert_eq!(v["people"][2]["unit_name"], "青山村");
    // A township leader: their township's people and the supervisor over it.
    let l1 = app.login("l1", "p-l1", &[]).await;
    let (_, v) = app.get("/api/v1/people", &l1.access).await;
    assert_eq!(ids(&v), ["l1", "s1", "u1"]);
    // The county supervisor: the county's people, not the other county's.
    let s1 = app.login("s1", "p-s1", &[]).await;
    let (_, v) = app.get("/api/v1/people", &s1.access).await;
    let seen = ids(&v);
    assert!(
        seen.contains(&"u2".to_owned()) && !seen.contains(&"u3".to_owned()),
        "{seen:?}"
    );
    let (status, _) = app.get("/api/v1/people", "not-a-token").await;
    assert_eq!(status, 401);
}
on_both_databases!(people_lists_the_names_a_caller_may_see, people);
