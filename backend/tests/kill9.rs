//! The server killed with SIGKILL at random moments while phones sync
//! (docs/guarantees.md, claim 1): after every restart, each change a phone
//! was told the server accepted (its sync session finished) is on the
//! server before any phone could send it again; at the end every change
//! any phone made is there and all replicas hold the same values.
//!
//! Four phones, two per cadre, so that requests merge into the same
//! document at once; a fifth device uploads photos through the resumable
//! protocol, and every photo whose last chunk was answered must be whole
//! on the server after each restart. `JISHI_KILLS` sets the number of kills (default 20;
//! `.ci/run` runs 200 on each database). PostgreSQL runs when
//! `JISHI_TEST_POSTGRES_URL` is set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rand::Rng;
use sync_core::document::{Category, EntryFields, Record};
use sync_core::replica::Replica;
use sync_core::validate::TimeOfDay;
use sync_core::{DocId, Edit, EditContext, ItemId, Role, UserId};
use tokio::sync::RwLock;

mod support;

use jishi_tests::phone::{login, server_entries, sync_session, Synced};
use jishi_tests::photo::{jpeg, sha};
use jishi_tests::upload;
use support::{seed_county, Server};

fn kills() -> usize {
    std::env::var("JISHI_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

struct Phone {
    user: String,
    replica: Replica,
    token: String,
    doc: DocId,
    /// Every entry this phone wrote.
    written: Vec<String>,
}

/// What phones were told: entries whose sync session finished.
type Acked = Arc<Mutex<BTreeMap<DocId, BTreeSet<String>>>>;

fn entry(text: &str) -> Edit {
    Edit::AddEntry {
        id: ItemId::random(),
        fields: EntryFields {
            time: TimeOfDay::parse("09:00").expect("time"),
            category: Category::Visit,
            place: "青山村".into(),
            text: text.into(),
            households: 1,
            location: None,
        },
    }
}

/// One whole sync session of `phone`; any network or server failure is an error.
async fn sync(http: &reqwest::Client, base: &str, phone: &mut Phone) -> Result<(), String> {
    sync_session(http, base, &mut phone.replica, &phone.token)
        .await
        .and_then(Synced::without_problems)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Write one entry, then sync; a finished session acknowledges everything
/// written before it began.
async fn step(
    http: &reqwest::Client,
    base: &str,
    gate: &RwLock<()>,
    acked: &Acked,
    phone: &mut Phone,
) -> bool {
    let text = format!("{}-{}", phone.replica.actor().to_hex(), phone.written.len());
    let ctx = EditContext {
        user: UserId::parse(&phone.user).expect("user id"),
        role: Role::Cadre,
        now_ms: 1_763_870_400_000,
    };
    phone
        .replica
        .edit(&phone.doc, &entry(&text), &ctx)
        .expect("a local edit is saved");
    phone.written.push(text);
    let _open = gate.read().await;
    let before: Vec<String> = phone.written.clone();
    let ok = sync(http, base, phone).await.is_ok();
    if ok {
        let mut acked = acked.lock().expect("acked lock");
        acked.entry(phone.doc.clone()).or_default().extend(before);
    }
    ok
}

/// A small camera-like JPEG, different for each `seed`.
fn photo(seed: u32) -> Vec<u8> {
    jpeg(96, 72, seed)
}

/// Upload `bytes` in small chunks from wherever the server is; Ok once the
/// last chunk was answered (the photo is finished and durable).
async fn upload_photo(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    bytes: &[u8],
) -> Result<(), String> {
    match upload::upload(http, base, token, bytes, 4096).await? {
        (200 | 201, _) => Ok(()),
        (s, _) => Err(format!("PATCH answered {s}")),
    }
}

async fn killed_again_and_again(database_url: Option<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("server");
    let db = database_url.as_deref();
    seed_county(&data, db);

    let mut server = Server::new(data, database_url);
    server.start();
    let base = server.base();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client");
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).expect("day");
    let mut phones = Vec::new();
    for (i, u) in ["u1", "u1", "u2", "u2"].iter().enumerate() {
        let replica = Replica::open(&dir.path().join(format!("phone{i}.db"))).expect("replica");
        let token = login(
            &http,
            &base,
            u,
            &format!("phone{i}"),
            &[replica.actor().to_hex()],
        )
        .await
        .access;
        phones.push(Phone {
            user: (*u).to_owned(),
            replica,
            token,
            doc: DocId::diary(&UserId::parse(u).expect("user"), day),
            written: Vec::new(),
        });
    }
    let supervisor = login(
        &http,
        &base,
        "s1",
        "desk",
        &[sync_core::Actor::random().to_hex()],
    )
    .await
    .access;

    let camera = login(
        &http,
        &base,
        "u1",
        "camera",
        &[sync_core::Actor::random().to_hex()],
    )
    .await
    .access;

    let gate = Arc::new(RwLock::new(()));
    let acked: Acked = Arc::default();
    // Photos whose upload finished (hashes), and how many were cut.
    let photos_acked: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let total = kills();
    let started = Instant::now();
    let killer = {
        let (gate, acked, done, http, base, supervisor) = (
            gate.clone(),
            acked.clone(),
            done.clone(),
            http.clone(),
            base.clone(),
            supervisor.clone(),
        );
        let (photos_acked, camera) = (photos_acked.clone(), camera.clone());
        tokio::spawn(async move {
            let mut lost = Vec::new();
            for _ in 0..total {
                let wait = rand::rng().random_range(5..120);
                tokio::time::sleep(Duration::from_millis(wait)).await;
                server = tokio::task::spawn_blocking(move || {
                    server.kill();
                    server
                })
                .await
                .expect("kill the server");
                // No phone starts a session until the check below is done;
                // sessions in flight fail on the dead server.
                let _closed = gate.write().await;
                let expected = acked.lock().expect("acked lock").clone();
                server = tokio::task::spawn_blocking(move || {
                    server.start();
                    server
                })
                .await
                .expect("restart the server");
                for (doc, texts) in &expected {
                    let on_server = server_entries(&http, &base, &supervisor, doc).await;
                    lost.extend(texts.difference(&on_server).cloned());
                }
                let photos = photos_acked.lock().expect("photos lock").clone();
                for (sha, size) in photos {
                    match upload::held(&http, &base, &camera, &sha).await {
                        Ok((n, true)) if n == size => {}
                        other => lost.push(format!("photo {sha}: {other:?}")),
                    }
                }
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            (server, lost)
        })
    };
    let uploader = {
        let (gate, done, http, base, camera, photos_acked) = (
            gate.clone(),
            done.clone(),
            http.clone(),
            base.clone(),
            camera.clone(),
            photos_acked.clone(),
        );
        tokio::spawn(async move {
            let (mut seed, mut cut) = (0u32, 0usize);
            let mut bytes = photo(seed);
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let ok = {
                    let _open = gate.read().await;
                    upload_photo(&http, &base, &camera, &bytes).await.is_ok()
                };
                if ok {
                    photos_acked
                        .lock()
                        .expect("photos lock")
                        .push((sha(&bytes), bytes.len() as u64));
                    seed += 1;
                    bytes = photo(seed);
                } else {
                    cut += 1;
                }
            }
            cut
        })
    };
    let (mut rounds, mut failed) = (0usize, 0usize);
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        let [a, b, c, d] = &mut phones[..] else {
            unreachable!("four phones")
        };
        let results = tokio::join!(
            step(&http, &base, &gate, &acked, a),
            step(&http, &base, &gate, &acked, b),
            step(&http, &base, &gate, &acked, c),
            step(&http, &base, &gate, &acked, d),
        );
        rounds += 1;
        failed += [results.0, results.1, results.2, results.3]
            .iter()
            .filter(|ok| !**ok)
            .count();
    }
    let (server, lost) = killer.await.expect("the killer task");
    let uploads_cut = uploader.await.expect("the uploader task");
    assert!(
        lost.is_empty(),
        "acknowledged entries lost after a kill: {lost:?}"
    );

    // Online for good: everything every phone wrote arrives, and all agree.
    for _ in 0..2 {
        for phone in phones.iter_mut() {
            let mut tries = 0;
            while let Err(e) = sync(&http, &base, phone).await {
                tries += 1;
                assert!(tries < 20, "a phone cannot finish syncing: {e}");
            }
        }
    }
    let mut written: BTreeMap<DocId, BTreeSet<String>> = BTreeMap::new();
    for phone in &phones {
        written
            .entry(phone.doc.clone())
            .or_default()
            .extend(phone.written.iter().cloned());
    }
    for (doc, texts) in &written {
        let on_server = server_entries(&http, &base, &supervisor, doc).await;
        assert_eq!(
            &on_server, texts,
            "{doc}: the server must hold every entry, once"
        );
    }
    for phone in phones.iter_mut() {
        let Some(Record::Diary(d)) = phone.replica.record(&phone.doc).expect("read") else {
            panic!("{} has no diary", phone.doc);
        };
        let texts: BTreeSet<String> = d.entries.iter().map(|e| e.text.clone()).collect();
        assert_eq!(
            &texts, &written[&phone.doc],
            "a phone differs from the server"
        );
        assert_eq!(d.entries.len(), texts.len(), "an entry is duplicated");
    }
    let acked_count: usize = acked
        .lock()
        .expect("acked")
        .values()
        .map(BTreeSet::len)
        .sum();
    let photos = photos_acked.lock().expect("photos").clone();
    for (sha, size) in &photos {
        assert_eq!(
            upload::held(&http, &base, &camera, sha).await,
            Ok((*size, true)),
            "photo {sha} is not whole on the server"
        );
    }
    eprintln!(
        "kill -9: {total} kills in {:.1} s, {rounds} rounds of 4 phones ({failed} sessions cut), \
         {acked_count} acknowledged entries, {} photos uploaded ({uploads_cut} uploads cut), 0 lost",
        started.elapsed().as_secs_f64(),
        photos.len()
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_kill_9_on_sqlite() {
    killed_again_and_again(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "JISHI_TEST_POSTGRES_URL unset")]
async fn acknowledged_changes_survive_kill_9_on_postgres() {
    let url = jishi_tests::fresh_postgres_url().await;
    killed_again_and_again(Some(url)).await;
}
