//! The phone's side of the resumable photo upload, without I/O.
//!
//! An [`Upload`] says which request to send next (ask the server's offset,
//! or send the next chunk) and takes the answer, whatever happened to the
//! connection. It never sends a byte the server already holds, gives up
//! only on an answer that retrying cannot change (the server refused the
//! photo), and after a network failure starts again by asking the offset,
//! waiting longer each time ([`Upload::backoff`]). [`check_patch`] is the
//! server's side of one `PATCH`: from the header values, the chunk length and
//! what the server holds, it decides whether to append and whether that
//! finishes the photo, and it accepts only a chunk that starts where the
//! server's bytes end and stays within the declared length and the size
//! limit. Protocol: `docs/photo-upload.md`.

use std::time::Duration;

use crate::validate::PhotoHash;

/// Chunk size for slow networks: about 10 s of 2G each.
pub const DEFAULT_CHUNK: u64 = 64 * 1024;
/// Longest wait between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The request to send next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadRequest {
    /// `HEAD /api/v1/blobs/{sha}`: how many bytes does the server hold?
    Head,
    /// `PATCH /api/v1/blobs/{sha}` with bytes `offset..offset + len` of the
    /// file, `Upload-Offset: offset`, `Upload-Length: total`.
    Patch { offset: u64, len: u64 },
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadResponse {
    /// The server's `Upload-Offset` and `Upload-Complete` (HEAD, 200/201/204
    /// of a PATCH).
    Offset { offset: u64, complete: bool },
    /// 409 `offset_mismatch`, with the server's offset.
    OffsetMismatch { offset: u64 },
    /// A 4xx the photo itself caused (`hash_mismatch`, `not_an_image`, …):
    /// sending it again would be refused again.
    Refused { code: String, message: String },
    /// No answer, a cut, a timeout, a 5xx, a 401 before a token refresh:
    /// try again later.
    Failed,
}

/// Where an upload stands, as the outbox shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadState {
    Queued,
    Uploading { acked: u64, total: u64 },
    Done,
    Failed { reason: String },
}

#[derive(Debug, Clone)]
pub struct Upload {
    hash: PhotoHash,
    total: u64,
    chunk: u64,
    /// The server's offset, once known in this attempt.
    acked: Option<u64>,
    /// The most the server has been seen to hold.
    best: u64,
    state: UploadState,
    failures: u32,
}

impl Upload {
    /// An upload of `total` bytes; `acked` is what the outbox last recorded
    /// (the server is asked again before anything is sent).
    pub fn new(hash: PhotoHash, total: u64, chunk: u64) -> Self {
        Self {
            hash,
            total,
            chunk: chunk.max(1),
            acked: None,
            best: 0,
            state: UploadState::Queued,
            failures: 0,
        }
    }

    pub fn hash(&self) -> &PhotoHash {
        &self.hash
    }

    pub fn state(&self) -> &UploadState {
        &self.state
    }

    /// Network failures in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The next request, or `None` when the upload is done or refused.
    pub fn next(&self) -> Option<UploadRequest> {
        match (&self.state, self.acked) {
            (UploadState::Done | UploadState::Failed { .. }, _) => None,
            (_, None) => Some(UploadRequest::Head),
            (_, Some(offset)) => Some(UploadRequest::Patch {
                offset,
                len: self.chunk.min(self.total - offset),
            }),
        }
    }

    /// Take the answer to the request `next` gave.
    pub fn handle(&mut self, response: UploadResponse) {
        match response {
            UploadResponse::Offset { complete: true, .. } => {
                self.state = UploadState::Done;
                self.failures = 0;
            }
            UploadResponse::Offset {
                offset,
                complete: false,
            }
            | UploadResponse::OffsetMismatch { offset } => {
                if offset > self.total {
                    // The server holds more than the photo: start over.
                    self.refuse_or_restart();
                    return;
                }
                // Failures count until the server holds more than before:
                // a network that answers HEAD but cuts every chunk still
                // ends in a long wait, not a loop.
                if offset > self.best {
                    self.best = offset;
                    self.failures = 0;
                }
                // At `offset == total` the next request is an empty chunk:
                // the server holds every byte but its last check was cut,
                // and the empty chunk makes it finish.
                self.acked = Some(offset);
                self.state = UploadState::Uploading {
                    acked: offset,
                    total: self.total,
                };
            }
            UploadResponse::Refused { code, message } => {
                self.state = UploadState::Failed {
                    reason: format!("{code}: {message}"),
                };
            }
            UploadResponse::Failed => {
                self.failures = self.failures.saturating_add(1);
                self.acked = None;
            }
        }
    }

    fn refuse_or_restart(&mut self) {
        self.failures = self.failures.saturating_add(1);
        self.acked = None;
    }

    /// How long to wait before the next request: nothing while things go
    /// well; after `n` failures in a row, 2^n seconds up to five minutes,
    /// stretched by `jitter` in `0.0..1.0` so phones do not retry in step.
    pub fn backoff(&self, jitter: f64) -> Duration {
        if self.failures == 0 {
            return Duration::ZERO;
        }
        let base = Duration::from_secs(1u64 << self.failures.min(9));
        base.mul_f64(1.0 + jitter.clamp(0.0, 1.0)).min(MAX_BACKOFF)
    }
}

/// A header of the upload protocol, for naming it in a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadHeader {
    Offset,
    Length,
}

impl UploadHeader {
    /// The header's name as it travels (HTTP/2 and axum spell it lower-case).
    pub fn name(self) -> &'static str {
        match self {
            UploadHeader::Offset => "upload-offset",
            UploadHeader::Length => "upload-length",
        }
    }
}

/// What the server does with a `PATCH` it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchStep {
    /// Where the chunk goes: always what the server held.
    pub offset: u64,
    /// What the server holds after appending the chunk.
    pub end: u64,
    /// The photo's size, as `Upload-Length` declares it.
    pub length: u64,
    /// The chunk is the last one (`end == length`): check the photo and
    /// answer 201; otherwise answer 204 with `Upload-Offset: end`.
    pub completes: bool,
}

/// Why a `PATCH` is not appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PatchRefusal {
    /// Missing, or not a whole number: 400 `bad_upload_header`.
    #[error("the {} header must be a whole number", .0.name())]
    BadHeader(UploadHeader),
    /// `Upload-Length` over the size limit: 413.
    #[error("Upload-Length {length} is over the limit of {max_bytes} bytes")]
    TooLarge { length: u64, max_bytes: u64 },
    /// `Upload-Length: 0`: 400 `bad_upload_header`.
    #[error("Upload-Length must be positive")]
    ZeroLength,
    /// The chunk does not start where the server's bytes end: 409
    /// `offset_mismatch` with `Upload-Offset: held`, to resume there.
    #[error("the server holds {held} bytes of this photo; resume from there")]
    OffsetConflict { held: u64 },
    /// The chunk runs past `Upload-Length`: 400 `chunk_too_long`.
    #[error("the chunk runs past Upload-Length")]
    ChunkPastLength,
}

impl PatchRefusal {
    /// The `code` of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            PatchRefusal::BadHeader(_) | PatchRefusal::ZeroLength => "bad_upload_header",
            PatchRefusal::TooLarge { .. } => "payload_too_large",
            PatchRefusal::OffsetConflict { .. } => "offset_mismatch",
            PatchRefusal::ChunkPastLength => "chunk_too_long",
        }
    }
}

/// The two numbered headers of a `PATCH`, checked against the size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchHeaders {
    pub offset: u64,
    pub length: u64,
}

impl PatchHeaders {
    /// Read `Upload-Offset` and `Upload-Length` (the raw header values, or
    /// `None` when absent): whole decimal numbers, spaces and tabs around
    /// them allowed. The length must be positive and at most `max_bytes`.
    /// The server answers these refusals before it looks at what it holds.
    pub fn parse(
        offset: Option<&[u8]>,
        length: Option<&[u8]>,
        max_bytes: u64,
    ) -> Result<Self, PatchRefusal> {
        let offset = header_number(offset).ok_or(PatchRefusal::BadHeader(UploadHeader::Offset))?;
        let length = header_number(length).ok_or(PatchRefusal::BadHeader(UploadHeader::Length))?;
        if length > max_bytes {
            return Err(PatchRefusal::TooLarge { length, max_bytes });
        }
        if length == 0 {
            return Err(PatchRefusal::ZeroLength);
        }
        Ok(Self { offset, length })
    }

    /// The step for a chunk of `chunk_len` bytes when the server holds
    /// `staged` bytes of the photo.
    pub fn step(&self, chunk_len: usize, staged: u64) -> Result<PatchStep, PatchRefusal> {
        if self.offset != staged {
            return Err(PatchRefusal::OffsetConflict { held: staged });
        }
        let end = u64::try_from(chunk_len)
            .ok()
            .and_then(|n| self.offset.checked_add(n))
            .filter(|&end| end <= self.length)
            .ok_or(PatchRefusal::ChunkPastLength)?;
        Ok(PatchStep {
            offset: self.offset,
            end,
            length: self.length,
            completes: end == self.length,
        })
    }
}

/// The server's decision on one `PATCH`, all checks in the order the server
/// makes them ([`PatchHeaders::parse`], then [`PatchHeaders::step`]; the
/// server splits the two because it reads `staged` only for good headers).
pub fn check_patch(
    offset: Option<&[u8]>,
    length: Option<&[u8]>,
    chunk_len: usize,
    staged: u64,
    max_bytes: u64,
) -> Result<PatchStep, PatchRefusal> {
    PatchHeaders::parse(offset, length, max_bytes)?.step(chunk_len, staged)
}

/// A header value as a whole decimal number. The same numbers as the server
/// took before this check moved here: `str::parse::<u64>` after trimming, so
/// a leading `+` passes and anything else but digits does not.
fn header_number(value: Option<&[u8]>) -> Option<u64> {
    let value = value?;
    let start = value.iter().position(|b| !matches!(b, b' ' | b'\t'))?;
    let end = value.iter().rposition(|b| !matches!(b, b' ' | b'\t'))?;
    std::str::from_utf8(&value[start..=end]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 20 * 1024 * 1024;

    fn check(
        offset: &str,
        length: &str,
        chunk: usize,
        staged: u64,
    ) -> Result<PatchStep, PatchRefusal> {
        check_patch(
            Some(offset.as_bytes()),
            Some(length.as_bytes()),
            chunk,
            staged,
            MAX,
        )
    }

    #[test]
    fn a_chunk_where_the_server_stands_is_appended() {
        assert_eq!(
            check("100", "250", 100, 100),
            Ok(PatchStep {
                offset: 100,
                end: 200,
                length: 250,
                completes: false
            })
        );
        let last = check(" 200\t", "+250", 50, 200).unwrap();
        assert!(last.completes);
        assert_eq!(last.end, 250);
        // Every byte held but not finished: an empty chunk finishes.
        assert!(check("250", "250", 0, 250).unwrap().completes);
        assert!(!check("0", "250", 0, 0).unwrap().completes);
        assert!(
            check("0", &MAX.to_string(), MAX as usize, 0)
                .unwrap()
                .completes
        );
    }

    #[test]
    fn bad_headers_are_named() {
        let offset = Err(PatchRefusal::BadHeader(UploadHeader::Offset));
        let length = Err(PatchRefusal::BadHeader(UploadHeader::Length));
        assert_eq!(check_patch(None, Some(b"5"), 0, 0, MAX), offset);
        assert_eq!(check_patch(Some(b"0"), None, 0, 0, MAX), length);
        for bad in [
            "",
            " ",
            "-1",
            "1.0",
            "0x10",
            "1 2",
            "18446744073709551616",
            "\u{3000}5",
            "5\n",
        ] {
            assert_eq!(check(bad, "5", 0, 0), offset, "{bad:?}");
            assert_eq!(check("0", bad, 0, 0), length, "{bad:?}");
        }
        assert_eq!(
            check_patch(Some(b"0"), Some(&[0xff, b'5']), 0, 0, MAX),
            length
        );
        assert_eq!(
            check("0", "x", 0, 0).unwrap_err().to_string(),
            "the upload-length header must be a whole number"
        );
    }

    #[test]
    fn refusals_come_in_the_servers_order() {
        // Size before anything the server holds.
        assert_eq!(
            check("7", &(MAX + 1).to_string(), 0, 0),
            Err(PatchRefusal::TooLarge {
                length: MAX + 1,
                max_bytes: MAX
            })
        );
        assert_eq!(check("0", "0", 0, 0), Err(PatchRefusal::ZeroLength));
        // A wrong offset names what the server holds, even if the chunk is
        // too long as well.
        assert_eq!(
            check("100", "250", 500, 65_536),
            Err(PatchRefusal::OffsetConflict { held: 65_536 })
        );
        assert_eq!(
            check("200", "250", 51, 200),
            Err(PatchRefusal::ChunkPastLength)
        );
        // The server holds more than the declared length.
        assert_eq!(
            check("300", "250", 0, 300),
            Err(PatchRefusal::ChunkPastLength)
        );
        assert_eq!(
            check_patch(
                Some(u64::MAX.to_string().as_bytes()),
                Some(b"5"),
                1,
                u64::MAX,
                u64::MAX
            ),
            Err(PatchRefusal::ChunkPastLength)
        );
        assert_eq!(PatchRefusal::ZeroLength.code(), "bad_upload_header");
    }

    fn upload(total: u64) -> Upload {
        Upload::new(PhotoHash::of_bytes(b"x"), total, 100)
    }

    #[test]
    fn a_clean_upload_asks_then_sends_chunks() {
        let mut u = upload(250);
        assert_eq!(u.next(), Some(UploadRequest::Head));
        u.handle(UploadResponse::Offset {
            offset: 0,
            complete: false,
        });
        assert_eq!(
            u.next(),
            Some(UploadRequest::Patch {
                offset: 0,
                len: 100
            })
        );
        u.handle(UploadResponse::Offset {
            offset: 100,
            complete: false,
        });
        u.handle(UploadResponse::Offset {
            offset: 200,
            complete: false,
        });
        assert_eq!(
            u.next(),
            Some(UploadRequest::Patch {
                offset: 200,
                len: 50
            })
        );
        u.handle(UploadResponse::Offset {
            offset: 250,
            complete: true,
        });
        assert_eq!(u.state(), &UploadState::Done);
        assert_eq!(u.next(), None);
    }

    #[test]
    fn a_cut_resumes_from_the_servers_offset() {
        let mut u = upload(250);
        u.handle(UploadResponse::Offset {
            offset: 0,
            complete: false,
        });
        u.handle(UploadResponse::Offset {
            offset: 100,
            complete: false,
        });
        u.handle(UploadResponse::Failed);
        assert_eq!(u.next(), Some(UploadRequest::Head));
        assert_eq!(u.backoff(0.0), Duration::from_secs(2));
        u.handle(UploadResponse::Offset {
            offset: 100,
            complete: false,
        });
        // No progress yet: the failure still counts.
        assert_eq!(u.failures(), 1);
        assert_eq!(
            u.next(),
            Some(UploadRequest::Patch {
                offset: 100,
                len: 100
            })
        );
        u.handle(UploadResponse::OffsetMismatch { offset: 150 });
        assert_eq!(u.backoff(0.0), Duration::ZERO, "progress resets the count");
        assert_eq!(
            u.next(),
            Some(UploadRequest::Patch {
                offset: 150,
                len: 100
            })
        );
    }

    #[test]
    fn every_byte_held_but_unfinished_is_finished_with_an_empty_chunk() {
        let mut u = upload(250);
        u.handle(UploadResponse::Offset {
            offset: 250,
            complete: false,
        });
        assert_eq!(
            u.next(),
            Some(UploadRequest::Patch {
                offset: 250,
                len: 0
            })
        );
        u.handle(UploadResponse::Offset {
            offset: 250,
            complete: true,
        });
        assert_eq!(u.state(), &UploadState::Done);
    }

    #[test]
    fn answers_without_progress_do_not_reset_the_failures() {
        let mut u = upload(250);
        for n in 1..=5 {
            u.handle(UploadResponse::Offset {
                offset: 0,
                complete: false,
            });
            u.handle(UploadResponse::Failed);
            assert_eq!(u.failures(), n);
        }
        u.handle(UploadResponse::Offset {
            offset: 300,
            complete: false,
        });
        assert_eq!(
            u.next(),
            Some(UploadRequest::Head),
            "more than the photo: restart"
        );
    }

    #[test]
    fn a_photo_the_server_has_is_not_sent() {
        let mut u = upload(250);
        u.handle(UploadResponse::Offset {
            offset: 250,
            complete: true,
        });
        assert_eq!(u.next(), None);
        assert_eq!(u.state(), &UploadState::Done);
    }

    #[test]
    fn a_refusal_is_final_and_backoff_is_bounded() {
        let mut u = upload(250);
        for _ in 0..40 {
            u.handle(UploadResponse::Failed);
        }
        assert_eq!(u.backoff(1.0), MAX_BACKOFF);
        u.handle(UploadResponse::Refused {
            code: "not_an_image".into(),
            message: "x".into(),
        });
        assert_eq!(u.next(), None);
        assert!(
            matches!(u.state(), UploadState::Failed { reason } if reason.starts_with("not_an_image"))
        );
    }
}
