//! Crash points of the accept path (issue 8, item 2): a failure injected
//! at each storage step of the sync commit — after the document row, after
//! the change log, after the photo references, after the read models, just
//! before the commit — as an error or as a panic in the middle of the
//! transaction, leaves nothing of the request stored; the phone, told
//! nothing succeeded, sends it again and everything arrives exactly once.

use chrono::NaiveDate;
use sync_core::document::{Category, EntryFields, Record};
use sync_core::replica::Replica;
use sync_core::validate::TimeOfDay;
use sync_core::{Actor, DocId, Document, Edit, EditContext, ItemId, Role, UserId};

use backend::storage::{CommitStep, FaultAction};

use jishi_tests::phone::{sync_session, SyncFailure, Synced};
use jishi_tests::{on_both_databases, Db, TestApp};

fn ctx() -> EditContext {
    EditContext {
        user: UserId::parse("u1").unwrap(),
        role: Role::Cadre,
        now_ms: 1_763_870_400_000,
    }
}

fn diary(d: u32) -> DocId {
    DocId::diary(
        &UserId::parse("u1").unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
    )
}

fn add(phone: &mut Replica, id: &DocId, text: &str) {
    phone
        .edit(
            id,
            &Edit::AddEntry {
                id: ItemId::random(),
                fields: EntryFields {
                    time: TimeOfDay::parse("14:00").unwrap(),
                    category: Category::Meeting,
                    place: "村委会".into(),
                    text: text.into(),
                    households: 0,
                    location: None,
                },
            },
            &ctx(),
        )
        .unwrap();
}

/// One sync session; the first non-200 status ends it.
async fn try_sync(app: &TestApp, phone: &mut Replica, token: &str) -> Result<(), u16> {
    match sync_session(&app.http, &app.base, phone, token)
        .await
        .and_then(Synced::without_problems)
    {
        Ok(_) => Ok(()),
        Err(SyncFailure::Status(status)) => Err(status),
        Err(e) => panic!("{e}"),
    }
}

/// Every entry text on the server, with repeats.
async fn server_texts(app: &TestApp, days: &[u32]) -> Vec<String> {
    let ids: Vec<String> = days.iter().map(|d| diary(*d).to_string()).collect();
    let docs = app.state.store.load_documents(&ids).await.unwrap();
    let mut out = Vec::new();
    for (id, bytes) in docs {
        let doc =
            Document::load(DocId::parse(&id).unwrap(), &bytes.bytes, &Actor::random()).unwrap();
        if let Record::Diary(d) = doc.read() {
            out.extend(d.entries.into_iter().map(|e| e.text));
        }
    }
    out.sort();
    out
}

async fn crash_points(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let mut a = Replica::open(&app.dir.path().join("a.db")).unwrap();
    let mut b = Replica::open(&app.dir.path().join("b.db")).unwrap();
    let sa = app.login("u1", "phone-a", &[a.actor().to_hex()]).await;
    let sb = app.login("u1", "phone-b", &[b.actor().to_hex()]).await;
    // Something stored already, so each faulty request updates documents
    // as well as creating them.
    add(&mut a, &diary(1), "已有记录");
    try_sync(&app, &mut a, &sa.access).await.unwrap();

    let mut days = vec![1];
    let mut expected = vec!["已有记录".to_owned()];
    let mut cases = 0;
    for (i, step) in CommitStep::ALL.into_iter().enumerate() {
        for action in [FaultAction::Error, FaultAction::Panic] {
            cases += 1;
            // Three documents in one request: an update, a new day, and a
            // new day with a photo (photo references).
            let fresh = 2 + 2 * cases as u32;
            for (day, text) in [
                (1, format!("更新{cases}")),
                (fresh, format!("新的一天{cases}")),
            ] {
                add(&mut a, &diary(day), &text);
                expected.push(text);
            }
            let (_, _, edits) = crate::photos::entry_with_photo("u1", &"ab".repeat(32));
            let with_photo = diary(fresh + 1);
            for e in &edits {
                a.edit(&with_photo, e, &ctx()).unwrap();
            }
            expected.push("查看进度".to_owned());
            days.extend([fresh, fresh + 1]);

            let before = app.state.store.commit_fingerprint().await.unwrap();
            app.state.store.faults().arm(step, action);
            let failed = try_sync(&app, &mut a, &sa.access).await;
            app.state.store.faults().disarm();
            assert_eq!(failed, Err(500), "{step:?} {action:?} (case {i})");
            let after = app.state.store.commit_fingerprint().await.unwrap();
            assert_eq!(
                before, after,
                "a fault at {step:?} ({action:?}) left part of the request stored"
            );
            assert!(app.healthy().await);

            try_sync(&app, &mut a, &sa.access).await.unwrap();
            expected.sort();
            assert_eq!(
                server_texts(&app, &days).await,
                expected,
                "after a fault at {step:?} ({action:?}) and a resend"
            );
            assert!(a.pending_docs().unwrap().is_empty());
        }
    }
    // The other phone receives exactly what the server holds.
    try_sync(&app, &mut b, &sb.access).await.unwrap();
    for d in &days {
        assert_eq!(a.record(&diary(*d)).unwrap(), b.record(&diary(*d)).unwrap());
    }
    eprintln!(
        "crash points ({db:?}): {} steps x 2 actions = {cases} faults injected, 0 partial commits",
        CommitStep::ALL.len()
    );
}
on_both_databases!(a_fault_at_any_commit_step_stores_nothing, crash_points);
