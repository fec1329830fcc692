//! 督办 items through real sync: the issuer's brief, the assignee's steps
//! offline, the issuer's 销号, and every way around the rights refused by
//! the write policy — typed edits on the phone and raw Automerge writes as
//! a hostile client would make them.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ReadDoc, ROOT};
use chrono::NaiveDate;
use sync_core::document::item::{
    ItemBrief, ItemList, ItemSource, ItemStatus, StepAction, StepFields,
};
use sync_core::document::policy::Writer;
use sync_core::memory::{MemoryReplica, MemoryServer};
use sync_core::protocol::Batch;
use sync_core::session::{serve, ClientSession, ClientStore, DocProblem};
use sync_core::{Actor, CoreError, DocId, Edit, EditContext, ItemId, Record, Role};

use crate::common::user;

fn writer(user: &str, role: Role, replica: &MemoryReplica) -> Writer {
    Writer {
        user: user.to_owned(),
        role,
        actors: [replica.actor().to_hex()].into_iter().collect(),
        today: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        opens_cases: false,
    }
}

fn sync(
    server: &mut MemoryServer,
    replica: &mut MemoryReplica,
    policy: &Writer,
) -> Vec<DocProblem> {
    let peer = replica.actor().to_hex();
    let mut session = ClientSession::new(replica).unwrap();
    while let Some(request) = session.next_request(replica).unwrap() {
        let reply = serve(
            server,
            policy,
            &peer,
            &Batch::decode(&request.encode()).unwrap(),
        )
        .unwrap();
        session
            .handle_reply(replica, Batch::decode(&reply.encode()).unwrap())
            .unwrap();
    }
    session.problems().to_vec()
}

fn ctx(u: &str, role: Role, now_ms: i64) -> EditContext {
    EditContext {
        user: user(u),
        role,
        now_ms,
    }
}

fn brief() -> ItemBrief {
    ItemBrief {
        list: ItemList::Supervision,
        source: ItemSource::Meeting,
        title: "青山村道路硬化".into(),
        content: "群众反映三组道路破损，雨天无法通行。".into(),
        measures: "本月内完成修复并回访。".into(),
        due: NaiveDate::from_ymd_opt(2026, 12, 15).unwrap(),
        unit: "qingshan".into(),
        responsible: user("u1"),
        collaborators: vec![user("u2")],
    }
}

fn step(action: StepAction, text: &str) -> Edit {
    Edit::AddItemStep {
        id: ItemId::random(),
        step: StepFields {
            verdict: None,
            action,
            text: text.into(),
            photos: Vec::new(),
        },
    }
}

/// The issuer l1 (a leader) opens an item for u1 with u2 helping; each
/// phone has synced it.
struct Stage {
    server: MemoryServer,
    issuer: MemoryReplica,
    responsible: MemoryReplica,
    helper: MemoryReplica,
    id: DocId,
}

fn stage() -> Stage {
    let mut server = MemoryServer::new();
    let mut issuer = MemoryReplica::new(Actor::random());
    let id = DocId::new_item();
    issuer
        .edit(
            &id,
            &Edit::IssueItem { brief: brief() },
            &ctx("l1", Role::Leader, 1_000),
        )
        .unwrap();
    let w = writer("l1", Role::Leader, &issuer);
    assert_eq!(sync(&mut server, &mut issuer, &w), vec![]);
    let mut responsible = MemoryReplica::new(Actor::random());
    let w = writer("u1", Role::Cadre, &responsible);
    assert_eq!(sync(&mut server, &mut responsible, &w), vec![]);
    let mut helper = MemoryReplica::new(Actor::random());
    let w = writer("u2", Role::Cadre, &helper);
    assert_eq!(sync(&mut server, &mut helper, &w), vec![]);
    Stage {
        server,
        issuer,
        responsible,
        helper,
        id,
    }
}

fn item_of(replica: &mut MemoryReplica, id: &DocId) -> sync_core::document::item::Item {
    match replica.document(id).unwrap().unwrap().read() {
        Record::Item(i) => i,
        other => panic!("not an item: {other:?}"),
    }
}

#[test]
fn an_item_goes_from_issue_through_offline_work_to_confirmation() {
    let mut s = stage();
    let got = item_of(&mut s.responsible, &s.id);
    assert_eq!(got.brief.as_ref().unwrap().issuer, "l1");
    assert_eq!(got.brief.as_ref().unwrap().collaborators, vec!["u2"]);

    // Offline on both phones: progress by both, then the request.
    let u1 = ctx("u1", Role::Cadre, 2_000);
    s.responsible
        .edit(&s.id, &step(StepAction::Progress, "已联系施工队"), &u1)
        .unwrap();
    let u2 = ctx("u2", Role::Cadre, 2_500);
    s.helper
        .edit(&s.id, &step(StepAction::Progress, "已备料"), &u2)
        .unwrap();
    let u1 = ctx("u1", Role::Cadre, 3_000);
    s.responsible
        .edit(
            &s.id,
            &step(StepAction::RequestClose, "已修复，申请销号"),
            &u1,
        )
        .unwrap();
    let w = writer("u1", Role::Cadre, &s.responsible);
    assert_eq!(sync(&mut s.server, &mut s.responsible, &w), vec![]);
    let w = writer("u2", Role::Cadre, &s.helper);
    assert_eq!(sync(&mut s.server, &mut s.helper, &w), vec![]);

    // The issuer sees both and confirms.
    let w = writer("l1", Role::Leader, &s.issuer);
    assert_eq!(sync(&mut s.server, &mut s.issuer, &w), vec![]);
    let seen = item_of(&mut s.issuer, &s.id);
    assert_eq!(seen.steps.len(), 3);
    assert_eq!(seen.standing().status, ItemStatus::AwaitingConfirmation);
    s.issuer
        .edit(
            &s.id,
            &step(StepAction::Confirm, "同意销号"),
            &ctx("l1", Role::Leader, 4_000),
        )
        .unwrap();
    assert_eq!(sync(&mut s.server, &mut s.issuer, &w), vec![]);
    let w = writer("u1", Role::Cadre, &s.responsible);
    assert_eq!(sync(&mut s.server, &mut s.responsible, &w), vec![]);
    let closed = item_of(&mut s.responsible, &s.id).standing();
    assert_eq!(closed.status, ItemStatus::Closed);
    assert_eq!(
        (closed.done_at, closed.closed_at),
        (Some(3_000), Some(4_000))
    );
}

#[test]
fn the_phone_refuses_steps_outside_a_part() {
    let mut s = stage();
    let u1 = ctx("u1", Role::Cadre, 2_000);
    let own_confirm = s
        .responsible
        .edit(&s.id, &step(StepAction::Confirm, "我自己销号"), &u1);
    assert!(
        matches!(own_confirm, Err(CoreError::Forbidden { .. })),
        "{own_confirm:?}"
    );
    let u2 = ctx("u2", Role::Cadre, 2_000);
    let helper_request = s
        .helper
        .edit(&s.id, &step(StepAction::RequestClose, "完成"), &u2);
    assert!(
        matches!(helper_request, Err(CoreError::Forbidden { .. })),
        "{helper_request:?}"
    );
    let send_back_open = s.issuer.edit(
        &s.id,
        &step(StepAction::SendBack, "不行"),
        &ctx("l1", Role::Leader, 2_000),
    );
    assert!(
        send_back_open.is_err(),
        "an open item is not sent back: {send_back_open:?}"
    );
    let reissue = s.issuer.edit(
        &s.id,
        &Edit::IssueItem { brief: brief() },
        &ctx("l1", Role::Leader, 2_000),
    );
    assert!(reissue.is_err(), "an item is issued once: {reissue:?}");
    let cadre_issue = MemoryReplica::new(Actor::random()).edit(
        &DocId::new_item(),
        &Edit::IssueItem { brief: brief() },
        &ctx("u9", Role::Cadre, 1_000),
    );
    assert!(
        matches!(cadre_issue, Err(CoreError::Forbidden { .. })),
        "{cadre_issue:?}"
    );
}

/// Write a whole step with Automerge's calls, as another client would.
fn raw_step(am: &mut AutoCommit, action: &str, by: &str, role: &str) {
    raw_step_at(am, action, by, role, 5_000);
}

fn raw_step_at(am: &mut AutoCommit, action: &str, by: &str, role: &str, at: i64) {
    let steps = am.get(ROOT, "steps").unwrap().unwrap().1;
    let s = am
        .put_object(&steps, ItemId::random().as_str(), ObjType::Map)
        .unwrap();
    am.put(&s, "schema", 1u64).unwrap();
    am.put(&s, "action", action).unwrap();
    am.put(&s, "by", by).unwrap();
    am.put(&s, "role", role).unwrap();
    am.put(&s, "at", at).unwrap();
    am.put_object(&s, "text", ObjType::Text).unwrap();
    am.put_object(&s, "photos", ObjType::Map).unwrap();
}

/// `mutation` written raw on `who`'s phone is refused whole, for `says`.
fn refused(s: &mut Stage, who: &str, mutation: impl FnOnce(&mut AutoCommit), says: &str) {
    refused_as(s, who, mutation, "forbidden_change", says);
}

fn refused_as(
    s: &mut Stage,
    who: &str,
    mutation: impl FnOnce(&mut AutoCommit),
    code: &str,
    says: &str,
) {
    let (replica, role) = match who {
        "u1" => (&mut s.responsible, Role::Cadre),
        "u2" => (&mut s.helper, Role::Cadre),
        _ => (&mut s.issuer, Role::Leader),
    };
    let before = s.server.stored_bytes(&s.id).map(<[u8]>::to_vec);
    let mut doc = replica.document(&s.id).unwrap().unwrap();
    mutation(doc.automerge_mut());
    doc.automerge_mut().commit();
    replica.insert_raw(doc);
    let w = writer(who, role, replica);
    let problems = sync(&mut s.server, replica, &w);
    assert_eq!(
        s.server.stored_bytes(&s.id).map(<[u8]>::to_vec),
        before,
        "{says}: stored"
    );
    assert_eq!(problems.len(), 1, "{says}: {problems:?}");
    assert_eq!(problems[0].code, code, "{says}: {problems:?}");
    assert!(
        problems[0].message.contains(says),
        "{says}: {}",
        problems[0].message
    );
}

#[test]
fn the_server_refuses_what_a_hostile_phone_writes_into_an_item() {
    refused(
        &mut stage(),
        "u1",
        |am| raw_step(am, "confirm", "u1", "cadre"),
        "may not take the step",
    );
    refused(
        &mut stage(),
        "u2",
        |am| raw_step(am, "request_close", "u2", "cadre"),
        "may not take",
    );
    refused(
        &mut stage(),
        "u1",
        |am| raw_step(am, "progress", "l1", "leader"),
        "not written by",
    );
    refused(
        &mut stage(),
        "u1",
        |am| {
            let b = am.get(ROOT, "brief").unwrap().unwrap().1;
            am.put(&b, "due", "2027-06-30").unwrap();
        },
        "written once",
    );
    refused(
        &mut stage(),
        "l1",
        |am| {
            let b = am.get(ROOT, "brief").unwrap().unwrap().1;
            am.put(&b, "responsible", "u3").unwrap();
        },
        "written once",
    );
    refused(
        &mut stage(),
        "u1",
        |am| {
            am.put(ROOT, "note", "x").unwrap();
        },
        "no such field",
    );
    // A step that stands is never changed, not even by its author.
    let mut s = stage();
    let u1 = ctx("u1", Role::Cadre, 2_000);
    s.responsible
        .edit(&s.id, &step(StepAction::Progress, "已联系"), &u1)
        .unwrap();
    let w = writer("u1", Role::Cadre, &s.responsible);
    assert_eq!(sync(&mut s.server, &mut s.responsible, &w), vec![]);
    refused(
        &mut s,
        "u1",
        |am| {
            let steps = am.get(ROOT, "steps").unwrap().unwrap().1;
            let (key, _) = am
                .map_range(&steps, ..)
                .map(|i| (i.key.to_string(), ()))
                .next()
                .unwrap();
            let st = am.get(&steps, &key).unwrap().unwrap().1;
            am.put(&st, "at", 1i64).unwrap();
        },
        "never changed",
    );
}

#[test]
fn a_step_dated_before_the_issue_or_after_tomorrow_is_refused() {
    // Far ahead, it would order every later step after it for good.
    refused_as(
        &mut stage(),
        "u1",
        |am| raw_step_at(am, "progress", "u1", "cadre", (1 << 53) - 1),
        "bad_date",
        "dated outside",
    );
    refused_as(
        &mut stage(),
        "u1",
        |am| raw_step_at(am, "progress", "u1", "cadre", 500),
        "bad_date",
        "dated outside",
    );
}

#[test]
fn a_confirmation_wins_over_a_concurrent_sending_back() {
    let mut s = stage();
    let u1 = ctx("u1", Role::Cadre, 2_000);
    s.responsible
        .edit(&s.id, &step(StepAction::RequestClose, "完成"), &u1)
        .unwrap();
    let w = writer("u1", Role::Cadre, &s.responsible);
    assert_eq!(sync(&mut s.server, &mut s.responsible, &w), vec![]);
    // The issuer and a leader above both answer, each offline.
    let w = writer("l1", Role::Leader, &s.issuer);
    assert_eq!(sync(&mut s.server, &mut s.issuer, &w), vec![]);
    let mut above = MemoryReplica::new(Actor::random());
    let wa = writer("s1", Role::Supervisor, &above);
    assert_eq!(sync(&mut s.server, &mut above, &wa), vec![]);
    above
        .edit(
            &s.id,
            &step(StepAction::SendBack, "材料不全"),
            &ctx("s1", Role::Supervisor, 3_000),
        )
        .unwrap();
    s.issuer
        .edit(
            &s.id,
            &step(StepAction::Confirm, "同意"),
            &ctx("l1", Role::Leader, 2_500),
        )
        .unwrap();
    assert_eq!(sync(&mut s.server, &mut above, &wa), vec![]);
    assert_eq!(sync(&mut s.server, &mut s.issuer, &w), vec![]);
    assert_eq!(sync(&mut s.server, &mut above, &wa), vec![]);
    for r in [&mut s.issuer, &mut above] {
        let item = item_of(r, &s.id);
        assert_eq!(item.steps.len(), 3);
        assert_eq!(item.standing().status, ItemStatus::Closed);
    }
}

#[test]
fn an_item_genesis_is_the_same_everywhere_and_frozen() {
    let id = DocId::parse("item:0123456789abcdef0123456789abcdef").unwrap();
    let mut a = sync_core::document::genesis(&id);
    let mut b = sync_core::document::genesis(&id);
    assert_eq!(a.save(), b.save());
    assert_eq!(sync_core::document::genesis_hash(&id), a.get_heads()[0]);
    assert_eq!(
        a.get(ROOT, "id").unwrap().unwrap().0.to_string(),
        "\"0123456789abcdef0123456789abcdef\""
    );
    let other = DocId::new_item();
    assert_ne!(sync_core::document::genesis_hash(&other), a.get_heads()[0]);
}

#[test]
fn a_confirmation_or_sending_back_answers_a_request_or_is_refused() {
    // Nobody asked to close: the issuer cannot close (nor send back) on
    // their own, by writing the step raw.
    refused(
        &mut stage(),
        "l1",
        |am| raw_step(am, "confirm", "l1", "leader"),
        "answers a request to close",
    );
    refused(
        &mut stage(),
        "l1",
        |am| raw_step(am, "send_back", "l1", "leader"),
        "answers a request to close",
    );
    // Once asked, an answer dated before the request answers nothing; the
    // same raw confirmation dated after it stands and closes the item.
    refused(
        &mut asked(),
        "l1",
        |am| raw_step_at(am, "confirm", "l1", "leader", 1_500),
        "none was made before it",
    );
    let mut s = asked();
    let mut doc = s.issuer.document(&s.id).unwrap().unwrap();
    raw_step(doc.automerge_mut(), "confirm", "l1", "leader");
    doc.automerge_mut().commit();
    s.issuer.insert_raw(doc);
    let w = writer("l1", Role::Leader, &s.issuer);
    assert_eq!(sync(&mut s.server, &mut s.issuer, &w), vec![]);
    assert_eq!(
        item_of(&mut s.issuer, &s.id).standing().status,
        ItemStatus::Closed
    );
}

/// A stage where the responsible person asked to close (at 2,000 ms) and
/// the issuer's phone holds the request.
fn asked() -> Stage {
    let mut s = stage();
    s.responsible
        .edit(
            &s.id,
            &step(StepAction::RequestClose, "完成"),
            &ctx("u1", Role::Cadre, 2_000),
        )
        .unwrap();
    let w = writer("u1", Role::Cadre, &s.responsible);
    assert_eq!(sync(&mut s.server, &mut s.responsible, &w), vec![]);
    let w = writer("l1", Role::Leader, &s.issuer);
    assert_eq!(sync(&mut s.server, &mut s.issuer, &w), vec![]);
    s
}

// ---- every honest step, in any order, with clocks behind or ahead --------

/// Who acts: the issuer, the responsible cadre, the collaborator, a
/// supervisor above.
const PEOPLE: [(&str, Role); 4] = [
    ("l1", Role::Leader),
    ("u1", Role::Cadre),
    ("u2", Role::Cadre),
    ("s1", Role::Supervisor),
];

#[derive(Debug, Clone)]
enum Move {
    /// Person `who` takes `action` offline, their clock `skew` seconds off.
    Take {
        who: usize,
        action: usize,
        skew: i64,
    },
    /// Person `who` syncs.
    Sync { who: usize },
}

fn a_move() -> impl proptest::strategy::Strategy<Value = Move> {
    use proptest::prelude::*;
    prop_oneof![
        (0..4usize, 0..4usize, -600..600i64).prop_map(|(who, action, skew)| Move::Take {
            who,
            action,
            skew
        }),
        (0..4usize).prop_map(|who| Move::Sync { who }),
    ]
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
        .min(1_000)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: cases(), max_shrink_iters: 300, ..proptest::prelude::ProptestConfig::default()
    })]

    /// Whatever steps the four people take offline through the typed edits
    /// (which refuse what their part or the item's standing does not
    /// allow), in whatever order they sync, and however wrong their clocks,
    /// the server accepts every change (a refused honest change would stay
    /// on a phone for good), and every phone ends with the server's item
    /// and status.
    #[test]
    fn every_honest_step_is_accepted_and_all_agree(
        moves in proptest::collection::vec(a_move(), 1..40)
    ) {
        let mut server = MemoryServer::new();
        let id = DocId::new_item();
        let mut phones: Vec<MemoryReplica> =
            PEOPLE.iter().map(|_| MemoryReplica::new(Actor::random())).collect();
        phones[0]
            .edit(&id, &Edit::IssueItem { brief: brief() }, &ctx("l1", Role::Leader, 1_000_000))
            .unwrap();
        let sync_one = |server: &mut MemoryServer, phones: &mut [MemoryReplica], who: usize| {
            let (u, role) = PEOPLE[who];
            let w = writer(u, role, &phones[who]);
            let problems = sync(server, &mut phones[who], &w);
            assert!(problems.is_empty(), "{u}: {problems:?}");
        };
        for who in 0..4 {
            sync_one(&mut server, &mut phones, who);
        }
        let actions = [
            StepAction::Progress,
            StepAction::RequestClose,
            StepAction::Confirm,
            StepAction::SendBack,
        ];
        for (t, m) in moves.iter().enumerate() {
            match *m {
                Move::Take { who, action, skew } => {
                    let (u, role) = PEOPLE[who];
                    let now = 1_000_000 + (t as i64 + 1) * 60_000 + skew * 1_000;
                    // Refused here when the part or the standing does not
                    // allow it: that is the typed edit's job.
                    let _ = phones[who].edit(
                        &id,
                        &step(actions[action], "办理情况"),
                        &ctx(u, role, now.max(0)),
                    );
                }
                Move::Sync { who } => sync_one(&mut server, &mut phones, who),
            }
        }
        for _ in 0..2 {
            for who in 0..4 {
                sync_one(&mut server, &mut phones, who);
            }
        }
        let on_server = match server.document(&id).unwrap().unwrap().read() {
            Record::Item(i) => i,
            other => panic!("not an item: {other:?}"),
        };
        for phone in &mut phones {
            let here = item_of(phone, &id);
            assert_eq!(here, on_server);
        }
        // Every answer stored answers a request dated before it (what
        // the write policy holds every phone to).
        for answer in on_server
            .steps
            .iter()
            .filter(|x| matches!(x.action, StepAction::Confirm | StepAction::SendBack))
        {
            assert!(
                on_server
                    .steps
                    .iter()
                    .any(|x| x.action == StepAction::RequestClose && x.at < answer.at),
                "{answer:?}"
            );
        }
    }
}
