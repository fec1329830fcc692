//! Two `jishi serve` processes on one PostgreSQL: phones sync their week
//! with the first, which is killed with SIGKILL mid-burst; they retry on
//! the second, and everything they wrote is there once, with every pair of
//! phones of one cadre holding the same values (README, "Scaling out").
//! A supervisor watching the second instance's event stream hears of the
//! changes the first took. PostgreSQL only (`JISHI_TEST_POSTGRES_URL`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use sync_core::document::{Category, EntryFields, Record};
use sync_core::memory::MemoryReplica;
use sync_core::session::ClientStore;
use sync_core::validate::TimeOfDay;
use sync_core::{Actor, DocId, Edit, EditContext, ItemId, Role, UserId};
use tokio::sync::Notify;

mod support;

use jishi_tests::phone::{login, server_entries, sync_session, Synced};
use support::{seed_county, Server};

/// Rounds of write-then-sync per phone.
const ROUNDS: usize = 24;
/// Acknowledged syncs before the first instance is killed.
const KILL_AFTER: usize = 20;

struct Phone {
    user: String,
    replica: MemoryReplica,
    token: String,
    written: BTreeSet<(DocId, String)>,
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).expect("a day")
}

fn write(phone: &mut Phone, round: usize) {
    let user = UserId::parse(&phone.user).expect("user id");
    let doc = DocId::diary(&user, day(16 + (round % 7) as u32));
    let text = format!("{}-{round}", phone.replica.actor().to_hex());
    let edit = Edit::AddEntry {
        id: ItemId::random(),
        fields: EntryFields {
            time: TimeOfDay::parse("09:00").expect("time"),
            category: Category::Visit,
            place: "青山村".into(),
            text: text.clone(),
            households: 1,
            location: None,
        },
    };
    let ctx = EditContext {
        user,
        role: Role::Cadre,
        now_ms: 1_763_870_400_000,
    };
    phone.replica.edit(&doc, &edit, &ctx).expect("a local edit");
    phone.written.insert((doc, text));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "JISHI_TEST_POSTGRES_URL unset: several instances need PostgreSQL"
)]
async fn one_instance_killed_mid_burst_the_other_takes_over() {
    let db = jishi_tests::fresh_postgres_url().await;
    let dir = tempfile::tempdir().expect("temp dir");
    seed_county(&dir.path().join("a"), Some(&db));
    let mut first = Server::new(dir.path().join("a"), Some(db.clone()));
    let mut second = Server::new(dir.path().join("b"), Some(db.clone()));
    first.start();
    second.start();
    let (a, b) = (first.base(), second.base());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("HTTP client");

    // The supervisor watches the second instance.
    let desk = login(&http, &b, "s1", "desk", &[Actor::random().to_hex()])
        .await
        .access;
    let mut events = reqwest::Client::new()
        .get(format!("{b}/api/v1/events"))
        .bearer_auth(&desk)
        .send()
        .await
        .expect("open the event stream");
    assert_eq!(events.status(), 200);

    let mut phones = Vec::new();
    for (i, user) in ["u1", "u1", "u2", "u2", "u1", "u2"].iter().enumerate() {
        let replica = MemoryReplica::new(Actor::random());
        let token = login(
            &http,
            &a,
            user,
            &format!("phone{i}"),
            &[replica.actor().to_hex()],
        )
        .await
        .access;
        phones.push(Phone {
            user: (*user).to_owned(),
            replica,
            token,
            written: BTreeSet::new(),
        });
    }

    let acked = Arc::new(AtomicUsize::new(0));
    let first_down = Arc::new(AtomicBool::new(false));
    let time_to_kill = Arc::new(Notify::new());
    let failovers = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for mut phone in phones {
        let (http, a, b) = (http.clone(), a.clone(), b.clone());
        let (acked, first_down, time_to_kill, failovers) = (
            acked.clone(),
            first_down.clone(),
            time_to_kill.clone(),
            failovers.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut on_second = false;
            for round in 0..ROUNDS {
                write(&mut phone, round);
                let mut tries = 0;
                loop {
                    tries += 1;
                    let base = if on_second { &b } else { &a };
                    match sync_session(&http, base, &mut phone.replica, &phone.token)
                        .await
                        .and_then(Synced::without_problems)
                    {
                        Ok(_) => break,
                        Err(e) => {
                            assert!(tries < 20, "{} kept failing: {e}", phone.user);
                            // What a balancer does: the next try goes to
                            // an instance that answers.
                            if !on_second {
                                assert!(
                                    first_down.load(Ordering::SeqCst),
                                    "failed before the kill: {e}"
                                );
                                on_second = true;
                                failovers.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                }
                if acked.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                    time_to_kill.notify_one();
                }
            }
            phone
        }));
    }
    time_to_kill.notified().await;
    first_down.store(true, Ordering::SeqCst);
    first.kill();

    let mut phones = Vec::new();
    for t in tasks {
        phones.push(t.await.expect("a phone's task"));
    }
    // One more round each on the survivor, so every phone has every
    // change of its cadre.
    for phone in &mut phones {
        sync_session(&http, &b, &mut phone.replica, &phone.token)
            .await
            .and_then(Synced::without_problems)
            .expect("a last sync");
    }

    // Everything written is on the server, once.
    let mut docs: BTreeSet<DocId> = BTreeSet::new();
    for phone in &phones {
        docs.extend(phone.written.iter().map(|(d, _)| d.clone()));
    }
    let mut entries = 0;
    for doc in &docs {
        let on_server = server_entries(&http, &b, &desk, doc).await;
        let written: BTreeSet<String> = phones
            .iter()
            .flat_map(|p| p.written.iter())
            .filter(|(d, _)| d == doc)
            .map(|(_, t)| t.clone())
            .collect();
        assert_eq!(on_server, written, "{doc}");
        let record = phones
            .iter_mut()
            .filter(|p| Some(p.user.as_str()) == doc.owner().map(|o| o.as_str()))
            .map(|p| p.replica.document(doc).expect("read").map(|d| d.read()))
            .collect::<Vec<Option<Record>>>();
        assert!(
            record.windows(2).all(|w| w[0] == w[1]),
            "the phones of one cadre hold the same {doc}"
        );
        if let Some(Some(Record::Diary(d))) = record.first() {
            assert_eq!(d.entries.len(), written.len(), "no entry twice in {doc}");
        }
        entries += written.len();
    }
    // Every phone had rounds left when the first instance died.
    assert_eq!(failovers.load(Ordering::SeqCst), phones.len());

    // The supervisor on the second instance heard of documents the first
    // took before it died.
    let mut heard = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !docs.iter().all(|d| heard.contains(&d.to_string())) {
        let chunk = tokio::time::timeout_at(deadline, events.chunk())
            .await
            .expect("the events of every document within 10 s")
            .expect("the event stream")
            .expect("the stream goes on");
        heard.push_str(&String::from_utf8_lossy(&chunk));
    }
    eprintln!(
        "scale-out: {} phones, {entries} entries in {} documents, {} phones failed over to the second instance, 0 lost",
        phones.len(),
        docs.len(),
        failovers.load(Ordering::SeqCst)
    );
}
