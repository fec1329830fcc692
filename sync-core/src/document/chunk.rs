//! Reading Automerge's storage format directly, where the public API would
//! rebuild far more than is needed.
//!
//! A new document's first sync message carries the sender's save: one
//! document chunk. The server's write checks need, of every operation, who
//! wrote it, on which object, at which key and whether it removes
//! something. Automerge answers that only by rebuilding every change from
//! its op set (`get_changes`) and expanding each into legacy operations,
//! which cost a quarter of the server's CPU per new document. The chunk
//! already holds those facts in a few columns; [`scan_document_chunk`] reads
//! just those columns (format: automerge.org "Binary Document Format").
//!
//! The scan serves a check that must not be fooled, so it is strict and
//! never the only word: any doubt (an unknown encoding, a count that does
//! not add up, more rows than the loaded document has operations) is an
//! error, and the caller then falls back to Automerge's own rebuild
//! ([`super::Document::new_ops`]).

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, ObjType};

use super::chunk_view::{scalar, Builder, ChunkView, ViewObj};
use super::new_ops::{OpAction, OpValue};
use super::read::Val;

/// Automerge's chunk header: magic bytes, checksum, type, LEB128 length.
pub(crate) const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_TYPE_DOCUMENT: u8 = 0;

/// The most bytes one column of a chunk may inflate to; a column that
/// claims more is not scanned (the caller falls back).
const MAX_INFLATED_COLUMN: u64 = 64 << 20;

/// Column specifications, as `id << 4 | type`, without the deflate bit.
mod spec {
    pub const DEFLATE: u32 = 0b1000;
    pub const OBJ_ACTOR: u32 = 1;
    pub const OBJ_CTR: u32 = 2;
    pub const KEY_ACTOR: u32 = 17;
    pub const KEY_CTR: u32 = 19;
    pub const KEY_STR: u32 = 21;
    pub const ID_ACTOR: u32 = 33;
    pub const ID_CTR: u32 = 35;
    pub const ACTION: u32 = 66;
    pub const SUCC_COUNT: u32 = 128;
    pub const SUCC_ACTOR: u32 = 129;
    pub const SUCC_CTR: u32 = 131;
    // Read only for the view of the visible state (`chunk_view.rs`).
    pub const INSERT: u32 = 52;
    pub const VALUE_META: u32 = 86;
    pub const VALUE: u32 = 87;
}

/// The `del` action code; a document chunk stores deletions as successors,
/// but an explicit one is a deletion all the same.
const ACTION_DELETE: u64 = 3;
/// Actions that make an object: map, list, text, table.
const ACTIONS_MAKE: [u64; 4] = [0, 2, 4, 6];
/// The actions of a plain chunk (`chunk_view.rs`): make a map, set a
/// value, make a text.
const ACTION_MAKE_MAP: u64 = 0;
const ACTION_SET: u64 = 1;
const ACTION_MAKE_TEXT: u64 = 4;

/// Why a chunk was not scanned. Never shown to a user: the caller falls
/// back to Automerge's own reading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document chunk not scanned: {0}")]
pub struct ScanError(pub(crate) &'static str);

type Scan<T> = Result<T, ScanError>;

/// An object: the root, or the operation (counter, actor index) that made it.
pub type ScannedObj = Option<(u64, usize)>;

/// Where operations write and what they do, one per distinct (actor,
/// object, key, action).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScannedTarget {
    /// Index into [`ScannedChunk::actors`].
    pub actor: usize,
    pub obj: ScannedObj,
    /// The map key; `None` for a list or text element.
    pub key: Option<String>,
    pub action: OpAction,
}

#[derive(Debug)]
pub struct ScannedChunk {
    pub actors: Vec<ActorId>,
    pub heads: Vec<automerge::ChangeHash>,
    /// Operations stored in the chunk (deletions are not stored as
    /// operations, only as successors).
    pub ops: usize,
    /// Every write of every operation, deletions included, deduplicated.
    pub targets: Vec<ScannedTarget>,
    /// Objects made in a map: (the operation that made it, the object it
    /// was made in, its key).
    pub made: Vec<((u64, usize), ScannedObj, String)>,
    /// The document's visible state, when the chunk is plain enough to
    /// read it from the columns (see `chunk_view.rs`).
    pub view: Option<ChunkView>,
}

/// The body of `bytes` when they are exactly one document chunk with
/// nothing after it; the checksum is not verified (the caller knows the
/// chunk loaded).
pub(crate) fn document_chunk_body(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(&CHUNK_MAGIC)?;
    let (&CHUNK_TYPE_DOCUMENT, rest) = rest.get(4..)?.split_first()? else {
        return None;
    };
    let mut reader = Reader(rest);
    let len = reader.uleb().ok()?;
    (u64::try_from(reader.0.len()) == Ok(len)).then_some(reader.0)
}

/// Scan a document chunk that Automerge loaded into a document of
/// `expected_ops` operations: its actors, heads and the targets of every
/// operation. Rows beyond `expected_ops` are an error, so a crafted chunk
/// cannot make the scan allocate more than the loaded document holds.
pub fn scan_document_chunk(bytes: &[u8], expected_ops: usize) -> Scan<ScannedChunk> {
    let body = document_chunk_body(bytes).ok_or(ScanError("not one document chunk"))?;
    let mut r = Reader(body);
    let actor_count = r.len()?;
    let mut actors = Vec::new();
    for _ in 0..actor_count {
        let len = r.len()?;
        actors.push(ActorId::from(r.take(len)?));
    }
    let head_count = r.len()?;
    let mut heads = Vec::new();
    for _ in 0..head_count {
        let hash = automerge::ChangeHash::try_from(r.take(32)?)
            .map_err(|_| ScanError("a head is not a hash"))?;
        heads.push(hash);
    }
    let change_columns = r.column_layout()?;
    let op_columns = r.column_layout()?;
    let change_bytes: usize = change_columns.iter().try_fold(0usize, |sum, (_, len)| {
        sum.checked_add(*len)
            .ok_or(ScanError("column lengths overflow"))
    })?;
    r.take(change_bytes)?;
    let mut columns: HashMap<u32, Vec<u8>> = HashMap::new();
    for (raw_spec, len) in op_columns {
        let data = r.take(len)?;
        let spec = raw_spec & !spec::DEFLATE;
        if !NEEDED.contains(&spec) {
            continue;
        }
        let data = if raw_spec & spec::DEFLATE != 0 {
            inflate(data)?
        } else {
            data.to_vec()
        };
        if columns.insert(spec, data).is_some() {
            return Err(ScanError("a column appears twice"));
        }
    }
    let column = |spec: u32| columns.get(&spec).map(Vec::as_slice).unwrap_or(&[]);
    let ops = Ops::decode(&column, expected_ops)?;
    let view = ops.view(&column, actors.len());
    Ok(ScannedChunk {
        view,
        ..ops.targets(actors, heads)?
    })
}

const NEEDED: [u32; 14] = [
    spec::OBJ_ACTOR,
    spec::OBJ_CTR,
    spec::KEY_ACTOR,
    spec::KEY_CTR,
    spec::KEY_STR,
    spec::ID_ACTOR,
    spec::ID_CTR,
    spec::ACTION,
    spec::SUCC_COUNT,
    spec::SUCC_ACTOR,
    spec::SUCC_CTR,
    spec::INSERT,
    spec::VALUE_META,
    spec::VALUE,
];

/// A raw deflate stream inflated whole, at most [`MAX_INFLATED_COLUMN`]
/// bytes. The inflater is kept per thread and reset (a new one allocates
/// and zeroes its window), and output goes straight into a vector sized
/// from the input (`read_to_end` through a reader probed in small reads
/// cost twice as much).
///
/// A column the admission check (`admit.rs`) inflated on this thread for
/// the same message is taken from there instead of inflated again.
fn inflate(data: &[u8]) -> Scan<Vec<u8>> {
    if let Some(inflated) = take_remembered(data) {
        return Ok(inflated);
    }
    inflate_at_most(data, MAX_INFLATED_COLUMN)
}

thread_local! {
    /// Columns the admission check inflated for the message it checked
    /// last on this thread: (the compressed bytes, what they inflate to).
    /// The server checks a message, has Automerge load it and scans it on
    /// one thread, so the scan finds here what the check inflated; a
    /// column is taken only for compressed bytes equal to its own.
    static REMEMBERED: std::cell::RefCell<Vec<(Vec<u8>, Vec<u8>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Keep `inflated`, what `compressed` inflates to, for this thread's next
/// scan.
pub(crate) fn remember_inflated(compressed: &[u8], inflated: Vec<u8>) {
    REMEMBERED.with(|r| r.borrow_mut().push((compressed.to_vec(), inflated)));
}

/// Forget what was kept (a new message is being checked).
pub(crate) fn forget_inflated() {
    REMEMBERED.with(|r| r.borrow_mut().clear());
}

fn take_remembered(compressed: &[u8]) -> Option<Vec<u8>> {
    REMEMBERED.with(|r| {
        let mut r = r.borrow_mut();
        let at = r.iter().position(|(c, _)| c.as_slice() == compressed)?;
        Some(r.swap_remove(at).1)
    })
}

/// [`inflate`] with a bound of the caller's: more than `max` bytes out is
/// an error, found before more than twice `max` is allocated.
pub(crate) fn inflate_at_most(data: &[u8], max: u64) -> Scan<Vec<u8>> {
    use flate2::{Decompress, FlushDecompress, Status};
    thread_local! {
        static INFLATER: std::cell::RefCell<Decompress> = std::cell::RefCell::new(Decompress::new(false));
    }
    let bad = ScanError("a compressed column does not inflate");
    INFLATER.with(|cell| {
        let mut d = cell.borrow_mut();
        d.reset(false);
        let first = (data.len() as u64)
            .saturating_mul(4)
            .max(64)
            .min(max.max(1));
        let mut out: Vec<u8> = Vec::with_capacity(usize::try_from(first).unwrap_or(64));
        loop {
            let read = usize::try_from(d.total_in()).map_err(|_| bad.clone())?;
            let input = data.get(read..).ok_or(bad.clone())?;
            if out.len() == out.capacity() {
                if out.len() as u64 >= max {
                    return Err(ScanError("a compressed column is too large"));
                }
                let room = (max - out.len() as u64).min(out.len() as u64).max(1);
                out.reserve(usize::try_from(room).unwrap_or(usize::MAX));
            }
            let before = (d.total_in(), d.total_out());
            let status = d
                .decompress_vec(input, &mut out, FlushDecompress::Finish)
                .map_err(|_| bad.clone())?;
            if out.len() as u64 > max {
                return Err(ScanError("a compressed column is too large"));
            }
            match status {
                Status::StreamEnd => return Ok(out),
                // No progress with room to write: the stream is cut short.
                _ if (d.total_in(), d.total_out()) == before && out.len() < out.capacity() => {
                    return Err(bad)
                }
                _ => {}
            }
        }
    })
}

/// The op columns the checks need. Most columns are kept as runs (a
/// value and how many rows hold it): a text's characters are hundreds of
/// rows that differ only in their id and value, so the checks and the view
/// walk rows a segment at a time ([`Segments`]), a segment being rows over
/// which every column they read holds one value.
struct Ops<'c> {
    rows: usize,
    obj_actor: Vec<Run<u64>>,
    obj_ctr: Vec<Run<u64>>,
    key_str: Vec<Run<&'c str>>,
    id_actor: Vec<Run<u64>>,
    /// Per row; every operation has one.
    id_ctr: Vec<u64>,
    action: Vec<Run<u64>>,
    succ_count: Vec<Run<u64>>,
    /// Per successor.
    succ_actor: Vec<Option<u64>>,
    succ_ctr: Vec<Option<u64>>,
    /// Each value's type and length, and the values one after another.
    value_meta: Vec<Run<u64>>,
    values: &'c [u8],
}

impl<'c> Ops<'c> {
    fn decode(column: &impl Fn(u32) -> &'c [u8], rows: usize) -> Scan<Self> {
        let id_actor = runs(column(spec::ID_ACTOR), rows, Reader::uleb)?;
        let id_ctr = delta(column(spec::ID_CTR), rows)?;
        if rows_of(&id_actor) != rows || id_ctr.len() != rows {
            return Err(ScanError("the chunk holds another number of operations"));
        }
        let id_ctr = id_ctr
            .into_iter()
            .collect::<Option<Vec<u64>>>()
            .ok_or(ScanError("an operation without an id"))?;
        // The element keys (actor, counter) are not needed, but they must
        // decode and not outnumber the operations.
        runs(column(spec::KEY_ACTOR), rows, Reader::uleb)?;
        delta(column(spec::KEY_CTR), rows)?;
        let succ_count = runs(column(spec::SUCC_COUNT), rows, Reader::uleb)?;
        let succs = succ_count
            .iter()
            .try_fold(0usize, |sum, run| {
                let n = usize::try_from(run.value.unwrap_or(0)).ok()?;
                sum.checked_add(n.checked_mul(run.len)?)
            })
            .ok_or(ScanError("successor counts overflow"))?;
        let succ_actor = expand(runs(column(spec::SUCC_ACTOR), succs, Reader::uleb)?);
        let succ_ctr = delta(column(spec::SUCC_CTR), succs)?;
        if succ_actor.len() != succs || succ_ctr.len() != succs {
            return Err(ScanError("successor columns do not match their counts"));
        }
        let value_meta = runs(column(spec::VALUE_META), rows, Reader::uleb)?;
        if rows_of(&value_meta) != rows {
            return Err(ScanError(
                "the value column holds another number of operations",
            ));
        }
        Ok(Self {
            value_meta,
            values: column(spec::VALUE),
            rows,
            obj_actor: runs(column(spec::OBJ_ACTOR), rows, Reader::uleb)?,
            obj_ctr: runs(column(spec::OBJ_CTR), rows, Reader::uleb)?,
            key_str: runs(column(spec::KEY_STR), rows, Reader::string)?,
            id_actor,
            id_ctr,
            action: runs(column(spec::ACTION), rows, Reader::uleb)?,
            succ_count,
            succ_actor,
            succ_ctr,
        })
    }

    fn targets(
        self,
        actors: Vec<ActorId>,
        heads: Vec<automerge::ChangeHash>,
    ) -> Scan<ScannedChunk> {
        let actor = |index: Option<u64>| -> Scan<usize> {
            index
                .and_then(|i| usize::try_from(i).ok())
                .filter(|i| *i < actors.len())
                .ok_or(ScanError("an actor index outside the actor table"))
        };
        let object = |a: Option<u64>, counter: Option<u64>| -> Scan<ScannedObj> {
            match (a, counter) {
                (None, None) => Ok(None),
                (a @ Some(_), Some(counter)) => Ok(Some((counter, actor(a)?))),
                _ => Err(ScanError("an object id with half of its parts")),
            }
        };
        // Operations come sorted by object and key: a segment usually
        // repeats the one before (a text's characters by one actor, split
        // where another column's run ends), so that is asked first.
        type Target<'k> = (usize, ScannedObj, Option<&'k str>, Act<'k>);
        let mut last: Option<Target<'c>> = None;
        let mut seen: HashSet<Target<'c>, Quick> = HashSet::default();
        let mut targets = Vec::new();
        let mut add = |target: Target<'c>| {
            if last == Some(target) {
                return;
            }
            last = Some(target);
            if seen.insert(target) {
                let (actor, obj, key, action) = target;
                targets.push(ScannedTarget {
                    actor,
                    obj,
                    key: key.map(str::to_owned),
                    action: action.owned(),
                });
            }
        };
        let mut made = Vec::new();
        // Each operation's object and key by its id, for the successors.
        let mut by_id: HashMap<(u64, usize), (ScannedObj, Option<&'c str>), Quick> =
            HashMap::default();
        let keep_ids = !self.succ_ctr.is_empty();
        if keep_ids {
            by_id.reserve(self.rows);
        }
        let mut segments = Segments::new(self.rows);
        let (mut oa, mut oc, mut k, mut ia, mut ac, mut me) = (
            Cursor::new(&self.obj_actor),
            Cursor::new(&self.obj_ctr),
            Cursor::new(&self.key_str),
            Cursor::new(&self.id_actor),
            Cursor::new(&self.action),
            Cursor::new(&self.value_meta),
        );
        let mut raw = Reader(self.values);
        while let Some(rows) =
            segments.next(&mut [&mut oa, &mut oc, &mut k, &mut ia, &mut ac, &mut me])
        {
            let who = actor(ia.value())?;
            let obj = object(oa.value(), oc.value())?;
            let key = k.value();
            let action = ac.value();
            let meta = me.value().unwrap_or(0);
            let len = usize::try_from(meta >> 4).map_err(|_| ScanError("a value length"))?;
            let all = || -> Scan<usize> {
                len.checked_mul(rows.len())
                    .ok_or(ScanError("a value length"))
            };
            let single = match action {
                // A map key's value is kept: each row's is read below.
                Some(ACTION_SET) if key.is_some() => None,
                Some(ACTION_SET) => {
                    // Elements keep only their value's type; all of this
                    // segment's have one.
                    let bytes = raw.take(all()?)?;
                    let first = bytes.get(..len).unwrap_or_default();
                    Some(Act::Set(ValRef::of(meta, first).kind_only()))
                }
                Some(other) => {
                    // Makes, deletions, increments and marks may carry a
                    // value too (an increment's amount, a mark's name).
                    raw.take(all()?)?;
                    Some(match other {
                        ACTION_DELETE => Act::Delete,
                        0 => Act::Make(ObjType::Map),
                        2 => Act::Make(ObjType::List),
                        4 => Act::Make(ObjType::Text),
                        6 => Act::Make(ObjType::Table),
                        5 => Act::Increment,
                        7 => Act::Mark,
                        _ => return Err(ScanError("an unknown action")),
                    })
                }
                None => return Err(ScanError("an operation without an action")),
            };
            match single {
                Some(action) => add((who, obj, key, action)),
                None => {
                    for _ in rows.clone() {
                        let bytes = raw.take(len)?;
                        add((who, obj, key, Act::Set(ValRef::of(meta, bytes))));
                    }
                }
            }
            if action.is_some_and(|a| ACTIONS_MAKE.contains(&a)) {
                if let Some(key) = key {
                    for row in rows.clone() {
                        made.push(((self.id_ctr[row], who), obj, key.to_owned()));
                    }
                }
            }
            if keep_ids {
                for row in rows {
                    by_id.insert((self.id_ctr[row], who), (obj, key));
                }
            }
        }
        if !raw.0.is_empty() {
            return Err(ScanError("the values do not match their lengths"));
        }
        // A successor that is an operation on the same object and key
        // overwrote it (checked above as that operation); any other
        // successor deleted it.
        if keep_ids {
            let mut segments = Segments::new(self.rows);
            let (mut oa, mut oc, mut k, mut sc) = (
                Cursor::new(&self.obj_actor),
                Cursor::new(&self.obj_ctr),
                Cursor::new(&self.key_str),
                Cursor::new(&self.succ_count),
            );
            let mut next = 0usize;
            while let Some(rows) = segments.next(&mut [&mut oa, &mut oc, &mut k, &mut sc]) {
                let count = sc.value().unwrap_or(0) as usize * rows.len();
                if count == 0 {
                    continue;
                }
                let obj = object(oa.value(), oc.value())?;
                let key = k.value();
                for s in next..next + count {
                    let counter =
                        at(&self.succ_ctr, s).ok_or(ScanError("a successor without an id"))?;
                    let id = (counter, actor(at(&self.succ_actor, s))?);
                    let overwrote = by_id.get(&id).is_some_and(|&(other_obj, other_key)| {
                        other_obj == obj && (key.is_none() || other_key == key)
                    });
                    if !overwrote {
                        add((id.1, obj, key, Act::Delete));
                    }
                }
                next += count;
            }
        }
        Ok(ScannedChunk {
            actors,
            heads,
            ops: self.rows,
            targets,
            made,
            view: None,
        })
    }

    /// The visible state, if the chunk is plain (`chunk_view.rs`): its
    /// operations in stored order (by object, then key or list position),
    /// each visible when it has no successor.
    fn view(&self, column: &impl Fn(u32) -> &'c [u8], actors: usize) -> Option<ChunkView> {
        let rows = self.rows;
        let insert = booleans(column(spec::INSERT), rows).ok()?;
        let meta = &self.value_meta;
        let mut raw = Reader(self.values);
        let obj = |a: Option<u64>, counter: Option<u64>| -> Option<ScannedObj> {
            match (a, counter) {
                (None, None) => Some(None),
                (Some(a), Some(counter)) => {
                    let actor = usize::try_from(a).ok()?;
                    (actor < actors).then_some(Some((counter, actor)))
                }
                _ => None,
            }
        };
        let mut b = Builder::new();
        {
            let mut segments = Segments::new(rows);
            let (mut ia, mut ac) = (Cursor::new(&self.id_actor), Cursor::new(&self.action));
            while let Some(rows) = segments.next(&mut [&mut ia, &mut ac]) {
                let ty = match ac.value() {
                    Some(ACTION_MAKE_MAP) => ObjType::Map,
                    Some(ACTION_MAKE_TEXT) => ObjType::Text,
                    Some(ACTION_SET) => continue,
                    _ => return None,
                };
                let who = usize::try_from(ia.value()?).ok().filter(|a| *a < actors)?;
                for row in rows {
                    b.made((self.id_ctr[row], who), ty)?;
                }
            }
        }
        // Rows come grouped by object: the object is looked up when it
        // changes, and a text's visible characters are gathered and set at
        // once (a text met again after another object is not plain).
        let mut current: Option<(ScannedObj, ViewObj, bool)> = None;
        let mut text = String::new();
        let mut segments = Segments::new(rows);
        let (mut oa, mut oc, mut k, mut ia, mut ac, mut sc, mut ins, mut me) = (
            Cursor::new(&self.obj_actor),
            Cursor::new(&self.obj_ctr),
            Cursor::new(&self.key_str),
            Cursor::new(&self.id_actor),
            Cursor::new(&self.action),
            Cursor::new(&self.succ_count),
            Cursor::new(&insert),
            Cursor::new(meta),
        );
        while let Some(rows) = segments.next(&mut [
            &mut oa, &mut oc, &mut k, &mut ia, &mut ac, &mut sc, &mut ins, &mut me,
        ]) {
            let value_meta = me.value()?;
            let len = usize::try_from(value_meta >> 4).ok()?;
            let visible = sc.value().unwrap_or(0) == 0;
            let inserted = ins.value().unwrap_or(false);
            let key = k.value();
            let action = ac.value();
            let o = obj(oa.value(), oc.value())?;
            let (target, is_text) = match current {
                Some((was, target, is_text)) if was == o => (target, is_text),
                _ => {
                    if let Some((_, previous, true)) = current {
                        b.set_text(previous, std::mem::take(&mut text))?;
                    }
                    let target = b.object(o)?;
                    let is_text = b.is_text(target);
                    current = Some((o, target, is_text));
                    (target, is_text)
                }
            };
            if is_text {
                // Characters: inserted, strings, never overwritten; all of
                // this segment's are as long, so they are read at once and
                // each must be whole UTF-8 on its own.
                if !inserted || key.is_some() || action != Some(ACTION_SET) || value_meta & 0xf != 6
                {
                    return None;
                }
                let bytes = raw.take(len.checked_mul(rows.len())?).ok()?;
                let chars = std::str::from_utf8(bytes).ok()?;
                if len > 0
                    && !(len..chars.len())
                        .step_by(len)
                        .all(|i| chars.is_char_boundary(i))
                {
                    return None;
                }
                if visible {
                    text.push_str(chars);
                }
                continue;
            }
            let (false, Some(key)) = (inserted, key) else {
                return None;
            };
            for row in rows {
                let bytes = raw.take(len).ok()?;
                if visible {
                    let made_by = || {
                        let who = usize::try_from(ia.value()?).ok()?;
                        b.object_made_by((self.id_ctr[row], who))
                    };
                    let value = match action {
                        Some(ACTION_SET) => Val::Scalar(scalar(value_meta, bytes)?),
                        Some(ACTION_MAKE_MAP) => Val::Obj(ObjType::Map, made_by()?),
                        _ => Val::Obj(ObjType::Text, made_by()?),
                    };
                    b.put(target, key, value)?;
                }
            }
        }
        if let Some((_, previous, true)) = current {
            b.set_text(previous, text)?;
        }
        if !raw.0.is_empty() {
            return None;
        }
        b.finish()
    }
}

/// What an operation does, as the scan meets it: borrowed from the
/// chunk and copied freely, made owned ([`OpAction`]) only for a target
/// not seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Act<'c> {
    Make(ObjType),
    Set(ValRef<'c>),
    Delete,
    Increment,
    Mark,
}

impl Act<'_> {
    fn owned(self) -> OpAction {
        match self {
            Act::Make(t) => OpAction::Make(t),
            Act::Set(v) => OpAction::Set(v.owned()),
            Act::Delete => OpAction::Delete,
            Act::Increment => OpAction::Increment,
            Act::Mark => OpAction::Mark,
        }
    }
}

/// A value in the chunk's value column, read as Automerge reads it
/// ([`scalar`]), a string borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ValRef<'c> {
    Null,
    Bool(bool),
    Uint(u64),
    Int(i64),
    F64(u64),
    Str(&'c str),
    Bytes,
    Counter,
    Timestamp(i64),
    Unknown,
}

impl<'c> ValRef<'c> {
    fn of(meta: u64, raw: &'c [u8]) -> Self {
        use automerge::ScalarValue as S;
        if meta & 0xf == 6 {
            return std::str::from_utf8(raw).map_or(ValRef::Unknown, ValRef::Str);
        }
        match scalar(meta, raw) {
            Some(S::Null) => ValRef::Null,
            Some(S::Boolean(b)) => ValRef::Bool(b),
            Some(S::Uint(u)) => ValRef::Uint(u),
            Some(S::Int(i)) => ValRef::Int(i),
            Some(S::F64(f)) => ValRef::F64(f.to_bits()),
            Some(S::Bytes(_)) => ValRef::Bytes,
            Some(S::Timestamp(t)) => ValRef::Timestamp(t),
            Some(S::Counter(_)) => ValRef::Counter,
            Some(S::Str(_)) | Some(S::Unknown { .. }) | None => ValRef::Unknown,
        }
    }

    /// The value's type alone, as [`OpValue::kind_only`].
    fn kind_only(self) -> Self {
        match self {
            ValRef::Str(_) => ValRef::Str(""),
            ValRef::Bool(_) => ValRef::Bool(false),
            ValRef::Uint(_) => ValRef::Uint(0),
            ValRef::Int(_) => ValRef::Int(0),
            ValRef::F64(_) => ValRef::F64(0),
            ValRef::Timestamp(_) => ValRef::Timestamp(0),
            other => other,
        }
    }

    fn owned(self) -> OpValue {
        match self {
            ValRef::Null => OpValue::Null,
            ValRef::Bool(b) => OpValue::Bool(b),
            ValRef::Uint(u) => OpValue::Uint(u),
            ValRef::Int(i) => OpValue::Int(i),
            ValRef::F64(f) => OpValue::F64(f),
            ValRef::Str(s) => OpValue::Str(s.to_owned()),
            ValRef::Bytes => OpValue::Bytes,
            ValRef::Counter => OpValue::Counter,
            ValRef::Timestamp(t) => OpValue::Timestamp(t),
            ValRef::Unknown => OpValue::Unknown,
        }
    }
}

fn at(v: &[Option<u64>], i: usize) -> Option<u64> {
    v.get(i).copied().flatten()
}

/// `len` rows of a column holding `value` (`None`: null).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run<T> {
    value: Option<T>,
    len: usize,
}

fn rows_of<T>(runs: &[Run<T>]) -> usize {
    runs.iter().map(|r| r.len).sum()
}

/// A column's runs row by row.
fn expand<T: Clone>(runs: Vec<Run<T>>) -> Vec<Option<T>> {
    let mut out = Vec::with_capacity(rows_of(&runs));
    for run in runs {
        out.resize(out.len() + run.len, run.value);
    }
    out
}

/// Where a walk over rows stands in one column: its value there and how
/// many rows more it holds it. Past the column's end every row is null.
struct Cursor<'r, T> {
    runs: &'r [Run<T>],
    left: usize,
}

impl<'r, T: Copy> Cursor<'r, T> {
    fn new(runs: &'r [Run<T>]) -> Self {
        Self {
            left: runs.first().map_or(usize::MAX, |r| r.len),
            runs,
        }
    }

    fn value(&self) -> Option<T> {
        self.runs.first().and_then(|r| r.value)
    }
}

/// A column the segment walk reads: how long its value lasts, and moving on.
trait Column {
    fn left(&self) -> usize;
    fn advance(&mut self, rows: usize);
}

impl<T: Copy> Column for Cursor<'_, T> {
    fn left(&self) -> usize {
        self.left
    }

    fn advance(&mut self, rows: usize) {
        if self.runs.is_empty() {
            return;
        }
        self.left -= rows;
        if self.left == 0 {
            self.runs = &self.runs[1..];
            // Runs are never empty (`runs` refuses them).
            self.left = self.runs.first().map_or(usize::MAX, |r| r.len);
        }
    }
}

/// Rows `0..rows` a segment at a time: each segment as long as every
/// column given holds its value.
struct Segments {
    row: usize,
    rows: usize,
    /// The segment handed out last, to move the columns past it.
    pending: usize,
}

impl Segments {
    fn new(rows: usize) -> Self {
        Self {
            row: 0,
            rows,
            pending: 0,
        }
    }

    /// The next segment's rows; the columns' values are theirs until the
    /// next call (which must pass the same columns).
    fn next(&mut self, columns: &mut [&mut dyn Column]) -> Option<std::ops::Range<usize>> {
        if self.pending > 0 {
            for c in columns.iter_mut() {
                c.advance(self.pending);
            }
            self.row += self.pending;
            self.pending = 0;
        }
        if self.row >= self.rows {
            return None;
        }
        let len = columns
            .iter()
            .map(|c| c.left())
            .min()
            .unwrap_or(usize::MAX)
            .min(self.rows - self.row);
        self.pending = len;
        Some(self.row..self.row + len)
    }
}

/// A boolean column: run lengths, alternately of false and true, starting
/// with false; at most `max` rows, and missing rows are false.
fn booleans(data: &[u8], max: usize) -> Scan<Vec<Run<bool>>> {
    let mut r = Reader(data);
    let mut out = Vec::new();
    let mut value = false;
    let mut total = 0usize;
    while !r.0.is_empty() {
        let count = usize::try_from(r.uleb()?).map_err(|_| ScanError("a boolean run"))?;
        if count > max - total {
            return Err(ScanError(
                "a column has more rows than the document has operations",
            ));
        }
        if count > 0 {
            out.push(Run {
                value: Some(value),
                len: count,
            });
            total += count;
        }
        value = !value;
    }
    Ok(out)
}

/// The scan's own sets hold thousands of operation ids per document:
/// foldhash, seeded at random per set (ids come from outside, so the seed
/// must not be guessable), at a fraction of SipHash's cost.
type Quick = foldhash::fast::RandomState;

/// An RLE column of at most `max` rows, as runs: a signed count n, then
/// one value repeated n times (n > 0), -n literal values (n < 0, one run
/// each), or for n = 0 an unsigned count of nulls.
fn runs<'d, T: Clone>(
    data: &'d [u8],
    max: usize,
    value: impl Fn(&mut Reader<'d>) -> Scan<T>,
) -> Scan<Vec<Run<T>>> {
    let mut r = Reader(data);
    let mut out = Vec::new();
    let mut total = 0usize;
    let too_many = ScanError("a column has more rows than the document has operations");
    while !r.0.is_empty() {
        let n = r.sleb()?;
        let count = usize::try_from(if n == 0 { r.uleb()? } else { n.unsigned_abs() })
            .map_err(|_| too_many.clone())?;
        if count == 0 || count > max - total {
            return Err(if count == 0 {
                ScanError("an empty run")
            } else {
                too_many
            });
        }
        total += count;
        match n {
            0 => out.push(Run {
                value: None,
                len: count,
            }),
            n if n > 0 => out.push(Run {
                value: Some(value(&mut r)?),
                len: count,
            }),
            _ => {
                for _ in 0..count {
                    out.push(Run {
                        value: Some(value(&mut r)?),
                        len: 1,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// A delta column: an RLE column of signed differences from the previous
/// value (nulls leave it alone); values must stay within 0..2^53 as
/// Automerge's counters do.
fn delta(data: &[u8], max: usize) -> Scan<Vec<Option<u64>>> {
    let mut value: i64 = 0;
    let mut out = Vec::new();
    for run in runs(data, max, Reader::sleb)? {
        match run.value {
            None => out.resize(out.len() + run.len, None),
            Some(d) => {
                for _ in 0..run.len {
                    value = value
                        .checked_add(d)
                        .filter(|v| (0..1 << 53).contains(v))
                        .ok_or(ScanError("a delta column leaves the counter range"))?;
                    out.push(Some(value as u64));
                }
            }
        }
    }
    Ok(out)
}

pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn byte(&mut self) -> Scan<u8> {
        let (&b, rest) = self.0.split_first().ok_or(ScanError("truncated"))?;
        self.0 = rest;
        Ok(b)
    }

    pub(crate) fn take(&mut self, n: usize) -> Scan<&'a [u8]> {
        if n > self.0.len() {
            return Err(ScanError("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    pub(crate) fn uleb(&mut self) -> Scan<u64> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(ScanError("a LEB128 number overflows"));
            }
            value |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ScanError("a LEB128 number overflows"))
    }

    pub(crate) fn sleb(&mut self) -> Scan<i64> {
        let mut value: i64 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            if shift == 63 {
                // The tenth byte holds only the sign: 0 or all ones.
                return match b {
                    0x00 => Ok(value),
                    0x7f => Ok(value | i64::MIN),
                    _ => Err(ScanError("a LEB128 number overflows")),
                };
            }
            value |= i64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                if b & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
        }
    }

    pub(crate) fn len(&mut self) -> Scan<usize> {
        let n = self.uleb()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.0.len())
            .ok_or(ScanError("a length beyond the chunk"))
    }

    pub(crate) fn string(&mut self) -> Scan<&'a str> {
        let len = self.len()?;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| ScanError("a key is not UTF-8"))
    }

    /// Column metadata: a count, then (specification, length) pairs.
    pub(crate) fn column_layout(&mut self) -> Scan<Vec<(u32, usize)>> {
        let count = self.len()?;
        let mut columns = Vec::with_capacity(count);
        for _ in 0..count {
            let spec = u32::try_from(self.uleb()?).map_err(|_| ScanError("a column spec"))?;
            let len = usize::try_from(self.uleb()?).map_err(|_| ScanError("a column length"))?;
            columns.push((spec, len));
        }
        Ok(columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rle_reads_runs_literals_and_nulls() {
        // 3 × 7, literals [1, 2], 2 nulls
        let data = [3, 7, 0x7e, 1, 2, 0, 2];
        let got = expand(runs(&data, 10, Reader::uleb).unwrap());
        assert_eq!(
            got,
            vec![Some(7), Some(7), Some(7), Some(1), Some(2), None, None]
        );
        assert!(
            runs(&data, 6, Reader::uleb).is_err(),
            "more rows than allowed"
        );
        assert!(
            runs(&[0, 0], 10, Reader::uleb).is_err(),
            "an empty null run"
        );
        assert!(
            runs(&[3], 10, Reader::uleb).is_err(),
            "a run without its value"
        );
    }

    #[test]
    fn delta_sums_differences_and_skips_nulls() {
        // literals [+5, +1], 1 null, 2 × +2
        let data = [0x7e, 5, 1, 0, 1, 2, 2];
        assert_eq!(
            delta(&data, 10).unwrap(),
            vec![Some(5), Some(6), None, Some(8), Some(10)]
        );
        // -1 from 0 leaves the counter range
        assert!(delta(&[1, 0x7f], 10).is_err());
    }

    fn deflated(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn inflate_reads_whole_streams_and_refuses_cut_ones() {
        // Sizes around the first guess (4x the input) and far beyond it:
        // text compresses well, so the output outgrows its first capacity.
        let text: Vec<u8> = "走访农户三户，了解春耕备耕情况。"
            .repeat(2_000)
            .into_bytes();
        for len in [0, 1, 100, 4_000, text.len()] {
            let data = &text[..len];
            let packed = deflated(data);
            assert_eq!(inflate(&packed).unwrap(), data, "{len} bytes");
            // The same inflater, reused, is not confused by the last use.
            assert_eq!(inflate(&packed).unwrap(), data, "{len} bytes again");
            if packed.len() > 2 {
                assert!(inflate(&packed[..packed.len() / 2]).is_err(), "{len} cut");
            }
        }
        assert!(inflate(&[0xff; 16]).is_err(), "not deflate");
        assert!(inflate(&[]).is_err(), "nothing");
    }

    #[test]
    fn inflate_refuses_a_column_beyond_the_bound() {
        let packed = deflated(&vec![0u8; MAX_INFLATED_COLUMN as usize + 1]);
        assert_eq!(
            inflate(&packed),
            Err(ScanError("a compressed column is too large"))
        );
        let packed = deflated(&vec![0u8; MAX_INFLATED_COLUMN as usize]);
        assert_eq!(
            inflate(&packed).unwrap().len(),
            MAX_INFLATED_COLUMN as usize
        );
    }

    #[test]
    fn segments_end_where_any_column_changes_and_nulls_follow_a_short_column() {
        // a: 3 × 7, then 2 × 8; b: 1 × 1, then 1 × 2 (shorter: null after).
        let a = [
            Run {
                value: Some(7u64),
                len: 3,
            },
            Run {
                value: Some(8),
                len: 2,
            },
        ];
        let b = [
            Run {
                value: Some(1u64),
                len: 1,
            },
            Run {
                value: Some(2),
                len: 1,
            },
        ];
        let (mut ca, mut cb) = (Cursor::new(&a), Cursor::new(&b));
        let mut segments = Segments::new(5);
        let mut got = Vec::new();
        while let Some(rows) = segments.next(&mut [&mut ca, &mut cb]) {
            got.push((rows, ca.value(), cb.value()));
        }
        assert_eq!(
            got,
            vec![
                (0..1, Some(7), Some(1)),
                (1..2, Some(7), Some(2)),
                (2..3, Some(7), None),
                (3..5, Some(8), None),
            ]
        );
    }

    #[test]
    fn booleans_skip_empty_runs_and_refuse_too_many_rows() {
        // 0 false, 2 true, 1 false
        assert_eq!(
            booleans(&[0, 2, 1], 3).unwrap(),
            vec![
                Run {
                    value: Some(true),
                    len: 2
                },
                Run {
                    value: Some(false),
                    len: 1
                },
            ]
        );
        assert!(booleans(&[0, 2, 2], 3).is_err());
    }

    #[test]
    fn leb128_reads_and_refuses_overflow() {
        assert_eq!(Reader(&[0xe5, 0x8e, 0x26]).uleb(), Ok(624_485));
        assert_eq!(Reader(&[0xc0, 0xbb, 0x78]).sleb(), Ok(-123_456));
        assert!(Reader(&[0xff; 11]).uleb().is_err());
        assert!(Reader(&[0xff; 11]).sleb().is_err());
        assert!(Reader(&[0x80]).uleb().is_err(), "truncated");
    }
}
