//! What the fuzz target `sync_message` asserts about one input: the bytes
//! as the sync message of a diary the server already holds (a day with two
//! entries, a summary and a leader's comment), sent by the owner's phone.
//! The target includes this file with `#[path]`, and so does
//! `sync-core/tests/it/policy.rs`, which replays the committed corpus
//! (`sync-core/tests/corpus/sync_message/`) through it.
//!
//! Whatever the bytes: `serve` answers (no panic escapes, no error but the
//! store's); a message the admission check lets through gains Automerge no
//! more operations than it counted; and a document the write policy
//! accepts reads as a record the phone's typed edits could have made
//! (every entry's time `HH:MM`, places one line of at most 200
//! characters, texts within their limits, nothing removed).
#![allow(dead_code)]

use sync_core::document::policy::Writer;
use sync_core::document::{
    admit_message, Category, EntryFields, Record, RequestBudget, TextTarget,
};
use sync_core::memory::{MemoryReplica, MemoryServer};
use sync_core::protocol::{Batch, BatchEntry, EntryBody};
use sync_core::session::{serve, ClientSession};
use sync_core::validate::{TimeOfDay, MAX_SHORT_CHARS, MAX_TEXT_CHARS};
use sync_core::{Actor, DocId, Edit, EditContext, ItemId, Role, UserId};

/// The phone's actor: fixed, so that a corpus file's changes are by the
/// device the server knows.
pub const PHONE_ACTOR: [u8; 16] = *b"fuzz-phone-actor";

pub fn diary_id() -> DocId {
    DocId::parse("diary:u1:2026-11-23").expect("a valid id")
}

fn writer() -> Writer {
    Writer {
        user: "u1".into(),
        role: Role::Cadre,
        actors: [hex(&PHONE_ACTOR)].into_iter().collect(),
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).expect("a date"),
        opens_cases: false,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The server and the phone after the phone's first sync of the diary.
pub fn stage() -> (MemoryServer, MemoryReplica) {
    let actor = Actor::from_bytes(&PHONE_ACTOR).expect("a valid actor");
    let mut phone = MemoryReplica::new(actor);
    let id = diary_id();
    let ctx = EditContext {
        user: UserId::parse("u1").expect("a valid user"),
        role: Role::Cadre,
        now_ms: 1_763_870_400_000,
    };
    for (n, text) in ["走访三户，了解春耕情况。", "参加镇党委会议"]
        .iter()
        .enumerate()
    {
        let fields = EntryFields {
            time: TimeOfDay::from_hm(8 + n as u16, 30).expect("a time"),
            category: Category::Visit,
            place: "青山村".into(),
            text: (*text).into(),
            households: 3,
            location: None,
        };
        let id_n = ItemId::parse(&format!("e{n}")).expect("an id");
        phone
            .edit(&id, &Edit::AddEntry { id: id_n, fields }, &ctx)
            .expect("a typed edit");
    }
    phone
        .edit(
            &id,
            &Edit::SetText {
                target: TextTarget::Summary,
                text: "今日小结".into(),
            },
            &ctx,
        )
        .expect("a typed edit");
    let mut server = MemoryServer::new();
    let policy = writer();
    let mut session = ClientSession::new(&mut phone).expect("a session");
    while let Some(request) = session.next_request(&mut phone).expect("a request") {
        let reply = serve(&mut server, &policy, "phone", &request).expect("served");
        session.handle_reply(&mut phone, reply).expect("a reply");
    }
    assert!(session.problems().is_empty(), "{:?}", session.problems());
    (server, phone)
}

/// The verdict on one message: `Ok(true)` stored, `Ok(false)` refused.
pub fn sync_message(bytes: &[u8]) -> Result<bool, String> {
    static STAGED: std::sync::OnceLock<MemoryServer> = std::sync::OnceLock::new();
    let mut server = STAGED.get_or_init(|| stage().0).clone();
    let id = diary_id();
    let before = server
        .document(&id)
        .map_err(|e| e.to_string())?
        .expect("staged");
    let before_ops = automerge::ReadDoc::stats(before.automerge()).num_ops;
    let counted = admit_message(bytes, &mut RequestBudget::per_request());
    let request = Batch {
        cursor: 0,
        more: false,
        reads_items: false,
        entries: vec![BatchEntry {
            doc: id.clone(),
            body: EntryBody::Sync(bytes.to_vec()),
        }],
    };
    let reply = serve(&mut server, &writer(), "phone", &request).map_err(|e| e.to_string())?;
    let refused = reply
        .entries
        .iter()
        .any(|e| matches!(e.body, EntryBody::Refused { .. }));
    let after = server
        .document(&id)
        .map_err(|e| e.to_string())?
        .expect("still there");
    let after_ops = automerge::ReadDoc::stats(after.automerge()).num_ops;
    if let Ok(cost) = &counted {
        // Whatever Automerge made of an admitted message, it is no more
        // than what the admission check counted (a stored document only;
        // a refused one left nothing).
        assert!(
            after_ops <= before_ops + cost.ops as u64,
            "the check counted {} operations, Automerge added {}",
            cost.ops,
            after_ops - before_ops
        );
    } else {
        assert_eq!(
            after_ops, before_ops,
            "a message not admitted changed the document"
        );
    }
    if refused {
        return Ok(false);
    }
    let Record::Diary(diary) = after.read() else {
        panic!("a diary reads as a diary");
    };
    assert!(diary.entries.len() >= 2, "an entry was removed");
    assert!(diary.summary.chars().count() <= MAX_TEXT_CHARS);
    for e in &diary.entries {
        TimeOfDay::parse(&e.time).unwrap_or_else(|_| panic!("time {:?} stored", e.time));
        assert!(
            e.place.chars().count() <= MAX_SHORT_CHARS,
            "a long place stored"
        );
        assert!(!e.place.contains('\n'), "a place of two lines stored");
        assert!(
            e.text.chars().count() <= MAX_TEXT_CHARS,
            "a long text stored"
        );
        assert!(e.households <= 10_000, "{} households stored", e.households);
    }
    Ok(true)
}

/// Sync messages for the corpus: what the phone sends for typed edits on
/// top of the staged diary (a new entry, a text edit, a comment).
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let id = diary_id();
    let ctx = EditContext {
        user: UserId::parse("u1").expect("a valid user"),
        role: Role::Cadre,
        now_ms: 1_763_870_500_000,
    };
    let edits: Vec<(&str, Edit)> = vec![
        (
            "seed-add-entry",
            Edit::AddEntry {
                id: ItemId::parse("e9").expect("an id"),
                fields: EntryFields {
                    time: TimeOfDay::from_hm(14, 0).expect("a time"),
                    category: Category::Mediation,
                    place: "村委会".into(),
                    text: "调解邻里纠纷一起".into(),
                    households: 2,
                    location: None,
                },
            },
        ),
        (
            "seed-splice-summary",
            Edit::SpliceText {
                target: TextTarget::Summary,
                pos: 2,
                delete: 1,
                insert: "工作".into(),
            },
        ),
        (
            "seed-delete-entry",
            Edit::DeleteEntry {
                id: ItemId::parse("e0").expect("an id"),
            },
        ),
    ];
    for (name, edit) in edits {
        let (_, mut phone) = stage();
        phone.edit(&id, &edit, &ctx).expect("a typed edit");
        let mut session = ClientSession::new(&mut phone).expect("a session");
        let request = session
            .next_request(&mut phone)
            .expect("a request")
            .expect("something to send");
        for e in request.entries {
            if let EntryBody::Sync(m) = e.body {
                out.push((name.to_owned(), m));
            }
        }
    }
    out
}
