//! Saved-document bytes, as they come from a phone's disk or the server's
//! database, fed to `Document::load`. Whatever the bytes, loading gives a
//! document or an error; a document that loads also reads and saves without
//! panicking, and its save loads again to the same record.
//!
//! Automerge refuses a chunk whose checksum is wrong before it parses
//! anything, and a fuzzer rarely hits a SHA-256 by chance; so each input is also tried
//! with the checksums of its chunks recomputed, which is what reaches the
//! parser behind the checksum (and what a hostile peer can send).
//!
//! Automerge may panic on hostile bytes; `Document::load` contains that and
//! returns an error, so only a panic that escapes our API is a crash here
//! (see `../panic_hook.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use sync_core::{Actor, DocId, Document};

#[path = "../panic_hook.rs"]
mod panic_hook;

/// One id per kind; the seeds in `sync-core/tests/corpus/doc_load/` are saves
/// of these documents, so each kind gets past the identity check and is read.
const IDS: [&str; 4] = [
    "diary:u1:2026-11-23",
    "night:u1:2026-11-23",
    "plan:u1:2026-11",
    "item:0123456789abcdef0123456789abcdef",
];

fuzz_target!(|bytes: &[u8]| {
    panic_hook::install();
    check(bytes);
    if let Some(fixed) = with_valid_checksums(bytes) {
        check(&fixed);
    }
});

/// Load `bytes` as each document; one that loads must read, save, and load
/// again from its save to the same record, and read the same from its
/// chunk's columns as through Automerge.
fn check(bytes: &[u8]) {
    for id in IDS {
        let id = DocId::parse(id).expect("a valid document id");
        let Ok(mut doc) = Document::load(id.clone(), bytes, &Actor::random()) else {
            continue;
        };
        let record = doc.read();
        // A new document arriving whole: its record read from the chunk's
        // columns (when the chunk is plain) must be Automerge's.
        if let Ok(new) = doc.new_ops(&[], Some(bytes)) {
            if let Some(from_chunk) = new.record {
                assert_eq!(from_chunk, record, "the chunk's view reads differently");
            }
        }
        let saved = doc.save();
        let again = Document::load(id, &saved, &Actor::random())
            .expect("the save of a loaded document loads again");
        assert_eq!(again.read(), record, "a save reads differently");
    }
}

/// `bytes` with the checksum of each Automerge chunk recomputed, or `None`
/// when nothing changed. Chunk: magic(4) checksum(4) type(1) len(uleb) data;
/// the checksum is the first 4 bytes of SHA-256(type, len, data). Stops at the
/// first thing that is not an uncompressed chunk. (The same function is in
/// `sync-core/tests/it/corpus.rs`.)
fn with_valid_checksums(bytes: &[u8]) -> Option<Vec<u8>> {
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
