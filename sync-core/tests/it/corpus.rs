//! The fuzz corpora as regression tests. Every file under
//! `tests/corpus/<target>/` for the five targets (`doc_load`, `batch_decode`,
//! `upload_headers`, `photo_check`, `photo_prepare`: valid seeds, damaged
//! copies, random bytes and every crasher `cargo fuzz` found) goes through
//! the same checks as the fuzz targets in `sync-core/fuzz/` (for the last
//! three, the very same code: `sync-core/fuzz/checks.rs`), and property tests
//! damage the valid seeds further. The answer to any bytes is a value or an
//! error; a panic fails the test.
//!
//! Automerge refuses a chunk whose checksum does not match before it parses
//! anything, so damaged documents are also tried with their checksums
//! recomputed: that is what reaches the parser behind the checksum, and what a
//! hostile peer can send.
//!
//! The `seed-*`, `trunc-*`, `flip-*`, `bad-*` and `random-*` files are written
//! by [`write_seeds`] from fixed actors, ids and times (run it with
//! `cargo test -p sync-core --test it corpus::write_seeds -- --ignored`);
//! `crash-*` (must be refused) and `slow-*` files are the fuzzers' findings,
//! copied by hand from `sync-core/fuzz/artifacts/` and never rewritten
//! (`docs/fuzzing.md`). `seed-cjpeg-*` are JPEGs made by libjpeg-turbo's
//! `cjpeg` (progressive, restart intervals, subsampling, optimised tables),
//! which the `image` crate cannot write; they are never rewritten either.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::{DynamicImage, GrayImage, ImageBuffer, ImageFormat, Luma, Rgb, Rgba, RgbaImage};

use automerge::AutoCommit;
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use sync_core::document::{
    ActivityFields, Category, EntryFields, EntryPatch, NightKind, PhotoRef, StatusKind, TaskFields,
    TaskKind, TaskStatus, TextTarget,
};
use sync_core::memory::{MemoryReplica, MemoryServer};
use sync_core::protocol::{Batch, BatchEntry, EntryBody};
use sync_core::session::{serve, AllowAll, ClientSession};
use sync_core::validate::{Location, PhotoHash, TimeOfDay};
use sync_core::{Actor, DocId, Document, Edit, EditContext, ItemId, Role, UserId};

use crate::photo::{
    encode_png, jpeg, jpeg_declaring, png_chunk, png_header, tiff, upright, with_camera_metadata,
    with_exif, with_png_chunks, zlib_zeros, NO_META,
};

/// What the `upload_headers`, `photo_check` and `photo_prepare` targets
/// assert, shared with them.
#[path = "../../fuzz/checks.rs"]
mod checks;
use checks::PatchInput;

/// The documents the `doc_load` seeds are saves of; each file is loaded as
/// each of them, as the fuzz target does.
const DOC_IDS: [&str; 4] = [
    "diary:u1:2026-11-23",
    "night:u1:2026-11-23",
    "plan:u1:2026-11",
    ITEM_ID,
];

/// The item of the `doc_load` seeds (a document others assign).
const ITEM_ID: &str = "item:0123456789abcdef0123456789abcdef";

/// Fewer files than this means the corpus went missing, not that it passed.
const MIN_DOC_FILES: usize = 20;
const MIN_BATCH_FILES: usize = 20;
const MIN_HEADER_FILES: usize = 20;
const MIN_IMAGE_FILES: usize = 15;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(target)
}

/// Every file of one corpus, by name.
pub(crate) fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// What the `doc_load` fuzz target does with one input: load it as each
/// document; a document that loads must read, save, and load again from its
/// save to the same record. Returns how many of the ids it loaded as.
fn check_doc(bytes: &[u8]) -> usize {
    let mut loaded = 0;
    for id in DOC_IDS {
        let id = DocId::parse(id).unwrap();
        let Ok(mut doc) = Document::load(id.clone(), bytes, &Actor::random()) else {
            continue;
        };
        loaded += 1;
        let record = doc.read();
        let saved = doc.save();
        let again = Document::load(id, &saved, &Actor::random())
            .expect("the save of a loaded document loads again");
        assert_eq!(again.read(), record, "a save reads differently");
    }
    loaded
}

/// `bytes` with the checksum of each Automerge chunk recomputed, or `None`
/// when nothing changed. Chunk: magic(4) checksum(4) type(1) len(uleb) data;
/// the checksum is the first 4 bytes of SHA-256(type, len, data). Stops at the
/// first thing that is not an uncompressed chunk. (The `doc_load` fuzz target
/// has the same function.)
pub(crate) fn with_valid_checksums(bytes: &[u8]) -> Option<Vec<u8>> {
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    let mut out = bytes.to_vec();
    let mut pos = 0;
    // Chunk types 0 (document), 1 (change) and 3 (bundle); 2 is compressed.
    while out.len() >= pos + 9 && out[pos..pos + 4] == MAGIC && matches!(out[pos + 8], 0 | 1 | 3) {
        let Some((len, at)) = read_uleb(&out, pos + 9) else {
            break;
        };
        let Some(end) = usize::try_from(len).ok().and_then(|l| at.checked_add(l)) else {
            break;
        };
        if end > out.len() {
            break;
        }
        let mut hasher = Sha256::new();
        hasher.update([out[pos + 8]]);
        hasher.update(uleb(len));
        hasher.update(&out[at..end]);
        let hash = hasher.finalize();
        out[pos + 4..pos + 8].copy_from_slice(&hash[..4]);
        pos = end;
    }
    (out != bytes).then_some(out)
}

/// The LEB128 number at `at` and the position after it.
fn read_uleb(bytes: &[u8], mut at: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(at)?;
        value |= u64::from(b & 0x7f) << shift;
        at += 1;
        if b & 0x80 == 0 {
            return Some((value, at));
        }
    }
    None
}

fn uleb(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// What the `batch_decode` fuzz target does with one input.
fn check_batch(bytes: &[u8]) -> bool {
    match Batch::decode(bytes) {
        Ok(batch) => {
            assert_eq!(
                Batch::decode(&batch.encode()).as_ref(),
                Ok(&batch),
                "decode(encode(batch)) differs"
            );
            true
        }
        Err(_) => false,
    }
}

#[test]
fn every_doc_load_file_loads_or_is_refused() {
    let files = corpus("doc_load");
    assert!(
        files.len() >= MIN_DOC_FILES,
        "only {} files in {}",
        files.len(),
        corpus_dir("doc_load").display()
    );
    let mut loaded = 0;
    for (name, bytes) in &files {
        let as_is = check_doc(bytes);
        let fixed = with_valid_checksums(bytes).map_or(0, |fixed| check_doc(&fixed));
        if name.starts_with("crash-") {
            assert_eq!((as_is, fixed), (0, 0), "{name} loaded");
        }
        if name.starts_with("seed-") {
            assert!(as_is > 0, "{name} is a seed but does not load");
        }
        if name.starts_with("bad-") || name.starts_with("trunc-") {
            assert_eq!(as_is, 0, "{name} loaded");
        }
        loaded += usize::from(as_is > 0);
    }
    assert!(loaded >= 7, "only {loaded} files loaded");
}

#[test]
fn every_batch_decode_file_decodes_or_is_refused() {
    let files = corpus("batch_decode");
    assert!(
        files.len() >= MIN_BATCH_FILES,
        "only {} files in {}",
        files.len(),
        corpus_dir("batch_decode").display()
    );
    for (name, bytes) in &files {
        let ok = check_batch(bytes);
        if name.starts_with("seed-") {
            assert!(ok, "{name} is a seed but does not decode");
        }
        if name.starts_with("bad-") || name.starts_with("trunc-") || name.starts_with("crash-") {
            assert!(!ok, "{name} decoded");
        }
    }
}

/// One corpus of the targets whose checks are shared (`checks.rs`): at
/// least `min` files, seeds accepted, `bad-*` and `trunc-*` refused, and no
/// panic (`crash-*` included).
fn replay<T, E, F>(target: &str, min: usize, check: F)
where
    T: std::fmt::Debug,
    E: std::fmt::Debug,
    F: Fn(&[u8]) -> Result<T, E>,
{
    let files = corpus(target);
    assert!(files.len() >= min, "{target}: only {} files", files.len());
    for (name, bytes) in &files {
        let result = check(bytes);
        if name.starts_with("seed-") {
            assert!(
                result.is_ok(),
                "{target}/{name} is a seed but is refused: {result:?}"
            );
        }
        if name.starts_with("bad-") || name.starts_with("trunc-") {
            assert!(result.is_err(), "{target}/{name} is accepted: {result:?}");
        }
    }
}

#[test]
fn every_upload_headers_file_is_decided_as_the_protocol_says() {
    replay("upload_headers", MIN_HEADER_FILES, checks::upload_headers);
}

#[test]
fn every_photo_check_file_is_accepted_within_the_limits_or_refused() {
    replay("photo_check", MIN_IMAGE_FILES, checks::photo_check);
}

#[test]
fn every_photo_prepare_file_is_prepared_within_the_limits_or_refused() {
    replay("photo_prepare", MIN_IMAGE_FILES, checks::photo_prepare);
}

// ---- property tests ----------------------------------------------------

/// The valid seeds of one corpus, read once.
fn seeds(target: &'static str) -> &'static [Vec<u8>] {
    static DOCS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    static BATCHES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    static HEADERS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let cell = match target {
        "doc_load" => &DOCS,
        "batch_decode" => &BATCHES,
        "upload_headers" => &HEADERS,
        other => panic!("no property test damages the {other} seeds"),
    };
    cell.get_or_init(|| {
        let seeds: Vec<Vec<u8>> = corpus(target)
            .into_iter()
            .filter(|(name, bytes)| name.starts_with("seed-") && !bytes.is_empty())
            .map(|(_, bytes)| bytes)
            .collect();
        assert!(seeds.len() >= 3, "{target}: only {} seeds", seeds.len());
        seeds
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(prop::sample::Index, u8),
    SetByte(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
    Insert(prop::sample::Index, Vec<u8>),
    Remove(prop::sample::Index, usize),
    /// Copy a run of the input over another place of it.
    CopyWithin(prop::sample::Index, prop::sample::Index, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    use prop::sample::Index;
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Remove(i, n)),
        1 => (any::<Index>(), any::<Index>(), 1usize..32)
            .prop_map(|(a, b, n)| Mutation::CopyWithin(a, b, n)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        let len = bytes.len();
        match m {
            Mutation::FlipBit(i, bit) => bytes[i.index(len)] ^= 1 << bit,
            Mutation::SetByte(i, b) => bytes[i.index(len)] = *b,
            Mutation::Truncate(i) => bytes.truncate(i.index(len)),
            Mutation::Insert(i, b) => {
                let at = i.index(len + 1);
                bytes.splice(at..at, b.iter().copied());
            }
            Mutation::Remove(i, n) => {
                let at = i.index(len);
                bytes.drain(at..(at + n).min(len));
            }
            Mutation::CopyWithin(from, to, n) => {
                let (from, to) = (from.index(len), to.index(len));
                let n = (*n).min(len - from).min(len - to);
                bytes.copy_within(from..from + n, to);
            }
        }
    }
    bytes
}

/// Random bytes, or a valid seed damaged a few times.
fn damaged(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let count = seeds(target).len();
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        3 => (0..count, prop::collection::vec(mutation(), 1..5))
            .prop_map(move |(seed, ms)| mutate(seeds(target)[seed].clone(), &ms)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn damaged_documents_load_or_are_refused(bytes in damaged("doc_load")) {
        check_doc(&bytes);
        if let Some(fixed) = with_valid_checksums(&bytes) {
            check_doc(&fixed);
        }
    }

    #[test]
    fn damaged_batches_decode_or_are_refused(bytes in damaged("batch_decode")) {
        check_batch(&bytes);
    }

    #[test]
    fn damaged_upload_headers_are_decided_as_the_protocol_says(
        bytes in damaged("upload_headers"),
    ) {
        let _ = checks::upload_headers(&bytes);
    }
}

// ---- writing the seeds ---------------------------------------------------

fn actor(n: u8) -> Actor {
    Actor::from_bytes(&[n; 16]).unwrap()
}

fn ctx(user: &str, role: Role, minute: i64) -> EditContext {
    EditContext {
        user: UserId::parse(user).unwrap(),
        role,
        // 2026-11-23 08:00 UTC, plus `minute`.
        now_ms: 1_795_420_800_000 + minute * 60_000,
    }
}

fn item(s: &str) -> ItemId {
    ItemId::parse(s).unwrap()
}

fn doc_id(s: &str) -> DocId {
    DocId::parse(s).unwrap()
}

fn entry(n: u16) -> EntryFields {
    EntryFields {
        time: TimeOfDay::from_hm(8 + n, 30).unwrap(),
        category: Category::Visit,
        place: format!("青山村第{n}组"),
        text: format!("第{n}次入户走访，了解春耕备耕情况，收集道路硬化和饮水安全问题。"),
        households: u32::from(n) + 1,
        location: Some(Location {
            lat: 27.5,
            lon: 109.25,
            accuracy_m: 12.0,
        }),
    }
}

fn activity(kind: NightKind, h: u16) -> ActivityFields {
    ActivityFields {
        kind,
        start: TimeOfDay::from_hm(h, 0).unwrap(),
        end: Some(TimeOfDay::from_hm(h + 1, 30).unwrap()),
        place: "村委会".into(),
        households: 3,
        issues: "灌溉水渠堵塞".into(),
        help: "联系水利站疏通".into(),
    }
}

fn edited(id: &str, actor_n: u8, edits: &[(Edit, EditContext)]) -> Document {
    let mut doc = Document::create(doc_id(id), &actor(actor_n));
    for (edit, ctx) in edits {
        doc.apply(edit, ctx).unwrap();
    }
    doc
}

fn diary_edits() -> Vec<(Edit, EditContext)> {
    let cadre = |m| ctx("u1", Role::Cadre, m);
    vec![
        (
            Edit::AddEntry {
                id: item("e1"),
                fields: entry(1),
            },
            cadre(0),
        ),
        (
            Edit::AddEntry {
                id: item("e2"),
                fields: entry(2),
            },
            cadre(5),
        ),
        (
            Edit::AddEntry {
                id: item("e3"),
                fields: entry(3),
            },
            cadre(9),
        ),
        (
            Edit::UpdateEntry {
                id: item("e2"),
                patch: EntryPatch {
                    category: Some(Category::Mediation),
                    location: Some(None),
                    ..EntryPatch::default()
                },
            },
            cadre(12),
        ),
        (Edit::DeleteEntry { id: item("e3") }, cadre(14)),
        (
            Edit::AttachPhoto {
                item: item("e1"),
                photo: PhotoRef {
                    hash: PhotoHash::of_bytes(b"photo one"),
                    captured_at: Some(1_795_421_000_000),
                    location: None,
                },
            },
            cadre(15),
        ),
        (
            Edit::SetText {
                target: TextTarget::Summary,
                text: "今日小结：走访两户，调解一件。".into(),
            },
            cadre(20),
        ),
        (
            Edit::AddComment {
                id: item("c1"),
                on: Some(item("e1")),
                text: "情况属实，继续跟进。".into(),
            },
            ctx("l1", Role::Leader, 30),
        ),
    ]
}

fn night_edits() -> Vec<(Edit, EditContext)> {
    let cadre = |m| ctx("u1", Role::Cadre, m);
    vec![
        (
            Edit::AddActivity {
                id: item("a1"),
                fields: activity(NightKind::Visit, 19),
            },
            cadre(660),
        ),
        (
            Edit::AddActivity {
                id: item("a2"),
                fields: activity(NightKind::Study, 21),
            },
            cadre(700),
        ),
        (Edit::DeleteActivity { id: item("a2") }, cadre(710)),
        (
            Edit::SetOvernight {
                stayed: true,
                place: Some("村委会值班室".into()),
            },
            cadre(720),
        ),
    ]
}

fn plan_edits() -> Vec<(Edit, EditContext)> {
    let cadre = |m| ctx("u1", Role::Cadre, m);
    let task = |title: &str, kind| TaskFields {
        title: title.into(),
        kind,
        due: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()),
    };
    vec![
        (
            Edit::AddTask {
                id: item("t1"),
                fields: task("完成春耕走访", TaskKind::Fixed),
            },
            cadre(0),
        ),
        (
            Edit::AddTask {
                id: item("t2"),
                fields: task("协调道路硬化", TaskKind::Dynamic),
            },
            cadre(1),
        ),
        (
            Edit::CloseTask {
                id: item("t1"),
                status: TaskStatus::Done,
                note: "已走访全部农户".into(),
            },
            cadre(2),
        ),
        (
            Edit::SetText {
                target: TextTarget::Summary,
                text: "本月小结：固定任务完成，动态任务推进中。".into(),
            },
            cadre(3),
        ),
    ]
}

/// A 督办 item issued by a leader, worked by the cadre, asked to close and
/// confirmed: every part of an item's schema (brief, steps, comments).
fn item_edits() -> Vec<(Edit, EditContext)> {
    use sync_core::document::item::{ItemBrief, ItemList, ItemSource, StepAction, StepFields};
    let step = |n: &str, action, text: &str| Edit::AddItemStep {
        id: item(n),
        step: StepFields {
            verdict: None,
            action,
            text: text.into(),
            photos: vec![PhotoRef {
                hash: PhotoHash::of_bytes(n.as_bytes()),
                captured_at: Some(1_795_420_800_000),
                location: None,
            }],
        },
    };
    vec![
        (
            Edit::IssueItem {
                brief: ItemBrief {
                    list: ItemList::Supervision,
                    source: ItemSource::Inspection,
                    title: "整改村务公开栏".into(),
                    content: "明察暗访发现公开栏内容过期。".into(),
                    measures: "三日内更新并拍照反馈。".into(),
                    due: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                    unit: "v1".into(),
                    responsible: UserId::parse("u1").unwrap(),
                    collaborators: vec![UserId::parse("u2").unwrap()],
                },
            },
            ctx("l1", Role::Leader, 0),
        ),
        (
            step("s1", StepAction::Progress, "已更新一半"),
            ctx("u1", Role::Cadre, 1),
        ),
        (
            step("s2", StepAction::RequestClose, "已全部更新"),
            ctx("u1", Role::Cadre, 2),
        ),
        (
            step("s3", StepAction::Confirm, "同意销号"),
            ctx("l1", Role::Leader, 3),
        ),
        (
            Edit::AddComment {
                id: item("c1"),
                on: None,
                text: "及时".into(),
            },
            ctx("s1", Role::Supervisor, 4),
        ),
    ]
}

/// Fixed pseudo-random bytes (SplitMix64 from a given state), so rewriting
/// the seeds is stable.
struct Bytes(jishi_world::Rng);

impl Bytes {
    fn at(state: u64) -> Self {
        Bytes(jishi_world::Rng::with_state(state))
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        self.0.bytes(n)
    }
}

fn flipped(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] ^= 0x10;
    out
}

fn write(target: &str, files: &[(String, Vec<u8>)]) {
    let dir = corpus_dir(target);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in files {
        assert!(!name.starts_with("crash-"), "crashers are never rewritten");
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn doc_seeds() -> Vec<(String, Vec<u8>)> {
    let mut diary = edited("diary:u1:2026-11-23", 1, &diary_edits());
    let mut night = edited("night:u1:2026-11-23", 1, &night_edits());
    let mut plan = edited("plan:u1:2026-11", 1, &plan_edits());
    let (diary, night, plan) = (diary.save(), night.save(), plan.save());
    let item_doc = edited(ITEM_ID, 1, &item_edits()).save();

    // A full save followed by incremental chunks, as the replica appends.
    let mut growing = Document::create(doc_id("diary:u1:2026-11-23"), &actor(1));
    let mut incremental = growing.save();
    growing.save_incremental();
    for (edit, ctx) in &diary_edits()[..3] {
        growing.apply(edit, ctx).unwrap();
        incremental.extend(growing.save_incremental());
    }

    // Two phones of one cadre, offline the same day, merged.
    let mut a = edited("diary:u1:2026-11-23", 1, &diary_edits()[..2]);
    let mut b = edited("diary:u1:2026-11-23", 2, &diary_edits()[2..3]);
    a.automerge_mut().merge(b.automerge_mut()).unwrap();
    let merged = a.save();

    // Where the cadre is, set on two phones at once: a conflict the reader
    // settles by time.
    let status = |kind, village: Option<&str>, m| {
        (
            Edit::SetStatus {
                kind,
                village: village.map(str::to_owned),
            },
            ctx("u1", Role::Cadre, m),
        )
    };
    let mut s1 = edited(
        "diary:u1:2026-11-23",
        1,
        &[status(StatusKind::InVillage, Some("v1"), 3)],
    );
    let mut s2 = edited(
        "diary:u1:2026-11-23",
        2,
        &[status(StatusKind::Meeting, None, 4)],
    );
    s1.automerge_mut().merge(s2.automerge_mut()).unwrap();
    let statuses = s1.save();

    let genesis = Document::create(doc_id("diary:u1:2026-11-23"), &actor(1)).save();
    let other = Document::create(doc_id("diary:u2:2026-11-23"), &actor(1)).save();
    // An Automerge document that is not a Jishi document at all.
    let foreign = {
        use automerge::transaction::Transactable;
        let mut d = AutoCommit::new().with_actor(automerge::ActorId::from(&[3u8; 16][..]));
        d.put(automerge::ROOT, "kind", "diary").unwrap();
        d.put(automerge::ROOT, "owner", 42).unwrap();
        d.save()
    };

    let mut rng = Bytes::at(1);
    let mut magic_then_noise = vec![0x85, 0x6f, 0x4a, 0x83];
    magic_then_noise.extend(rng.take(200));
    let mut seed_then_noise = diary.clone();
    seed_then_noise.extend(rng.take(40));
    let mut seed_twice = night.clone();
    seed_twice.extend(&night);
    let mid = |b: &[u8]| b.len() / 2;

    vec![
        ("seed-diary-genesis".into(), genesis.clone()),
        ("seed-diary-entries".into(), diary.clone()),
        ("seed-night-activities".into(), night.clone()),
        ("seed-plan-tasks".into(), plan.clone()),
        ("seed-item-steps".into(), item_doc.clone()),
        ("seed-diary-status-conflict".into(), statuses.clone()),
        (
            "flip-status-middle".into(),
            flipped(&statuses, mid(&statuses)),
        ),
        (
            "trunc-item-half".into(),
            item_doc[..mid(&item_doc)].to_vec(),
        ),
        (
            "flip-item-middle".into(),
            flipped(&item_doc, mid(&item_doc)),
        ),
        ("seed-diary-incremental".into(), incremental.clone()),
        ("seed-diary-merged".into(), merged.clone()),
        ("seed-night-saved-twice".into(), seed_twice),
        ("seed-empty".into(), Vec::new()),
        ("bad-other-owner".into(), other),
        ("bad-not-jishi".into(), foreign),
        ("bad-magic-then-noise".into(), magic_then_noise),
        ("bad-seed-then-noise".into(), seed_then_noise),
        ("trunc-diary-header".into(), diary[..6].to_vec()),
        ("trunc-diary-half".into(), diary[..mid(&diary)].to_vec()),
        (
            "trunc-diary-last-byte".into(),
            diary[..diary.len() - 1].to_vec(),
        ),
        ("trunc-night-half".into(), night[..mid(&night)].to_vec()),
        ("trunc-plan-tail".into(), plan[..plan.len() - 9].to_vec()),
        (
            "trunc-incremental-last-chunk".into(),
            incremental[..incremental.len() - 5].to_vec(),
        ),
        ("flip-diary-checksum".into(), flipped(&diary, 5)),
        ("flip-diary-length".into(), flipped(&diary, 9)),
        ("flip-diary-middle".into(), flipped(&diary, mid(&diary))),
        (
            "flip-night-near-end".into(),
            flipped(&night, night.len() - 3),
        ),
        ("flip-plan-middle".into(), flipped(&plan, mid(&plan))),
        ("flip-merged-early".into(), flipped(&merged, 20)),
        (
            "flip-incremental-late".into(),
            flipped(&incremental, incremental.len() - 20),
        ),
        ("random-16".into(), rng.take(16)),
        ("random-300".into(), rng.take(300)),
        ("random-2000".into(), rng.take(2000)),
    ]
}

fn batch_seeds() -> Vec<(String, Vec<u8>)> {
    let diary = doc_id("diary:u1:2026-11-23");
    let night = doc_id("night:u1:2026-11-23");

    // A real first sync of a phone, through the session code: its request
    // and the server's reply carry standard Automerge sync messages.
    let mut phone = MemoryReplica::new(actor(1));
    for (edit, ctx) in &diary_edits()[..2] {
        phone.edit(&diary, edit, ctx).unwrap();
    }
    phone
        .edit(&night, &night_edits()[0].0, &night_edits()[0].1)
        .unwrap();
    let mut server = MemoryServer::new();
    let mut session = ClientSession::new(&mut phone).unwrap();
    let request = session.next_request(&mut phone).unwrap().unwrap();
    let reply = serve(&mut server, &AllowAll, "dev-a", &request).unwrap();
    // A second phone of the same cadre downloads what the first sent.
    let mut second = MemoryReplica::new(actor(2));
    let mut session = ClientSession::new(&mut second).unwrap();
    let empty_request = session.next_request(&mut second).unwrap().unwrap();
    let download = serve(&mut server, &AllowAll, "dev-b", &empty_request).unwrap();

    let refused = Batch {
        cursor: 7,
        more: true,
        reads_items: false,
        entries: vec![BatchEntry {
            doc: doc_id("plan:u1:2026-11"),
            body: EntryBody::Refused {
                code: "forbidden_change".into(),
                message: "不允许修改他人的记录".into(),
            },
        }],
    };
    let garbage_message = Batch {
        cursor: u64::MAX,
        more: false,
        reads_items: false,
        entries: vec![BatchEntry {
            doc: diary.clone(),
            body: EntryBody::Sync(Bytes::at(2).take(64)),
        }],
    };

    let (request, reply, download) = (request.encode(), reply.encode(), download.encode());
    let (refused, garbage_message) = (refused.encode(), garbage_message.encode());
    let mid = |b: &[u8]| b.len() / 2;
    let with_id = |id: &[u8], tail: &[u8]| {
        let mut b = vec![1, 0, 0, 1, id.len() as u8];
        b.extend(id);
        b.extend(tail);
        b
    };
    let mut rng = Bytes::at(3);
    let mut version_then_noise = vec![1];
    version_then_noise.extend(rng.take(100));

    vec![
        ("seed-empty".into(), Batch::default().encode()),
        ("seed-request".into(), request.clone()),
        ("seed-reply".into(), reply.clone()),
        ("seed-download".into(), download.clone()),
        ("seed-refused".into(), refused.clone()),
        ("seed-garbage-message".into(), garbage_message),
        // Unknown flag bits are reserved and ignored.
        ("seed-reserved-flags".into(), vec![1, 0xfe, 0, 0]),
        ("bad-empty-body".into(), Vec::new()),
        ("bad-version-2".into(), vec![2, 0, 0, 0]),
        (
            "bad-count-too-large".into(),
            vec![1, 0, 0, 0xff, 0xff, 0x03],
        ),
        ("bad-count-beyond-body".into(), vec![1, 0, 0, 3]),
        ("bad-non-minimal-cursor".into(), vec![1, 0, 0x80, 0x00, 0]),
        (
            "bad-cursor-overflow".into(),
            vec![
                1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0,
            ],
        ),
        ("bad-trailing-byte".into(), vec![1, 0, 0, 0, 9]),
        (
            "bad-doc-id".into(),
            with_id(b"diary:u1:2026-02-30", &[0, 0]),
        ),
        (
            "bad-doc-id-utf8".into(),
            with_id(&[0xff, 0xfe, b':'], &[0, 0]),
        ),
        ("bad-tag".into(), with_id(b"diary:u1:2026-11-23", &[7, 0])),
        (
            "bad-refusal-utf8".into(),
            with_id(b"diary:u1:2026-11-23", &[1, 1, 0xff, 0]),
        ),
        (
            "bad-message-too-long".into(),
            with_id(b"diary:u1:2026-11-23", &[0, 0xff, 0xff, 0xff, 0x7f]),
        ),
        ("bad-version-then-noise".into(), version_then_noise),
        (
            "trunc-request-half".into(),
            request[..mid(&request)].to_vec(),
        ),
        (
            "trunc-reply-last-byte".into(),
            reply[..reply.len() - 1].to_vec(),
        ),
        (
            "trunc-refused".into(),
            refused[..refused.len() - 4].to_vec(),
        ),
        ("flip-request-length".into(), flipped(&request, 4)),
        (
            "flip-request-message".into(),
            flipped(&request, request.len() - 10),
        ),
        (
            "flip-download-middle".into(),
            flipped(&download, mid(&download)),
        ),
        ("random-8".into(), rng.take(8)),
        ("random-200".into(), rng.take(200)),
    ]
}

fn header_seeds() -> Vec<(String, Vec<u8>)> {
    const MAX: u64 = 20 * 1024 * 1024;
    let patch =
        |offset: Option<&[u8]>, length: Option<&[u8]>, chunk_len: u32, staged: u64| PatchInput {
            offset: offset.map(<[u8]>::to_vec),
            length: length.map(<[u8]>::to_vec),
            chunk_len,
            staged,
            max_bytes: MAX,
        };
    let (max, over) = (MAX.to_string(), (MAX + 1).to_string());
    // name, Upload-Offset, Upload-Length, chunk length, bytes the server holds
    let both: [(&str, &str, &str, u32, u64); 27] = [
        ("seed-first-chunk", "0", "250000", 65_536, 0),
        ("seed-middle-chunk", "65536", "250000", 65_536, 65_536),
        ("seed-last-chunk", "196608", "250000", 53_392, 196_608),
        ("seed-empty-finish", "250000", "250000", 0, 250_000),
        ("seed-empty-not-finished", "100", "250000", 0, 100),
        ("seed-spaces-and-plus", " 65536\t", "+250000 ", 100, 65_536),
        ("seed-leading-zeros", "0065536", "0250000", 100, 65_536),
        ("seed-whole-at-the-limit", "0", &max, MAX as u32, 0),
        ("bad-empty-offset", "", "250000", 100, 0),
        ("bad-blank-length", " \t ", "250000", 100, 0),
        ("bad-negative-offset", "-1", "250000", 100, 0),
        ("bad-hex-length", "0", "0x3d090", 100, 0),
        ("bad-fraction-length", "0", "2.5e5", 100, 0),
        ("bad-two-numbers", "0", "250000, 250000", 100, 0),
        ("bad-plus-plus", "++0", "250000", 100, 0),
        ("bad-overflow-length", "0", "18446744073709551616", 100, 0),
        ("bad-wide-digits", "0", "２５００００", 100, 0),
        ("bad-unicode-space", "\u{3000}0", "250000", 100, 0),
        ("bad-line-break", "0", "250000\n", 100, 0),
        ("bad-over-the-limit", "0", &over, 100, 0),
        ("bad-zero-length", "0", "0", 0, 0),
        ("bad-offset-behind", "100", "250000", 100, 65_536),
        ("bad-offset-ahead", "131072", "250000", 100, 65_536),
        ("bad-offset-and-chunk", "0", "250", 500, 100),
        ("bad-chunk-past-length", "196608", "250000", 65_536, 196_608),
        ("bad-held-past-length", "300", "250", 0, 300),
        ("bad-one-byte-over", "0", "250", 251, 0),
    ];
    let mut files: Vec<(String, Vec<u8>)> = both
        .iter()
        .map(|&(name, offset, length, chunk_len, staged)| {
            let input = patch(
                Some(offset.as_bytes()),
                Some(length.as_bytes()),
                chunk_len,
                staged,
            );
            (name.to_owned(), input.encode())
        })
        .collect();
    let top = u64::MAX.to_string();
    let mut rng = Bytes::at(5);
    files.extend([
        (
            "seed-u64-limit".into(),
            PatchInput {
                max_bytes: u64::MAX,
                ..patch(Some(b"0"), Some(top.as_bytes()), 1, 0)
            }
            .encode(),
        ),
        (
            "bad-end-overflows".into(),
            PatchInput {
                max_bytes: u64::MAX,
                ..patch(Some(top.as_bytes()), Some(top.as_bytes()), 1, u64::MAX)
            }
            .encode(),
        ),
        (
            "bad-no-offset".into(),
            patch(None, Some(b"250"), 1, 0).encode(),
        ),
        (
            "bad-no-length".into(),
            patch(Some(b"0"), None, 1, 0).encode(),
        ),
        ("bad-no-headers".into(), patch(None, None, 0, 0).encode()),
        (
            "bad-not-utf8".into(),
            patch(Some(b"0"), Some(&[0xff, b'5']), 1, 0).encode(),
        ),
        ("random-8".into(), rng.take(8)),
        ("random-64".into(), rng.take(64)),
    ]);
    files
}

/// Pictures for both image targets, and the damaged and hostile files every
/// check must refuse. `prepare` adds what only the phone's code refuses or
/// accepts.
fn image_seeds(prepare: bool) -> Vec<(String, Vec<u8>)> {
    let base = jpeg(&upright(64, 48));
    let png = encode_png(&RgbaImage::from_fn(32, 24, |x, y| {
        Rgba([x as u8 * 8, y as u8 * 10, 90, (x * 8 + 31) as u8])
    }));
    let encode = |image: DynamicImage, format: ImageFormat| {
        let mut out = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut out), format)
            .unwrap();
        out
    };
    let gray = GrayImage::from_fn(40, 30, |x, y| Luma([(x * 6 + y) as u8]));
    let rgb16: ImageBuffer<Rgb<u16>, Vec<u16>> =
        ImageBuffer::from_fn(16, 12, |x, y| Rgb([x as u16 * 4000, y as u16 * 5000, 1234]));
    let mut trailer = base.clone();
    trailer.extend(b"camera trailer..");
    let idat = png.windows(4).position(|w| w == b"IDAT").unwrap();
    let mut heic = vec![0, 0, 0, 0x18];
    heic.extend(b"ftypheic\0\0\0\0mif1heic");
    heic.extend([0; 64]);
    let mut gif = b"GIF89a".to_vec();
    gif.extend([0; 32]);
    let mut rng = Bytes::at(7);
    let mut jpeg_noise = vec![0xFF, 0xD8, 0xFF];
    jpeg_noise.extend(rng.take(500));
    let mut png_noise = b"\x89PNG\r\n\x1a\n".to_vec();
    png_noise.extend(rng.take(500));
    let mid = |b: &[u8]| b.len() / 2;

    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("seed-jpeg-64x48".into(), base.clone()),
        (
            "seed-jpeg-gray".into(),
            encode(DynamicImage::ImageLuma8(gray.clone()), ImageFormat::Jpeg),
        ),
        (
            "seed-jpeg-exif-rotated".into(),
            with_exif(&jpeg(&upright(48, 32)), &tiff(6, NO_META)),
        ),
        ("seed-jpeg-wide".into(), jpeg(&upright(320, 8))),
        ("seed-jpeg-trailer".into(), trailer),
        ("seed-png-rgba".into(), png.clone()),
        (
            "seed-png-gray".into(),
            encode(DynamicImage::ImageLuma8(gray), ImageFormat::Png),
        ),
        (
            "seed-png-rgb16".into(),
            encode(DynamicImage::ImageRgb16(rgb16), ImageFormat::Png),
        ),
        ("bad-empty".into(), Vec::new()),
        ("bad-not-an-image".into(), b"<html>hello</html>".repeat(10)),
        ("bad-gif".into(), gif),
        ("bad-heic".into(), heic),
        // Decompression bombs: a few dozen bytes declaring a huge image.
        ("bad-png-bomb".into(), png_header(100_000, 100_000, 8, 2)),
        (
            "bad-jpeg-bomb".into(),
            jpeg_declaring(&base, 60_000, 60_000),
        ),
        // At the targets' pixel limit, with almost no pixel data.
        ("bad-png-at-the-limit".into(), png_header(1024, 1024, 8, 2)),
        ("trunc-jpeg-half".into(), base[..mid(&base)].to_vec()),
        ("trunc-jpeg-no-end".into(), base[..base.len() - 2].to_vec()),
        ("trunc-png-half".into(), png[..mid(&png)].to_vec()),
        ("flip-jpeg-header".into(), flipped(&base, 30)),
        ("flip-jpeg-scan".into(), flipped(&base, base.len() - 40)),
        ("flip-png-idat".into(), flipped(&png, idat + 12)),
        ("random-jpeg-noise".into(), jpeg_noise),
        ("random-png-noise".into(), png_noise),
        ("random-300".into(), rng.take(300)),
    ];
    // Camera metadata (EXIF with GPS, XMP, a comment, a trailer; PNG text,
    // eXIf and a small ICC profile): accepted, and never kept.
    files.push((
        "seed-jpeg-camera-metadata".into(),
        with_camera_metadata(&base),
    ));
    let mut exif = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    exif.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0]);
    let mut iccp = b"icc\0\0".to_vec();
    iccp.extend(zlib_zeros(3000));
    files.push((
        "seed-png-metadata".into(),
        with_png_chunks(
            &png,
            &[
                png_chunk(b"tEXt", b"Comment\0GPS 27.17N 109.2E"),
                png_chunk(b"eXIf", &exif),
                png_chunk(b"iCCP", &iccp),
            ],
        ),
    ));
    // Metadata bombs: a compressed chunk over 64 KiB (this one inflates to
    // 72 MiB) is refused before anything inflates it.
    let bomb = zlib_zeros(72 << 20);
    assert!(bomb.len() > 64 * 1024, "{}", bomb.len());
    let mut iccp_bomb = b"icc\0\0".to_vec();
    iccp_bomb.extend(&bomb);
    files.push((
        "bad-png-iccp-bomb".into(),
        with_png_chunks(&png, &[png_chunk(b"iCCP", &iccp_bomb)]),
    ));
    let mut ztxt_bomb = b"Comment\0\0".to_vec();
    ztxt_bomb.extend(&bomb);
    files.push((
        "bad-png-ztxt-bomb".into(),
        with_png_chunks(&png, &[png_chunk(b"zTXt", &ztxt_bomb)]),
    ));
    if prepare {
        // The phone's limit is on pixels, not on a side.
        files.push((
            "seed-jpeg-declares-more".into(),
            jpeg_declaring(&base, 2000, 100),
        ));
    } else {
        // Scan data that does not decode: cut, with an end marker written
        // after the cut (the structure is whole), in a baseline scan, after
        // a restart marker, in a progressive scan; and bits that are no
        // Huffman code. (The phone's lenient decoder takes these: it
        // prepares camera files, the server checks uploads.)
        let scan = |jpeg: &[u8]| jpeg.windows(2).rposition(|w| w == [0xFF, 0xDA]).unwrap();
        let ended = |jpeg: &[u8], at: usize| {
            let mut out = jpeg[..at].to_vec();
            out.extend([0xFF, 0xD9]);
            out
        };
        let at = scan(&base) + (base.len() - scan(&base)) / 2;
        files.push(("bad-jpeg-scan-cut-then-ended".into(), ended(&base, at)));
        let restart = std::fs::read(corpus_dir("photo_check").join("seed-cjpeg-restart")).unwrap();
        let rst = restart
            .windows(2)
            .position(|w| w[0] == 0xFF && (0xD0..=0xD7).contains(&w[1]))
            .unwrap();
        files.push((
            "bad-jpeg-restart-cut-then-ended".into(),
            ended(&restart, rst + 2),
        ));
        let progressive =
            std::fs::read(corpus_dir("photo_check").join("seed-cjpeg-progressive")).unwrap();
        let at = scan(&progressive) + (progressive.len() - scan(&progressive)) / 2;
        files.push((
            "bad-jpeg-progressive-cut-then-ended".into(),
            ended(&progressive, at),
        ));
        let mut garbage = base.clone();
        let at = scan(&base) + (base.len() - scan(&base)) / 2;
        for i in 0..8 {
            garbage[at + 2 * i..at + 2 * i + 2].copy_from_slice(&[0xFF, 0x00]);
        }
        files.push(("bad-jpeg-scan-not-huffman".into(), garbage));
        // The server refuses a side over its limit, and a PNG without its end.
        files.push((
            "bad-jpeg-side-over-the-limit".into(),
            jpeg_declaring(&base, 5000, 100),
        ));
        files.push(("trunc-png-no-end".into(), png[..png.len() - 12].to_vec()));
    }
    files
}

/// Rewrite the seed files (ignored: run by hand after changing the seeds).
#[test]
#[ignore = "writes tests/corpus; run by hand"]
fn write_seeds() {
    write("doc_load", &doc_seeds());
    write("batch_decode", &batch_seeds());
    write("upload_headers", &header_seeds());
    write("photo_check", &image_seeds(false));
    write("photo_prepare", &image_seeds(true));
}

/// The server stores a new document's bytes as they came when they are one
/// document chunk, and otherwise its own save checked to reload
/// (`Document::verify_save_of_loaded`). Every `doc_load` file (crashers
/// included, as they are and with checksums recomputed), sent as the one
/// chunk of a sync message to a server that has never seen the document:
/// whatever the server accepts must pass the full check of
/// `Document::load` from what it stored.
#[test]
fn whatever_a_new_document_stores_loads_again() {
    let mut accepted = 0;
    for (name, bytes) in corpus("doc_load") {
        let fixed = with_valid_checksums(&bytes);
        for chunk in std::iter::once(bytes).chain(fixed) {
            for doc in DOC_IDS {
                let id = DocId::parse(doc).unwrap();
                let request = crate::common::first_sync_of(&id, chunk.clone());
                let mut server = MemoryServer::new();
                serve(&mut server, &AllowAll, "dev-a", &request).unwrap();
                if let Some(stored) = server.stored_bytes(&id) {
                    Document::load(id.clone(), stored, &Actor::random()).unwrap_or_else(|e| {
                        panic!("{name} as {doc}: the server stored bytes that do not load: {e}")
                    });
                    accepted += 1;
                }
            }
        }
    }
    assert!(accepted >= 7, "only {accepted} files were accepted");
}
