//! The write policy (`sync_core::document::policy`) held to both of its
//! promises: every typed edit the phone can make is accepted, through real
//! sync messages, whatever the order; and every mutation outside the schema
//! — written with Automerge's own calls, as another implementation or a
//! hostile client would — is refused whole, with a reason naming the path.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ReadDoc, ROOT};
use chrono::NaiveDate;
use proptest::prelude::*;
use sync_core::document::policy::Writer;
use sync_core::document::{
    ActivityFields, ActivityPatch, Category, EntryFields, EntryPatch, ItemText, NightKind,
    PhotoRef, StatusKind, TaskFields, TaskKind, TaskStatus, TextTarget,
};
use sync_core::memory::{MemoryReplica, MemoryServer};
use sync_core::protocol::Batch;
use sync_core::session::{serve, ClientSession, ClientStore, DocProblem};
use sync_core::validate::{Location, PhotoHash, TimeOfDay};
use sync_core::{Actor, DocId, Document, Edit, EditContext, ItemId, Role};

use crate::common::{cadre, user};

/// The day the server believes it is.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
}

fn writer(user: &str, role: Role, replica: &MemoryReplica) -> Writer {
    Writer {
        user: user.to_owned(),
        role,
        actors: [replica.actor().to_hex()].into_iter().collect(),
        today: today(),
        opens_cases: false,
    }
}

/// One whole session of `replica` under `policy`: the problems it met.
fn sync(
    server: &mut MemoryServer,
    replica: &mut MemoryReplica,
    policy: &Writer,
) -> Vec<DocProblem> {
    let peer = replica.actor().to_hex();
    let mut session = ClientSession::new(replica).unwrap();
    while let Some(request) = session.next_request(replica).unwrap() {
        let up = request.encode();
        let reply = serve(server, policy, &peer, &Batch::decode(&up).unwrap()).unwrap();
        session
            .handle_reply(replica, Batch::decode(&reply.encode()).unwrap())
            .unwrap();
    }
    session.problems().to_vec()
}

fn leader() -> EditContext {
    EditContext {
        user: user("l1"),
        role: Role::Leader,
        now_ms: 1_763_870_400_000,
    }
}

// ---- every typed edit is accepted -------------------------------------

/// A typed edit, its choices made modulo what the replica holds when it is
/// made (which item, where in a text).
#[derive(Debug, Clone)]
enum Step {
    AddEntry(u8, bool),
    UpdateEntry(usize, u8),
    DeleteEntry(usize),
    AddActivity(u8, bool),
    UpdateActivity(usize, u8),
    DeleteActivity(usize),
    SetOvernight(bool, bool),
    SetStatus(u8),
    AddTask(u8, bool),
    CloseTask(usize, bool, u8),
    ReopenTask(usize),
    DeleteTask(usize),
    SetTaskDue(usize, u8),
    AttachPhoto(usize, u8, bool),
    DetachPhoto(usize),
    Splice(u8, usize, usize, u8),
    SetText(u8, u8),
    Comment(u8, bool),
    DeleteComment(usize),
    Sync(bool),
}

const TEXTS: &[&str] = &[
    "",
    "走访三户",
    "了解春耕备耕情况，\n现场协调解决两件。",
    "a\tb 🙂 é",
    "群众反映道路硬化问题，已登记。",
];

fn text(n: u8) -> String {
    TEXTS[n as usize % TEXTS.len()].to_owned()
}

fn time(n: u8) -> TimeOfDay {
    TimeOfDay::from_hm(u16::from(n % 24), u16::from(n) * 7 % 60).unwrap()
}

fn step() -> impl Strategy<Value = Step> {
    let n = any::<u8>;
    let pick = any::<usize>;
    prop_oneof![
        3 => (n(), any::<bool>()).prop_map(|(a, b)| Step::AddEntry(a, b)),
        2 => (pick(), n()).prop_map(|(a, b)| Step::UpdateEntry(a, b)),
        1 => pick().prop_map(Step::DeleteEntry),
        2 => (n(), any::<bool>()).prop_map(|(a, b)| Step::AddActivity(a, b)),
        1 => (pick(), n()).prop_map(|(a, b)| Step::UpdateActivity(a, b)),
        1 => pick().prop_map(Step::DeleteActivity),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Step::SetOvernight(a, b)),
        1 => n().prop_map(Step::SetStatus),
        2 => (n(), any::<bool>()).prop_map(|(a, b)| Step::AddTask(a, b)),
        1 => (pick(), any::<bool>(), n()).prop_map(|(a, b, c)| Step::CloseTask(a, b, c)),
        1 => pick().prop_map(Step::ReopenTask),
        1 => pick().prop_map(Step::DeleteTask),
        1 => (pick(), n()).prop_map(|(a, b)| Step::SetTaskDue(a, b)),
        2 => (pick(), n(), any::<bool>()).prop_map(|(a, b, c)| Step::AttachPhoto(a, b, c)),
        1 => pick().prop_map(Step::DetachPhoto),
        3 => (n(), pick(), pick(), n()).prop_map(|(a, b, c, d)| Step::Splice(a, b, c, d)),
        2 => (n(), n()).prop_map(|(a, b)| Step::SetText(a, b)),
        2 => (n(), any::<bool>()).prop_map(|(a, b)| Step::Comment(a, b)),
        1 => pick().prop_map(Step::DeleteComment),
        3 => any::<bool>().prop_map(Step::Sync),
    ]
}

struct World {
    server: MemoryServer,
    phone: MemoryReplica,
    web: MemoryReplica,
    diary: DocId,
    night: DocId,
    plan: DocId,
    entries: Vec<ItemId>,
    activities: Vec<ItemId>,
    tasks: Vec<ItemId>,
    /// (document, comment, by the leader)
    comments: Vec<(DocId, ItemId, bool)>,
    photos: Vec<(DocId, ItemId, PhotoHash)>,
}

fn pick<T: Clone>(v: &[T], i: usize) -> Option<T> {
    (!v.is_empty()).then(|| v[i % v.len()].clone())
}

impl World {
    fn new() -> Self {
        let owner = user("u1");
        Self {
            server: MemoryServer::new(),
            phone: MemoryReplica::new(Actor::random()),
            web: MemoryReplica::new(Actor::random()),
            diary: DocId::diary(&owner, today()),
            night: DocId::night(&owner, today()),
            plan: DocId::plan(&owner, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
            entries: Vec::new(),
            activities: Vec::new(),
            tasks: Vec::new(),
            comments: Vec::new(),
            photos: Vec::new(),
        }
    }

    /// Apply a typed edit as the phone does; an edit the typed API refuses
    /// (an item deleted since, a splice outside the text) changes nothing
    /// and is skipped.
    fn edit(&mut self, doc: &DocId, edit: Edit, by_leader: bool) -> bool {
        let (replica, ctx) = if by_leader {
            (&mut self.web, leader())
        } else {
            (&mut self.phone, cadre("u1"))
        };
        replica.edit(doc, &edit, &ctx).is_ok()
    }

    fn step(&mut self, step: &Step) {
        let (diary, night, plan) = (self.diary.clone(), self.night.clone(), self.plan.clone());
        match *step {
            Step::AddEntry(n, located) => {
                let id = ItemId::random();
                let fields = EntryFields {
                    time: time(n),
                    category: [Category::Visit, Category::Meeting, Category::Other][n as usize % 3],
                    place: format!("青山村{n}组"),
                    text: text(n),
                    households: u32::from(n) * 40,
                    location: located.then_some(Location {
                        lat: 27.5,
                        lon: 109.9,
                        accuracy_m: f64::from(n),
                    }),
                };
                if self.edit(
                    &diary,
                    Edit::AddEntry {
                        id: id.clone(),
                        fields,
                    },
                    false,
                ) {
                    self.entries.push(id);
                }
            }
            Step::UpdateEntry(i, n) => {
                let Some(id) = pick(&self.entries, i) else {
                    return;
                };
                let patch = EntryPatch {
                    time: (n % 2 == 0).then(|| time(n)),
                    category: (n % 3 == 0).then_some(Category::Duty),
                    place: (n % 5 == 0).then(|| "镇政府".to_owned()),
                    households: (n % 7 == 0).then_some(10_000),
                    location: match n % 4 {
                        0 => Some(None),
                        1 => Some(Some(Location {
                            lat: -90.0,
                            lon: 180.0,
                            accuracy_m: 0.0,
                        })),
                        _ => None,
                    },
                };
                self.edit(&diary, Edit::UpdateEntry { id, patch }, false);
            }
            Step::DeleteEntry(i) => {
                let Some(id) = pick(&self.entries, i) else {
                    return;
                };
                self.edit(&diary, Edit::DeleteEntry { id }, false);
            }
            Step::AddActivity(n, ended) => {
                let id = ItemId::random();
                let fields = ActivityFields {
                    kind: [NightKind::Study, NightKind::Visit, NightKind::Help][n as usize % 3],
                    start: time(n),
                    end: ended.then(|| time(n.wrapping_add(1))),
                    place: "村委会".into(),
                    households: u32::from(n),
                    issues: text(n),
                    help: text(n.wrapping_add(1)),
                };
                if self.edit(
                    &night,
                    Edit::AddActivity {
                        id: id.clone(),
                        fields,
                    },
                    false,
                ) {
                    self.activities.push(id);
                }
            }
            Step::UpdateActivity(i, n) => {
                let Some(id) = pick(&self.activities, i) else {
                    return;
                };
                let patch = ActivityPatch {
                    kind: (n % 2 == 0).then_some(NightKind::Discussion),
                    start: (n % 3 == 0).then(|| time(n)),
                    end: match n % 4 {
                        0 => Some(None),
                        1 => Some(Some(time(n.wrapping_add(3)))),
                        _ => None,
                    },
                    place: (n % 5 == 0).then(|| "农户家中".to_owned()),
                    households: (n % 6 == 0).then_some(0),
                };
                self.edit(&night, Edit::UpdateActivity { id, patch }, false);
            }
            Step::DeleteActivity(i) => {
                let Some(id) = pick(&self.activities, i) else {
                    return;
                };
                self.edit(&night, Edit::DeleteActivity { id }, false);
            }
            Step::SetOvernight(stayed, placed) => {
                let place = (stayed && placed).then(|| "青山村".to_owned());
                self.edit(&night, Edit::SetOvernight { stayed, place }, false);
            }
            Step::SetStatus(n) => {
                let kind = [
                    StatusKind::OnDuty,
                    StatusKind::InVillage,
                    StatusKind::Meeting,
                    StatusKind::Travel,
                    StatusKind::Training,
                    StatusKind::Leave,
                ][n as usize % 6];
                let village = (kind == StatusKind::InVillage).then(|| format!("v{}", n % 3));
                self.edit(&diary, Edit::SetStatus { kind, village }, false);
            }
            Step::AddTask(n, due) => {
                let id = ItemId::random();
                let fields = TaskFields {
                    title: format!("任务{n}"),
                    kind: if n % 2 == 0 {
                        TaskKind::Fixed
                    } else {
                        TaskKind::Dynamic
                    },
                    due: due
                        .then(|| NaiveDate::from_ymd_opt(2026, 12, 1 + u32::from(n % 28)).unwrap()),
                };
                if self.edit(
                    &plan,
                    Edit::AddTask {
                        id: id.clone(),
                        fields,
                    },
                    false,
                ) {
                    self.tasks.push(id);
                }
            }
            Step::CloseTask(i, done, n) => {
                let Some(id) = pick(&self.tasks, i) else {
                    return;
                };
                let status = if done {
                    TaskStatus::Done
                } else {
                    TaskStatus::Dropped
                };
                self.edit(
                    &plan,
                    Edit::CloseTask {
                        id,
                        status,
                        note: text(n),
                    },
                    false,
                );
            }
            Step::ReopenTask(i) => {
                let Some(id) = pick(&self.tasks, i) else {
                    return;
                };
                self.edit(&plan, Edit::ReopenTask { id }, false);
            }
            Step::DeleteTask(i) => {
                let Some(id) = pick(&self.tasks, i) else {
                    return;
                };
                self.edit(&plan, Edit::DeleteTask { id }, false);
            }
            Step::SetTaskDue(i, n) => {
                let Some(id) = pick(&self.tasks, i) else {
                    return;
                };
                let due = (n % 3 != 0)
                    .then(|| NaiveDate::from_ymd_opt(2026, 12, 1 + u32::from(n % 28)).unwrap());
                self.edit(&plan, Edit::SetTaskDue { id, due }, false);
            }
            Step::AttachPhoto(i, n, on_night) => {
                let (doc, items) = if on_night {
                    (night, &self.activities)
                } else {
                    (diary, &self.entries)
                };
                let Some(item) = pick(items, i) else { return };
                let hash = PhotoHash::of_bytes(&[n]);
                let photo = PhotoRef {
                    hash: hash.clone(),
                    captured_at: (n % 2 == 0).then_some(1_763_870_000_000),
                    location: (n % 3 == 0).then_some(Location {
                        lat: 27.5,
                        lon: 109.9,
                        accuracy_m: 5.0,
                    }),
                };
                if self.edit(
                    &doc,
                    Edit::AttachPhoto {
                        item: item.clone(),
                        photo,
                    },
                    false,
                ) {
                    self.photos.push((doc, item, hash));
                }
            }
            Step::DetachPhoto(i) => {
                let Some((doc, item, hash)) = pick(&self.photos, i) else {
                    return;
                };
                self.edit(&doc, Edit::DetachPhoto { item, hash }, false);
            }
            Step::Splice(which, pos, delete, n) => {
                let Some((doc, target)) = self.text_target(which) else {
                    return;
                };
                let insert = text(n);
                self.edit(
                    &doc,
                    Edit::SpliceText {
                        target,
                        pos: pos % 8,
                        delete: delete % 3,
                        insert,
                    },
                    false,
                );
            }
            Step::SetText(which, n) => {
                let Some((doc, target)) = self.text_target(which) else {
                    return;
                };
                self.edit(
                    &doc,
                    Edit::SetText {
                        target,
                        text: text(n),
                    },
                    false,
                );
            }
            Step::Comment(n, by_leader) => {
                let id = ItemId::random();
                let doc = [&diary, &night, &plan][n as usize % 3].clone();
                let on = match n % 3 {
                    0 => pick(&self.entries, n as usize),
                    1 => pick(&self.activities, n as usize),
                    _ => pick(&self.tasks, n as usize),
                };
                let mut t = text(n);
                if t.trim().is_empty() {
                    t = "好".into();
                }
                // The leader comments on what it has received.
                if by_leader {
                    let policy = writer("l1", Role::Leader, &self.web);
                    let problems = sync(&mut self.server, &mut self.web, &policy);
                    assert!(problems.is_empty(), "{problems:?}");
                }
                let on = on.filter(|_| n % 2 == 0);
                if self.edit(
                    &doc,
                    Edit::AddComment {
                        id: id.clone(),
                        on,
                        text: t,
                    },
                    by_leader,
                ) {
                    self.comments.push((doc, id, by_leader));
                }
            }
            Step::DeleteComment(i) => {
                let Some((doc, id, by_leader)) = pick(&self.comments, i) else {
                    return;
                };
                self.edit(&doc, Edit::DeleteComment { id }, by_leader);
            }
            Step::Sync(web) => self.sync(web),
        }
    }

    fn text_target(&self, which: u8) -> Option<(DocId, TextTarget)> {
        let item =
            |v: &[ItemId], field| pick(v, which as usize).map(|id| TextTarget::Item { id, field });
        Some(match which % 7 {
            0 => (self.diary.clone(), TextTarget::Summary),
            1 => (self.plan.clone(), TextTarget::Summary),
            2 => (self.diary.clone(), item(&self.entries, ItemText::Text)?),
            3 => (
                self.night.clone(),
                item(&self.activities, ItemText::Issues)?,
            ),
            4 => (self.night.clone(), item(&self.activities, ItemText::Help)?),
            5 => (self.plan.clone(), item(&self.tasks, ItemText::Title)?),
            _ => (self.plan.clone(), item(&self.tasks, ItemText::Note)?),
        })
    }

    fn sync(&mut self, web: bool) {
        let (replica, policy) = if web {
            let p = writer("l1", Role::Leader, &self.web);
            (&mut self.web, p)
        } else {
            let p = writer("u1", Role::Cadre, &self.phone);
            (&mut self.phone, p)
        };
        let problems = sync(&mut self.server, replica, &policy);
        assert!(
            problems.is_empty(),
            "a typed edit was refused: {problems:?}"
        );
    }

    fn check(&mut self) {
        for _ in 0..2 {
            self.sync(false);
            self.sync(true);
        }
        for id in [&self.diary, &self.night, &self.plan] {
            let on_server = self.server.document(id).unwrap().map(|d| d.read());
            let on_phone = self.phone.document(id).unwrap().map(|d| d.read());
            assert_eq!(on_server, on_phone, "{id}");
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
        .min(1_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 500, ..ProptestConfig::default() })]

    /// Every typed edit, of every kind, by the owner and by a leader who
    /// comments, reaches the server through real sync messages and is
    /// accepted.
    #[test]
    fn every_typed_edit_is_accepted(steps in proptest::collection::vec(step(), 1..60)) {
        let mut world = World::new();
        for s in &steps {
            world.step(s);
        }
        world.check();
    }
}

// ---- what no typed edit makes is refused -------------------------------

/// A server holding a synced diary of `u1` (an entry with a photo, a
/// summary, a leader's comment), and the phone that wrote it.
struct Stage {
    server: MemoryServer,
    phone: MemoryReplica,
    id: DocId,
    entry: ItemId,
}

fn stage(id: &DocId) -> Stage {
    let mut server = MemoryServer::new();
    let mut phone = MemoryReplica::new(Actor::random());
    let entry = ItemId::random();
    let ctx = cadre("u1");
    match id.kind() {
        sync_core::DocKind::Diary => {
            let fields = crate::common::entry_fields(1);
            phone
                .edit(
                    id,
                    &Edit::AddEntry {
                        id: entry.clone(),
                        fields,
                    },
                    &ctx,
                )
                .unwrap();
            phone
                .edit(id, &crate::common::set_summary("今日走访三户。"), &ctx)
                .unwrap();
        }
        sync_core::DocKind::Night => {
            let fields = ActivityFields {
                kind: NightKind::Visit,
                start: time(20),
                end: None,
                place: "村委会".into(),
                households: 2,
                issues: "道路".into(),
                help: "".into(),
            };
            phone
                .edit(
                    id,
                    &Edit::AddActivity {
                        id: entry.clone(),
                        fields,
                    },
                    &ctx,
                )
                .unwrap();
        }
        sync_core::DocKind::Item => panic!("items are staged in items.rs"),
        sync_core::DocKind::Plan => {
            let fields = TaskFields {
                title: "修路".into(),
                kind: TaskKind::Fixed,
                due: None,
            };
            phone
                .edit(
                    id,
                    &Edit::AddTask {
                        id: entry.clone(),
                        fields,
                    },
                    &ctx,
                )
                .unwrap();
        }
    }
    let policy = writer("u1", Role::Cadre, &phone);
    let problems = sync(&mut server, &mut phone, &policy);
    assert!(problems.is_empty(), "{problems:?}");
    Stage {
        server,
        phone,
        id: id.clone(),
        entry,
    }
}

type Mutation = fn(&mut AutoCommit, &str);

fn obj(am: &AutoCommit, path: &[&str]) -> automerge::ObjId {
    let mut at = ROOT;
    for key in path {
        at = am.get(&at, *key).unwrap().unwrap().1;
    }
    at
}

/// Write `mutation` on the phone's copy with Automerge's calls (an actor
/// the server knows for this phone), sync, and return the one refusal.
fn attempt(stage: &mut Stage, mutation: Mutation) -> DocProblem {
    let mut doc = stage.phone.document(&stage.id).unwrap().unwrap();
    let before = stage.server.stored_bytes(&stage.id).map(<[u8]>::to_vec);
    mutation(doc.automerge_mut(), stage.entry.as_str());
    doc.automerge_mut().commit();
    stage.phone.insert_raw(doc);
    let policy = writer("u1", Role::Cadre, &stage.phone);
    let problems = sync(&mut stage.server, &mut stage.phone, &policy);
    assert_eq!(
        stage.server.stored_bytes(&stage.id).map(<[u8]>::to_vec),
        before,
        "the refused change was stored"
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    problems[0].clone()
}

fn refused(kind: &str, cases: &[(&str, &str, Mutation)]) {
    let owner = user("u1");
    let id = match kind {
        "diary" => DocId::diary(&owner, today()),
        "night" => DocId::night(&owner, today()),
        _ => DocId::plan(&owner, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
    };
    for (what, says, mutation) in cases {
        let mut stage = stage(&id);
        let problem = attempt(&mut stage, *mutation);
        assert!(
            ["forbidden_change", "document_full", "too_large"].contains(&problem.code.as_str())
                && problem.message.contains(says),
            "{what}: refused as {}: {}",
            problem.code,
            problem.message
        );
    }
}

#[test]
fn nothing_is_erased_by_a_put_a_make_or_a_delete() {
    refused(
        "diary",
        &[
            (
                "entries emptied by a new map",
                "fixed at creation",
                |am, _| {
                    am.put_object(ROOT, "entries", ObjType::Map).unwrap();
                },
            ),
            (
                "entries replaced by a list",
                "fixed at creation",
                |am, _| {
                    am.put_object(ROOT, "entries", ObjType::List).unwrap();
                },
            ),
            ("entries removed", "fixed at creation", |am, _| {
                am.delete(ROOT, "entries").unwrap();
            }),
            ("an entry replaced by a scalar", "must be a map", |am, e| {
                let entries = obj(am, &["entries"]);
                am.put(&entries, e, 0).unwrap();
            }),
            (
                "an entry replaced by an empty map",
                "already holds an item",
                |am, e| {
                    let entries = obj(am, &["entries"]);
                    am.put_object(&entries, e, ObjType::Map).unwrap();
                },
            ),
            ("an entry removed", "cannot be removed", |am, e| {
                let entries = obj(am, &["entries"]);
                am.delete(&entries, e).unwrap();
            }),
            (
                "the summary replaced by a scalar",
                "fixed at creation",
                |am, _| {
                    am.put(ROOT, "summary", "").unwrap();
                },
            ),
            (
                "an entry's text replaced by a new text",
                "already holds a text",
                |am, e| {
                    let entry = obj(am, &["entries", e]);
                    am.put_object(&entry, "text", ObjType::Text).unwrap();
                },
            ),
            (
                "an entry's text replaced by a string",
                "must be a text object",
                |am, e| {
                    let entry = obj(am, &["entries", e]);
                    am.put(&entry, "text", "").unwrap();
                },
            ),
            (
                "an entry's photos replaced",
                "already holds a container",
                |am, e| {
                    let entry = obj(am, &["entries", e]);
                    am.put_object(&entry, "photos", ObjType::Map).unwrap();
                },
            ),
            ("a required field removed", "cannot be removed", |am, e| {
                let entry = obj(am, &["entries", e]);
                am.delete(&entry, "time").unwrap();
            }),
            ("the owner rewritten", "fixed at creation", |am, _| {
                am.put(ROOT, "owner", "u2").unwrap();
            }),
        ],
    );
}

#[test]
fn a_second_device_making_the_skeleton_again_is_refused() {
    // Two phones of one cadre, one of which (not our app) creates the
    // document's containers itself instead of starting from the genesis.
    let owner = user("u1");
    let id = DocId::diary(&owner, today());
    let mut stage = stage(&id);
    let mut other = MemoryReplica::new(Actor::random());
    let mut doc = Document::create(id.clone(), &other.actor());
    let entries = doc
        .automerge_mut()
        .put_object(ROOT, "entries", ObjType::Map)
        .unwrap();
    doc.automerge_mut()
        .put_object(&entries, "e2", ObjType::Map)
        .unwrap();
    doc.automerge_mut().commit();
    other.insert_raw(doc);
    let policy = writer("u1", Role::Cadre, &other);
    let problems = sync(&mut stage.server, &mut other, &policy);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].message.contains("fixed at creation"),
        "{problems:?}"
    );
    let Some(sync_core::Record::Diary(d)) = stage.server.document(&id).unwrap().map(|d| d.read())
    else {
        panic!("the diary is on the server");
    };
    assert_eq!(d.entries.len(), 1, "the first phone's entry is still there");
}

#[test]
fn values_outside_the_schema_are_refused() {
    refused(
        "diary",
        &[
            (
                "a time object (JS's default string)",
                "must be a scalar string",
                |am, e| {
                    let entry = obj(am, &["entries", e]);
                    let t = am.put_object(&entry, "time", ObjType::Text).unwrap();
                    am.splice_text(&t, 0, 0, "08:00").unwrap();
                },
            ),
            ("time 99:99", "HH:MM", |am, e| {
                let entry = obj(am, &["entries", e]);
                am.put(&entry, "time", "99:99").unwrap();
            }),
            ("a phone number as the time", "HH:MM", |am, e| {
                let entry = obj(am, &["entries", e]);
                am.put(&entry, "time", "13812345670").unwrap();
            }),
            ("category bogus", "must be one of", |am, e| {
                let entry = obj(am, &["entries", e]);
                am.put(&entry, "category", "bogus").unwrap();
            }),
            ("households as a map", "must be a scalar", |am, e| {
                let entry = obj(am, &["entries", e]);
                am.put_object(&entry, "households", ObjType::Map).unwrap();
            }),
            ("households 1,000,000", "from 0 to 10000", |am, e| {
                let entry = obj(am, &["entries", e]);
                am.put(&entry, "households", 1_000_000u64).unwrap();
            }),
            ("households as a string", "whole number", |am, e| {
                let entry = obj(am, &["entries", e]);
                am.put(&entry, "households", "3").unwrap();
            }),
            ("a place of 201 characters", "at most 200", |am, e| {
                let entry = obj(am, &["entries", e]);
                am.put(&entry, "place", "村".repeat(201)).unwrap();
            }),
            // Refused before Automerge loads it: no field holds 4 KiB.
            ("a place of 5,000 characters", "at most 4096", |am, e| {
                let entry = obj(am, &["entries", e]);
                am.put(&entry, "place", "村".repeat(5_000)).unwrap();
            }),
            ("a NUL in the place", "control characters", |am, e| {
                let entry = obj(am, &["entries", e]);
                am.put(&entry, "place", "a\u{0}b").unwrap();
            }),
            ("an ESC in the text", "control characters", |am, e| {
                let text = obj(am, &["entries", e, "text"]);
                am.splice_text(&text, 0, 0, "\u{1b}[31m").unwrap();
            }),
            (
                "99,000 characters under an unknown key",
                "at most 4096",
                |am, e| {
                    let entry = obj(am, &["entries", e]);
                    am.put(&entry, "notes", "x".repeat(99_000)).unwrap();
                },
            ),
            ("a text under an unknown key", "no such field", |am, e| {
                let entry = obj(am, &["entries", e]);
                let t = am.put_object(&entry, "notes", ObjType::Text).unwrap();
                am.splice_text(&t, 0, 0, &"x".repeat(99_000)).unwrap();
            }),
            ("an unknown root key", "no such field", |am, _| {
                am.put(ROOT, "extra", 1).unwrap();
            }),
            ("a counter", "whole number", |am, e| {
                let entry = obj(am, &["entries", e]);
                am.put(&entry, "households", automerge::ScalarValue::counter(1))
                    .unwrap();
                am.increment(&entry, "households", 5).unwrap();
            }),
            ("a latitude of 300", "from -90 to 90", |am, e| {
                let entry = obj(am, &["entries", e]);
                let l = am.put_object(&entry, "location", ObjType::Map).unwrap();
                am.put(&l, "lat", 300.0).unwrap();
            }),
            ("a photo keyed by something else", "SHA-256", |am, e| {
                let photos = obj(am, &["entries", e, "photos"]);
                am.put_object(&photos, "x", ObjType::Map).unwrap();
            }),
            ("an object inside a text", "characters", |am, e| {
                let text = obj(am, &["entries", e, "text"]);
                am.insert_object(&text, 0, ObjType::Map).unwrap();
            }),
            ("a summary of 5,001 characters", "at most 5000", |am, _| {
                let summary = obj(am, &["summary"]);
                am.splice_text(&summary, 0, 0, &"字".repeat(5_001)).unwrap();
            }),
            (
                "an entry made without its fields",
                "is made without",
                |am, _| {
                    let entries = obj(am, &["entries"]);
                    let e = am.put_object(&entries, "e2", ObjType::Map).unwrap();
                    am.put(&e, "time", "09:00").unwrap();
                },
            ),
            (
                "a comment in another's name",
                "is not written by u1",
                |am, _| {
                    let comments = obj(am, &["comments"]);
                    let c = am.put_object(&comments, "c1", ObjType::Map).unwrap();
                    am.put(&c, "schema", 1u64).unwrap();
                    am.put(&c, "created_at", 1i64).unwrap();
                    am.put(&c, "updated_at", 1i64).unwrap();
                    am.put(&c, "deleted", false).unwrap();
                    am.put(&c, "author", "s1").unwrap();
                    am.put(&c, "role", "supervisor").unwrap();
                    am.put(&c, "at", 1i64).unwrap();
                    let t = am.put_object(&c, "text", ObjType::Text).unwrap();
                    am.splice_text(&t, 0, 0, "冒名").unwrap();
                },
            ),
        ],
    );
    refused(
        "diary",
        &[
            ("a status removed", "cannot be removed", |am, _| {
                let s = am.put_object(ROOT, "status", ObjType::Map).unwrap();
                am.put(&s, "kind", "on_duty").unwrap();
                am.put(&s, "at", 1i64).unwrap();
                am.delete(ROOT, "status").unwrap();
            }),
            ("a status kind bogus", "must be one of", |am, _| {
                let s = am.put_object(ROOT, "status", ObjType::Map).unwrap();
                am.put(&s, "kind", "fishing").unwrap();
            }),
            ("a status as a string", "map", |am, _| {
                am.put(ROOT, "status", "在岗").unwrap();
            }),
            ("a position in the status", "no such field", |am, _| {
                let s = am.put_object(ROOT, "status", ObjType::Map).unwrap();
                am.put(&s, "kind", "in_village").unwrap();
                am.put(&s, "lat", 27.5).unwrap();
            }),
            ("a village of 201 characters", "at most 200", |am, _| {
                let s = am.put_object(ROOT, "status", ObjType::Map).unwrap();
                am.put(&s, "kind", "in_village").unwrap();
                am.put(&s, "village", "村".repeat(201)).unwrap();
            }),
        ],
    );
    refused(
        "night",
        &[
            ("stayed overnight removed", "cannot be removed", |am, _| {
                am.put(ROOT, "stayed_overnight", true).unwrap();
                am.delete(ROOT, "stayed_overnight").unwrap();
            }),
            ("a night kind bogus", "must be one of", |am, e| {
                let a = obj(am, &["activities", e]);
                am.put(&a, "kind", "party").unwrap();
            }),
            ("issues as a string", "must be a text object", |am, e| {
                let a = obj(am, &["activities", e]);
                am.put(&a, "issues", "x").unwrap();
            }),
        ],
    );
    refused(
        "plan",
        &[
            ("a title of 201 characters", "at most 200", |am, e| {
                let t = obj(am, &["tasks", e, "title"]);
                am.splice_text(&t, 0, 0, &"题".repeat(201)).unwrap();
            }),
            ("a status bogus", "must be one of", |am, e| {
                let t = obj(am, &["tasks", e]);
                am.put(&t, "status", "finished").unwrap();
            }),
            ("a due date that is not one", "YYYY-MM-DD", |am, e| {
                let t = obj(am, &["tasks", e]);
                am.put(&t, "due", "next week").unwrap();
            }),
        ],
    );
}

#[test]
fn days_to_come_are_refused_on_the_server_and_on_the_phone() {
    let owner = user("u1");
    let mut server = MemoryServer::new();
    let tomorrow = today().succ_opt().unwrap();
    let after = tomorrow.succ_opt().unwrap();
    for (id, ok) in [
        (DocId::diary(&owner, tomorrow), true),
        (DocId::diary(&owner, after), false),
        (DocId::night(&owner, after), false),
        (
            DocId::plan(&owner, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
            true,
        ),
        (
            DocId::plan(&owner, NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()),
            false,
        ),
        (
            DocId::diary(&owner, NaiveDate::from_ymd_opt(2199, 12, 31).unwrap()),
            false,
        ),
    ] {
        let edit = Edit::AddComment {
            id: ItemId::random(),
            on: None,
            text: "备注".into(),
        };
        // A phone each: a refused document stays pending on its phone.
        let mut phone = MemoryReplica::new(Actor::random());
        let policy = writer("u1", Role::Cadre, &phone);
        phone.edit(&id, &edit, &cadre("u1")).unwrap();
        let problems = sync(&mut server, &mut phone, &policy);
        if ok {
            assert!(problems.is_empty(), "{id}: {problems:?}");
        } else {
            assert_eq!(problems.len(), 1, "{id}: {problems:?}");
            assert_eq!(problems[0].code, "bad_date", "{id}");
            assert!(server.document(&id).unwrap().is_none(), "{id} stored");
        }
        // The phone's own check, against its clock.
        let refused = sync_core::validate::period_open(&id, today()).is_err();
        assert_eq!(refused, !ok, "{id}");
    }
}

#[test]
fn a_document_stops_growing_at_its_limits() {
    use sync_core::validate::MAX_DOC_OPS;
    let owner = user("u1");
    let id = DocId::diary(&owner, today());
    let mut stage = stage(&id);
    // Typing and deleting a summary over and over: each round adds
    // operations, none of which show. The phone refuses the edit that
    // would pass the limit; before that, the server took every round.
    let ctx = cadre("u1");
    let round = "字".repeat(4_900);
    let mut rounds = 0;
    let refusal = loop {
        let edits = [
            crate::common::set_summary(&round),
            crate::common::set_summary(""),
        ];
        let mut refusal = None;
        for e in &edits {
            if let Err(err) = stage.phone.edit(&id, e, &ctx) {
                refusal = Some(err);
                break;
            }
        }
        if let Some(r) = refusal {
            break r;
        }
        rounds += 1;
        let policy = writer("u1", Role::Cadre, &stage.phone);
        let problems = sync(&mut stage.server, &mut stage.phone, &policy);
        assert!(problems.is_empty(), "round {rounds}: {problems:?}");
        assert!(rounds < 100, "no limit reached");
    };
    assert!(refusal.to_string().contains("operations"), "{refusal}");
    let ops = stage
        .server
        .document(&id)
        .unwrap()
        .unwrap()
        .automerge()
        .stats()
        .num_ops;
    assert!(ops as usize <= MAX_DOC_OPS, "{ops}");
    assert!(rounds >= 20, "{rounds} rounds");

    // A client that does not check is refused by the server.
    let mut doc = stage.phone.document(&id).unwrap().unwrap();
    let summary = obj(doc.automerge(), &["summary"]);
    for _ in 0..3 {
        doc.automerge_mut()
            .splice_text(&summary, 0, 0, &round)
            .unwrap();
        let len = doc.automerge().text(&summary).unwrap().chars().count();
        doc.automerge_mut()
            .splice_text(&summary, 0, len as isize, "")
            .unwrap();
    }
    doc.automerge_mut().commit();
    stage.phone.insert_raw(doc);
    let policy = writer("u1", Role::Cadre, &stage.phone);
    let problems = sync(&mut stage.server, &mut stage.phone, &policy);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].code, "document_full", "{problems:?}");
}

// ---- the fuzz target's corpus ------------------------------------------

#[path = "../../fuzz/sync_message_check.rs"]
mod sync_message_check;

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/sync_message")
}

/// Hostile messages for the corpus: bombs and erasures, small enough to
/// commit.
fn hostile_seeds() -> Vec<(String, Vec<u8>)> {
    use std::io::Write;
    let deflated = |n: usize| {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; n]).unwrap();
        e.finish().unwrap()
    };
    let uleb = |out: &mut Vec<u8>, mut v: u64| loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    };
    let message = |chunk: &[u8]| {
        let mut m = vec![0x42, 0, 0, 0, 1];
        uleb(&mut m, chunk.len() as u64);
        m.extend_from_slice(chunk);
        m
    };
    let chunk = |kind: u8, body: &[u8]| {
        let mut c = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, kind];
        uleb(&mut c, body.len() as u64);
        c.extend_from_slice(body);
        c
    };
    let mut out = vec![
        (
            "bad-compressed-zeros-9mib".to_owned(),
            message(&chunk(2, &deflated(9 << 20))),
        ),
        ("bad-bloom-probes".to_owned(), {
            let mut m = vec![
                0x42, 0, 0, 1, 0, 9, 1, 10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff,
            ];
            m.push(0);
            m
        }),
    ];
    // Changes by the phone's own actor on top of the staged diary.
    let (_, mut phone) = sync_message_check::stage();
    let id = sync_message_check::diary_id();
    type Change = fn(&mut AutoCommit);
    let changes: [(&str, Change); 3] = [
        ("bad-entries-emptied", |am| {
            am.put_object(ROOT, "entries", ObjType::Map).unwrap();
        }),
        ("bad-entry-replaced", |am| {
            let entries = obj(am, &["entries"]);
            am.put_object(&entries, "e0", ObjType::Map).unwrap();
        }),
        ("bad-time-as-text", |am| {
            let e = obj(am, &["entries", "e1"]);
            let t = am.put_object(&e, "time", ObjType::Text).unwrap();
            am.splice_text(&t, 0, 0, "99:99").unwrap();
        }),
    ];
    for (name, change) in changes {
        let mut doc = phone.document(&id).unwrap().unwrap();
        let heads = doc.heads();
        change(doc.automerge_mut());
        doc.automerge_mut().commit();
        let mut state = automerge::sync::State::new();
        state.shared_heads = heads.clone();
        let mut state = sync_core::session::primed_state(Some(&state.encode()));
        use automerge::sync::SyncDoc;
        let m = doc
            .automerge_mut()
            .sync()
            .generate_sync_message(&mut state)
            .unwrap();
        out.push((name.to_owned(), m.encode()));
        let _ = &mut phone;
    }
    out
}

/// The committed corpus of the `sync_message` fuzz target, replayed: the
/// seeds (typed edits) are stored, the `bad-*` files refused, and every
/// file holds to the target's assertions. `JISHI_WRITE_SEEDS=1` writes the
/// seeds and hostile files anew.
#[test]
fn the_sync_message_corpus_holds() {
    let dir = corpus_dir();
    if std::env::var_os("JISHI_WRITE_SEEDS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in sync_message_check::seeds()
            .into_iter()
            .chain(hostile_seeds())
        {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "{} files in {}",
        files.len(),
        dir.display()
    );
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let stored = sync_message_check::sync_message(&bytes).unwrap();
        if name.starts_with("seed-") {
            assert!(stored, "{name} was refused");
        }
        if name.starts_with("bad-") {
            assert!(!stored, "{name} was stored");
        }
    }
}

/// Two phones of one cadre set an entry's category at once; one of them
/// then sets the value that won the conflict again. Automerge writes that
/// as a deletion of the losing value (the winner stays), at a field that
/// may never be emptied: the server accepts it, whether the change comes
/// alone or inside the whole document (CI found it: the convergence test
/// refused a typed edit).
#[test]
fn resolving_a_conflict_by_setting_the_winner_again_is_accepted() {
    let mut server = MemoryServer::new();
    let mut a = MemoryReplica::new(Actor::random());
    let mut b = MemoryReplica::new(Actor::random());
    let (wa, wb) = (writer("u1", Role::Cadre, &a), writer("u1", Role::Cadre, &b));
    let diary = DocId::diary(&user("u1"), today());
    let id = ItemId::random();
    a.edit(
        &diary,
        &Edit::AddEntry {
            id: id.clone(),
            fields: crate::common::entry_fields(1),
        },
        &cadre("u1"),
    )
    .unwrap();
    assert_eq!(sync(&mut server, &mut a, &wa), []);
    assert_eq!(sync(&mut server, &mut b, &wb), []);
    let set = |category| Edit::UpdateEntry {
        id: id.clone(),
        patch: EntryPatch {
            category: Some(category),
            ..Default::default()
        },
    };
    a.edit(&diary, &set(Category::Meeting), &cadre("u1"))
        .unwrap();
    b.edit(&diary, &set(Category::Duty), &cadre("u1")).unwrap();
    assert_eq!(sync(&mut server, &mut a, &wa), []);
    assert_eq!(sync(&mut server, &mut b, &wb), []);
    assert_eq!(sync(&mut server, &mut a, &wa), []);
    let category = |r: &mut MemoryReplica| {
        let mut doc = r.document(&diary).unwrap().unwrap();
        let am = doc.automerge_mut();
        let entries = am.get(ROOT, "entries").unwrap().unwrap().1;
        let entry = am.get(&entries, id.as_str()).unwrap().unwrap().1;
        let values = am.get_all(&entry, "category").unwrap();
        let winner = values.last().map(|(v, _)| v.as_str().unwrap().to_owned());
        (values.len(), winner)
    };
    let (conflicting, winner) = category(&mut a);
    assert_eq!(conflicting, 2, "both phones' values stand in conflict");
    let winner = match winner.as_deref() {
        Some("meeting") => Category::Meeting,
        Some("duty") => Category::Duty,
        other => panic!("unexpected winner {other:?}"),
    };
    a.edit(&diary, &set(winner), &cadre("u1")).unwrap();
    assert_eq!(category(&mut a).0, 1, "the conflict is resolved");
    let deletes = {
        let mut doc = a.document(&diary).unwrap().unwrap();
        let changes = doc.automerge_mut().get_changes(&[]);
        let last = changes.last().unwrap().decode();
        last.operations
            .iter()
            .filter(|op| matches!(op.action, automerge::legacy::OpType::Delete))
            .count()
    };
    assert_eq!(deletes, 1, "Automerge writes the resolution as a deletion");
    // The change alone.
    assert_eq!(sync(&mut server, &mut a, &wa), []);
    assert_eq!(sync(&mut server, &mut b, &wb), []);
    assert_eq!(category(&mut b).0, 1);
    // The whole document, to a server that has none of it.
    let mut fresh = MemoryServer::new();
    a.restart(false);
    let both = Writer {
        actors: [a.actor().to_hex(), b.actor().to_hex()]
            .into_iter()
            .collect(),
        ..writer("u1", Role::Cadre, &a)
    };
    assert_eq!(sync(&mut fresh, &mut a, &both), []);
}
