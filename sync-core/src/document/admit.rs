//! What an incoming sync message may cost, decided before Automerge sees it.
//!
//! Automerge inflates a message's DEFLATE data whole and expands its
//! run-length encoded columns into operations before anything can count
//! them, so a message of a few kilobytes can hold hundreds of MiB of zeros
//! or millions of operations (issue 23: 2 KB made 2,000,000 text
//! operations, 6 s and 989 MiB). [`admit_message`] reads the message's
//! envelope and every chunk in it — document chunks, change chunks and
//! compressed change chunks, the formats of automerge.org's "Binary
//! Document Format" — and counts what loading it would make: the
//! operations and changes (the rows of the columns, summed over the runs
//! without expanding them), the bytes every DEFLATE stream inflates to
//! (inflated with a bound, never further), the size of each value. Each
//! count is held to a bound per document and to what is left of the
//! request's [`RequestBudget`] before anything proportional to it is
//! allocated; a message over a bound is refused whole, and a request whose
//! budget is spent has its further documents deferred to the next request.
//!
//! The check is strict: anything it cannot read (an unknown chunk type, a
//! bundle chunk, a column that does not decode, a bloom filter with more
//! probes than any implementation uses) is refused, though Automerge might
//! have read or skipped it. Our phones and other Automerge implementations
//! send none of those in sync messages.

use super::chunk::{
    forget_inflated, inflate_at_most, remember_inflated, Reader, ScanError, CHUNK_MAGIC,
};

/// Most operations one document may gain in one request (a busy day is a
/// few thousand; every character typed is one).
pub const MAX_MESSAGE_OPS: usize = 100_000;
/// Most changes one document may gain in one request.
pub const MAX_MESSAGE_CHANGES: usize = 20_000;
/// Most bytes one document's message may inflate to.
pub const MAX_MESSAGE_INFLATED: usize = 8 << 20;
/// The longest single value (bytes): a map value is at most a short field
/// (200 characters), a text element one character.
pub const MAX_VALUE_BYTES: usize = 4 << 10;
/// Most heads, needed hashes and have-entries' hashes one message may list.
pub const MAX_MESSAGE_HASHES: usize = 4_096;
/// Most probes a bloom filter may ask per hash (Automerge uses 7).
pub const MAX_BLOOM_PROBES: u32 = 64;
/// Most bits per entry of a bloom filter (Automerge uses 10).
pub const MAX_BLOOM_BITS_PER_ENTRY: u32 = 64;

/// Most documents one request has worked on; the rest are deferred (the
/// phone sends at most this many: `session::MAX_DOCS_PER_REQUEST`).
pub const MAX_REQUEST_DOCS: usize = 1_000;

/// What all documents of one request may cost together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestBudget {
    pub ops: usize,
    pub changes: usize,
    /// Bytes inflated, by every message whether admitted or not: the work
    /// is done either way.
    pub inflated: usize,
    pub docs: usize,
}

impl RequestBudget {
    /// A request's default: twice the operations and changes one document
    /// may gain (one request always carries the largest document there may
    /// be), four times its inflated bytes (a thousand new documents of a
    /// busy day each, compressed).
    pub fn per_request() -> Self {
        Self {
            ops: 2 * MAX_MESSAGE_OPS,
            changes: 2 * MAX_MESSAGE_CHANGES,
            inflated: 4 * MAX_MESSAGE_INFLATED,
            docs: MAX_REQUEST_DOCS,
        }
    }
}

/// What loading a message will make, counted without making it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageCost {
    pub ops: usize,
    pub changes: usize,
    /// Bytes of DEFLATE data inflated while counting.
    pub inflated: usize,
}

/// Why a message was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// Not a sync message we can read whole; Automerge is not asked.
    #[error("the sync message cannot be read: {0}")]
    Malformed(&'static str),
    /// Over a bound of one document: refused, whatever the request.
    #[error("{what}: {count} in one message; at most {max}")]
    TooLarge {
        what: &'static str,
        count: usize,
        max: usize,
    },
    /// The request's budget is spent: send this document again in the next
    /// request.
    #[error("this request is full ({what}); send this document again in the next request")]
    Deferred { what: &'static str },
}

impl AdmitError {
    /// The refusal code on the wire (`docs/sync-protocol.md`).
    pub fn code(&self) -> &'static str {
        match self {
            AdmitError::Malformed(_) => "bad_message",
            AdmitError::TooLarge { .. } => "too_large",
            AdmitError::Deferred { .. } => "deferred",
        }
    }
}

impl From<ScanError> for AdmitError {
    fn from(e: ScanError) -> Self {
        AdmitError::Malformed(e.0)
    }
}

type Admit<T> = Result<T, AdmitError>;

const MESSAGE_V1: u8 = 0x42;
const MESSAGE_V2: u8 = 0x43;
const CHUNK_DOCUMENT: u8 = 0;
const CHUNK_CHANGE: u8 = 1;
const CHUNK_COMPRESSED: u8 = 2;

/// Column types: the low three bits of a column specification.
const COL_GROUP: u32 = 0;
const COL_BOOLEAN: u32 = 4;
const COL_DELTA: u32 = 3;
const COL_STRING: u32 = 5;
const COL_VALUE_META: u32 = 6;
const COL_VALUE: u32 = 7;
const COL_DEFLATE: u32 = 0b1000;

/// Check one incoming sync message against the bounds of one document and
/// what is left of `budget`; on success the budget is charged with its
/// cost. Nothing here allocates more than a bound allows: inflation stops
/// at what is left, counts stop at their bound.
pub fn admit_message(bytes: &[u8], budget: &mut RequestBudget) -> Admit<MessageCost> {
    let mut r = Reader(bytes);
    match r.byte()? {
        MESSAGE_V1 | MESSAGE_V2 => {}
        _ => return Err(AdmitError::Malformed("not an Automerge sync message")),
    }
    let mut hashes = 0usize;
    hashes += skip_hashes(&mut r)?; // heads
    hashes += skip_hashes(&mut r)?; // need
    let haves = r.len()?;
    for _ in 0..haves {
        hashes += skip_hashes(&mut r)?;
        let bloom = r.len()?;
        check_bloom(r.take(bloom)?)?;
        if hashes > MAX_MESSAGE_HASHES {
            break;
        }
    }
    if hashes > MAX_MESSAGE_HASHES {
        return Err(AdmitError::TooLarge {
            what: "hashes (heads, needs and haves)",
            count: hashes,
            max: MAX_MESSAGE_HASHES,
        });
    }
    // Automerge loads the changes joined: a chunk may span two of them.
    let count = r.len()?;
    let mut parts = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let len = r.len()?;
        parts.push(r.take(len)?);
    }
    // The flags, if any, and whatever follows are not ours to judge.
    let joined;
    let changes: &[u8] = match parts.as_slice() {
        [] => &[],
        [one] => one,
        many => {
            joined = many.concat();
            &joined
        }
    };
    forget_inflated();
    if budget.docs == 0 {
        return Err(AdmitError::Deferred { what: "documents" });
    }
    let limits = Limits::for_message(budget);
    let mut cost = MessageCost::default();
    let mut chunks = Reader(changes);
    let mut read = Ok(());
    while read.is_ok() && !chunks.0.is_empty() {
        read = chunk(&mut chunks, &limits, &mut cost);
    }
    // Inflation was paid for, admitted or not: a request of bombs runs
    // out of it after a few and defers the rest at once.
    budget.inflated = budget.inflated.saturating_sub(cost.inflated);
    read?;
    budget.ops -= cost.ops;
    budget.changes -= cost.changes;
    budget.docs -= 1;
    Ok(cost)
}

/// The bounds of one message: a document's, or less when the request has
/// less left (then exceeding it defers rather than refuses).
struct Limits {
    ops: (usize, bool),
    changes: (usize, bool),
    inflated: (usize, bool),
}

impl Limits {
    fn for_message(budget: &RequestBudget) -> Self {
        let pick = |doc: usize, left: usize| (doc.min(left), left < doc);
        Self {
            ops: pick(MAX_MESSAGE_OPS, budget.ops),
            changes: pick(MAX_MESSAGE_CHANGES, budget.changes),
            inflated: pick(MAX_MESSAGE_INFLATED, budget.inflated),
        }
    }

    fn over(what: &'static str, count: usize, (max, by_request): (usize, bool)) -> Admit<()> {
        if count <= max {
            return Ok(());
        }
        Err(if by_request {
            AdmitError::Deferred { what }
        } else {
            AdmitError::TooLarge { what, count, max }
        })
    }

    fn check(&self, cost: &MessageCost) -> Admit<()> {
        Self::over("operations", cost.ops, self.ops)?;
        Self::over("changes", cost.changes, self.changes)?;
        Self::over("inflated bytes", cost.inflated, self.inflated)
    }

    fn inflated_left(&self, cost: &MessageCost) -> usize {
        self.inflated.0.saturating_sub(cost.inflated)
    }

    /// Inflate `data` within what is left; beyond it, the message is over
    /// its bound (found after at most the bound is inflated).
    fn inflate(&self, data: &[u8], cost: &mut MessageCost) -> Admit<Vec<u8>> {
        let left = self.inflated_left(cost);
        match inflate_at_most(data, left as u64) {
            Ok(out) => {
                cost.inflated += out.len();
                Ok(out)
            }
            Err(ScanError("a compressed column is too large")) => {
                // What was inflated before the bound stopped it.
                cost.inflated = cost.inflated.saturating_add(left);
                let (max, by_request) = self.inflated;
                let what = "inflated bytes";
                Err(if by_request {
                    AdmitError::Deferred { what }
                } else {
                    AdmitError::TooLarge {
                        what,
                        count: max.saturating_add(1),
                        max,
                    }
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A list of change hashes: a count, then 32 bytes each.
fn skip_hashes(r: &mut Reader<'_>) -> Admit<usize> {
    let count = r.len()?;
    let bytes = count
        .checked_mul(32)
        .ok_or(AdmitError::Malformed("a hash list overflows"))?;
    r.take(bytes)?;
    Ok(count)
}

/// A have-entry's bloom filter: Automerge computes `probes` positions for
/// every hash it tests against it, so a filter asking billions of them is
/// refused here.
fn check_bloom(bytes: &[u8]) -> Admit<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut r = Reader(bytes);
    let _entries = r.uleb()?;
    let bits_per_entry = r.uleb()?;
    let probes = r.uleb()?;
    if bits_per_entry > u64::from(MAX_BLOOM_BITS_PER_ENTRY) || probes > u64::from(MAX_BLOOM_PROBES)
    {
        return Err(AdmitError::Malformed(
            "a bloom filter beyond Automerge's parameters",
        ));
    }
    Ok(())
}

/// One chunk: header (magic, checksum, type, length), then its body.
fn chunk(r: &mut Reader<'_>, limits: &Limits, cost: &mut MessageCost) -> Admit<()> {
    if r.take(4)? != CHUNK_MAGIC {
        return Err(AdmitError::Malformed(
            "a chunk without Automerge's magic bytes",
        ));
    }
    r.take(4)?; // checksum: Automerge verifies it
    let kind = r.byte()?;
    let len = r.len()?;
    let body = r.take(len)?;
    match kind {
        CHUNK_DOCUMENT => document(body, limits, cost),
        CHUNK_CHANGE => change(body, limits, cost),
        CHUNK_COMPRESSED => {
            let inflated = limits.inflate(body, cost)?;
            change(&inflated, limits, cost)
        }
        _ => Err(AdmitError::Malformed(
            "a chunk type other than document, change or compressed change",
        )),
    }
}

/// A change chunk's body: header fields, then its op columns (never
/// compressed one by one: the whole chunk is).
fn change(body: &[u8], limits: &Limits, cost: &mut MessageCost) -> Admit<()> {
    let mut r = Reader(body);
    skip_hashes(&mut r)?; // dependencies
    let actor = r.len()?;
    r.take(actor)?;
    r.uleb()?; // seq
    r.uleb()?; // start op
    r.sleb()?; // time
    let message = r.len()?;
    r.take(message)?;
    let others = r.len()?;
    for _ in 0..others {
        let len = r.len()?;
        r.take(len)?;
    }
    let layout = r.column_layout()?;
    if layout.iter().any(|(spec, _)| spec & COL_DEFLATE != 0) {
        return Err(AdmitError::Malformed("a change with a compressed column"));
    }
    cost.changes += 1;
    let rows = columns(&mut r, &layout, limits, cost, false)?;
    cost.ops += rows;
    limits.check(cost)
}

/// A document chunk's body: actors, heads, the change and op column
/// layouts, their data (columns may be compressed one by one), and the
/// heads' indexes.
fn document(body: &[u8], limits: &Limits, cost: &mut MessageCost) -> Admit<()> {
    let mut r = Reader(body);
    let actors = r.len()?;
    for _ in 0..actors {
        let len = r.len()?;
        r.take(len)?;
    }
    skip_hashes(&mut r)?;
    let change_layout = r.column_layout()?;
    let op_layout = r.column_layout()?;
    cost.changes += columns(&mut r, &change_layout, limits, cost, false)?;
    limits.check(cost)?;
    cost.ops += columns(&mut r, &op_layout, limits, cost, true)?;
    limits.check(cost)
}

/// Read the data of `layout`'s columns from `r` and count their rows:
/// the most rows any column holds (a column shorter than the others reads
/// as nulls after its end). The rows of grouped columns (a change's
/// dependencies, an operation's predecessors or successors) count as
/// operations too. Stops as soon as a count passes its bound.
/// `remember`: keep what compressed columns inflate to for the chunk
/// scan that follows (`chunk.rs`: a new document's chunk).
fn columns(
    r: &mut Reader<'_>,
    layout: &[(u32, usize)],
    limits: &Limits,
    cost: &mut MessageCost,
    remember: bool,
) -> Admit<usize> {
    // A count beyond the bound is refused whatever its exact value: the
    // row walk stops there.
    let cap = limits.ops.0.max(limits.changes.0);
    let mut rows = 0usize;
    let mut grouped = 0usize;
    // The columns after a group column with its id hold the group's rows.
    let mut group: Option<u32> = None;
    for &(spec, len) in layout {
        let data = r.take(len)?;
        let kind = spec & 0b111;
        let id = spec >> 4;
        let counted = if spec & COL_DEFLATE != 0 {
            let inflated = limits.inflate(data, cost)?;
            limits.check(cost)?;
            let counted = count_rows(kind, &inflated, cap)?;
            if remember {
                remember_inflated(data, inflated);
            }
            counted
        } else {
            count_rows(kind, data, cap)?
        };
        if kind == COL_GROUP {
            group = Some(id);
        } else if group == Some(id) {
            // Counted by its group column's values.
            continue;
        } else {
            group = None;
        }
        rows = rows.max(counted.rows);
        grouped = grouped.saturating_add(counted.grouped);
        if rows > cap || grouped > cap {
            break;
        }
    }
    cost.ops = cost.ops.saturating_add(grouped);
    Ok(rows)
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Counted {
    rows: usize,
    /// A group column's sum of values: the rows of the columns it groups.
    grouped: usize,
}

/// The rows of one column, summed over its runs without expanding them;
/// stops once past `cap`. Values are read to step over them, and checked
/// where a bound applies (the length a value-metadata entry declares).
fn count_rows(kind: u32, data: &[u8], cap: usize) -> Admit<Counted> {
    let mut r = Reader(data);
    let mut counted = Counted::default();
    match kind {
        COL_VALUE => {}
        COL_BOOLEAN => {
            while !r.0.is_empty() && counted.rows <= cap {
                let n = usize::try_from(r.uleb()?).unwrap_or(usize::MAX);
                counted.rows = counted.rows.saturating_add(n);
            }
        }
        _ => {
            while !r.0.is_empty() && counted.rows <= cap && counted.grouped <= cap {
                let n = r.sleb()?;
                let count = if n == 0 {
                    usize::try_from(r.uleb()?).unwrap_or(usize::MAX)
                } else {
                    usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX)
                };
                counted.rows = counted.rows.saturating_add(count);
                let values = match n {
                    0 => 0,
                    n if n > 0 => 1,
                    _ => count,
                };
                for _ in 0..values {
                    let weight = if n > 0 { count } else { 1 };
                    match kind {
                        COL_DELTA => {
                            r.sleb()?;
                        }
                        COL_STRING => {
                            // Automerge checks the UTF-8 when it loads.
                            let len = r.len()?;
                            let s = r.take(len)?;
                            if s.len() > MAX_VALUE_BYTES {
                                return Err(AdmitError::TooLarge {
                                    what: "bytes in one key",
                                    count: s.len(),
                                    max: MAX_VALUE_BYTES,
                                });
                            }
                        }
                        COL_VALUE_META => {
                            let len = r.uleb()? >> 4;
                            if len > MAX_VALUE_BYTES as u64 {
                                return Err(AdmitError::TooLarge {
                                    what: "bytes in one value",
                                    count: usize::try_from(len).unwrap_or(usize::MAX),
                                    max: MAX_VALUE_BYTES,
                                });
                            }
                        }
                        COL_GROUP => {
                            let v = usize::try_from(r.uleb()?).unwrap_or(usize::MAX);
                            counted.grouped =
                                counted.grouped.saturating_add(v.saturating_mul(weight));
                        }
                        _ => {
                            r.uleb()?;
                        }
                    }
                    if counted.grouped > cap {
                        break;
                    }
                }
            }
        }
    }
    Ok(counted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ReadDoc, ROOT};

    fn budget() -> RequestBudget {
        RequestBudget::per_request()
    }

    /// The first sync message of a document to a peer that has nothing.
    fn first_message(doc: &mut AutoCommit) -> Vec<u8> {
        let mut state = crate::session::primed_state(None);
        doc.sync()
            .generate_sync_message(&mut state)
            .expect("a message")
            .encode()
    }

    fn text_doc(chars: usize) -> AutoCommit {
        let mut doc = AutoCommit::new();
        let t = doc.put_object(ROOT, "t", ObjType::Text).unwrap();
        doc.splice_text(&t, 0, 0, &"走".repeat(chars)).unwrap();
        doc.commit();
        doc
    }

    #[test]
    fn counts_the_operations_of_a_document_message() {
        let mut doc = text_doc(5_000);
        let message = first_message(&mut doc);
        let mut b = budget();
        let cost = admit_message(&message, &mut b).unwrap();
        assert_eq!(cost.ops, 5_001);
        assert_eq!(cost.changes, 1);
        assert_eq!(b.ops, budget().ops - 5_001);
    }

    #[test]
    fn counts_the_operations_of_change_messages() {
        let mut doc = text_doc(10);
        let mut state = crate::session::primed_state(None);
        let _ = doc.sync().generate_sync_message(&mut state);
        // Changes after the peer has the first: sent as change chunks, the
        // larger one compressed.
        let t = doc.get(ROOT, "t").unwrap().unwrap().1;
        doc.splice_text(&t, 0, 0, &"a".repeat(2_000)).unwrap();
        doc.commit();
        doc.put(ROOT, "k", "v").unwrap();
        doc.commit();
        let mut peer = AutoCommit::new();
        let mut ps = automerge::sync::State::new();
        let mut ds = automerge::sync::State::new();
        let mut counted = MessageCost::default();
        for _ in 0..10 {
            if let Some(m) = doc.sync().generate_sync_message(&mut ds) {
                let bytes = m.encode();
                let c = admit_message(&bytes, &mut budget()).unwrap();
                counted.ops += c.ops;
                counted.changes += c.changes;
                peer.sync()
                    .receive_sync_message(
                        &mut ps,
                        automerge::sync::Message::decode(&bytes).unwrap(),
                    )
                    .unwrap();
            }
            if let Some(m) = peer.sync().generate_sync_message(&mut ps) {
                doc.sync().receive_sync_message(&mut ds, m).unwrap();
            }
        }
        assert_eq!(peer.get_heads(), doc.get_heads());
        assert!(counted.ops >= 2_012, "{counted:?}");
    }

    #[test]
    fn a_document_beyond_the_bound_is_refused_and_within_the_budget_deferred() {
        let mut doc = text_doc(MAX_MESSAGE_OPS);
        let message = first_message(&mut doc);
        let err = admit_message(&message, &mut budget()).unwrap_err();
        assert_eq!(err.code(), "too_large", "{err}");
        let mut small = text_doc(1_000);
        let message = first_message(&mut small);
        let mut nearly_spent = RequestBudget {
            ops: 500,
            ..budget()
        };
        let err = admit_message(&message, &mut nearly_spent).unwrap_err();
        assert_eq!(err.code(), "deferred", "{err}");
        assert_eq!(nearly_spent.ops, 500, "nothing charged");
    }

    #[test]
    fn bombs_are_refused_after_the_bound_and_defer_once_the_request_has_paid() {
        use std::io::Write;
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&vec![0u8; 3 * MAX_MESSAGE_INFLATED]).unwrap();
        let deflated = e.finish().unwrap();
        let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, CHUNK_COMPRESSED];
        let mut len = deflated.len();
        loop {
            let b = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                chunk.push(b);
                break;
            }
            chunk.push(b | 0x80);
        }
        chunk.extend(&deflated);
        let mut message = vec![MESSAGE_V1, 0, 0, 0, 1];
        let mut len = chunk.len();
        while len >= 0x80 {
            message.push((len & 0x7f) as u8 | 0x80);
            len >>= 7;
        }
        message.push(len as u8);
        message.extend(&chunk);
        let mut b = budget();
        let mut codes = Vec::new();
        for _ in 0..8 {
            codes.push(admit_message(&message, &mut b).unwrap_err().code());
        }
        // Each bomb inflated 8 MiB before its refusal; four spend the
        // request's 32 MiB, and the rest are deferred without inflating.
        assert_eq!(
            codes,
            [
                "too_large",
                "too_large",
                "too_large",
                "too_large",
                "deferred",
                "deferred",
                "deferred",
                "deferred"
            ]
        );
        assert_eq!(b.inflated, 0);
    }

    #[test]
    fn a_bloom_filter_with_billions_of_probes_is_refused() {
        let mut m = vec![MESSAGE_V1, 0, 0, 1, 0];
        let bloom = [1u8, 10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff];
        m.push(bloom.len() as u8);
        m.extend(bloom);
        m.push(0);
        let err = admit_message(&m, &mut budget()).unwrap_err();
        assert_eq!(err.code(), "bad_message");
    }

    #[test]
    fn unreadable_messages_are_refused() {
        for bad in [&[][..], &[0x42], &[0x41, 0, 0, 0, 0], &[0x42, 5, 1, 2]] {
            assert_eq!(
                admit_message(bad, &mut budget()).unwrap_err().code(),
                "bad_message",
                "{bad:?}"
            );
        }
    }
}
