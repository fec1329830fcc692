//! The phone's side of the resumable photo upload, without I/O.
//!
//! An [`Upload`] says which request to send next (ask the server's offset,
//! or send the next chunk) and takes the answer, whatever happened to the
//! connection. It never sends a byte the server already holds, gives up
//! only on an answer that retrying cannot change (the server refused the
//! photo), and after a network failure starts again by asking the offset,
//! waiting longer each time ([`Upload::backoff`]). Protocol:
//! `docs/photo-upload.md`.

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

#[cfg(test)]
mod tests {
    use super::*;

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
