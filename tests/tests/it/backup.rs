//! `jishi backup` during live sync and `jishi restore` (issue 8, item 10):
//! everything acknowledged before the backup began is in the restored
//! server, and the phones bring back the rest at their next sync.

use std::collections::BTreeSet;

use backend::config::Secret;
use chrono::NaiveDate;
use sync_core::document::{Category, EntryFields, Record};
use sync_core::replica::Replica;
use sync_core::validate::TimeOfDay;
use sync_core::{Actor, DocId, Document, Edit, EditContext, ItemId, Role, UserId};
use tokio::sync::mpsc;

use jishi_tests::phone::{sync_session, Synced};
use jishi_tests::photo::{jpeg, sha};
use jishi_tests::{fresh_postgres_url, on_both_databases, Db, TestApp};

fn ctx() -> EditContext {
    EditContext {
        user: UserId::parse("u1").unwrap(),
        role: Role::Cadre,
        now_ms: 1_763_870_400_000,
    }
}

fn day(d: u32) -> DocId {
    DocId::diary(
        &UserId::parse("u1").unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
    )
}

/// Add an entry whose text names it, to the day `round` falls on.
fn write(phone: &mut Replica, round: usize) -> (DocId, String) {
    let id = day(1 + (round % 5) as u32);
    let text = format!("第{round}条记录");
    phone
        .edit(
            &id,
            &Edit::AddEntry {
                id: ItemId::random(),
                fields: EntryFields {
                    time: TimeOfDay::parse("10:00").unwrap(),
                    category: Category::Visit,
                    place: "青山村".into(),
                    text: text.clone(),
                    households: 1,
                    location: None,
                },
            },
            &ctx(),
        )
        .unwrap();
    (id, text)
}

/// Every entry text in the server's documents of u1.
async fn server_texts(app: &TestApp) -> BTreeSet<String> {
    let ids: Vec<String> = (0..5).map(|r| day(1 + r).to_string()).collect();
    let docs = app.state.store.load_documents(&ids).await.unwrap();
    let mut out = BTreeSet::new();
    for (id, bytes) in docs {
        let doc =
            Document::load(DocId::parse(&id).unwrap(), &bytes.bytes, &Actor::random()).unwrap();
        if let Record::Diary(d) = doc.read() {
            out.extend(d.entries.into_iter().map(|e| e.text));
        }
    }
    out
}

fn phone_texts(phone: &mut Replica) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in 0..5 {
        if let Some(Record::Diary(d)) = phone.record(&day(1 + r)).unwrap() {
            out.extend(d.entries.into_iter().map(|e| e.text));
        }
    }
    out
}

async fn backup_and_restore(db: Db) {
    let app = TestApp::spawn(db).await;
    app.seed().await;
    let dir = app.dir.path().to_owned();
    let mut a = Replica::open(&dir.join("a.db")).unwrap();
    let mut b = Replica::open(&dir.join("b.db")).unwrap();
    let sa = app.login("u1", "phone-a", &[a.actor().to_hex()]).await;
    let sb = app.login("u1", "phone-b", &[b.actor().to_hex()]).await;

    // A photo finished before the backup.
    let photo = jpeg(64, 48, 7);
    let photo_sha = sha(&photo);
    let (status, body) = app.upload(&sa.access, &photo).await;
    assert!(status.is_success(), "{status} {body}");
    let (id, _, edits) = crate::photos::entry_with_photo("u1", &photo_sha);
    for e in &edits {
        a.edit(&id, e, &ctx()).unwrap();
    }
    let (_, problems) = app.sync(&mut a, &sa.access).await;
    assert!(problems.is_empty(), "{problems:?}");

    // Phone a writes and syncs in a loop while the backup runs; it reports
    // each round it finished (the server acknowledged its entry).
    let rounds = 40;
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, String)>();
    let writer = {
        let base = app.base.clone();
        let http = app.http.clone();
        let token = sa.access.clone();
        let path = dir.join("a.db");
        drop(a);
        tokio::spawn(async move {
            let mut a = Replica::open(&path).unwrap();
            for round in 0..rounds {
                let (_, text) = write(&mut a, round);
                sync_session(&http, &base, &mut a, &token)
                    .await
                    .and_then(Synced::without_problems)
                    .unwrap();
                tx.send((round, text)).unwrap();
            }
            a
        })
    };
    let mut acked = BTreeSet::new();
    while acked.len() < 10 {
        let (_, text) = rx.recv().await.unwrap();
        acked.insert(text);
    }
    let acked_before_backup = acked.clone();
    let out = dir.join("backup");
    let manifest = backend::backup::backup(
        app.config(),
        &app.state.store,
        &app.state.blobs,
        &out,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert!(manifest.photos >= 1, "{manifest:?}");
    let mut a = writer.await.unwrap();
    while let Ok((_, text)) = rx.try_recv() {
        acked.insert(text);
    }
    assert_eq!(acked.len(), rounds);
    // Phone b syncs after the backup: it holds a cursor and sync states of
    // the server that is about to be lost.
    let (_, problems) = app.sync(&mut b, &sb.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    assert!(phone_texts(&mut b).is_superset(&acked));
    let old_seq = app.state.store.change_seq().await.unwrap();

    // A second backup into the same folder is refused; a folder without a
    // manifest is not a backup.
    let again = backend::backup::backup(
        app.config(),
        &app.state.store,
        &app.state.blobs,
        &out,
        &mut |_| {},
    )
    .await;
    assert!(
        matches!(again, Err(backend::backup::BackupError::TargetNotEmpty(_))),
        "{again:?}"
    );
    let mut app = app;
    app.stop().await;

    // Restore into a new data folder (and a new PostgreSQL database).
    let target_dir = tempfile::tempdir().unwrap();
    let mut config = backend::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: target_dir.path().join("data"),
        ..app.config().clone()
    };
    if db == Db::Postgres {
        config.database_url = Some(Secret::new(fresh_postgres_url().await));
    }
    let restored = backend::backup::restore(&config, &out, &mut |_| {})
        .await
        .unwrap();
    assert!(restored.sequence_base > old_seq);
    // Restoring twice into the same target is refused.
    let twice = backend::backup::restore(&config, &out, &mut |_| {}).await;
    assert!(
        matches!(
            twice,
            Err(backend::backup::BackupError::RestoreTargetInUse(_))
        ),
        "{twice:?}"
    );
    let restored_app = TestApp::start(config, target_dir).await;

    // Everything acknowledged before the backup began is there, the photo
    // too (tokens still work: the signing key came back with it).
    let on_server = server_texts(&restored_app).await;
    let missing: Vec<_> = acked_before_backup.difference(&on_server).collect();
    assert!(missing.is_empty(), "lost by the restore: {missing:?}");
    let r = restored_app
        .http
        .get(restored_app.url(&format!("/api/v1/blobs/{photo_sha}")))
        .bearer_auth(&sa.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), photo.as_slice());

    // The phones resync: a sends what the restored server lacks; b, whose
    // cursor is beyond the restored sequence, still receives it all.
    let (_, problems) = restored_app.sync(&mut a, &sa.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let (_, problems) = restored_app.sync(&mut b, &sb.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let (_, problems) = restored_app.sync(&mut a, &sa.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let on_server = server_texts(&restored_app).await;
    let missing: Vec<_> = acked.difference(&on_server).collect();
    assert!(
        missing.is_empty(),
        "not brought back by the phones: {missing:?}"
    );
    assert_eq!(phone_texts(&mut a), phone_texts(&mut b));
    assert_eq!(phone_texts(&mut a), on_server);
    // A new entry after the restore reaches the other phone.
    let (_, text) = write(&mut b, 1000);
    let (_, problems) = restored_app.sync(&mut b, &sb.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    let (_, problems) = restored_app.sync(&mut a, &sa.access).await;
    assert!(problems.is_empty(), "{problems:?}");
    assert!(phone_texts(&mut a).contains(&text));
}
on_both_databases!(backup_during_live_sync_then_restore, backup_and_restore);

/// A damaged backup is refused before anything is written.
#[tokio::test]
async fn a_damaged_backup_is_refused_before_anything_is_written() {
    let app = TestApp::spawn(Db::Sqlite).await;
    app.seed().await;
    let out = app.dir.path().join("backup");
    backend::backup::backup(
        app.config(),
        &app.state.store,
        &app.state.blobs,
        &out,
        &mut |_| {},
    )
    .await
    .unwrap();
    // One flipped byte in the database copy.
    let db = out.join("jishi.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&db, &bytes).unwrap();
    let target = tempfile::tempdir().unwrap();
    let config = backend::Config {
        data_dir: target.path().join("data"),
        ..app.config().clone()
    };
    let err = backend::backup::restore(&config, &out, &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, backend::backup::BackupError::Damaged { .. }),
        "{err}"
    );
    assert!(!config.data_dir.join("jishi.db").exists());
    // A folder without backup.json is not a backup.
    std::fs::remove_file(out.join("backup.json")).unwrap();
    let err = backend::backup::restore(&config, &out, &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, backend::backup::BackupError::NoManifest(_)),
        "{err}"
    );
}
