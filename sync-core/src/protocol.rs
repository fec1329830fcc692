//! The sync batch: many documents' Automerge sync messages in one HTTP body.
//!
//! Wire format version 1 (documented in `docs/sync-protocol.md`, pinned by
//! the golden files in `sync-core/tests/fixtures/`):
//!
//! ```text
//! batch   = version:u8 flags:u8 cursor:uleb count:uleb entry*
//! flags   = bit 0: more (reply) | bit 1: reads items (request)
//! entry   = doc_id:bytes tag:u8 body
//! body    = (tag 0) message:bytes        ; a standard Automerge sync message
//!         | (tag 1) code:bytes text:bytes ; the document was refused
//! bytes   = length:uleb octets
//! ```
//!
//! Decoding never panics and never allocates more than the input allows:
//! every length is checked against the bytes left and the limits below.

use crate::ids::DocId;

/// The version byte this build writes and reads.
pub const VERSION: u8 = 1;
/// The media type of a sync batch, both ways (`POST /api/v1/sync`).
pub const CONTENT_TYPE: &str = "application/vnd.jishi.sync-batch";
/// Most documents one batch may carry.
pub const MAX_DOCS_PER_BATCH: usize = 5_000;
/// Longest document id on the wire (bytes).
pub const MAX_DOC_ID_BYTES: usize = 160;
/// Largest single sync message (bytes).
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
/// Longest refusal code or text (bytes).
pub const MAX_REFUSAL_BYTES: usize = 4 * 1024;

const FLAG_MORE: u8 = 0b0000_0001;
const FLAG_READS_ITEMS: u8 = 0b0000_0010;
const TAG_SYNC: u8 = 0;
const TAG_REFUSED: u8 = 1;

/// Why bytes are not a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty body")]
    Empty,
    #[error("unsupported batch version {0} (this build speaks version {VERSION})")]
    UnsupportedVersion(u8),
    #[error("truncated: the body ends inside {0}")]
    Truncated(&'static str),
    #[error("{what} is {len} bytes; at most {max} are allowed")]
    TooLarge {
        what: &'static str,
        len: u64,
        max: usize,
    },
    #[error("bad document id {id:?}: {reason}")]
    BadDocId { id: String, reason: String },
    #[error("unknown entry tag {0}")]
    BadTag(u8),
    #[error("{0} is not UTF-8")]
    BadUtf8(&'static str),
    #[error("document {0} appears twice in one batch")]
    DuplicateDoc(String),
    #[error("{0} bytes after the last entry")]
    TrailingBytes(usize),
    #[error("a number is not valid LEB128")]
    BadNumber,
}

/// What one entry says about one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryBody {
    /// A standard Automerge sync message.
    Sync(Vec<u8>),
    /// The receiver refused what was sent for this document; nothing of it
    /// was stored.
    Refused { code: String, message: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEntry {
    pub doc: DocId,
    pub body: EntryBody,
}

/// One request or reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Request: the last cursor the device received (0 = none). Reply: the
    /// cursor to send next time.
    pub cursor: u64,
    /// Reply only: more changed documents wait on the server; ask again.
    pub more: bool,
    /// Request only: this client reads assigned documents (`item:{key}`).
    /// A client of an older version, which would refuse such an id and
    /// with it the whole reply, is never sent one.
    pub reads_items: bool,
    pub entries: Vec<BatchEntry>,
}

impl Batch {
    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self
            .entries
            .iter()
            .map(|e| {
                16 + e.doc.to_string().len()
                    + match &e.body {
                        EntryBody::Sync(m) => m.len(),
                        EntryBody::Refused { code, message } => code.len() + message.len() + 8,
                    }
            })
            .sum();
        let mut out = Vec::with_capacity(size + 16);
        out.push(VERSION);
        let mut flags = 0;
        if self.more {
            flags |= FLAG_MORE;
        }
        if self.reads_items {
            flags |= FLAG_READS_ITEMS;
        }
        out.push(flags);
        write_uleb(&mut out, self.cursor);
        write_uleb(&mut out, self.entries.len() as u64);
        for e in &self.entries {
            write_bytes(&mut out, e.doc.to_string().as_bytes());
            match &e.body {
                EntryBody::Sync(m) => {
                    out.push(TAG_SYNC);
                    write_bytes(&mut out, m);
                }
                EntryBody::Refused { code, message } => {
                    out.push(TAG_REFUSED);
                    write_bytes(&mut out, code.as_bytes());
                    write_bytes(&mut out, message.as_bytes());
                }
            }
        }
        out
    }

    pub fn decode(input: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader { input, pos: 0 };
        let version = r.byte("the version").map_err(|_| DecodeError::Empty)?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        // Unknown flag bits are reserved for later versions and ignored.
        let flags = r.byte("the flags")?;
        let cursor = r.uleb("the cursor")?;
        let count = r.uleb("the entry count")?;
        if count > MAX_DOCS_PER_BATCH as u64 {
            return Err(DecodeError::TooLarge {
                what: "the entry count",
                len: count,
                max: MAX_DOCS_PER_BATCH,
            });
        }
        let mut entries = Vec::with_capacity((count as usize).min(r.remaining() / 3));
        let mut seen = std::collections::HashSet::new();
        for _ in 0..count {
            let raw = r.bytes("a document id", MAX_DOC_ID_BYTES)?;
            let id = std::str::from_utf8(raw).map_err(|_| DecodeError::BadUtf8("a document id"))?;
            let doc = DocId::parse(id).map_err(|e| DecodeError::BadDocId {
                id: id.to_owned(),
                reason: e.to_string(),
            })?;
            if !seen.insert(doc.clone()) {
                return Err(DecodeError::DuplicateDoc(id.to_owned()));
            }
            let body = match r.byte("an entry tag")? {
                TAG_SYNC => EntryBody::Sync(r.bytes("a sync message", MAX_MESSAGE_BYTES)?.to_vec()),
                TAG_REFUSED => {
                    let code = r.string("a refusal code")?;
                    let message = r.string("a refusal message")?;
                    EntryBody::Refused { code, message }
                }
                other => return Err(DecodeError::BadTag(other)),
            };
            entries.push(BatchEntry { doc, body });
        }
        if r.remaining() > 0 {
            return Err(DecodeError::TrailingBytes(r.remaining()));
        }
        Ok(Batch {
            cursor,
            more: flags & FLAG_MORE != 0,
            reads_items: flags & FLAG_READS_ITEMS != 0,
            entries,
        })
    }
}

fn write_uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_uleb(out, b.len() as u64);
    out.extend_from_slice(b);
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let b = *self
            .input
            .get(self.pos)
            .ok_or(DecodeError::Truncated(what))?;
        self.pos += 1;
        Ok(b)
    }

    fn uleb(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte(what)?;
            let part = u64::from(b & 0x7f);
            if shift == 63 && part > 1 {
                return Err(DecodeError::BadNumber);
            }
            value |= part << shift;
            if b & 0x80 == 0 {
                // Refuse non-minimal encodings so each batch has one encoding.
                if b == 0 && shift > 0 {
                    return Err(DecodeError::BadNumber);
                }
                return Ok(value);
            }
        }
        Err(DecodeError::BadNumber)
    }

    fn bytes(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.uleb(what)?;
        if len > max as u64 {
            return Err(DecodeError::TooLarge { what, len, max });
        }
        let len = len as usize;
        if len > self.remaining() {
            return Err(DecodeError::Truncated(what));
        }
        let out = &self.input[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let b = self.bytes(what, MAX_REFUSAL_BYTES)?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError::BadUtf8(what))
    }
}

/// Shortest and longest wait a busy answer may ask for, in seconds.
pub const RETRY_AFTER_SECS: std::ops::RangeInclusive<u64> = 1..=60;

/// The wait a busy answer (HTTP 503) asks for: its `Retry-After` header
/// value in seconds, kept within [`RETRY_AFTER_SECS`] (the shortest when
/// the header is absent or not a number of seconds), so that a broken or
/// hostile answer can neither make a phone spin nor stall it for long.
/// Clients add their own random spread on top, so that phones turned away
/// together do not all come back together.
pub fn retry_after_secs(header: Option<&str>) -> u64 {
    header
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(*RETRY_AFTER_SECS.start())
        .clamp(*RETRY_AFTER_SECS.start(), *RETRY_AFTER_SECS.end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_answer_waits_one_to_sixty_seconds() {
        assert_eq!(retry_after_secs(Some("3")), 3);
        assert_eq!(retry_after_secs(Some(" 7 ")), 7);
        assert_eq!(retry_after_secs(None), 1);
        assert_eq!(retry_after_secs(Some("0")), 1);
        assert_eq!(retry_after_secs(Some("86400")), 60);
        assert_eq!(retry_after_secs(Some("Wed, 21 Oct 2026 07:28:00 GMT")), 1);
        assert_eq!(retry_after_secs(Some("-5")), 1);
    }

    fn sample() -> Batch {
        Batch {
            cursor: 300,
            more: true,
            reads_items: false,
            entries: vec![
                BatchEntry {
                    doc: DocId::parse("diary:u1:2026-11-23").unwrap(),
                    body: EntryBody::Sync(vec![0x42, 1, 2, 3]),
                },
                BatchEntry {
                    doc: DocId::parse("plan:u1:2026-11").unwrap(),
                    body: EntryBody::Refused {
                        code: "forbidden_change".into(),
                        message: "不允许".into(),
                    },
                },
            ],
        }
    }

    #[test]
    fn round_trip() {
        let b = sample();
        assert_eq!(Batch::decode(&b.encode()).unwrap(), b);
        let empty = Batch::default();
        assert_eq!(empty.encode(), vec![VERSION, 0, 0, 0]);
        assert_eq!(Batch::decode(&empty.encode()).unwrap(), empty);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().encode();
        for n in 0..bytes.len() {
            assert!(
                Batch::decode(&bytes[..n]).is_err(),
                "prefix of {n} bytes decoded"
            );
        }
    }

    #[test]
    fn refusals() {
        assert_eq!(Batch::decode(&[]), Err(DecodeError::Empty));
        assert_eq!(
            Batch::decode(&[2, 0, 0, 0]),
            Err(DecodeError::UnsupportedVersion(2))
        );
        assert_eq!(
            Batch::decode(&[1, 0, 0, 0, 9]),
            Err(DecodeError::TrailingBytes(1))
        );
        // count far beyond the limit
        assert!(matches!(
            Batch::decode(&[1, 0, 0, 0xff, 0xff, 0x03]),
            Err(DecodeError::TooLarge { .. })
        ));
        // a message length larger than the body
        let mut b = vec![1, 0, 0, 1];
        write_bytes(&mut b, b"diary:u1:2026-11-23");
        b.push(0);
        write_uleb(&mut b, 1_000);
        assert_eq!(
            Batch::decode(&b),
            Err(DecodeError::Truncated("a sync message"))
        );
        // non-minimal LEB128
        assert_eq!(
            Batch::decode(&[1, 0, 0x80, 0x00, 0]),
            Err(DecodeError::BadNumber)
        );
        // duplicate documents
        let mut s = sample();
        s.entries[1].doc = s.entries[0].doc.clone();
        assert!(matches!(
            Batch::decode(&s.encode()),
            Err(DecodeError::DuplicateDoc(_))
        ));
    }
}
