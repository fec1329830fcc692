//! Phones syncing through a bad network (docs/guarantees.md, claim 2): a
//! TCP proxy on loopback limits bandwidth, adds latency, cuts every
//! connection at random moments (mid-request and mid-response) and drops
//! replies after the server committed. The phone retries until its sync
//! finishes; the server and the phones end with every entry exactly once.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rand::Rng;
use sync_core::document::{Category, EntryFields, NightKind, Record};
use sync_core::replica::Replica;
use sync_core::validate::TimeOfDay;
use sync_core::{DocId, Edit, EditContext, ItemId, Role, UserId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use jishi_tests::phone::{sync_session, SyncFailure};
use jishi_tests::{on_both_databases, Db, TestApp};

/// How bad the network is.
#[derive(Clone, Copy)]
struct Profile {
    bytes_per_sec: u64,
    one_way: Duration,
    /// Mean time between cuts of every open connection.
    cut_every: Duration,
    /// Chance that a connection's reply is dropped once the server answers.
    drop_reply: f64,
}

/// The 2G figures of issue 8: 50 kbit/s, 600 ms round trip, a cut every
/// 30 s; one reply in five lost after the server committed.
const TWO_G: Profile = Profile {
    bytes_per_sec: 50_000 / 8,
    one_way: Duration::from_millis(300),
    cut_every: Duration::from_secs(30),
    drop_reply: 0.2,
};

#[derive(Default)]
struct Counts {
    connections: AtomicU64,
    cuts: AtomicU64,
    dropped_replies: AtomicU64,
}

struct Proxy {
    addr: SocketAddr,
    counts: Arc<Counts>,
}

/// Forward `from` to `to` at the profile's speed, each burst delayed by the
/// one-way latency. `drop_reply`: close at the first byte instead.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    profile: Profile,
    drop_reply: bool,
    counts: Arc<Counts>,
) {
    let mut buf = vec![0u8; 512];
    let mut last = Instant::now() - Duration::from_secs(1);
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if drop_reply {
            counts.dropped_replies.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if last.elapsed() > Duration::from_millis(50) {
            tokio::time::sleep(profile.one_way).await;
        }
        let pace = Duration::from_secs_f64(n as f64 / profile.bytes_per_sec as f64);
        tokio::time::sleep(pace).await;
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        last = Instant::now();
    }
}

async fn connection(
    inbound: TcpStream,
    upstream: SocketAddr,
    profile: Profile,
    mut cut: watch::Receiver<u64>,
    counts: Arc<Counts>,
) {
    let Ok(outbound) = TcpStream::connect(upstream).await else {
        return;
    };
    let drop_reply = rand::rng().random_bool(profile.drop_reply);
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    tokio::select! {
        _ = pump(in_read, out_write, profile, false, counts.clone()) => {}
        _ = pump(out_read, in_write, profile, drop_reply, counts.clone()) => {}
        _ = cut.changed() => {
            counts.cuts.fetch_add(1, Ordering::Relaxed);
        }
    }
    // Both sockets are dropped here: the connection is gone mid-whatever.
}

async fn start_proxy(upstream: SocketAddr, profile: Profile) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Arc::new(Counts::default());
    let (cut_tx, cut_rx) = watch::channel(0u64);
    tokio::spawn(async move {
        let mut generation = 0;
        loop {
            // Exponential gaps with the profile's mean.
            let u: f64 = rand::rng().random_range(0.01..1.0);
            let gap = profile.cut_every.mul_f64(-u.ln());
            tokio::time::sleep(gap).await;
            generation += 1;
            if cut_tx.send(generation).is_err() {
                return;
            }
        }
    });
    let c = counts.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            c.connections.fetch_add(1, Ordering::Relaxed);
            let mut cut = cut_rx.clone();
            cut.mark_unchanged();
            tokio::spawn(connection(inbound, upstream, profile, cut, c.clone()));
        }
    });
    Proxy { addr, counts }
}

fn user(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

fn ctx(u: &str) -> EditContext {
    EditContext {
        user: user(u),
        role: Role::Cadre,
        now_ms: 1_763_870_400_000,
    }
}

/// A week of a cadre's records written offline: three entries a day and a
/// night activity; returns the entry texts by diary.
fn write_week(phone: &mut Replica, u: &str, tag: &str) -> Vec<(DocId, String)> {
    let mut written = Vec::new();
    for d in 16..=22 {
        let day = NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let diary = DocId::diary(&user(u), day);
        for (i, time) in ["08:30", "10:40", "15:10"].iter().enumerate() {
            let text = format!(
                "{tag}第{d}日第{i}条：入户走访脱贫户，了解产业发展和务工收入情况，宣传医保政策，收集群众反映的道路维修问题并登记交办。"
            );
            let edit = Edit::AddEntry {
                id: ItemId::random(),
                fields: EntryFields {
                    time: TimeOfDay::parse(time).unwrap(),
                    category: Category::Visit,
                    place: "青山村三组".into(),
                    text: text.clone(),
                    households: 3,
                    location: None,
                },
            };
            phone.edit(&diary, &edit, &ctx(u)).unwrap();
            written.push((diary.clone(), text));
        }
        let night = DocId::night(&user(u), day);
        let activity = Edit::AddActivity {
            id: ItemId::random(),
            fields: sync_core::document::ActivityFields {
                kind: NightKind::Visit,
                start: TimeOfDay::parse("19:30").unwrap(),
                end: Some(TimeOfDay::parse("21:00").unwrap()),
                place: "青山村村委会".into(),
                households: 5,
                issues: format!("{tag}：群众反映灌溉水渠堵塞"),
                help: "联系水利站安排清淤".into(),
            },
        };
        phone.edit(&night, &activity, &ctx(u)).unwrap();
    }
    written
}

/// Sync until a whole session finishes; returns the attempts it took.
async fn sync_until_done(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    phone: &mut Replica,
) -> u32 {
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(attempts <= 300, "the phone never finished syncing");
        // A cut request or reply (a cut reply never decodes as a whole
        // batch) is tried again; the phone's own failure is not.
        match sync_session(http, base, phone, token).await {
            Ok(done) if done.problems.is_empty() => return attempts,
            Ok(_)
            | Err(SyncFailure::Network(_))
            | Err(SyncFailure::Status(_))
            | Err(SyncFailure::Undecodable(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn diary_texts(r: Option<Record>) -> Vec<String> {
    match r {
        Some(Record::Diary(d)) => d.entries.into_iter().map(|e| e.text).collect(),
        other => panic!("expected a diary, got {other:?}"),
    }
}

async fn server_texts(app: &TestApp, id: &DocId) -> Vec<String> {
    let docs = app
        .state
        .store
        .load_documents(&[id.to_string()])
        .await
        .unwrap();
    let bytes = docs.get(&id.to_string()).expect("on the server");
    diary_texts(Some(
        sync_core::Document::load(id.clone(), &bytes.bytes, &sync_core::Actor::random())
            .unwrap()
            .read(),
    ))
}

/// Two phones of one cadre, each writing weeks offline, sync at once
/// through a harsh network: 40 kB/s, cuts about every second, half the
/// replies lost after the server committed.
async fn cuts_and_lost_replies(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let upstream: SocketAddr = app.url("").trim_start_matches("http://").parse().unwrap();
    let proxy = start_proxy(
        upstream,
        Profile {
            bytes_per_sec: 40_000,
            one_way: Duration::from_millis(40),
            cut_every: Duration::from_millis(1_000),
            drop_reply: 0.5,
        },
    )
    .await;
    let base = format!("http://{}", proxy.addr);
    let mut a = Replica::open(&app.dir.path().join("a.db")).unwrap();
    let mut b = Replica::open(&app.dir.path().join("b.db")).unwrap();
    let sa = app.login("u1", "phone-a", &[a.actor().to_hex()]).await;
    let sb = app.login("u1", "phone-b", &[b.actor().to_hex()]).await;
    let http = http();
    let mut written = Vec::new();
    let (mut na, mut nb) = (0, 0);
    // Two rounds: both phones write a week offline, then sync at once.
    for round in 0..2 {
        written.extend(write_week(&mut a, "u1", &format!("甲{round}")));
        written.extend(write_week(&mut b, "u1", &format!("乙{round}")));
        let (ra, rb) = tokio::join!(
            sync_until_done(&http, &base, &sa.access, &mut a),
            sync_until_done(&http, &base, &sb.access, &mut b),
        );
        na += ra;
        nb += rb;
    }
    // Once more each, so each has what the other sent.
    sync_until_done(&http, &base, &sa.access, &mut a).await;
    sync_until_done(&http, &base, &sb.access, &mut b).await;
    let mut by_doc: std::collections::BTreeMap<DocId, Vec<String>> = Default::default();
    for (doc, text) in written {
        by_doc.entry(doc).or_default().push(text);
    }
    for (doc, mut expected) in by_doc {
        expected.sort();
        let mut on_server = server_texts(&app, &doc).await;
        on_server.sort();
        assert_eq!(on_server, expected, "{doc}: every entry exactly once");
        for phone in [&mut a, &mut b] {
            let mut on_phone = diary_texts(phone.record(&doc).unwrap());
            on_phone.sort();
            assert_eq!(on_phone, expected, "{doc}: the phone agrees");
        }
    }
    assert!(a.pending_docs().unwrap().is_empty() && b.pending_docs().unwrap().is_empty());
    let c = &proxy.counts;
    eprintln!(
        "bad network: attempts {na} and {nb}; {} connections, {} cut, {} replies dropped after commit",
        c.connections.load(Ordering::Relaxed),
        c.cuts.load(Ordering::Relaxed),
        c.dropped_replies.load(Ordering::Relaxed)
    );
}
on_both_databases!(
    cuts_and_replies_lost_after_commit_lose_nothing_and_duplicate_nothing,
    cuts_and_lost_replies
);

/// A week's backlog over 2G: how long until it is all on the server.
#[tokio::test]
async fn a_week_of_backlog_syncs_over_2g() {
    let app = TestApp::spawn(Db::Sqlite).await;
    app.seed().await;
    let upstream: SocketAddr = app.url("").trim_start_matches("http://").parse().unwrap();
    let proxy = start_proxy(upstream, TWO_G).await;
    let base = format!("http://{}", proxy.addr);
    let mut phone = Replica::open(&app.dir.path().join("p.db")).unwrap();
    let s = app.login("u1", "phone", &[phone.actor().to_hex()]).await;
    let written = write_week(&mut phone, "u1", "本周");
    let started = Instant::now();
    let attempts = sync_until_done(&http(), &base, &s.access, &mut phone).await;
    let took = started.elapsed();
    for (doc, text) in &written {
        assert!(server_texts(&app, doc).await.contains(text));
    }
    let c = &proxy.counts;
    eprintln!(
        "2G (50 kbit/s, 600 ms RTT, cut every 30 s, 20% replies lost): a week's backlog \
         (7 diaries of 3 entries, 7 night logs) on the server in {:.1} s, {attempts} attempts, \
         {} connections, {} cut, {} replies dropped",
        took.as_secs_f64(),
        c.connections.load(Ordering::Relaxed),
        c.cuts.load(Ordering::Relaxed),
        c.dropped_replies.load(Ordering::Relaxed)
    );
}
