use automerge::transaction::Transactable;
use automerge::{ObjType, ReadDoc, ROOT};
use chrono::NaiveDate;

use super::*;
use crate::ids::{ItemId, Role, UserId};
use crate::validate::{Location, PhotoHash, TimeOfDay};

fn user(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}
fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}
fn ctx(u: &str) -> EditContext {
    EditContext {
        user: user(u),
        role: Role::Cadre,
        now_ms: 1_763_870_400_000,
    }
}
fn entry(text: &str) -> EntryFields {
    EntryFields {
        time: TimeOfDay::parse("09:30").unwrap(),
        category: Category::Visit,
        place: "青山村".into(),
        text: text.into(),
        households: 3,
        location: Some(Location {
            lat: 27.5,
            lon: 109.9,
            accuracy_m: 12.0,
        }),
    }
}
/// The read model stored beside each document on the server comes back the
/// same from its JSON.
fn assert_round_trips(r: &Record) {
    let json = serde_json::to_string(r).unwrap();
    let back: Record = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, r, "{json}");
}
fn diary(r: Record) -> Diary {
    match r {
        Record::Diary(d) => d,
        other => panic!("not a diary: {other:?}"),
    }
}

/// A new document reaches the server as the phone's save, one document
/// chunk: the server stores those bytes as they came (`verify_save_of_loaded`,
/// no save, no reload). Bytes that are more than one chunk are saved and
/// reloaded, and the save holds the same document.
#[test]
fn a_new_document_arriving_whole_is_stored_as_it_came() {
    let id = DocId::diary(&user("u1"), day());
    let mut phone = Document::create(id.clone(), &Actor::random());
    let add = |doc: &mut Document, text: &str| {
        doc.apply(
            &Edit::AddEntry {
                id: ItemId::random(),
                fields: entry(text),
            },
            &ctx("u1"),
        )
        .unwrap()
    };
    add(&mut phone, "走访五户，了解春耕备耕情况。");
    let sent = phone.save();
    let mut on_server = AutoCommit::new();
    on_server.load_incremental(&sent).unwrap();
    let mut on_server = Document::from_automerge(id.clone(), on_server).unwrap();
    assert_eq!(on_server.verify_save_of_loaded(&sent).unwrap(), sent);

    // The save followed by a change chunk: two chunks.
    add(&mut phone, "协调村道修缮，落实资金。");
    let mut two = sent.clone();
    two.extend(phone.save_incremental());
    let mut on_server = AutoCommit::new();
    on_server.load_incremental(&two).unwrap();
    let mut on_server = Document::from_automerge(id.clone(), on_server).unwrap();
    let stored = on_server.verify_save_of_loaded(&two).unwrap();
    assert_ne!(stored, two);
    let mut reloaded = Document::load_stored(id, &stored, &Actor::random()).unwrap();
    assert_eq!(reloaded.heads(), phone.heads());
    assert_eq!(reloaded.read(), phone.read());
}

#[test]
fn only_exactly_one_document_chunk_counts_as_one() {
    let id = DocId::diary(&user("u1"), day());
    let mut doc = Document::create(id, &Actor::random());
    let saved = doc.save();
    assert!(is_one_document_chunk(&saved));
    let mut trailing = saved.clone();
    trailing.push(0);
    assert!(!is_one_document_chunk(&trailing));
    assert!(!is_one_document_chunk(&saved[..saved.len() - 1]));
    assert!(!is_one_document_chunk(&[]));
    let mut change = saved.clone();
    change[8] = 1;
    assert!(!is_one_document_chunk(&change));
    let mut magic = saved;
    magic[0] ^= 1;
    assert!(!is_one_document_chunk(&magic));
}

/// DESIGN.md: two phones of one cadre both start the same day offline; when
/// they meet, every entry of both survives.
#[test]
fn concurrent_creation_keeps_every_entry_of_both_phones() {
    let id = DocId::diary(&user("u1"), day());
    let mut phone_a = Document::create(id.clone(), &Actor::random());
    let mut phone_b = Document::create(id.clone(), &Actor::random());
    let (ea, eb) = (ItemId::random(), ItemId::random());
    phone_a
        .apply(
            &Edit::AddEntry {
                id: ea.clone(),
                fields: entry("上午走访张大爷家"),
            },
            &ctx("u1"),
        )
        .unwrap();
    phone_a
        .apply(
            &Edit::SetText {
                target: TextTarget::Summary,
                text: "甲".into(),
            },
            &ctx("u1"),
        )
        .unwrap();
    phone_b
        .apply(
            &Edit::AddEntry {
                id: eb.clone(),
                fields: entry("下午参加村两委会议"),
            },
            &ctx("u1"),
        )
        .unwrap();
    phone_b
        .apply(
            &Edit::SetText {
                target: TextTarget::Summary,
                text: "乙".into(),
            },
            &ctx("u1"),
        )
        .unwrap();

    // Meet both ways, through saved bytes as over the wire.
    let mut merged_a = Document::load(id.clone(), &phone_a.save(), &Actor::random()).unwrap();
    merged_a
        .automerge_mut()
        .merge(phone_b.automerge_mut())
        .unwrap();
    let mut merged_b = phone_b.clone();
    merged_b
        .automerge_mut()
        .merge(phone_a.automerge_mut())
        .unwrap();

    for merged in [&merged_a, &merged_b] {
        let d = diary(merged.read());
        let texts: Vec<_> = d.entries.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(d.entries.len(), 2, "{texts:?}");
        assert!(texts.contains(&"上午走访张大爷家"));
        assert!(texts.contains(&"下午参加村两委会议"));
        // Both summaries were typed into the one shared text object.
        assert_eq!(d.summary.chars().count(), 2);
        assert!(d.summary.contains('甲') && d.summary.contains('乙'));
    }
    assert_eq!(merged_a.read(), merged_b.read());
}

/// `genesis_hash` encodes the genesis change from a template; the built
/// genesis document must have exactly that change, for every kind, owners
/// and periods of every length, ASCII or not.
#[test]
fn genesis_hash_matches_the_built_genesis() {
    for id in [
        "diary:u7:2026-11-20",
        "night:u7:2026-11-20",
        "plan:u7:2026-11",
        "diary:a-much-longer-user-id-0123456789:2199-12-31",
        "night:x:2030-01-01",
        "plan:cadre-00042:2026-02",
    ] {
        let id = DocId::parse(id).unwrap();
        let mut built = genesis(&id);
        assert_eq!(genesis_hash(&id), built.get_heads()[0], "{id}");
    }
    let owners = ["u", "u1", "张三", "user_with_underscore", &"o".repeat(64)];
    let valid: Vec<UserId> = owners
        .iter()
        .filter_map(|o| UserId::parse(o).ok())
        .collect();
    assert!(
        valid.len() >= 3,
        "the owners above are mostly valid user ids"
    );
    for owner in valid {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        for id in [
            DocId::diary(&owner, day),
            DocId::night(&owner, day),
            DocId::plan(&owner, day),
        ] {
            let mut built = genesis(&id);
            assert_eq!(genesis_hash(&id), built.get_heads()[0], "{id}");
        }
    }
}

#[test]
fn genesis_depends_only_on_the_id() {
    let id = DocId::parse("night:u7:2026-11-20").unwrap();
    assert_eq!(genesis(&id).save(), genesis(&id).save());
    assert_eq!(genesis_hash(&id), genesis_hash(&id));
    let other = DocId::parse("night:u7:2026-11-21").unwrap();
    assert_ne!(genesis_hash(&id), genesis_hash(&other));
    let mut a = Document::create(id.clone(), &Actor::random());
    let mut b = Document::create(id, &Actor::random());
    assert_eq!(a.heads(), b.heads());
}

#[test]
fn a_refused_edit_writes_nothing() {
    let id = DocId::diary(&user("u1"), day());
    let mut doc = Document::create(id, &Actor::random());
    let heads = doc.heads();
    let mut bad = entry("x");
    bad.place = "地".repeat(1000);
    let err = doc
        .apply(
            &Edit::AddEntry {
                id: ItemId::random(),
                fields: bad,
            },
            &ctx("u1"),
        )
        .unwrap_err();
    assert!(
        matches!(err, CoreError::Validation(ref v) if v.field == "place"),
        "{err}"
    );
    assert_eq!(doc.heads(), heads);
    // Someone else's diary.
    let err = doc
        .apply(
            &Edit::AddEntry {
                id: ItemId::random(),
                fields: entry("x"),
            },
            &ctx("u2"),
        )
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden { .. }));
    // A night activity on a diary.
    let err = doc
        .apply(
            &Edit::SetOvernight {
                stayed: true,
                place: None,
            },
            &ctx("u1"),
        )
        .unwrap_err();
    assert!(matches!(err, CoreError::WrongKind { .. }));
    // A splice outside the text.
    let e = ItemId::random();
    doc.apply(
        &Edit::AddEntry {
            id: e.clone(),
            fields: entry("abc"),
        },
        &ctx("u1"),
    )
    .unwrap();
    let heads = doc.heads();
    let err = doc
        .apply(
            &Edit::SpliceText {
                target: TextTarget::Item {
                    id: e,
                    field: ItemText::Text,
                },
                pos: 2,
                delete: 5,
                insert: "z".into(),
            },
            &ctx("u1"),
        )
        .unwrap_err();
    assert!(matches!(err, CoreError::Validation(_)), "{err}");
    assert_eq!(doc.heads(), heads);
}

#[test]
fn deleting_marks_and_keeps_the_entry() {
    let id = DocId::diary(&user("u1"), day());
    let mut doc = Document::create(id, &Actor::random());
    let e = ItemId::random();
    doc.apply(
        &Edit::AddEntry {
            id: e.clone(),
            fields: entry("记录"),
        },
        &ctx("u1"),
    )
    .unwrap();
    doc.apply(&Edit::DeleteEntry { id: e.clone() }, &ctx("u1"))
        .unwrap();
    let d = diary(doc.read());
    assert_eq!(d.entries.len(), 1);
    assert!(d.entries[0].deleted);
    assert_eq!(d.entries[0].text, "记录");
    // A deleted entry cannot be edited or deleted again.
    assert!(matches!(
        doc.apply(&Edit::DeleteEntry { id: e }, &ctx("u1")),
        Err(CoreError::NotFound { .. })
    ));
}

#[test]
fn text_edits_splice_in_characters() {
    let id = DocId::diary(&user("u1"), day());
    let mut doc = Document::create(id, &Actor::random());
    let e = ItemId::random();
    doc.apply(
        &Edit::AddEntry {
            id: e.clone(),
            fields: entry("走访农户"),
        },
        &ctx("u1"),
    )
    .unwrap();
    let target = TextTarget::Item {
        id: e,
        field: ItemText::Text,
    };
    doc.apply(
        &Edit::SpliceText {
            target: target.clone(),
            pos: 2,
            delete: 0,
            insert: "五户".into(),
        },
        &ctx("u1"),
    )
    .unwrap();
    assert_eq!(diary(doc.read()).entries[0].text, "走访五户农户");
    doc.apply(
        &Edit::SetText {
            target,
            text: "走访五户".into(),
        },
        &ctx("u1"),
    )
    .unwrap();
    assert_eq!(diary(doc.read()).entries[0].text, "走访五户");
}

#[test]
fn text_edits_splice_in_utf16_units_as_phones_count() {
    let id = DocId::diary(&user("u1"), day());
    let mut doc = Document::create(id, &Actor::random());
    let e = ItemId::random();
    // 𠮷 and 🌾 are two UTF-16 units each, one character each.
    doc.apply(
        &Edit::AddEntry {
            id: e.clone(),
            fields: entry("𠮷野家🌾田"),
        },
        &ctx("u1"),
    )
    .unwrap();
    let target = TextTarget::Item {
        id: e,
        field: ItemText::Text,
    };
    let splice = |pos, delete, insert: &str| Edit::SpliceTextUtf16 {
        target: target.clone(),
        pos,
        delete,
        insert: insert.into(),
    };
    // After 𠮷野家🌾 (2 + 1 + 1 + 2 units): before 田.
    doc.apply(&splice(6, 0, "的"), &ctx("u1")).unwrap();
    assert_eq!(diary(doc.read()).entries[0].text, "𠮷野家🌾的田");
    // Delete 🌾 (units 4..6).
    doc.apply(&splice(4, 2, "👍"), &ctx("u1")).unwrap();
    assert_eq!(diary(doc.read()).entries[0].text, "𠮷野家👍的田");
    // At the very end (8 units).
    doc.apply(&splice(8, 0, "。"), &ctx("u1")).unwrap();
    assert_eq!(diary(doc.read()).entries[0].text, "𠮷野家👍的田。");
    // Inside 𠮷's pair, inside 👍's pair, past the end: refused, nothing
    // written.
    let heads = doc.heads();
    for (pos, delete) in [(1, 0), (0, 1), (5, 0), (3, 2), (10, 0), (8, 2)] {
        let err = doc
            .apply(&splice(pos, delete, "x"), &ctx("u1"))
            .unwrap_err();
        assert!(
            matches!(err, CoreError::Validation(_)),
            "{pos}+{delete}: {err}"
        );
    }
    assert_eq!(doc.heads(), heads);
    assert_eq!(crate::document::write::utf16_to_chars("a𠮷b", 3), Some(2));
    assert_eq!(crate::document::write::utf16_to_chars("a𠮷b", 2), None);
    assert_eq!(crate::document::write::utf16_to_chars("", 0), Some(0));
}

#[test]
fn night_log_and_plan() {
    let night = DocId::night(&user("u1"), day());
    let mut doc = Document::create(night, &Actor::random());
    let a = ItemId::random();
    doc.apply(
        &Edit::AddActivity {
            id: a.clone(),
            fields: ActivityFields {
                kind: NightKind::Visit,
                start: TimeOfDay::parse("19:30").unwrap(),
                end: Some(TimeOfDay::parse("21:00").unwrap()),
                place: "石门组".into(),
                households: 4,
                issues: "灌溉水渠堵塞".into(),
                help: String::new(),
            },
        },
        &ctx("u1"),
    )
    .unwrap();
    doc.apply(
        &Edit::SetOvernight {
            stayed: true,
            place: Some("村委会".into()),
        },
        &ctx("u1"),
    )
    .unwrap();
    let photo = PhotoRef {
        hash: PhotoHash::of_bytes(b"jpeg"),
        captured_at: Some(1),
        location: None,
    };
    doc.apply(
        &Edit::AttachPhoto {
            item: a.clone(),
            photo: photo.clone(),
        },
        &ctx("u1"),
    )
    .unwrap();
    doc.apply(&Edit::AttachPhoto { item: a, photo }, &ctx("u1"))
        .unwrap();
    let Record::Night(n) = doc.read() else {
        panic!()
    };
    assert!(n.stayed_overnight);
    assert_eq!(n.overnight_place.as_deref(), Some("村委会"));
    assert_eq!(n.activities[0].issues, "灌溉水渠堵塞");
    assert_eq!(n.activities[0].photos.len(), 1);
    assert_round_trips(&doc.read());

    let plan = DocId::plan(&user("u1"), day());
    let mut doc = Document::create(plan, &Actor::random());
    let t = ItemId::random();
    doc.apply(
        &Edit::AddTask {
            id: t.clone(),
            fields: TaskFields {
                title: "完成危房改造摸排".into(),
                kind: TaskKind::Fixed,
                due: Some(day()),
            },
        },
        &ctx("u1"),
    )
    .unwrap();
    doc.apply(
        &Edit::CloseTask {
            id: t,
            status: TaskStatus::Done,
            note: "已销号".into(),
        },
        &ctx("u1"),
    )
    .unwrap();
    let Record::Plan(p) = doc.read() else {
        panic!()
    };
    assert_eq!(p.tasks[0].status, TaskStatus::Done);
    assert_eq!(p.tasks[0].note, "已销号");
    assert!(p.tasks[0].closed_at.is_some());
    assert_round_trips(&doc.read());
}

#[test]
fn a_tasks_due_date_moves_and_clears_within_its_range() {
    let plan = DocId::plan(&user("u1"), day());
    let mut doc = Document::create(plan, &Actor::random());
    let t = ItemId::random();
    doc.apply(
        &Edit::AddTask {
            id: t.clone(),
            fields: TaskFields {
                title: "危房改造".into(),
                kind: TaskKind::Dynamic,
                due: None,
            },
        },
        &ctx("u1"),
    )
    .unwrap();
    let due = |doc: &Document| match doc.read() {
        Record::Plan(p) => p.tasks[0].due.clone(),
        _ => panic!(),
    };
    let later = day() + chrono::Days::new(20);
    let set = |d: Option<NaiveDate>| Edit::SetTaskDue {
        id: t.clone(),
        due: d,
    };
    doc.apply(&set(Some(later)), &ctx("u1")).unwrap();
    assert_eq!(due(&doc), Some(later.format("%Y-%m-%d").to_string()));
    doc.apply(&set(None), &ctx("u1")).unwrap();
    assert_eq!(due(&doc), None);
    // Before the plan's month, more than a year on, someone else's plan,
    // a task that is not there: refused, nothing written.
    let heads = doc.heads();
    for (edit, who) in [
        (set(Some(day() - chrono::Months::new(2))), "u1"),
        (set(Some(day() + chrono::Months::new(14))), "u1"),
        (set(Some(later)), "u2"),
        (
            Edit::SetTaskDue {
                id: ItemId::random(),
                due: None,
            },
            "u1",
        ),
    ] {
        assert!(doc.apply(&edit, &ctx(who)).is_err(), "{edit:?} by {who}");
    }
    assert_eq!(doc.heads(), heads);
    assert_round_trips(&doc.read());
}

#[test]
fn comments_are_written_and_deleted_only_by_their_author() {
    let id = DocId::diary(&user("u1"), day());
    let mut doc = Document::create(id, &Actor::random());
    let sup = EditContext {
        user: user("s1"),
        role: Role::Supervisor,
        now_ms: 5,
    };
    let c = ItemId::random();
    doc.apply(
        &Edit::AddComment {
            id: c.clone(),
            on: None,
            text: "记录详实".into(),
        },
        &sup,
    )
    .unwrap();
    assert!(matches!(
        doc.apply(&Edit::DeleteComment { id: c.clone() }, &ctx("u1")),
        Err(CoreError::Forbidden { .. })
    ));
    let d = diary(doc.read());
    assert_eq!(d.comments[0].author, "s1");
    assert_eq!(d.comments[0].role, "supervisor");
    doc.apply(&Edit::DeleteComment { id: c }, &sup).unwrap();
    assert!(diary(doc.read()).comments[0].deleted);
    doc.apply(
        &Edit::AddEntry {
            id: ItemId::random(),
            fields: entry("入户走访，位置与照片"),
        },
        &ctx("u1"),
    )
    .unwrap();
    assert_round_trips(&doc.read());
}

/// A newer app adds fields this version does not know; editing with this
/// version keeps them.
#[test]
fn unknown_fields_survive_a_round_trip() {
    let id = DocId::diary(&user("u1"), day());
    let mut newer = Document::create(id.clone(), &Actor::random());
    let e = ItemId::random();
    newer
        .apply(
            &Edit::AddEntry {
                id: e.clone(),
                fields: entry("x"),
            },
            &ctx("u1"),
        )
        .unwrap();
    {
        let am = newer.automerge_mut();
        let (_, entries) = am.get(ROOT, "entries").unwrap().unwrap();
        let item = am.get(&entries, e.as_str()).unwrap().unwrap().1;
        am.put(&item, "weather", "晴").unwrap();
        let extra = am.put_object(ROOT, "checklist", ObjType::Map).unwrap();
        am.put(&extra, "k", 1_i64).unwrap();
        am.commit();
    }
    let mut older = Document::load(id.clone(), &newer.save(), &Actor::random()).unwrap();
    older
        .apply(
            &Edit::UpdateEntry {
                id: e.clone(),
                patch: EntryPatch {
                    households: Some(9),
                    ..Default::default()
                },
            },
            &ctx("u1"),
        )
        .unwrap();
    older
        .apply(
            &Edit::SetText {
                target: TextTarget::Summary,
                text: "s".into(),
            },
            &ctx("u1"),
        )
        .unwrap();
    let mut back = Document::load(id, &older.save(), &Actor::random()).unwrap();
    let am = back.automerge_mut();
    let entries = am.get(ROOT, "entries").unwrap().unwrap().1;
    let item = am.get(&entries, e.as_str()).unwrap().unwrap().1;
    assert_eq!(
        am.get(&item, "weather").unwrap().unwrap().0.as_str(),
        Some("晴")
    );
    assert!(am.get(ROOT, "checklist").unwrap().is_some());
    assert_eq!(diary(back.read()).entries[0].households, 9);
}

#[test]
fn bytes_of_another_document_are_refused() {
    let a = DocId::parse("diary:u1:2026-11-23").unwrap();
    let b = DocId::parse("diary:u2:2026-11-23").unwrap();
    let mut doc = Document::create(a, &Actor::random());
    let err = Document::load(b, &doc.save(), &Actor::random()).unwrap_err();
    assert!(matches!(err, CoreError::Corrupt { .. }));
}

/// The status (在岗及去向) is the diary's: set again at will, the last
/// one read; 下村 names a village and nothing else does; two phones that
/// set it offline agree on one after they meet; the read model keeps it.
#[test]
fn status_is_set_again_and_two_phones_agree() {
    let id = DocId::diary(&user("u1"), day());
    let mut a = Document::create(id.clone(), &Actor::random());
    let set = |doc: &mut Document, kind, village: Option<&str>, at: i64| {
        let mut c = ctx("u1");
        c.now_ms = at;
        doc.apply(
            &Edit::SetStatus {
                kind,
                village: village.map(str::to_owned),
            },
            &c,
        )
    };
    set(&mut a, StatusKind::OnDuty, None, 1).unwrap();
    set(&mut a, StatusKind::InVillage, Some("v1"), 2).unwrap();
    let d = diary(a.read());
    assert_eq!(
        d.status,
        Some(Status {
            kind: StatusKind::InVillage,
            village: Some("v1".into()),
            at: 2
        })
    );
    assert_round_trips(&a.read());
    assert!(set(&mut a, StatusKind::InVillage, None, 3).is_err());
    assert!(set(&mut a, StatusKind::Meeting, Some("v1"), 3).is_err());
    assert_eq!(diary(a.read()).status.unwrap().at, 2, "nothing written");
    // Not on a night log, and not by someone else.
    let mut night = Document::create(DocId::night(&user("u1"), day()), &Actor::random());
    assert!(set(&mut night, StatusKind::OnDuty, None, 1).is_err());
    let mut leader = ctx("l1");
    leader.role = Role::Leader;
    assert!(a
        .apply(
            &Edit::SetStatus {
                kind: StatusKind::Leave,
                village: None
            },
            &leader
        )
        .is_err());

    let mut b = Document::create(id.clone(), &Actor::random());
    set(&mut b, StatusKind::Meeting, None, 5).unwrap();
    set(&mut a, StatusKind::Travel, None, 4).unwrap();
    let mut ab = a.clone();
    ab.automerge_mut().merge(b.automerge_mut()).unwrap();
    let mut ba = b.clone();
    ba.automerge_mut().merge(a.automerge_mut()).unwrap();
    assert_eq!(diary(ab.read()).status, diary(ba.read()).status);
    // The one set last wins, whatever order Automerge gives the two.
    assert_eq!(
        diary(ab.read()).status.map(|s| (s.kind, s.at)),
        Some((StatusKind::Meeting, 5))
    );
    // With random actors, Automerge's own pick is a coin toss each time:
    // sixteen pairs all read right only if the time decides.
    for _ in 0..16 {
        let mut early = Document::create(id.clone(), &Actor::random());
        let mut late = Document::create(id.clone(), &Actor::random());
        set(&mut early, StatusKind::Travel, None, 100).unwrap();
        set(&mut late, StatusKind::Leave, None, 200).unwrap();
        early.automerge_mut().merge(late.automerge_mut()).unwrap();
        assert_eq!(diary(early.read()).status.unwrap().kind, StatusKind::Leave);
    }
}
