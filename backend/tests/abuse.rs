//! Resource abuse (issue 8, item 9; docs/guarantees.md, claim 5): a real
//! `jishi serve` process is sent oversized bodies, clients that trickle
//! their headers or bodies a byte at a time or say nothing, a flood of
//! logins, sync batches with very many documents or huge messages, and
//! Automerge documents built to be costly (deep nesting, huge counts), and
//! photos built to be costly (PNG metadata chunks that inflate to hundreds
//! of MiB, several 40-megapixel photos at once). Each is answered with a
//! 4xx or closed, the server's memory stays bounded, and a bystander cadre
//! keeps syncing throughout. The figures (peak memory under each) are
//! printed and recorded in docs/guarantees.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use automerge::sync::SyncDoc;
use automerge::transaction::Transactable;
use automerge::{ObjType, ReadDoc, ROOT};
use chrono::NaiveDate;
use sync_core::document::{genesis, Category, EntryFields};
use sync_core::protocol::{Batch, BatchEntry, EntryBody};
use sync_core::replica::Replica;
use sync_core::session::primed_state;
use sync_core::validate::TimeOfDay;
use sync_core::{Actor, DocId, Edit, EditContext, ItemId, Role, UserId};

use jishi_tests::camera::png_metadata_bomb;
use jishi_tests::phone::{login, sync_session, Synced};
use support::{seed_county, Server};

/// What each attack did to the server.
struct Figure {
    attack: &'static str,
    outcome: String,
    peak_mib: f64,
    /// Peak above the resident memory when the attack began.
    rise_mib: f64,
    seconds: f64,
    /// Server CPU (user and system) during the attack and the bystander's
    /// syncs.
    cpu_seconds: f64,
}

struct Bench {
    server: Server,
    http: reqwest::Client,
    bystander: Replica,
    bystander_token: String,
    day: u32,
    figures: Vec<Figure>,
}

const HEADER_TIMEOUT_SECS: u64 = 2;
const REQUEST_TIMEOUT_SECS: u64 = 4;

impl Bench {
    /// A real `jishi serve` with the abuse tests' timeouts and the real
    /// login limits, the bystander u2 logged in, and the attacker u1's
    /// token and actor.
    async fn start(dir: &std::path::Path) -> (Bench, String, Actor) {
        let data = dir.join("server");
        seed_county(&data, None);
        let mut server = Server::new(data, None);
        server.env = vec![
            (
                "JISHI_HEADER_TIMEOUT_SECS".into(),
                HEADER_TIMEOUT_SECS.to_string(),
            ),
            (
                "JISHI_REQUEST_TIMEOUT_SECS".into(),
                REQUEST_TIMEOUT_SECS.to_string(),
            ),
            // The real login limit: 10 a minute per account, 100 per address.
            ("JISHI_LOGIN_PER_MINUTE".into(), "10".into()),
        ];
        server.start();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = server.base();
        let bystander = Replica::open(&dir.join("bystander.db")).unwrap();
        let bystander_token = login(
            &http,
            &base,
            "u2",
            "bystander",
            &[bystander.actor().to_hex()],
        )
        .await
        .access;
        let attacker_actor = Actor::random();
        let token = login(&http, &base, "u1", "attacker", &[attacker_actor.to_hex()])
            .await
            .access;
        let mut bench = Bench {
            server,
            http,
            bystander,
            bystander_token,
            day: 0,
            figures: Vec::new(),
        };
        bench.bystander_is_served().await;
        eprintln!("started: {:.0} MiB resident", bench.server.rss_mib());
        (bench, token, attacker_actor)
    }

    /// The figures as a Markdown table (docs/guarantees.md).
    fn table(&self) -> String {
        let mut table = String::from(
            "| attack | outcome | server peak RSS (MiB) | rise (MiB) | time (s) | server CPU (s) |\n|---|---|---:|---:|---:|---:|\n",
        );
        for f in &self.figures {
            table.push_str(&format!(
                "| {} | {} | {:.0} | {:.0} | {:.1} | {:.2} |\n",
                f.attack, f.outcome, f.peak_mib, f.rise_mib, f.seconds, f.cpu_seconds
            ));
        }
        table
    }

    /// The bystander writes an entry and syncs it within a few seconds.
    async fn bystander_is_served(&mut self) {
        self.day = self.day % 28 + 1;
        let id = DocId::diary(
            &UserId::parse("u2").unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, self.day).unwrap(),
        );
        let ctx = EditContext {
            user: UserId::parse("u2").unwrap(),
            role: Role::Cadre,
            now_ms: 1_763_870_400_000,
        };
        self.bystander
            .edit(
                &id,
                &Edit::AddEntry {
                    id: ItemId::random(),
                    fields: EntryFields {
                        time: TimeOfDay::parse("09:00").unwrap(),
                        category: Category::Visit,
                        place: "青山村".into(),
                        text: "照常工作".into(),
                        households: 1,
                        location: None,
                    },
                },
                &ctx,
            )
            .unwrap();
        let started = Instant::now();
        sync_session(
            &self.http,
            &self.server.base(),
            &mut self.bystander,
            &self.bystander_token,
        )
        .await
        .and_then(Synced::without_problems)
        .unwrap_or_else(|e| panic!("the bystander's sync: {e}"));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the bystander waited {:?}",
            started.elapsed()
        );
        assert!(self.bystander.pending_docs().unwrap().is_empty());
    }

    /// Run one attack: reset the peak, attack while the bystander syncs,
    /// check the server is alive and serving, record.
    async fn attack<F, Fut>(&mut self, name: &'static str, run: F)
    where
        F: FnOnce(String, reqwest::Client) -> Fut,
        Fut: std::future::Future<Output = String>,
    {
        self.server.reset_peak();
        let before_mib = self.server.rss_mib();
        let cpu_before = self.server.cpu_seconds();
        let started = Instant::now();
        // The bystander syncs while the attack runs, and again after it.
        let attack = run(self.server.addr(), self.http.clone());
        let (outcome, ()) = tokio::join!(attack, self.bystander_is_served());
        let seconds = started.elapsed().as_secs_f64();
        assert!(self.server.alive(), "the server died under: {name}");
        self.bystander_is_served().await;
        let peak_mib = self.server.peak_mib();
        let cpu_seconds = self.server.cpu_seconds() - cpu_before;
        let rise_mib = peak_mib - before_mib;
        eprintln!(
            "{name}: {outcome}; peak {peak_mib:.0} MiB (+{rise_mib:.0}); {seconds:.1} s; CPU {cpu_seconds:.2} s"
        );
        self.figures.push(Figure {
            attack: name,
            outcome,
            peak_mib,
            rise_mib,
            seconds,
            cpu_seconds,
        });
    }
}

/// Read an HTTP response head from a raw connection: the status, or `None`
/// when the server closed the connection without one.
fn read_status(s: &mut TcpStream) -> Option<u16> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&buf);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Open `n` connections that send `head` one byte every `gap`, and report
/// how long the server took to close each (all closed within `limit`).
async fn trickle(addr: &str, n: usize, head: Vec<u8>, gap: Duration, limit: Duration) -> String {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let addr = addr.to_owned();
        let head = head.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
            let started = Instant::now();
            let mut sent = 0;
            let mut probe = [0u8; 512];
            loop {
                if started.elapsed() > limit {
                    return (None, sent);
                }
                if head.is_empty() || sent >= head.len() {
                    // Nothing (more) to send: wait for the server to act.
                    std::thread::park_timeout(gap);
                } else {
                    if s.write_all(&head[sent..sent + 1]).is_err() {
                        return (Some(started.elapsed()), sent);
                    }
                    sent += 1;
                    std::thread::park_timeout(gap);
                }
                match s.read(&mut probe) {
                    Ok(0) => return (Some(started.elapsed()), sent),
                    Ok(_) => return (Some(started.elapsed()), sent),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(_) => return (Some(started.elapsed()), sent),
                }
            }
        }));
    }
    let mut closed_after = Vec::new();
    for t in tasks {
        let (closed, sent) = t.await.unwrap();
        let closed = closed.unwrap_or_else(|| {
            panic!("a slow client was still connected after {limit:?} ({sent} bytes sent)")
        });
        closed_after.push(closed);
    }
    let max = closed_after.iter().max().copied().unwrap_or_default();
    format!(
        "{n} connections closed by the server, the last after {:.1} s",
        max.as_secs_f64()
    )
}

/// A sync message carrying a document built by `build` on top of the
/// genesis of `id`, written by `actor`.
fn crafted_message(
    id: &DocId,
    actor: &Actor,
    build: impl FnOnce(&mut automerge::AutoCommit),
) -> Vec<u8> {
    let mut doc = genesis(id);
    doc.set_actor(actor.as_actor_id().clone());
    build(&mut doc);
    doc.commit();
    let mut state = primed_state(None);
    let message = doc
        .sync()
        .generate_sync_message(&mut state)
        .expect("a first message");
    message.encode()
}

/// A raw DEFLATE stream of `mib` MiB of zeros, made without holding them.
fn deflated_zeros(mib: usize) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..mib {
        e.write_all(&zeros).unwrap();
    }
    e.finish().unwrap()
}

/// An Automerge chunk of `kind` (0 document, 2 compressed change) around
/// `body`; the checksum is not what Automerge would compute (it checks it
/// only after inflating).
fn chunk(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut c = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, kind];
    uleb(&mut c, body.len() as u64);
    c.extend_from_slice(body);
    c
}

/// A document chunk's body: one actor, no heads, no change columns, one
/// op column (the raw values, DEFLATE-compressed) holding `column`.
fn document_body_with_column(column: &[u8]) -> Vec<u8> {
    let mut b = vec![1, 16];
    b.extend_from_slice(&[7; 16]);
    b.push(0); // heads
    b.push(0); // change columns
    b.push(1); // op columns
    uleb(&mut b, (5 << 4) | 7 | 8);
    uleb(&mut b, column.len() as u64);
    b.extend_from_slice(column);
    b
}

/// A v1 sync message with no heads, needs or haves, carrying `changes`.
fn sync_message(changes: &[u8]) -> Vec<u8> {
    let mut m = vec![0x42, 0, 0, 0, 1];
    uleb(&mut m, changes.len() as u64);
    m.extend_from_slice(changes);
    m
}

fn uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn batch_of(entries: Vec<(DocId, Vec<u8>)>) -> Vec<u8> {
    Batch {
        cursor: 0,
        more: false,
        reads_items: false,
        entries: entries
            .into_iter()
            .map(|(doc, m)| BatchEntry {
                doc,
                body: EntryBody::Sync(m),
            })
            .collect(),
    }
    .encode()
}

/// POST a sync body; the status and the reply's refusal codes.
async fn post_sync(
    http: &reqwest::Client,
    addr: &str,
    token: &str,
    body: Vec<u8>,
) -> (u16, Vec<String>) {
    let r = http
        .post(format!("http://{addr}/api/v1/sync"))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap_or_default();
    let codes = Batch::decode(&bytes)
        .map(|b| {
            b.entries
                .into_iter()
                .filter_map(|e| match e.body {
                    EntryBody::Refused { code, .. } => Some(code),
                    EntryBody::Sync(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    (status, codes)
}

fn summary(codes: &[String]) -> String {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for c in codes {
        *counts.entry(c.as_str()).or_default() += 1;
    }
    format!("{counts:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abuse_is_refused_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bench, token, attacker_actor) = Bench::start(dir.path()).await;

    // Oversized bodies: refused from the declared length, before reading.
    let t = token.clone();
    bench
        .attack("sync body of 64 MiB declared", |addr, _| async move {
            let mut statuses = Vec::new();
            for _ in 0..20 {
                let mut s = TcpStream::connect(&addr).unwrap();
                write!(
                    s,
                    "POST /api/v1/sync HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {t}\r\ncontent-length: {}\r\n\r\n",
                    64 << 20
                )
                .unwrap();
                s.write_all(&[0u8; 4096]).unwrap();
                statuses.push(read_status(&mut s));
            }
            assert!(statuses.iter().all(|s| *s == Some(413)), "{statuses:?}");
            "20 × 413".into()
        })
        .await;
    bench
        .attack("JSON body of 1 MiB", |addr, http| async move {
            let r = http
                .post(format!("http://{addr}/api/v1/auth/login"))
                .header("content-type", "application/json")
                .body(vec![b' '; 1 << 20])
                .send()
                .await;
            // The server answers 413 without reading the rest and closes the
            // connection (`Connection: close`, so that no client reuses it);
            // a client still writing the body may see the close before the
            // answer (a broken pipe, once in CI). Either way it is refused.
            match r {
                Ok(r) => {
                    assert_eq!(r.status(), 413);
                    "413".into()
                }
                Err(e) if e.is_request() => format!("closed while sending ({e})"),
                Err(e) => panic!("{e:?}"),
            }
        })
        .await;

    // Many large bodies at once, each under the limit: the body budget
    // makes them wait instead of holding them all in memory.
    let t = token.clone();
    bench
        .attack(
            "40 sync bodies of 24 MiB at once",
            |addr, http| async move {
                let body = vec![0x4au8; 24 << 20];
                let mut tasks = Vec::new();
                for _ in 0..40 {
                    let (http, addr, t, body) =
                        (http.clone(), addr.clone(), t.clone(), body.clone());
                    tasks.push(tokio::spawn(async move {
                        http.post(format!("http://{addr}/api/v1/sync"))
                            .bearer_auth(t)
                            .body(body)
                            .send()
                            .await
                            .map(|r| r.status().as_u16())
                            .unwrap_or(0)
                    }));
                }
                let mut statuses = Vec::new();
                for t in tasks {
                    statuses.push(t.await.unwrap());
                }
                assert!(
                    statuses.iter().all(|s| (400..500).contains(s)),
                    "{statuses:?}"
                );
                format!("all 4xx ({})", statuses[0])
            },
        )
        .await;

    // Slow clients.
    let limit = Duration::from_secs(HEADER_TIMEOUT_SECS + 4);
    bench
        .attack("100 connections that say nothing", |addr, _| async move {
            trickle(&addr, 100, Vec::new(), Duration::from_millis(100), limit).await
        })
        .await;
    bench
        .attack(
            "100 connections sending headers a byte every 200 ms",
            |addr, _| async move {
                let head = format!(
                    "GET /healthz HTTP/1.1\r\nhost: {addr}\r\nx-padding: {}\r\n\r\n",
                    "a".repeat(200)
                );
                trickle(
                    &addr,
                    100,
                    head.into_bytes(),
                    Duration::from_millis(200),
                    limit,
                )
                .await
            },
        )
        .await;
    let t = token.clone();
    let body_limit = Duration::from_secs(REQUEST_TIMEOUT_SECS + 4);
    bench
        .attack("50 sync bodies sent a byte every 200 ms", |addr, _| async move {
            let mut head = format!(
                "POST /api/v1/sync HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {t}\r\ncontent-length: 100000\r\n\r\n"
            )
            .into_bytes();
            head.extend(std::iter::repeat_n(0u8, 1000));
            // The head goes at once; the body trickles.
            let mut tasks = Vec::new();
            for _ in 0..50 {
                let (addr, head) = (addr.clone(), head.clone());
                tasks.push(tokio::task::spawn_blocking(move || {
                    let mut s = TcpStream::connect(&addr).unwrap();
                    let cut = head.len() - 1000;
                    s.write_all(&head[..cut]).unwrap();
                    s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
                    let started = Instant::now();
                    let mut probe = [0u8; 256];
                    for b in &head[cut..] {
                        if started.elapsed() > body_limit {
                            return None;
                        }
                        if s.write_all(std::slice::from_ref(b)).is_err() {
                            return Some(started.elapsed());
                        }
                        std::thread::park_timeout(Duration::from_millis(200));
                        match s.read(&mut probe) {
                            Ok(_) => return Some(started.elapsed()),
                            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                            Err(_) => return Some(started.elapsed()),
                        }
                    }
                    None
                }));
            }
            let mut last = Duration::ZERO;
            for t in tasks {
                let closed = t.await.unwrap().expect("a slow body was still being read after the request timeout");
                last = last.max(closed);
            }
            format!("50 answered (408) or closed, the last after {:.1} s", last.as_secs_f64())
        })
        .await;

    // A flood of logins: limited per account and per address, argon2 one
    // per core, so memory stays bounded.
    bench
        .attack(
            "300 logins with wrong passwords, 16 at once",
            |addr, http| async move {
                let mut tasks = Vec::new();
                for i in 0..300 {
                    let (http, addr) = (http.clone(), addr.clone());
                    tasks.push(tokio::spawn(async move {
                        http.post(format!("http://{addr}/api/v1/auth/login"))
                            .json(&serde_json::json!({
                                "login": if i % 2 == 0 { "u1" } else { "s1" },
                                "password": "guess-0000", "device_id": format!("d{i}"),
                                "device_name": "flood", "actors": [],
                            }))
                            .send()
                            .await
                            .map(|r| r.status().as_u16())
                            .unwrap_or(0)
                    }));
                    if tasks.len() >= 16 {
                        let t = tasks.remove(0);
                        let _ = t.await;
                    }
                }
                let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
                for t in tasks {
                    *statuses.entry(t.await.unwrap()).or_default() += 1;
                }
                let r = http
                    .post(format!("http://{addr}/api/v1/auth/login"))
                    .json(&serde_json::json!({
                        "login": "u1", "password": "guess-0000", "device_id": "last",
                        "device_name": "flood", "actors": [],
                    }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 429, "the flood is rate limited");
                format!("rate limited (last 16: {statuses:?})")
            },
        )
        .await;

    // Sync batches: more documents than a batch may hold; the most it may
    // hold, each with a garbage message; one message larger than allowed;
    // one huge garbage message within the limit.
    let day = |d: u32| {
        DocId::diary(
            &UserId::parse("u1").unwrap(),
            NaiveDate::from_ymd_opt(2026, 10, 1 + d % 28).unwrap(),
        )
    };
    let t = token.clone();
    bench
        .attack("batch of 5,001 documents", |addr, http| async move {
            let entries = (0..5_001)
                .map(|i| {
                    (
                        DocId::diary(
                            &UserId::parse("u1").unwrap(),
                            NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new(i),
                        ),
                        vec![1, 2, 3],
                    )
                })
                .collect();
            let (status, _) = post_sync(&http, &addr, &t, batch_of(entries)).await;
            assert_eq!(status, 400);
            "400".into()
        })
        .await;
    let t = token.clone();
    bench
        .attack(
            "batch of 5,000 documents with garbage messages",
            |addr, http| async move {
                let entries = (0..5_000)
                    .map(|i| {
                        (
                            DocId::diary(
                                &UserId::parse("u1").unwrap(),
                                NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new(i),
                            ),
                            vec![0x42, 1, 2, 3],
                        )
                    })
                    .collect();
                let (status, codes) = post_sync(&http, &addr, &t, batch_of(entries)).await;
                assert_eq!(status, 200);
                assert_eq!(codes.len(), 5_000, "every document is refused");
                summary(&codes)
            },
        )
        .await;
    let t = token.clone();
    bench
        .attack("one message of 9 MiB", |addr, http| async move {
            let (status, _) = post_sync(
                &http,
                &addr,
                &t,
                batch_of(vec![(day(0), vec![0x42; 9 << 20])]),
            )
            .await;
            assert_eq!(status, 400);
            "400".into()
        })
        .await;
    let t = token.clone();
    bench
        .attack("three garbage messages of 8 MiB", |addr, http| async move {
            let m = vec![0x42; 8 << 20];
            let (status, codes) = post_sync(
                &http,
                &addr,
                &t,
                batch_of((0..3).map(|i| (day(i), m.clone())).collect()),
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(codes.len(), 3);
            summary(&codes)
        })
        .await;

    // Documents built to be costly, by the attacker's own registered actor
    // on the attacker's own documents (what a stolen phone could send).
    let t = token.clone();
    let a = attacker_actor.clone();
    bench
        .attack(
            "maps nested 5,000 deep in an entry",
            |addr, http| async move {
                let id = day(10);
                let m = crafted_message(&id, &a, |doc| {
                    let entries = doc.get(ROOT, "entries").unwrap().unwrap().1;
                    let mut obj = doc.put_object(&entries, "deep", ObjType::Map).unwrap();
                    for _ in 0..5_000 {
                        obj = doc.put_object(&obj, "x", ObjType::Map).unwrap();
                    }
                });
                let (status, codes) = post_sync(&http, &addr, &t, batch_of(vec![(id, m)])).await;
                assert_eq!(status, 200);
                assert_eq!(codes, ["forbidden_change"], "refused");
                summary(&codes)
            },
        )
        .await;
    let t = token.clone();
    let a = attacker_actor.clone();
    bench
        .attack(
            "an entry text of 2,000,000 characters (a 2 kB message)",
            |addr, http| async move {
                let id = day(11);
                let m = crafted_message(&id, &a, |doc| {
                    let entries = doc.get(ROOT, "entries").unwrap().unwrap().1;
                    let e = doc.put_object(&entries, "e1", ObjType::Map).unwrap();
                    let text = doc.put_object(&e, "text", ObjType::Text).unwrap();
                    doc.splice_text(&text, 0, 0, &"a".repeat(2_000_000))
                        .unwrap();
                });
                eprintln!("  (message of {} bytes)", m.len());
                // The operations are counted from the columns' runs before
                // Automerge applies any (before: 6 s and 989 MiB).
                let (status, codes) = post_sync(&http, &addr, &t, batch_of(vec![(id, m)])).await;
                assert_eq!(status, 200);
                assert_eq!(codes, ["too_large"], "refused before loading");
                summary(&codes)
            },
        )
        .await;
    let t = token.clone();
    let a = attacker_actor.clone();
    bench
        .attack("200,000 keys in one entry", |addr, http| async move {
            let id = day(12);
            let m = crafted_message(&id, &a, |doc| {
                let entries = doc.get(ROOT, "entries").unwrap().unwrap().1;
                let e = doc.put_object(&entries, "e1", ObjType::Map).unwrap();
                for i in 0..200_000 {
                    doc.put(&e, format!("k{i}"), i as i64).unwrap();
                }
            });
            eprintln!("  (message of {} bytes)", m.len());
            let (status, codes) = post_sync(&http, &addr, &t, batch_of(vec![(id, m)])).await;
            assert_eq!(status, 200);
            assert_eq!(codes, ["too_large"], "refused before loading");
            summary(&codes)
        })
        .await;

    // Decompression bombs: DEFLATE data that Automerge inflated whole
    // before any check (issue 23: 256 MiB from a 261 kB message).
    let t = token.clone();
    bench
        .attack(
            "a compressed change of zeros inflating to 256 MiB (a 261 kB message)",
            |addr, http| async move {
                let m = sync_message(&chunk(2, &deflated_zeros(256)));
                eprintln!("  (message of {} bytes)", m.len());
                let (status, codes) =
                    post_sync(&http, &addr, &t, batch_of(vec![(day(13), m)])).await;
                assert_eq!(status, 200);
                assert_eq!(codes, ["too_large"], "refused after 8 MiB inflated");
                summary(&codes)
            },
        )
        .await;
    let t = token.clone();
    bench
        .attack(
            "a document chunk with one column inflating to 757 MiB",
            |addr, http| async move {
                let m = sync_message(&chunk(0, &document_body_with_column(&deflated_zeros(757))));
                eprintln!("  (message of {} bytes)", m.len());
                let (status, codes) =
                    post_sync(&http, &addr, &t, batch_of(vec![(day(14), m)])).await;
                assert_eq!(status, 200);
                assert_eq!(codes, ["too_large"], "refused after 8 MiB inflated");
                summary(&codes)
            },
        )
        .await;
    // The 8 MiB body: 128 messages of 64 kB, each a compressed change
    // inflating to 64 MiB (8 GiB in all). The request's inflation budget
    // (32 MiB) is spent by the first few; the rest are deferred unread.
    let t = token.clone();
    bench
        .attack(
            "an 8 MiB body of 128 compressed changes inflating to 64 MiB each",
            |addr, http| async move {
                let m = sync_message(&chunk(2, &deflated_zeros(64)));
                let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
                let body = batch_of(
                    (0..128u64)
                        .map(|i| {
                            let d = start + chrono::Days::new(i);
                            (DocId::diary(&UserId::parse("u1").unwrap(), d), m.clone())
                        })
                        .collect(),
                );
                eprintln!("  (body of {} bytes)", body.len());
                let (status, codes) = post_sync(&http, &addr, &t, body).await;
                assert_eq!(status, 200);
                assert_eq!(codes.len(), 128);
                assert!(
                    codes.iter().all(|c| c == "too_large" || c == "deferred"),
                    "{codes:?}"
                );
                summary(&codes)
            },
        )
        .await;
    let eight_mib = bench.figures.last().expect("the 8 MiB attack");
    assert!(
        eight_mib.rise_mib <= 64.0,
        "a hostile 8 MiB body raised the server by {:.0} MiB",
        eight_mib.rise_mib
    );
    assert!(
        eight_mib.cpu_seconds <= 1.0,
        "a hostile 8 MiB body cost {:.2} s of CPU",
        eight_mib.cpu_seconds
    );
    let t = token.clone();
    bench
        .attack(
            "a have-entry's bloom filter asking 4 billion probes per hash",
            |addr, http| async move {
                // heads 0, need 0, one have (no hashes, a bloom of 1 entry,
                // 10 bits each, 2^32 - 1 probes), no changes.
                let mut m = vec![0x42, 0, 0, 1, 0];
                let bloom = [1u8, 10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff];
                m.push(bloom.len() as u8);
                m.extend(bloom);
                m.push(0);
                let (status, codes) =
                    post_sync(&http, &addr, &t, batch_of(vec![(day(15), m)])).await;
                assert_eq!(status, 200);
                assert_eq!(codes, ["bad_message"]);
                summary(&codes)
            },
        )
        .await;

    eprintln!("{}", bench.table());
    let worst = bench.figures.iter().map(|f| f.peak_mib).fold(0.0, f64::max);
    assert!(
        worst < 400.0,
        "the server's memory grew to {worst:.0} MiB under attack"
    );
}

// ---- photos ------------------------------------------------------------------

/// Upload `bytes` through the resumable protocol in chunks of 512 KiB: the
/// final status and error code.
async fn upload_photo(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    bytes: &[u8],
) -> (u16, String) {
    let (status, body) = jishi_tests::upload::upload(http, base, token, bytes, 512 << 10)
        .await
        .expect("the server answers the upload");
    (status, body["code"].as_str().unwrap_or("").to_owned())
}

/// Upload every file at once; the answers in order.
async fn uploads_at_once(
    http: &reqwest::Client,
    addr: &str,
    token: &str,
    files: Vec<Vec<u8>>,
) -> Vec<(u16, String)> {
    let tasks: Vec<_> = files
        .into_iter()
        .map(|file| {
            let (http, base, token) = (http.clone(), format!("http://{addr}"), token.to_owned());
            tokio::spawn(async move { upload_photo(&http, &base, &token, &file).await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

/// A photo of 40 megapixels (7,296 x 5,472; the limit is 40,000,000
/// pixels) that compresses to about a megabyte: four coloured quarters,
/// split at `split`.
fn forty_megapixels(split: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(7296, 5472, |x, y| {
        image::Rgb(match (x < split, y < 2736) {
            (true, true) => [200, 30, 30],
            (false, true) => [30, 200, 30],
            (true, false) => [30, 30, 200],
            (false, false) => [240, 240, 240],
        })
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&img)
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_bombs_are_refused_and_image_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bench, token, _) = Bench::start(dir.path()).await;
    let started_mib = bench.server.rss_mib();

    // PNG metadata bombs: refused before anything inflates them (a 530 kB
    // PNG had raised the server by 290 MiB, four at once to 450-640 MiB).
    let bomb = png_metadata_bomb(b"iCCP", 512 << 20, 1);
    let t = token.clone();
    bench
        .attack(
            "a PNG whose iCCP chunk inflates to 512 MiB (a 522 kB file)",
            |addr, http| async move {
                eprintln!("  (file of {} bytes)", bomb.len());
                let base = format!("http://{addr}");
                let (status, code) = upload_photo(&http, &base, &t, &bomb).await;
                assert_eq!((status, code.as_str()), (400, "metadata_too_large"));
                format!("{status} {code}")
            },
        )
        .await;
    let bombs: Vec<Vec<u8>> = (0..4u8)
        .map(|i| {
            png_metadata_bomb(
                if i % 2 == 0 { b"iCCP" } else { b"zTXt" },
                512 << 20,
                10 + i,
            )
        })
        .collect();
    let t = token.clone();
    bench
        .attack(
            "four such PNGs at once (iCCP and zTXt)",
            |addr, http| async move {
                let answers = uploads_at_once(&http, &addr, &t, bombs).await;
                assert!(
                    answers
                        .iter()
                        .all(|(s, c)| *s == 400 && c == "metadata_too_large"),
                    "{answers:?}"
                );
                "all 400 metadata_too_large".to_owned()
            },
        )
        .await;
    for f in &bench.figures {
        assert!(
            f.rise_mib <= 32.0,
            "{}: the server rose by {:.0} MiB",
            f.attack,
            f.rise_mib
        );
    }

    // Four 40-megapixel photos at once: each check holds about 125 MiB of
    // the 256 MiB image budget, so no more than two run at once.
    let photos: Vec<Vec<u8>> = (0..4).map(|i| forty_megapixels(3000 + 200 * i)).collect();
    let t = token.clone();
    bench
        .attack(
            "four 40-megapixel photos at once",
            |addr, http| async move {
                eprintln!("  (files of {} bytes)", photos[0].len());
                let answers = uploads_at_once(&http, &addr, &t, photos).await;
                assert!(answers.iter().all(|(s, _)| *s == 201), "{answers:?}");
                "all 201, checked within the budget".to_owned()
            },
        )
        .await;
    let big = bench.figures.last().expect("the 40-megapixel attack");
    assert!(
        big.peak_mib <= started_mib + 256.0 + 64.0,
        "image work grew the server to {:.0} MiB",
        big.peak_mib
    );
    eprintln!("{}", bench.table());
}
