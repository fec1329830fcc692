//! `GET /api/v1/events`: the documents in the caller's scope, as they are
//! committed; catch-up after a reconnection; access lost ends the stream.

use std::time::Duration;

use chrono::NaiveDate;
use sync_core::memory::MemoryReplica;
use sync_core::session::ClientStore;
use sync_core::{Actor, DocId, EditContext, Role, UserId};

use crate::sync::entry;
use jishi_tests::{on_both_databases, Db, TestApp};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sse {
    pub event: String,
    pub id: Option<String>,
    pub data: serde_json::Value,
}

/// An open event stream.
pub struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// Open the stream of `token` on `app`, resuming after `last` if given.
    pub async fn open(app: &TestApp, token: &str, last: Option<&str>) -> Events {
        // No overall timeout: the stream stays open; each read is bounded.
        let http = reqwest::Client::new();
        let mut request = http.get(app.url("/api/v1/events")).bearer_auth(token);
        if let Some(last) = last {
            request = request.header("last-event-id", last);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "an event stream"
        );
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// The next event; `None` when the server ended the stream. Panics if
    /// nothing comes within 10 s.
    pub async fn next(&mut self) -> Option<Sse> {
        tokio::time::timeout(Duration::from_secs(10), self.read())
            .await
            .expect("an event or the end of the stream within 10 s")
    }

    async fn read(&mut self) -> Option<Sse> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(sse) = parse(&block) {
                    return Some(sse);
                }
            }
            let chunk = self.response.chunk().await.ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next `changed` event's document id.
    pub async fn next_changed(&mut self) -> String {
        let e = self.next().await.expect("the stream goes on");
        assert_eq!(e.event, "changed", "{e:?}");
        e.data["doc"].as_str().unwrap().to_owned()
    }
}

/// An event block; comments (keep-alives) give `None`.
fn parse(block: &str) -> Option<Sse> {
    let mut event = String::from("message");
    let mut id = None;
    let mut data = String::new();
    let mut any = false;
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = value.to_owned(),
            "id" => id = Some(value.to_owned()),
            "data" => data.push_str(value),
            _ => continue,
        }
        any = true;
    }
    any.then(|| Sse {
        event,
        id,
        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
    })
}

/// A phone of `user` that writes one entry on `day` (of November 2026).
pub fn write(phone: &mut MemoryReplica, user: &str, day: u32) -> DocId {
    let id = DocId::diary(
        &UserId::parse(user).unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
    );
    let ctx = EditContext {
        user: UserId::parse(user).unwrap(),
        role: Role::Cadre,
        now_ms: 1_763_870_400_000,
    };
    phone
        .edit(&id, &entry(&format!("{day}日走访")), &ctx)
        .unwrap();
    id
}

pub async fn phone(app: &TestApp, user: &str, device: &str) -> (MemoryReplica, String) {
    let replica = MemoryReplica::new(Actor::random());
    let session = app.login(user, device, &[replica.actor().to_hex()]).await;
    (replica, session.access)
}

async fn in_scope_only(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    // l1 leads t1 (u1's village is under it); u2 is in t2.
    let leader = app.login("l1", "leader-phone", &[]).await;
    let mut watching = Events::open(&app, &leader.access, None).await;
    let (mut p1, t1) = phone(&app, "u1", "phone-1").await;
    let (mut p2, t2) = phone(&app, "u2", "phone-2").await;
    let mut own = Events::open(&app, &t2, None).await;

    let outside = write(&mut p2, "u2", 23);
    let (_, problems) = app.sync(&mut p2, &t2).await;
    assert!(problems.is_empty(), "{problems:?}");
    let inside = write(&mut p1, "u1", 23);
    let (_, problems) = app.sync(&mut p1, &t1).await;
    assert!(problems.is_empty(), "{problems:?}");

    // Commit order: had u2's change reached the leader it would come first.
    assert_eq!(watching.next_changed().await, inside.to_string());
    // A cadre hears of their own documents only.
    assert_eq!(own.next_changed().await, outside.to_string());

    // The leader's device is revoked: the next change in scope ends the
    // stream instead of being told.
    app.state.store.revoke_device("leader-phone").await.unwrap();
    write(&mut p1, "u1", 24);
    app.sync(&mut p1, &t1).await;
    assert_eq!(
        watching.next().await,
        None,
        "a revoked device hears nothing"
    );
    // And cannot open a new one.
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/events"))
        .bearer_auth(&leader.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
on_both_databases!(events_tell_the_changes_in_scope_only, in_scope_only);

async fn catch_up(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let supervisor = app.login("s1", "supervisor-phone", &[]).await;
    let (mut p1, t1) = phone(&app, "u1", "phone-1").await;
    let days: Vec<String> = (20..23)
        .map(|d| write(&mut p1, "u1", d).to_string())
        .collect();
    app.sync(&mut p1, &t1).await;

    // Offline while they synced: reconnecting from the start tells them.
    let mut from_start = Events::open(&app, &supervisor.access, Some("0")).await;
    let mut told = Vec::new();
    let mut last = None;
    for _ in 0..days.len() {
        let e = from_start.next().await.unwrap();
        assert_eq!(e.event, "changed");
        told.push(e.data["doc"].as_str().unwrap().to_owned());
        last = e.id;
    }
    told.sort();
    assert_eq!(told, days);
    drop(from_start);

    // Reconnecting after the last one: only what is new.
    let last = last.expect("events carry an id");
    let mut resumed = Events::open(&app, &supervisor.access, Some(&last)).await;
    let next = write(&mut p1, "u1", 25);
    app.sync(&mut p1, &t1).await;
    assert_eq!(resumed.next_changed().await, next.to_string());

    // A cursor that is not a number is refused with the usual error body.
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/events?since=yesterday"))
        .bearer_auth(&supervisor.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "bad_cursor");
}
on_both_databases!(a_reconnecting_client_hears_what_it_missed, catch_up);

/// A server stopping ends the streams instead of waiting for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_server_ends_the_streams() {
    let mut app = TestApp::spawn(Db::Sqlite).await;
    app.seed().await;
    let s = app.login("s1", "supervisor-phone", &[]).await;
    let mut events = Events::open(&app, &s.access, None).await;
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("the server stops with a stream open");
    assert_eq!(events.next().await, None);
}

/// A stream the server refused: its status, `Retry-After` and body.
async fn refused(app: &TestApp, token: &str) -> (u16, Option<String>, serde_json::Value) {
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/events"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = tokio::time::timeout(Duration::from_secs(10), r.json())
        .await
        .expect("a refusal is a whole answer, not a stream")
        .unwrap_or(serde_json::Value::Null);
    (status, retry, body)
}

#[track_caller]
fn assert_capped(got: (u16, Option<String>, serde_json::Value), which: &str) {
    let (status, retry, body) = got;
    assert_eq!(status, 429, "{body}");
    assert!(
        retry.is_some_and(|r| r.parse::<u64>().is_ok()),
        "Retry-After"
    );
    assert_eq!(body["code"], "too_many_streams", "{body}");
    assert!(body["message"].as_str().unwrap().contains(which), "{body}");
}

/// Issue 23, item 9: one account cannot hold every stream of the server.
/// Streams are capped per device and per user, counted in the database, so
/// the caps hold across two instances; another user still gets in, and
/// closing a stream frees its place.
async fn capped(db: Db) {
    let app = TestApp::spawn_with(db, |c| {
        c.max_event_streams_per_user = 3;
        c.max_event_streams_per_device = 2;
        c.jwt_secret = Some(backend::config::Secret::new(
            "event-stream-cap-test-secret-0123456789abcdef",
        ));
    })
    .await;
    app.seed().await;
    let other = app.sibling().await;
    let a = app.login("u1", "phone-a", &[]).await.access;
    let b = app.login("u1", "phone-b", &[]).await.access;
    let s1 = app.login("s1", "phone-s", &[]).await.access;

    // The device's two places, one on each instance; a third is refused
    // on either.
    let first = Events::open(&app, &a, None).await;
    let _second = Events::open(&other, &a, None).await;
    assert_capped(refused(&app, &a).await, "device");
    assert_capped(refused(&other, &a).await, "device");
    // The account's third place, from its other device; a fourth is
    // refused.
    let _third = Events::open(&other, &b, None).await;
    assert_capped(refused(&app, &b).await, "account");
    // Another user is not held back.
    let _theirs = Events::open(&app, &s1, None).await;

    // Closing a stream frees its place (on whichever instance).
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = reqwest::Client::new()
            .get(other.url("/api/v1/events"))
            .bearer_auth(&b)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break;
        }
        assert_eq!(r.status(), 429);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed stream's place was not freed within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
on_both_databases!(event_streams_are_capped_per_user_and_device, capped);

/// Issue 23, item 9: a stream ends when the token it was opened with
/// expires, instead of outliving it; the client reconnects with a fresh
/// token.
async fn ends_with_its_token(db: Db) {
    let app = TestApp::spawn_with(db, |c| c.access_ttl_secs = 2).await;
    app.seed().await;
    let s = app.login("s1", "supervisor-phone", &[]).await;
    let started = std::time::Instant::now();
    let mut events = Events::open(&app, &s.access, None).await;
    assert_eq!(events.next().await, None, "the stream ends with its token");
    assert!(started.elapsed() >= Duration::from_secs(1));
}
on_both_databases!(
    an_event_stream_ends_when_its_token_expires,
    ends_with_its_token
);
