//! Builders shared by the integration tests.

use chrono::NaiveDate;
use sync_core::document::{Category, EntryFields, TextTarget};
use sync_core::memory::MemoryServer;
use sync_core::protocol::{Batch, BatchEntry, EntryBody};
use sync_core::session::{serve, AllowAll, ClientSession, ClientStore, SyncStats};
use sync_core::validate::{Location, TimeOfDay};
use sync_core::{DocId, Edit, EditContext, ItemId, Role, UserId};

pub fn user(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

pub fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap() + chrono::Days::new(u64::from(n))
}

pub fn cadre(u: &str) -> EditContext {
    EditContext {
        user: user(u),
        role: Role::Cadre,
        now_ms: 1_763_870_400_000,
    }
}

/// A realistic diary entry: Chinese text of a few hundred characters.
pub fn entry_fields(n: usize) -> EntryFields {
    EntryFields {
        time: TimeOfDay::from_hm(8 + (n % 10) as u16, (n * 7 % 60) as u16).unwrap(),
        category: Category::Visit,
        place: format!("青山村第{n}组"),
        text: format!(
            "第{n}次入户走访，了解农户春耕备耕情况，宣传惠农政策，收集群众反映的道路硬化和饮水安全问题，现场协调解决两件，其余登记在册，限期办结。"
        )
        .repeat(3),
        households: (n % 7) as u32 + 1,
        location: Some(Location {
            lat: 27.0 + n as f64 / 1000.0,
            lon: 109.0,
            accuracy_m: 10.0,
        }),
    }
}

pub fn add_entry(n: usize) -> Edit {
    Edit::AddEntry {
        id: ItemId::random(),
        fields: entry_fields(n),
    }
}

pub fn set_summary(text: &str) -> Edit {
    Edit::SetText {
        target: TextTarget::Summary,
        text: text.into(),
    }
}

/// Run one whole client session against an in-memory server, through encoded
/// bytes both ways.
pub fn sync_once(
    client: &mut impl ClientStore,
    server: &mut MemoryServer,
    peer: &str,
) -> SyncStats {
    let mut session = ClientSession::new(client).unwrap();
    while let Some(request) = session.next_request(client).unwrap() {
        let up = request.encode();
        let reply = serve(server, &AllowAll, peer, &Batch::decode(&up).unwrap()).unwrap();
        let down = reply.encode();
        session.record_bytes(up.len(), down.len());
        session
            .handle_reply(client, Batch::decode(&down).unwrap())
            .unwrap();
    }
    assert!(session.problems().is_empty(), "{:?}", session.problems());
    session.stats().clone()
}

/// A request carrying `chunk` (Automerge's saved bytes, or anything
/// pretending to be) as the one change of `doc`'s first sync message, as a
/// phone sends a document the server has never seen.
pub fn first_sync_of(doc: &DocId, chunk: Vec<u8>) -> Batch {
    use automerge::sync::{Message, MessageVersion};
    let message = Message {
        heads: Vec::new(),
        need: Vec::new(),
        have: Vec::new(),
        changes: chunk.into(),
        flags: None,
        version: MessageVersion::V2,
    };
    Batch {
        cursor: 0,
        more: false,
        reads_items: false,
        entries: vec![BatchEntry {
            doc: doc.clone(),
            body: EntryBody::Sync(message.encode()),
        }],
    }
}
