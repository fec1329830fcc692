//! Sync commits that wait for the writer are written together (on SQLite,
//! group commit: whoever gets the writer writes every commit waiting, in one
//! transaction). Each request still gets its own answer: a stale document
//! fails only the commit it belongs to, and every other commit waiting with
//! it is stored.

use backend::storage::{AcceptedDoc, StoreError, SyncCommit};
use sync_core::{Actor, DocId, Document, UserId};

use jishi_tests::{on_both_databases, Db, TestApp};

/// A commit of new, empty documents of `owner` on the given days.
fn new_docs(owner: &str, days: &[u32]) -> SyncCommit {
    let owner = UserId::parse(owner).unwrap();
    let mut commit = SyncCommit::default();
    for &d in days {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let id = DocId::diary(&owner, day);
        let mut doc = Document::create(id.clone(), &Actor::random());
        commit
            .docs
            .push(AcceptedDoc::new_document(&mut doc).unwrap());
        commit
            .peer_states
            .push((id.to_string(), format!("state of {id}").into_bytes()));
    }
    commit
}

async fn stale_commit_fails_alone(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let store = &app.state.store;
    for (device, user) in [
        ("dev-a", "u1"),
        ("dev-b", "u1"),
        ("dev-c", "u2"),
        ("dev-d", "u2"),
    ] {
        store
            .register_device(device, user, "测试手机", &[])
            .await
            .unwrap();
    }
    // B stores the same new document as A (as if it had merged before A's
    // commit): whichever is written second is stale. C and D wait for the
    // writer with B and must be stored whatever happens to B.
    let (a, b, c, d) = tokio::join!(
        store.commit_sync("u1", "dev-a", new_docs("u1", &[1, 2])),
        store.commit_sync("u1", "dev-b", new_docs("u1", &[2, 3])),
        store.commit_sync("u2", "dev-c", new_docs("u2", &[1, 2])),
        store.commit_sync("u2", "dev-d", new_docs("u2", &[3, 4, 5])),
    );
    // On SQLite A is written first and B waits with C and D; PostgreSQL
    // writes them at once, so either of A and B may be the stale one.
    let (winner, loser, lost_day, won_day) = match (&a, &b) {
        (Ok(()), Err(StoreError::Stale(doc))) => {
            assert_eq!(doc, "diary:u1:2026-11-02");
            (
                "dev-a",
                "dev-b",
                "diary:u1:2026-11-03",
                "diary:u1:2026-11-01",
            )
        }
        (Err(StoreError::Stale(doc)), Ok(())) => {
            assert_eq!(doc, "diary:u1:2026-11-02");
            (
                "dev-b",
                "dev-a",
                "diary:u1:2026-11-01",
                "diary:u1:2026-11-03",
            )
        }
        other => panic!("one of two writers of a new document is stale, got {other:?}"),
    };
    assert!(c.is_ok(), "{c:?}");
    assert!(d.is_ok(), "{d:?}");

    let ids: Vec<String> = [
        "diary:u1:2026-11-01",
        "diary:u1:2026-11-02",
        "diary:u1:2026-11-03",
        "diary:u2:2026-11-01",
        "diary:u2:2026-11-02",
        "diary:u2:2026-11-03",
        "diary:u2:2026-11-04",
        "diary:u2:2026-11-05",
    ]
    .map(String::from)
    .into();
    let stored = store.load_documents(&ids).await.unwrap();
    // Nothing of the stale commit: not its other document either.
    assert!(!stored.contains_key(lost_day), "{stored:?}");
    assert!(stored.contains_key(won_day), "{stored:?}");
    assert_eq!(stored.len(), 7);
    // Each change is logged under the device that sent it.
    let log = store.change_log("diary:u2:2026-11-04").await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].user_id.as_str(), log[0].device_id.as_str()),
        ("u2", "dev-d")
    );
    let log = store.change_log("diary:u1:2026-11-02").await.unwrap();
    assert_eq!(log[0].device_id, winner);
    // Each device's sync states are its own.
    let states = store
        .peer_states(
            "dev-c",
            &["diary:u2:2026-11-01".into(), "diary:u2:2026-11-04".into()],
        )
        .await
        .unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(
        states["diary:u2:2026-11-01"],
        b"state of diary:u2:2026-11-01".to_vec()
    );
    assert!(store
        .peer_states(loser, &["diary:u1:2026-11-02".into()])
        .await
        .unwrap()
        .is_empty());
}
on_both_databases!(a_stale_commit_fails_alone, stale_commit_fails_alone);
