//! Client and server sessions over encoded batches.

use sync_core::document::{Record, TextTarget};
use sync_core::memory::{MemoryReplica, MemoryServer};
use sync_core::replica::Replica;
use sync_core::session::ClientStore;
use sync_core::{Actor, DocId, Edit, EditContext, ItemId, Role};

use crate::common::*;

fn week_offline(client: &mut impl FnMut(&DocId, &Edit), owner: &str) -> Vec<DocId> {
    let mut ids = Vec::new();
    for d in 0..7 {
        let diary = DocId::diary(&user(owner), day(d));
        for n in 0..5 {
            client(&diary, &add_entry(n));
        }
        client(&diary, &set_summary("今日小结：走访五户，协调两件。"));
        let night = DocId::night(&user(owner), day(d));
        client(
            &night,
            &Edit::SetOvernight {
                stayed: true,
                place: Some("村委会".into()),
            },
        );
        ids.push(diary);
        ids.push(night);
    }
    ids
}

#[test]
fn a_week_offline_syncs_in_one_round_trip() {
    let mut phone = MemoryReplica::new(Actor::random());
    let ids = week_offline(&mut |id, e| phone.edit(id, e, &cadre("u1")).unwrap(), "u1");
    let mut server = MemoryServer::new();
    let stats = sync_once(&mut phone, &mut server, "dev-a");
    assert!(stats.round_trips <= 3, "{stats:?}");
    assert_eq!(stats.round_trips, 1, "{stats:?}");
    assert_eq!(stats.docs_sent, 14);
    assert!(phone.pending().unwrap().is_empty());
    for id in &ids {
        let on_server = server.document(id).unwrap().unwrap().read();
        let on_phone = phone.document(id).unwrap().unwrap().read();
        assert_eq!(on_server, on_phone);
    }
    // Nothing left: the next sync is one empty round trip.
    let again = sync_once(&mut phone, &mut server, "dev-a");
    assert_eq!(
        (again.round_trips, again.docs_sent, again.docs_received),
        (1, 0, 0)
    );
}

#[test]
fn round_trips_do_not_grow_with_the_number_of_documents() {
    for days in [1u32, 30, 200] {
        let mut phone = MemoryReplica::new(Actor::random());
        for d in 0..days {
            let id = DocId::diary(&user("u1"), day(0) + chrono::Days::new(u64::from(d)));
            phone
                .edit(&id, &add_entry(d as usize), &cadre("u1"))
                .unwrap();
        }
        let mut server = MemoryServer::new();
        let stats = sync_once(&mut phone, &mut server, "dev");
        assert!(stats.round_trips <= 3, "{days} docs: {stats:?}");
    }
}

#[test]
fn two_phones_of_one_cadre_converge_through_the_server() {
    let mut server = MemoryServer::new();
    let mut a = MemoryReplica::new(Actor::random());
    let mut b = MemoryReplica::new(Actor::random());
    let id = DocId::diary(&user("u1"), day(3));
    // Both start the same day offline.
    a.edit(&id, &add_entry(1), &cadre("u1")).unwrap();
    b.edit(&id, &add_entry(2), &cadre("u1")).unwrap();
    b.edit(&id, &add_entry(3), &cadre("u1")).unwrap();
    sync_once(&mut a, &mut server, "a");
    let stats_b = sync_once(&mut b, &mut server, "b");
    assert!(stats_b.round_trips <= 3, "{stats_b:?}");
    sync_once(&mut a, &mut server, "a");
    let ra = a.document(&id).unwrap().unwrap().read();
    let rb = b.document(&id).unwrap().unwrap().read();
    assert_eq!(ra, rb);
    let Record::Diary(d) = ra else { panic!() };
    assert_eq!(d.entries.len(), 3);
}

#[test]
fn a_supervisors_comment_reaches_the_phone() {
    let mut server = MemoryServer::new();
    let mut phone = MemoryReplica::new(Actor::random());
    let mut web = MemoryReplica::new(Actor::random());
    let id = DocId::diary(&user("u1"), day(5));
    phone.edit(&id, &add_entry(1), &cadre("u1")).unwrap();
    sync_once(&mut phone, &mut server, "phone");
    // The supervisor's client learns the document through the cursor.
    sync_once(&mut web, &mut server, "web");
    let sup = EditContext {
        user: user("s1"),
        role: Role::Supervisor,
        now_ms: 7,
    };
    web.edit(
        &id,
        &Edit::AddComment {
            id: ItemId::random(),
            on: None,
            text: "请补充照片".into(),
        },
        &sup,
    )
    .unwrap();
    sync_once(&mut web, &mut server, "web");
    let stats = sync_once(&mut phone, &mut server, "phone");
    assert!(stats.round_trips <= 3, "{stats:?}");
    let Record::Diary(d) = phone.document(&id).unwrap().unwrap().read() else {
        panic!()
    };
    assert_eq!(d.comments.len(), 1);
    assert_eq!(d.comments[0].text, "请补充照片");
    assert!(phone.pending().unwrap().is_empty());
}

#[test]
fn the_sqlite_replica_syncs_and_keeps_state_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.db");
    let mut server = MemoryServer::new();
    let id = DocId::diary(&user("u1"), day(1));
    {
        let mut phone = Replica::open(&path).unwrap();
        phone.edit(&id, &add_entry(1), &cadre("u1")).unwrap();
        assert_eq!(phone.pending_docs().unwrap(), vec![id.clone()]);
        sync_once(&mut phone, &mut server, "p");
        assert!(phone.pending_docs().unwrap().is_empty());
        phone.edit(&id, &add_entry(2), &cadre("u1")).unwrap();
    }
    let mut phone = Replica::open(&path).unwrap();
    assert_eq!(phone.pending_docs().unwrap(), vec![id.clone()]);
    // Only the new entry travels: the persisted sync state primes the session.
    let stats = sync_once(&mut phone, &mut server, "p");
    assert_eq!(stats.round_trips, 1, "{stats:?}");
    assert!(stats.bytes_sent < 1_500, "{stats:?}");
    let Record::Diary(d) = server.document(&id).unwrap().unwrap().read() else {
        panic!()
    };
    assert_eq!(d.entries.len(), 2);
    let _ = TextTarget::Summary;
}

/// More than one request's worth (the server's per-request budget, which
/// defers the rest): the phone sends each document once, in as many
/// requests as it takes, and never uploads a document the server would
/// only defer (on 2G every byte is the cadre's time).
#[test]
fn a_backlog_over_one_requests_budget_is_sent_once_per_document() {
    let mut phone = MemoryReplica::new(Actor::random());
    let ctx = cadre("u1");
    // 30 diaries of 10 entries of 2,000 characters: about 600,000
    // operations, three requests' worth.
    let mut ids = Vec::new();
    for d in 0..30 {
        let diary = DocId::diary(&user("u1"), day(d));
        for n in 0..10 {
            let mut fields = entry_fields(n);
            fields.text = format!("第{d}天第{n}条，").repeat(1)
                + &"入户走访了解情况宣传政策收集问题。".repeat(120);
            let edit = Edit::AddEntry {
                id: ItemId::random(),
                fields,
            };
            phone.edit(&diary, &edit, &ctx).unwrap();
        }
        ids.push(diary);
    }
    let mut server = MemoryServer::new();
    let stats = sync_once(&mut phone, &mut server, "phone");
    assert_eq!(stats.docs_sent, ids.len() as u64, "{stats:?}");
    assert!(stats.round_trips >= 3, "{stats:?}");
    for id in &ids {
        assert_eq!(
            server.document(id).unwrap().unwrap().heads(),
            phone.document(id).unwrap().unwrap().heads(),
            "{id}"
        );
    }
    assert!(phone.pending().unwrap().is_empty());
}
