//! Phones and web clients syncing through the real server.

use automerge::transaction::Transactable;
use automerge::ReadDoc;
use chrono::NaiveDate;
use sync_core::document::{Category, EntryFields, Record, TextTarget};
use sync_core::memory::MemoryReplica;
use sync_core::replica::Replica;
use sync_core::session::ClientStore;
use sync_core::validate::TimeOfDay;
use sync_core::{Actor, DocId, Document, Edit, EditContext, ItemId, Role, UserId};

use jishi_tests::{on_both_databases, Db, TestApp};

fn user(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}
fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}
fn ctx(u: &str, role: Role) -> EditContext {
    EditContext {
        user: user(u),
        role,
        now_ms: 1_763_870_400_000,
    }
}
pub(crate) fn entry(text: &str) -> Edit {
    Edit::AddEntry {
        id: ItemId::random(),
        fields: EntryFields {
            time: TimeOfDay::parse("09:00").unwrap(),
            category: Category::Visit,
            place: "青山村".into(),
            text: text.into(),
            households: 2,
            location: None,
        },
    }
}
fn diary(r: Option<Record>) -> sync_core::document::Diary {
    match r {
        Some(Record::Diary(d)) => d,
        other => panic!("expected a diary, got {other:?}"),
    }
}
fn actors(a: &Actor) -> Vec<String> {
    vec![a.to_hex()]
}

async fn server_record(app: &TestApp, id: &DocId) -> Option<Record> {
    let docs = app
        .state
        .store
        .load_documents(&[id.to_string()])
        .await
        .unwrap();
    docs.get(&id.to_string()).map(|b| {
        Document::load(id.clone(), &b.bytes, &Actor::random())
            .unwrap()
            .read()
    })
}

async fn two_phones(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut a = Replica::open(&app.dir.path().join("a.db")).unwrap();
    let mut b = Replica::open(&app.dir.path().join("b.db")).unwrap();
    let sa = app.login("u1", "phone-a", &actors(a.actor())).await;
    let sb = app.login("u1", "phone-b", &actors(b.actor())).await;
    let id = DocId::diary(&user("u1"), day(23));
    // Both phones start the same day offline.
    a.edit(&id, &entry("上午走访"), &ctx("u1", Role::Cadre))
        .unwrap();
    b.edit(&id, &entry("下午开会"), &ctx("u1", Role::Cadre))
        .unwrap();
    b.edit(
        &id,
        &Edit::SetText {
            target: TextTarget::Summary,
            text: "小结".into(),
        },
        &ctx("u1", Role::Cadre),
    )
    .unwrap();
    let (stats, problems) = app.sync(&mut a, &sa.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(stats.round_trips, 1, "{stats:?}");
    let (stats, problems) = app.sync(&mut b, &sb.access).await;
    assert!(
        problems.is_empty() && stats.round_trips <= 3,
        "{stats:?} {problems:?}"
    );
    let (_, problems) = app.sync(&mut a, &sa.access).await;
    assert!(problems.is_empty());

    let ra = diary(a.record(&id).unwrap());
    let rb = diary(b.record(&id).unwrap());
    assert_eq!(ra, rb);
    assert_eq!(ra.entries.len(), 2);
    assert_eq!(ra.summary, "小结");
    assert_eq!(diary(server_record(&app, &id).await), ra);
    assert!(a.pending_docs().unwrap().is_empty() && b.pending_docs().unwrap().is_empty());
    // The change log knows which device sent what.
    let log = app.state.store.change_log(&id.to_string()).await.unwrap();
    let devices: std::collections::BTreeSet<_> = log.iter().map(|r| r.device_id.as_str()).collect();
    assert_eq!(devices, ["phone-a", "phone-b"].into());
    assert!(log.iter().all(|r| r.user_id == "u1"));
}
on_both_databases!(two_phones_of_one_cadre_converge, two_phones);

/// Two phones of one cadre syncing the same day at the same moment: each
/// round both are told their entry was accepted, so the server must hold
/// both afterwards (no request overwrites what the other merged).
async fn concurrent_syncs(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut a = Replica::open(&app.dir.path().join("a.db")).unwrap();
    let mut b = Replica::open(&app.dir.path().join("b.db")).unwrap();
    let sa = app.login("u1", "phone-a", &actors(a.actor())).await;
    let sb = app.login("u1", "phone-b", &actors(b.actor())).await;
    let id = DocId::diary(&user("u1"), day(23));
    for round in 1..=25 {
        a.edit(&id, &entry(&format!("甲{round}")), &ctx("u1", Role::Cadre))
            .unwrap();
        b.edit(&id, &entry(&format!("乙{round}")), &ctx("u1", Role::Cadre))
            .unwrap();
        let ((_, pa), (_, pb)) =
            tokio::join!(app.sync(&mut a, &sa.access), app.sync(&mut b, &sb.access));
        assert!(pa.is_empty() && pb.is_empty(), "{pa:?} {pb:?}");
        let on_server = diary(server_record(&app, &id).await).entries.len();
        assert_eq!(
            on_server,
            2 * round,
            "round {round}: an accepted entry was lost"
        );
    }
}
on_both_databases!(
    concurrent_syncs_of_one_document_lose_nothing,
    concurrent_syncs
);

async fn supervisor_comment(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut phone = Replica::open(&app.dir.path().join("p.db")).unwrap();
    let sp = app.login("u1", "phone", &actors(phone.actor())).await;
    let id = DocId::diary(&user("u1"), day(20));
    phone
        .edit(&id, &entry("入户走访"), &ctx("u1", Role::Cadre))
        .unwrap();
    app.sync(&mut phone, &sp.access).await;

    // The supervisor's client learns of the diary through its cursor.
    let mut web = MemoryReplica::new(Actor::random());
    let sw = app.login("s1", "web-s1", &actors(&web.actor())).await;
    let (stats, _) = app.sync(&mut web, &sw.access).await;
    assert!(stats.docs_received >= 1, "{stats:?}");
    let c = ItemId::random();
    web.edit(
        &id,
        &Edit::AddComment {
            id: c.clone(),
            on: None,
            text: "请补充照片".into(),
        },
        &ctx("s1", Role::Supervisor),
    )
    .unwrap();
    let (_, problems) = app.sync(&mut web, &sw.access).await;
    assert!(problems.is_empty(), "{problems:?}");

    let (stats, problems) = app.sync(&mut phone, &sp.access).await;
    assert!(problems.is_empty() && stats.round_trips <= 3, "{stats:?}");
    let d = diary(phone.record(&id).unwrap());
    assert_eq!(d.comments.len(), 1);
    assert_eq!(
        (d.comments[0].author.as_str(), d.comments[0].text.as_str()),
        ("s1", "请补充照片")
    );
}
on_both_databases!(a_supervisors_comment_reaches_the_phone, supervisor_comment);

async fn forged_actor(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut phone = MemoryReplica::new(Actor::random());
    // Logged in without registering the actor it writes with.
    let s = app.login("u1", "phone", &[Actor::random().to_hex()]).await;
    let id = DocId::diary(&user("u1"), day(21));
    phone
        .edit(&id, &entry("伪造"), &ctx("u1", Role::Cadre))
        .unwrap();
    let (_, problems) = app.sync(&mut phone, &s.access).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].code, "forbidden_change");
    assert!(
        problems[0].message.contains("not registered"),
        "{}",
        problems[0].message
    );
    assert!(
        server_record(&app, &id).await.is_none(),
        "nothing of a refused document is stored"
    );
    assert!(app
        .state
        .store
        .change_log(&id.to_string())
        .await
        .unwrap()
        .is_empty());
    let events = app
        .state
        .store
        .security_events("forbidden_change")
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "u1");
    assert!(
        phone.pending().unwrap().contains(&id),
        "the phone keeps its unsynced edit"
    );
}
on_both_databases!(a_forged_actor_is_refused_with_nothing_stored, forged_actor);

/// A raw Automerge write, as a hostile or buggy client could send it.
fn raw_write(doc: &mut Document, f: impl FnOnce(&mut automerge::AutoCommit)) {
    f(doc.automerge_mut());
    doc.automerge_mut().commit();
}

async fn forbidden_paths(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut phone = Replica::open(&app.dir.path().join("p.db")).unwrap();
    let sp = app.login("u1", "phone", &actors(phone.actor())).await;
    let id = DocId::diary(&user("u1"), day(22));
    phone
        .edit(&id, &entry("原始记录"), &ctx("u1", Role::Cadre))
        .unwrap();
    app.sync(&mut phone, &sp.access).await;
    let original = server_record(&app, &id).await.unwrap();

    // Each attacker fetches the document, changes it in a forbidden way, syncs.
    struct Attempt {
        login: &'static str,
        role: Role,
        code: &'static str,
        change: fn(&mut automerge::AutoCommit),
    }
    let entries_text = |am: &mut automerge::AutoCommit| {
        let entries = am.get(automerge::ROOT, "entries").unwrap().unwrap().1;
        let (key, _) = am
            .map_range(&entries, ..)
            .map(|i| (i.key.to_string(), i.id()))
            .next()
            .unwrap();
        let e = am.get(&entries, key.as_str()).unwrap().unwrap().1;
        am.get(&e, "text").unwrap().unwrap().1
    };
    let attempts = [
        // A supervisor rewriting the cadre's words.
        Attempt {
            login: "s1",
            role: Role::Supervisor,
            code: "forbidden_change",
            change: |am| {
                let entries = am.get(automerge::ROOT, "entries").unwrap().unwrap().1;
                let key = am.map_range(&entries, ..).next().unwrap().key.to_string();
                let e = am.get(&entries, key.as_str()).unwrap().unwrap().1;
                am.put(&e, "place", "改写").unwrap();
            },
        },
        // The owner rewriting who owns the record.
        Attempt {
            login: "u1",
            role: Role::Cadre,
            code: "forbidden_change",
            change: |am| {
                am.put(automerge::ROOT, "owner", "u2").unwrap();
            },
        },
        // The owner removing an entry instead of marking it deleted.
        Attempt {
            login: "u1",
            role: Role::Cadre,
            code: "forbidden_change",
            change: |am| {
                let entries = am.get(automerge::ROOT, "entries").unwrap().unwrap().1;
                let key = am.map_range(&entries, ..).next().unwrap().key.to_string();
                am.delete(&entries, key.as_str()).unwrap();
            },
        },
        // A leader writing a comment in someone else's name.
        Attempt {
            login: "l1",
            role: Role::Leader,
            code: "forbidden_change",
            change: |am| {
                let comments = am.get(automerge::ROOT, "comments").unwrap().unwrap().1;
                let c = am
                    .put_object(&comments, "c-forged", automerge::ObjType::Map)
                    .unwrap();
                am.put(&c, "author", "s1").unwrap();
                am.put(&c, "role", "supervisor").unwrap();
                am.put(&c, "text", "冒名点评").unwrap();
            },
        },
        // A cadre of another township writing into this diary.
        Attempt {
            login: "u2",
            role: Role::Cadre,
            code: "not_found",
            change: |am| {
                am.put(automerge::ROOT, "stayed_overnight", true).unwrap();
            },
        },
    ];
    let _ = entries_text;
    for (n, attempt) in attempts.iter().enumerate() {
        let mut client = MemoryReplica::new(Actor::random());
        let s = app
            .login(attempt.login, &format!("dev-{n}"), &actors(&client.actor()))
            .await;
        let mut doc = match attempt.code {
            // An outsider cannot fetch it; it forges from the genesis.
            "not_found" => Document::create(id.clone(), &client.actor()),
            _ => {
                app.sync(&mut client, &s.access).await;
                client
                    .document(&id)
                    .unwrap()
                    .expect("the document reached this client")
            }
        };
        raw_write(&mut doc, attempt.change);
        client.insert_raw(doc);
        let (_, problems) = app.sync(&mut client, &s.access).await;
        assert_eq!(
            problems.len(),
            1,
            "attempt {n} ({}): {problems:?}",
            attempt.login
        );
        assert_eq!(
            problems[0].code, attempt.code,
            "attempt {n}: {}",
            problems[0].message
        );
        assert_eq!(
            server_record(&app, &id).await.unwrap(),
            original,
            "attempt {n} changed the stored record"
        );
        let _ = attempt.role;
    }
    assert_eq!(
        app.state
            .store
            .security_events("forbidden_change")
            .await
            .unwrap()
            .len(),
        4
    );
    // A comment in one's own name is fine.
    let mut web = MemoryReplica::new(Actor::random());
    let s = app.login("l1", "web-l1", &actors(&web.actor())).await;
    app.sync(&mut web, &s.access).await;
    web.edit(
        &id,
        &Edit::AddComment {
            id: ItemId::random(),
            on: None,
            text: "很好".into(),
        },
        &ctx("l1", Role::Leader),
    )
    .unwrap();
    let (_, problems) = app.sync(&mut web, &s.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(diary(server_record(&app, &id).await).comments.len(), 1);
}
on_both_databases!(forbidden_changes_are_refused_whole, forbidden_paths);

/// Issue 23, items 2, 3 and 5, over HTTP: the owner's own device writing
/// with Automerge's calls what the phone's typed edits never make. Each
/// is refused whole, the stored record stays as it was, and nothing else
/// of the request is lost.
async fn owner_writes_outside_the_schema(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut phone = Replica::open(&app.dir.path().join("p.db")).unwrap();
    let sp = app.login("u1", "phone", &actors(phone.actor())).await;
    let id = DocId::diary(&user("u1"), day(21));
    phone
        .edit(&id, &entry("原始记录"), &ctx("u1", Role::Cadre))
        .unwrap();
    phone
        .edit(
            &id,
            &Edit::SetText {
                target: sync_core::document::TextTarget::Summary,
                text: "今日小结".into(),
            },
            &ctx("u1", Role::Cadre),
        )
        .unwrap();
    app.sync(&mut phone, &sp.access).await;
    let original = server_record(&app, &id).await.unwrap();
    fn first_entry(am: &automerge::AutoCommit) -> (automerge::ObjId, String) {
        let entries = am.get(automerge::ROOT, "entries").unwrap().unwrap().1;
        let key = am.map_range(&entries, ..).next().unwrap().key.to_string();
        (entries, key)
    }
    fn entry_obj(am: &automerge::AutoCommit) -> automerge::ObjId {
        let (entries, key) = first_entry(am);
        am.get(&entries, key.as_str()).unwrap().unwrap().1
    }
    type Change = fn(&mut automerge::AutoCommit);
    let attempts: [(&str, &str, Change); 14] = [
        ("entries = {}", "fixed at creation", |am| {
            am.put_object(automerge::ROOT, "entries", automerge::ObjType::Map)
                .unwrap();
        }),
        ("entries = []", "fixed at creation", |am| {
            am.put_object(automerge::ROOT, "entries", automerge::ObjType::List)
                .unwrap();
        }),
        ("an entry replaced by a scalar", "must be a map", |am| {
            let (entries, key) = first_entry(am);
            am.put(&entries, key.as_str(), "x").unwrap();
        }),
        (
            "an entry replaced by an empty map",
            "already holds an item",
            |am| {
                let (entries, key) = first_entry(am);
                am.put_object(&entries, key.as_str(), automerge::ObjType::Map)
                    .unwrap();
            },
        ),
        (
            "the summary replaced by a scalar",
            "fixed at creation",
            |am| {
                am.put(automerge::ROOT, "summary", 0).unwrap();
            },
        ),
        (
            "the time as a text object (JS's default string)",
            "scalar string",
            |am| {
                let e = entry_obj(am);
                let t = am.put_object(&e, "time", automerge::ObjType::Text).unwrap();
                am.splice_text(&t, 0, 0, "08:00").unwrap();
            },
        ),
        ("households as a map", "must be a scalar", |am| {
            let e = entry_obj(am);
            am.put_object(&e, "households", automerge::ObjType::Map)
                .unwrap();
        }),
        ("households 1,000,000", "from 0 to 10000", |am| {
            let e = entry_obj(am);
            am.put(&e, "households", 1_000_000u64).unwrap();
        }),
        ("a place of 300 characters", "at most 200", |am| {
            let e = entry_obj(am);
            am.put(&e, "place", "村".repeat(300)).unwrap();
        }),
        ("NUL and ESC in the place", "control characters", |am| {
            let e = entry_obj(am);
            am.put(&e, "place", "a\u{0}\u{1b}b").unwrap();
        }),
        ("time 99:99", "HH:MM", |am| {
            let e = entry_obj(am);
            am.put(&e, "time", "99:99").unwrap();
        }),
        ("time 13812345670", "HH:MM", |am| {
            let e = entry_obj(am);
            am.put(&e, "time", "13812345670").unwrap();
        }),
        ("category bogus", "must be one of", |am| {
            let e = entry_obj(am);
            am.put(&e, "category", "bogus").unwrap();
        }),
        ("text under an unknown key", "no such field", |am| {
            let e = entry_obj(am);
            let t = am
                .put_object(&e, "notes", automerge::ObjType::Text)
                .unwrap();
            am.splice_text(&t, 0, 0, &"字".repeat(3_000)).unwrap();
        }),
    ];
    for (n, (what, says, change)) in attempts.into_iter().enumerate() {
        let mut client = MemoryReplica::new(Actor::random());
        let s = app
            .login("u1", &format!("dev-{n}"), &actors(&client.actor()))
            .await;
        app.sync(&mut client, &s.access).await;
        let mut doc = client.document(&id).unwrap().expect("the diary arrived");
        raw_write(&mut doc, change);
        client.insert_raw(doc);
        // A good change of another day in the same request is stored.
        let other = DocId::diary(&user("u1"), day(1 + n as u32));
        client
            .edit(
                &other,
                &entry("同一请求里的正常记录"),
                &ctx("u1", Role::Cadre),
            )
            .unwrap();
        let (_, problems) = app.sync(&mut client, &s.access).await;
        assert_eq!(problems.len(), 1, "{what}: {problems:?}");
        assert_eq!(problems[0].code, "forbidden_change", "{what}");
        assert!(
            problems[0].message.contains(says),
            "{what}: {}",
            problems[0].message
        );
        assert_eq!(server_record(&app, &id).await.unwrap(), original, "{what}");
        assert!(
            server_record(&app, &other).await.is_some(),
            "{what}: the good one"
        );
    }
    // Days to come: a diary the day after tomorrow, a plan of 2200.
    let today = sync_core::china::today();
    let later = [
        DocId::diary(&user("u1"), today + chrono::Days::new(2)),
        DocId::plan(&user("u1"), NaiveDate::from_ymd_opt(2200, 12, 1).unwrap()),
    ];
    let mut client = MemoryReplica::new(Actor::random());
    let s = app.login("u1", "dev-later", &actors(&client.actor())).await;
    for id in &later {
        client.insert_raw(Document::create(id.clone(), &client.actor()));
    }
    let (_, problems) = app.sync(&mut client, &s.access).await;
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems.iter().all(|p| p.code == "bad_date"),
        "{problems:?}"
    );
    for id in &later {
        assert_eq!(server_record(&app, id).await, None, "{id}");
    }
}
on_both_databases!(
    the_owner_cannot_erase_or_mistype_a_record,
    owner_writes_outside_the_schema
);

/// An entry holding `levels` maps one inside the other, a value in the
/// innermost: `levels` + 3 keys below the root.
fn nested_in_entry(am: &mut automerge::AutoCommit, levels: usize) {
    let entries = am.get(automerge::ROOT, "entries").unwrap().unwrap().1;
    let mut obj = am
        .put_object(&entries, "e1", automerge::ObjType::Map)
        .unwrap();
    for depth in 0..levels {
        obj = am
            .put_object(&obj, format!("level{depth}"), automerge::ObjType::Map)
            .unwrap();
    }
    am.put(&obj, "note", "藏在深处").unwrap();
}

/// A whole entry written with Automerge's own calls, as another
/// implementation would from `docs/sync-protocol.md`: every field with
/// its type, a photo with its location (the deepest path the schema has,
/// five keys below the root).
pub fn raw_entry(am: &mut automerge::AutoCommit, id: &str) {
    use automerge::ObjType;
    let entries = am.get(automerge::ROOT, "entries").unwrap().unwrap().1;
    let e = am.put_object(&entries, id, ObjType::Map).unwrap();
    am.put(&e, "schema", 1u64).unwrap();
    am.put(&e, "created_at", 1_764_000_000_000i64).unwrap();
    am.put(&e, "updated_at", 1_764_000_000_000i64).unwrap();
    am.put(&e, "deleted", false).unwrap();
    am.put(&e, "time", "08:30").unwrap();
    am.put(&e, "category", "visit").unwrap();
    am.put(&e, "place", "青山村").unwrap();
    am.put(&e, "households", 3u64).unwrap();
    let text = am.put_object(&e, "text", ObjType::Text).unwrap();
    am.splice_text(&text, 0, 0, "走访三户").unwrap();
    let photos = am.put_object(&e, "photos", ObjType::Map).unwrap();
    let photo = am
        .put_object(&photos, "ab".repeat(32), ObjType::Map)
        .unwrap();
    am.put(&photo, "added_at", 1_764_000_000_000i64).unwrap();
    let at = am.put_object(&photo, "location", ObjType::Map).unwrap();
    am.put(&at, "lat", 27.5).unwrap();
    am.put(&at, "lon", 109.9).unwrap();
    am.put(&at, "accuracy_m", 12.0).unwrap();
}

/// A new document arrives whole, and the write checks find the paths of the
/// objects it makes from the operations that made them: nesting too deep,
/// an object made under a fixed key and a comment in another's name are
/// refused there as they are in a document the server already had.
async fn forbidden_new_documents(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    /// (day of the month, what the refusal says or "" when stored, the write)
    type Attempt = (u32, &'static str, fn(&mut automerge::AutoCommit));
    let attempts: [Attempt; 4] = [
        // The first unknown key is refused, however deep the nesting goes.
        (23, "no such field", |am| nested_in_entry(am, 10)),
        (24, "fixed at creation", |am| {
            let kind = am
                .put_object(automerge::ROOT, "kind", automerge::ObjType::Map)
                .unwrap();
            am.put(&kind, "x", "y").unwrap();
        }),
        (25, "is not written by u1", |am| {
            let comments = am.get(automerge::ROOT, "comments").unwrap().unwrap().1;
            let c = am
                .put_object(&comments, "c-forged", automerge::ObjType::Map)
                .unwrap();
            am.put(&c, "author", "s1").unwrap();
            am.put(&c, "role", "supervisor").unwrap();
            let text = am.put_object(&c, "text", automerge::ObjType::Text).unwrap();
            am.splice_text(&text, 0, 0, "冒名点评").unwrap();
        }),
        // A whole entry down to a photo's location (the deepest the schema
        // has, five keys below the root) is stored.
        (26, "", |am| raw_entry(am, "e1")),
    ];
    for (day_of_month, refusal, change) in attempts {
        // A phone of its own each: a refused document stays on its phone.
        let mut client = MemoryReplica::new(Actor::random());
        let device = format!("phone-{day_of_month}");
        let s = app.login("u1", &device, &actors(&client.actor())).await;
        let id = DocId::diary(&user("u1"), day(day_of_month));
        let mut doc = Document::create(id.clone(), &client.actor());
        raw_write(&mut doc, change);
        client.insert_raw(doc);
        let (_, problems) = app.sync(&mut client, &s.access).await;
        if refusal.is_empty() {
            assert!(problems.is_empty(), "{id}: {problems:?}");
            assert!(server_record(&app, &id).await.is_some(), "{id} was stored");
            continue;
        }
        assert_eq!(problems.len(), 1, "{id}: {problems:?}");
        assert_eq!(problems[0].code, "forbidden_change", "{id}");
        assert!(
            problems[0].message.contains(refusal),
            "{id}: {}",
            problems[0].message
        );
        assert_eq!(server_record(&app, &id).await, None, "{id} was stored");
    }
}
on_both_databases!(
    forbidden_new_documents_are_refused_whole,
    forbidden_new_documents
);

async fn malformed_bodies(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut phone = MemoryReplica::new(Actor::random());
    let s = app.login("u1", "phone", &actors(&phone.actor())).await;
    let id = DocId::diary(&user("u1"), day(23));
    phone
        .edit(&id, &entry("完整"), &ctx("u1", Role::Cadre))
        .unwrap();
    let mut session = sync_core::session::ClientSession::new(&mut phone).unwrap();
    let good = session.next_request(&mut phone).unwrap().unwrap().encode();
    let mut bad_bodies: Vec<Vec<u8>> = (0..good.len())
        .step_by(7)
        .map(|n| good[..n].to_vec())
        .collect();
    bad_bodies.push(vec![9, 9, 9]);
    bad_bodies.push(b"{\"json\": true}".to_vec());
    let mut garbled = good.clone();
    let last = garbled.len() - 1;
    garbled[last / 2] ^= 0xff;
    bad_bodies.push(garbled);
    for body in &bad_bodies {
        let r = app
            .http
            .post(app.url("/api/v1/sync"))
            .bearer_auth(&s.access)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let json: serde_json::Value = r.json().await.unwrap_or_default();
        // A garbled message inside a valid batch is refused per document.
        assert!(status == 400 || status == 200, "{status} {json}");
        if status == 400 {
            assert!(json["code"].is_string(), "{json}");
        }
    }
    assert!(server_record(&app, &id).await.is_none() || app.healthy().await);
    let r = app
        .http
        .post(app.url("/api/v1/sync"))
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let huge = vec![1u8; 40 * 1024 * 1024];
    let r = app
        .http
        .post(app.url("/api/v1/sync"))
        .bearer_auth(&s.access)
        .body(huge)
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status().as_u16(), 413);
    }
    assert!(app.healthy().await);
    // And the real request still goes through afterwards.
    let (_, problems) = app.sync(&mut phone, &s.access).await;
    assert!(problems.is_empty());
    assert_eq!(diary(server_record(&app, &id).await).entries.len(), 1);
}
on_both_databases!(
    malformed_sync_bodies_get_4xx_and_the_server_stays_up,
    malformed_bodies
);

async fn restart_between_rounds(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut phone = Replica::open(&app.dir.path().join("p.db")).unwrap();
    let s = app.login("u1", "phone", &actors(phone.actor())).await;
    let id = DocId::diary(&user("u1"), day(24));
    phone
        .edit(&id, &entry("第一条"), &ctx("u1", Role::Cadre))
        .unwrap();
    app.sync(&mut phone, &s.access).await;
    let app = app.restart().await;
    phone
        .edit(&id, &entry("第二条"), &ctx("u1", Role::Cadre))
        .unwrap();
    let (stats, problems) = app.sync(&mut phone, &s.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        stats.round_trips, 1,
        "the persisted sync state survives the restart: {stats:?}"
    );
    let d = diary(server_record(&app, &id).await);
    assert_eq!(d.entries.len(), 2);
    assert_eq!(d, diary(phone.record(&id).unwrap()));
}
on_both_databases!(
    a_server_restart_between_rounds_loses_nothing,
    restart_between_rounds
);

/// The token `/metrics` answers to in the busy test.
const METRICS_TOKEN: &str = "busy-test-metrics-token-0123";

/// With as many sync requests being worked on as the server takes
/// (`max_sync_requests`), the next is answered at once with 503, a JSON
/// body and `Retry-After`, and nothing of it is stored; once a turn is free
/// the same request is accepted whole.
async fn busy_server(db: Db) {
    let app = TestApp::spawn_with(db, |c| {
        c.max_sync_requests = 3;
        c.metrics_token = Some(backend::config::Secret::new(METRICS_TOKEN));
    })
    .await;
    app.seed().await;
    let mut phone = MemoryReplica::new(Actor::random());
    let s = app.login("u1", "phone", &actors(&phone.actor())).await;
    let id = DocId::diary(&user("u1"), day(25));
    phone
        .edit(&id, &entry("夜访三户"), &ctx("u1", Role::Cadre))
        .unwrap();
    let mut session = sync_core::session::ClientSession::new(&mut phone).unwrap();
    let up = session.next_request(&mut phone).unwrap().unwrap().encode();
    let send_as = |token: &str, body: Vec<u8>| {
        app.http
            .post(app.url("/api/v1/sync"))
            .bearer_auth(token)
            .header("content-type", "application/vnd.jishi.sync-batch")
            .body(body)
            .send()
    };

    // Three requests in the works (their turns held here).
    let held = app
        .state
        .sync_admission
        .clone()
        .try_acquire_many_owned(3)
        .unwrap();
    let r = send_as(&s.access, up.clone()).await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    // Its small body was read and dropped: the connection stays open.
    assert!(r.headers().get("connection").is_none(), "{:?}", r.headers());
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "busy", "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("nothing was stored"));
    assert!(server_record(&app, &id).await.is_none());
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("jishi_sync_busy_total 1"), "{metrics}");
    // The busy answer comes after the token's check: a bad token is still
    // told so, not to come back later.
    let r = send_as(&format!("{}x", s.access), up.clone())
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // A body larger than the server reads when busy is not read (here it
    // is declared, not even sent): that connection closes after the answer.
    let addr = app.url("").trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let big = backend::routes::sync::BUSY_DRAIN_MAX_BYTES as usize + 1;
    let (status, headers, _) = raw_post(&mut conn, &addr, &s.access, big, &[]).await;
    assert_eq!(status, 503, "{headers}");
    assert!(headers.contains("connection: close"), "{headers}");

    // On one connection: turned away, then (a turn frees) the same bytes
    // go through on that same connection.
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (status, headers, _) = raw_post(&mut conn, &addr, &s.access, up.len(), &up).await;
    assert_eq!(status, 503, "{headers}");
    assert!(!headers.contains("connection: close"), "{headers}");
    drop(held);
    let (status, headers, body) = raw_post(&mut conn, &addr, &s.access, up.len(), &up).await;
    assert_eq!(status, 200, "{headers}");
    let reply = sync_core::protocol::Batch::decode(&body).unwrap();
    session.handle_reply(&mut phone, reply).unwrap();
    assert!(phone.pending().unwrap().is_empty());
    assert_eq!(diary(server_record(&app, &id).await).entries.len(), 1);
}
/// One HTTP/1.1 POST of a sync batch on an open connection, declaring
/// `declared` bytes of body and sending `body`: the status, the head (lower
/// case) and the body of the answer.
async fn raw_post(
    conn: &mut tokio::net::TcpStream,
    host: &str,
    token: &str,
    declared: usize,
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let head = format!(
        "POST /api/v1/sync HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/vnd.jishi.sync-batch\r\ncontent-length: {declared}\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(body).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed the connection");
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..end]).to_lowercase();
    let status: u16 = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .expect("a content-length")
        .trim()
        .parse()
        .unwrap();
    while got.len() < end + length {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed the connection mid-body");
        got.extend_from_slice(&buf[..n]);
    }
    (status, head, got[end..end + length].to_vec())
}

on_both_databases!(
    a_busy_server_answers_503_with_retry_after_and_stores_nothing,
    busy_server
);
