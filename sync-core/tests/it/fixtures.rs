//! Golden files: the bytes of wire format version 1 and of every kind's
//! genesis change are pinned. A change to either breaks phones already in
//! the field, so these tests fail until a new version is introduced on
//! purpose. `JISHI_BLESS=1` rewrites the files (only for a new version).

use std::path::PathBuf;

use automerge::sync::Message;
use automerge::ActorId;
use sync_core::document::{genesis, genesis_hash};
use sync_core::protocol::{Batch, BatchEntry, EntryBody};
use sync_core::session::primed_state;
use sync_core::{Actor, DocId, Document, Edit, ItemId};

use crate::common::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn check_golden(name: &str, bytes: &[u8]) {
    let path = fixture(name);
    if std::env::var_os("JISHI_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        golden == bytes,
        "{name} differs from the golden file; the format changed"
    );
}

fn ids() -> [DocId; 3] {
    [
        DocId::parse("diary:u1:2026-11-23").unwrap(),
        DocId::parse("night:u1:2026-11-23").unwrap(),
        DocId::parse("plan:u1:2026-11").unwrap(),
    ]
}

#[test]
fn genesis_changes_are_pinned() {
    for id in ids() {
        let kind = id.kind().as_str();
        check_golden(&format!("genesis-{kind}.automerge"), &genesis(&id).save());
        check_golden(
            &format!("genesis-{kind}.hash"),
            genesis_hash(&id).to_string().as_bytes(),
        );
    }
}

/// A deterministic document: fixed actor, ids and times.
fn fixed_doc() -> Document {
    let id = ids()[0].clone();
    let actor = Actor::from_bytes(&[7u8; 16]).unwrap();
    let mut doc = Document::create(id, &actor);
    let mut fields = entry_fields(1);
    fields.text = "走访五户".into();
    doc.apply(
        &Edit::AddEntry {
            id: ItemId::parse("e1").unwrap(),
            fields,
        },
        &cadre("u1"),
    )
    .unwrap();
    doc
}

fn fixed_request() -> Batch {
    let mut doc = fixed_doc();
    let mut state = primed_state(None);
    let message = doc
        .automerge_mut()
        .sync()
        .generate_sync_message(&mut state)
        .unwrap();
    use automerge::sync::SyncDoc;
    Batch {
        cursor: 0,
        more: false,
        reads_items: false,
        entries: vec![BatchEntry {
            doc: ids()[0].clone(),
            body: EntryBody::Sync(message.encode()),
        }],
    }
}

fn fixed_reply() -> Batch {
    Batch {
        cursor: 4242,
        more: true,
        reads_items: false,
        entries: vec![BatchEntry {
            doc: ids()[2].clone(),
            body: EntryBody::Refused {
                code: "forbidden_change".into(),
                message: "只有本人可以修改纪实内容".into(),
            },
        }],
    }
}

#[test]
fn batch_v1_is_pinned() {
    for (name, batch) in [
        ("batch-v1-request.bin", fixed_request()),
        ("batch-v1-reply.bin", fixed_reply()),
    ] {
        let bytes = batch.encode();
        check_golden(name, &bytes);
        let golden = std::fs::read(fixture(name)).unwrap();
        assert_eq!(Batch::decode(&golden).unwrap(), batch);
    }
}

/// The message inside a batch is a standard Automerge sync message: a plain
/// Automerge peer, knowing nothing of Jishi, syncs the document from it.
#[test]
fn a_plain_automerge_peer_reads_the_message() {
    use automerge::sync::{State, SyncDoc};
    use automerge::ReadDoc;
    let golden = std::fs::read(fixture("batch-v1-request.bin")).unwrap();
    let batch = Batch::decode(&golden).unwrap();
    let EntryBody::Sync(bytes) = &batch.entries[0].body else {
        panic!()
    };
    let mut plain = automerge::AutoCommit::new().with_actor(ActorId::random());
    plain
        .sync()
        .receive_sync_message(&mut State::new(), Message::decode(bytes).unwrap())
        .unwrap();
    let entries = plain.get(automerge::ROOT, "entries").unwrap().unwrap().1;
    let entry = plain.get(&entries, "e1").unwrap().unwrap().1;
    let text = plain.get(&entry, "text").unwrap().unwrap().1;
    assert_eq!(plain.text(&text).unwrap(), "走访五户");
    assert_eq!(plain.get_heads(), fixed_doc().heads());
}
