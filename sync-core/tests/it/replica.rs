//! The phone's SQLite replica: what an edit returned is on disk, whatever
//! kills the process afterwards.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use sync_core::document::{Actor, Document, EntryFields, Record};
use sync_core::memory::MemoryServer;
use sync_core::replica::Replica;
use sync_core::session::{ClientStore, ClientWrites};
use sync_core::{CoreError, DocId, Edit, ItemId};

use crate::common::*;

const CHILD_DB: &str = "JISHI_CRASH_CHILD_DB";
const CHILD_START: &str = "JISHI_CRASH_CHILD_START";

fn doc_for(i: usize) -> DocId {
    // Spread writes over a few documents; each gathers enough chunks to be
    // compacted while the loop runs.
    DocId::diary(&user("u1"), day((i % 3) as u32))
}

fn item_for(i: usize) -> ItemId {
    ItemId::parse(&format!("e{i}")).unwrap()
}

fn fields(i: usize) -> EntryFields {
    let mut f = entry_fields(i);
    f.text = format!("第{i}条");
    f
}

/// The child side of the crash test: writes entries in a loop, printing
/// `ack N` after each edit returned. Run only by the parent, which kills it.
#[test]
#[ignore = "run as a child process by edits_that_returned_survive_kill_9"]
fn crash_child() {
    let (Ok(db), Ok(start)) = (std::env::var(CHILD_DB), std::env::var(CHILD_START)) else {
        return;
    };
    let start: usize = start.parse().unwrap();
    let mut replica = Replica::open(std::path::Path::new(&db)).unwrap();
    for i in start.. {
        let edit = Edit::AddEntry {
            id: item_for(i),
            fields: fields(i),
        };
        replica.edit(&doc_for(i), &edit, &cadre("u1")).unwrap();
        println!("ack {i}");
    }
}

fn live_entries(replica: &mut Replica) -> Vec<String> {
    let mut texts = Vec::new();
    for d in 0..3 {
        if let Some(Record::Diary(diary)) =
            replica.record(&DocId::diary(&user("u1"), day(d))).unwrap()
        {
            texts.extend(diary.entries.into_iter().map(|e| e.id));
        }
    }
    texts
}

#[test]
fn edits_that_returned_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replica.db");
    let exe = std::env::current_exe().unwrap();
    let mut next = 0usize;
    // Kill after different numbers of acknowledged edits, so the kill lands
    // at different points of the write (and compaction) path.
    for kill_after in [1usize, 7, 40, 3, 75, 12] {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "replica::crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DB, &db)
            .env(CHILD_START, next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut acked = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("ack ") {
                acked.push(n.parse::<usize>().unwrap());
                if acked.len() == kill_after {
                    child.kill().unwrap(); // SIGKILL: no destructors, no flush
                    break;
                }
            }
        }
        child.wait().unwrap();
        assert_eq!(acked.len(), kill_after, "the child stopped early");

        let mut replica = Replica::open(&db).unwrap();
        let present = live_entries(&mut replica);
        for i in 0..=*acked.last().unwrap() {
            assert!(
                present.contains(&format!("e{i}")),
                "edit {i} was acknowledged before the kill but is gone"
            );
        }
        // The child may have finished more writes before the kill landed;
        // those are there too, in order, with no gap.
        next = present.len();
        assert!(next > *acked.last().unwrap());
        for i in 0..next {
            assert!(present.contains(&format!("e{i}")), "gap at {i}");
        }
        // Every document is pending: none was ever synced.
        assert_eq!(replica.pending_docs().unwrap().len(), 3.min(next));
    }
}

#[test]
fn a_replica_from_a_newer_app_is_refused_not_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replica.db");
    drop(Replica::open(&db).unwrap());
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    let err = Replica::open(&db).unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn the_actor_is_kept_and_compaction_keeps_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replica.db");
    let id = DocId::diary(&user("u1"), day(0));
    let actor = {
        let mut r = Replica::open(&db).unwrap();
        for i in 0..80 {
            r.edit(
                &id,
                &Edit::AddEntry {
                    id: item_for(i),
                    fields: fields(i),
                },
                &cadre("u1"),
            )
            .unwrap();
        }
        r.actor().clone()
    };
    let mut r = Replica::open(&db).unwrap();
    assert_eq!(r.actor(), &actor);
    let Some(Record::Diary(d)) = r.record(&id).unwrap() else {
        panic!()
    };
    assert_eq!(d.entries.len(), 80);
    let chunks: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM chunks", [], |row| row.get(0))
        .unwrap();
    assert!(
        chunks <= sync_core::replica::COMPACT_AFTER_CHUNKS,
        "{chunks} chunks"
    );
}

#[test]
fn a_refused_edit_leaves_the_replica_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Replica::open(&dir.path().join("r.db")).unwrap();
    let id = DocId::diary(&user("u1"), day(0));
    r.edit(
        &id,
        &Edit::AddEntry {
            id: item_for(0),
            fields: fields(0),
        },
        &cadre("u1"),
    )
    .unwrap();
    let before = r.record(&id).unwrap();
    let mut bad = fields(1);
    bad.text = "长".repeat(sync_core::validate::MAX_TEXT_CHARS + 1);
    assert!(r
        .edit(
            &id,
            &Edit::AddEntry {
                id: item_for(1),
                fields: bad
            },
            &cadre("u1")
        )
        .is_err());
    assert_eq!(r.record(&id).unwrap(), before);
    // Another user's diary is not writable from this replica.
    assert!(r
        .edit(
            &id,
            &Edit::AddEntry {
                id: item_for(2),
                fields: fields(2)
            },
            &cadre("u2")
        )
        .is_err());
    assert_eq!(r.record(&id).unwrap(), before);
}

/// A store through which the phone edits while a reply is applied: the
/// replica's lock is held per call, so an edit lands between the session's
/// load of a document and the commit of what the reply made of it.
struct EditsDuringReply<'a> {
    replica: &'a mut Replica,
    edit: Option<(DocId, Edit)>,
}

impl ClientStore for EditsDuringReply<'_> {
    fn actor(&self) -> Actor {
        self.replica.actor().clone()
    }
    fn load(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        self.replica.load(id)
    }
    fn load_to_send(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        let loaded = self.replica.load_to_send(id)?;
        if let Some((doc, edit)) = self.edit.take() {
            self.replica.edit(&doc, &edit, &cadre("u1"))?;
        }
        Ok(loaded)
    }
    fn sync_state(&mut self, id: &DocId) -> Result<Option<Vec<u8>>, CoreError> {
        self.replica.sync_state(id)
    }
    fn pending(&mut self) -> Result<Vec<DocId>, CoreError> {
        self.replica.pending()
    }
    fn cursor(&mut self) -> Result<u64, CoreError> {
        self.replica.cursor()
    }
    fn commit_sync(&mut self, writes: ClientWrites) -> Result<(), CoreError> {
        self.replica.commit_sync(writes)
    }
}

#[test]
fn an_edit_made_while_a_reply_is_applied_is_kept_and_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = MemoryServer::new();
    let id = DocId::diary(&user("u1"), day(0));
    let add = |i: usize| Edit::AddEntry {
        id: item_for(i),
        fields: fields(i),
    };
    // Phone A holds the diary with entry 0, synced; phone B adds entry 1.
    let mut a = Replica::open(&dir.path().join("a.db")).unwrap();
    a.edit(&id, &add(0), &cadre("u1")).unwrap();
    sync_once(&mut a, &mut server, "a");
    let mut b = Replica::open(&dir.path().join("b.db")).unwrap();
    sync_once(&mut b, &mut server, "b");
    b.edit(&id, &add(1), &cadre("u1")).unwrap();
    sync_once(&mut b, &mut server, "b");

    // A syncs; while B's entry is applied, the cadre adds entry 2 on A.
    let mut store = EditsDuringReply {
        replica: &mut a,
        edit: Some((id.clone(), add(2))),
    };
    sync_once(&mut store, &mut server, "a");
    let ids = |r: &mut Replica| -> Vec<String> {
        let Some(Record::Diary(d)) = r.record(&id).unwrap() else {
            panic!("no diary")
        };
        d.entries.into_iter().map(|e| e.id).collect()
    };
    assert_eq!(ids(&mut a), ["e0", "e1", "e2"]);
    // On disk too; the session went on and sent it (the document stayed
    // pending), so it reaches B.
    drop(a);
    let mut a = Replica::open(&dir.path().join("a.db")).unwrap();
    assert_eq!(ids(&mut a), ["e0", "e1", "e2"]);
    assert!(a.pending_docs().unwrap().is_empty());
    sync_once(&mut b, &mut server, "b");
    assert_eq!(ids(&mut b), ["e0", "e1", "e2"]);
}

/// A leader's phone holds thousands of documents: only the most recently
/// used stay decoded in memory, and a document pushed out is read, edited
/// and synced from disk as before (also within one reply larger than the
/// cache).
#[test]
fn the_document_cache_is_bounded_and_what_it_forgets_stays_on_disk() {
    use sync_core::replica::CACHED_DOCS;
    let dir = tempfile::tempdir().unwrap();
    let mut server = MemoryServer::new();
    let n = CACHED_DOCS + 60;
    let ids: Vec<DocId> = (0..n)
        .map(|i| DocId::diary(&user("u1"), day(i as u32)))
        .collect();
    let mut a = Replica::open(&dir.path().join("a.db")).unwrap();
    for (i, id) in ids.iter().enumerate() {
        let edit = Edit::AddEntry {
            id: item_for(i),
            fields: fields(i),
        };
        a.edit(id, &edit, &cadre("u1")).unwrap();
    }
    assert!(a.cached_docs() <= CACHED_DOCS, "{}", a.cached_docs());
    sync_once(&mut a, &mut server, "a");
    assert!(a.pending_docs().unwrap().is_empty());

    // B receives them all, in replies larger than its cache.
    let mut b = Replica::open(&dir.path().join("b.db")).unwrap();
    sync_once(&mut b, &mut server, "b");
    assert!(b.cached_docs() <= CACHED_DOCS);
    assert_eq!(b.doc_ids().unwrap().len(), n);
    // The first documents were pushed out: edit one, sync, A sees it.
    let extra = Edit::AddEntry {
        id: item_for(n),
        fields: fields(n),
    };
    b.edit(&ids[0], &extra, &cadre("u1")).unwrap();
    sync_once(&mut b, &mut server, "b");
    sync_once(&mut a, &mut server, "a");
    let Some(Record::Diary(d)) = a.record(&ids[0]).unwrap() else {
        panic!("no diary")
    };
    assert_eq!(d.entries.len(), 2);
    drop(b);
    let mut b = Replica::open(&dir.path().join("b.db")).unwrap();
    for id in &ids {
        assert!(b.record(id).unwrap().is_some(), "{id}");
    }
}

/// A phone that becomes a new device moves its unsynced changes to a new
/// actor: what the server has stays by the old actor, the rest syncs as the
/// new one, the content is unchanged, and the move survives a reopen.
#[test]
fn unsynced_changes_move_to_a_new_actor() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replica.db");
    let mut server = MemoryServer::new();
    let synced = DocId::diary(&user("u1"), day(0));
    let never = DocId::diary(&user("u1"), day(1));
    let mut replica = Replica::open(&db).unwrap();
    let old = replica.actor().clone();
    replica.edit(&synced, &add_entry(1), &cadre("u1")).unwrap();
    sync_once(&mut replica, &mut server, "p");
    // Offline: more on the synced day, and a day the server never saw.
    replica.edit(&synced, &add_entry(2), &cadre("u1")).unwrap();
    replica
        .edit(&synced, &set_summary("走访𠮷户😀"), &cadre("u1"))
        .unwrap();
    replica.edit(&never, &add_entry(3), &cadre("u1")).unwrap();
    let before = (
        replica.record(&synced).unwrap(),
        replica.record(&never).unwrap(),
    );

    let moved = replica.take_new_actor().unwrap();
    assert_ne!(moved.actor, old);
    assert_eq!((moved.docs, moved.changes), (2, 3));
    assert_eq!(replica.actor(), &moved.actor);
    let mut replica = {
        drop(replica);
        Replica::open(&db).unwrap()
    };
    assert_eq!(replica.actor(), &moved.actor, "the new actor is stored");
    assert_eq!(
        (
            replica.record(&synced).unwrap(),
            replica.record(&never).unwrap()
        ),
        before
    );
    let actors = |doc: &mut Document| -> Vec<String> {
        doc.automerge_mut()
            .get_changes(&[])
            .iter()
            .map(|c| c.actor_id().to_hex_string())
            .collect()
    };
    let mut local = replica.load(&synced).unwrap().unwrap();
    let by = actors(&mut local);
    assert_eq!(
        by.iter().filter(|a| **a == old.to_hex()).count(),
        1,
        "the synced change stays the old actor's: {by:?}"
    );
    // A new edit writes as the new actor, and everything reaches the server.
    replica.edit(&never, &add_entry(4), &cadre("u1")).unwrap();
    sync_once(&mut replica, &mut server, "p");
    assert!(replica.pending_docs().unwrap().is_empty());
    for id in [&synced, &never] {
        let mut on_server = server.document(id).unwrap().unwrap();
        assert_eq!(
            Some(on_server.read()),
            replica.record(id).unwrap(),
            "{id} converged"
        );
        let by = actors(&mut on_server);
        assert!(by.contains(&moved.actor.to_hex()), "{id}: {by:?}");
    }
    // Nothing unsynced: nothing moves, the actor changes all the same.
    let again = replica.take_new_actor().unwrap();
    assert_eq!((again.docs, again.changes), (0, 0));
}

/// How many changes the server holds for `id` made by `actor`.
fn server_changes_by(server: &mut MemoryServer, id: &DocId, actor: &Actor) -> usize {
    let mut doc = server.document(id).unwrap().unwrap();
    doc.automerge_mut()
        .get_changes(&[])
        .iter()
        .filter(|c| c.actor_id().to_hex_string() == actor.to_hex())
        .count()
}

fn summary_of(r: &mut Replica, id: &DocId) -> String {
    match r.record(id).unwrap() {
        Some(Record::Diary(d)) => d.summary,
        other => panic!("{other:?}"),
    }
}

fn type_into(r: &mut Replica, id: &DocId, typed: &mut String, text: &str) {
    for ch in text.chars() {
        typed.push(ch);
        r.edit(id, &set_summary(typed), &cadre("u1")).unwrap();
        assert_eq!(&summary_of(r, id), typed, "shown as typed");
    }
}

#[test]
fn typing_is_kept_on_disk_keystroke_by_keystroke_and_sent_as_one_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut server = MemoryServer::new();
    let id = DocId::diary(&user("u1"), day(0));
    let mut phone = Replica::open(&path).unwrap();
    let actor = phone.actor().clone();
    phone.edit(&id, &add_entry(0), &cadre("u1")).unwrap();
    sync_once(&mut phone, &mut server, "a");
    assert_eq!(server_changes_by(&mut server, &id, &actor), 1);

    let mut typed = String::new();
    type_into(&mut phone, &id, &mut typed, "上午走访𠮷家😀");
    assert_eq!(phone.pending_docs().unwrap(), std::slice::from_ref(&id));
    // The app is killed mid-word: what was typed is there after a restart.
    drop(phone);
    let mut phone = Replica::open(&path).unwrap();
    assert_eq!(summary_of(&mut phone, &id), typed);
    // A keystroke the rules refuse changes nothing.
    let outside = Edit::SpliceText {
        target: sync_core::document::TextTarget::Summary,
        pos: 999,
        delete: 0,
        insert: "x".into(),
    };
    assert!(phone.edit(&id, &outside, &cadre("u1")).is_err());
    assert_eq!(summary_of(&mut phone, &id), typed);
    // Splices type too.
    let splice = Edit::SpliceText {
        target: sync_core::document::TextTarget::Summary,
        pos: 0,
        delete: 0,
        insert: "今天".into(),
    };
    phone.edit(&id, &splice, &cadre("u1")).unwrap();
    typed.insert_str(0, "今天");
    type_into(&mut phone, &id, &mut typed, "，下午开会");
    sync_once(&mut phone, &mut server, "a");
    assert_eq!(
        server_changes_by(&mut server, &id, &actor),
        2,
        "fifteen keystrokes made one change"
    );
    assert_eq!(
        server.document(&id).unwrap().unwrap().read(),
        phone.record(&id).unwrap().unwrap()
    );
    assert!(phone.pending_docs().unwrap().is_empty());

    // Typing, then anything else: the typing is a change of its own first.
    type_into(&mut phone, &id, &mut typed, "。");
    phone.edit(&id, &add_entry(1), &cadre("u1")).unwrap();
    assert_eq!(summary_of(&mut phone, &id), typed);
    sync_once(&mut phone, &mut server, "a");
    assert_eq!(server_changes_by(&mut server, &id, &actor), 4);
    match server.document(&id).unwrap().unwrap().read() {
        Record::Diary(d) => assert_eq!((d.summary, d.entries.len()), (typed, 2)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn typing_merges_with_what_another_phone_wrote_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = MemoryServer::new();
    let id = DocId::diary(&user("u1"), day(0));
    let mut a = Replica::open(&dir.path().join("a.db")).unwrap();
    a.edit(&id, &set_summary("走访"), &cadre("u1")).unwrap();
    sync_once(&mut a, &mut server, "a");
    let mut b = Replica::open(&dir.path().join("b.db")).unwrap();
    sync_once(&mut b, &mut server, "b");
    // A types at the end (a draft); B writes at the start and syncs first.
    let mut typed = "走访".to_owned();
    type_into(&mut a, &id, &mut typed, "三户");
    b.edit(&id, &set_summary("上午走访"), &cadre("u1")).unwrap();
    sync_once(&mut b, &mut server, "b");
    sync_once(&mut a, &mut server, "a");
    sync_once(&mut b, &mut server, "b");
    assert_eq!(summary_of(&mut a, &id), "上午走访三户");
    assert_eq!(summary_of(&mut b, &id), "上午走访三户");
}

#[test]
fn a_draft_moves_to_the_new_actor_and_goes_with_a_discard_or_wipe() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = MemoryServer::new();
    let id = DocId::diary(&user("u1"), day(0));
    let mut a = Replica::open(&dir.path().join("a.db")).unwrap();
    a.edit(&id, &add_entry(0), &cadre("u1")).unwrap();
    sync_once(&mut a, &mut server, "a");
    let mut typed = String::new();
    type_into(&mut a, &id, &mut typed, "吊销前");
    let new = a.take_new_actor().unwrap();
    assert_eq!((new.docs, new.changes), (1, 1), "the draft became a change");
    sync_once(&mut a, &mut server, "a");
    assert_eq!(server_changes_by(&mut server, &id, &new.actor), 1);
    assert_eq!(
        server.document(&id).unwrap().unwrap().read(),
        a.record(&id).unwrap().unwrap()
    );

    type_into(&mut a, &id, &mut typed, "，作废");
    a.discard_local_changes(&id).unwrap();
    sync_once(&mut a, &mut server, "a");
    assert_eq!(summary_of(&mut a, &id), "吊销前");
    type_into(&mut a, &id, &mut typed, "。");
    a.wipe().unwrap();
    assert!(a.record(&id).unwrap().is_none());
}

/// A replica of a version that did not read items kept its cursor past
/// the items it was never sent: this version keeps its cursor under a new
/// key, so it starts again from 0 once and they arrive.
#[test]
fn a_cursor_kept_before_items_were_read_starts_again_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut replica = Replica::open(&dir.path().join("r.db")).unwrap();
    replica.set_meta("cursor", &99u64.to_be_bytes()).unwrap();
    assert_eq!(replica.cursor().unwrap(), 0);
    replica
        .set_meta("cursor.items", &7u64.to_be_bytes())
        .unwrap();
    assert_eq!(replica.cursor().unwrap(), 7);
}
