//! `sync()`: documents first (sans-I/O session from sync-core over HTTP),
//! then photos in the background order of the outbox (the sans-I/O upload
//! state machine over HTTP). Documents never wait for photos. Every step is
//! persisted as it happens, so a cut, a cancel or a killed app loses
//! nothing and the next call continues.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use std::collections::BTreeSet;

use sync_core::protocol::{Batch, EntryBody};
use sync_core::replica::OutboxPhoto;
use sync_core::session::{carries_changes, ClientSession};
use sync_core::upload::{Upload, UploadRequest, UploadResponse, UploadState, DEFAULT_CHUNK};
use sync_core::validate::PhotoHash;

use crate::account;
use crate::client::{from_http, now_ms, JishiClient};
use crate::error::{guard, JishiError};
use crate::http::{HttpError, UploadAnswer};
use crate::types::{DocProblemView, LastSync, SyncProgress, SyncSummary};

/// Network failures in a row after which one photo's upload waits for the
/// next `sync()`.
const MAX_UPLOAD_FAILURES: u32 = 3;
/// Longest pause between two attempts inside one `sync()`.
const MAX_PAUSE: Duration = Duration::from_secs(2);
/// Busy answers (503) one sync request waits out before `sync()` gives up
/// with `JishiError::Busy`: each wait is the server's `Retry-After` plus up
/// to as long again at random, so that phones turned away together do not
/// come back together.
const MAX_BUSY_WAITS: u32 = 10;

/// Receives progress while `sync()` runs (called on the syncing thread).
#[uniffi::export(with_foreign)]
pub trait SyncObserver: Send + Sync {
    fn on_progress(&self, progress: SyncProgress);
}

/// Report progress; an observer that throws does not stop the sync.
fn notify(observer: &dyn SyncObserver, progress: SyncProgress) {
    let reported = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        observer.on_progress(progress)
    }));
    if reported.is_err() {
        tracing::warn!("the sync observer failed; syncing goes on");
    }
}

enum PhotoOutcome {
    Done,
    Refused,
    /// The network failed: the photo waits, and so do the ones after it.
    Waiting,
}

impl JishiClient {
    fn cancelled(&self) -> Result<(), JishiError> {
        if self.cancel.load(Ordering::SeqCst) {
            Err(JishiError::Cancelled)
        } else {
            Ok(())
        }
    }

    fn sync_documents(
        &self,
        observer: &dyn SyncObserver,
        token: &mut String,
        summary: &mut SyncSummary,
    ) -> Result<(), JishiError> {
        let (mut session, pending) = {
            let mut r = self.replica();
            let pending: BTreeSet<_> = r.pending_docs()?.into_iter().collect();
            (ClientSession::new(&mut *r)?, pending)
        };
        // Distinct documents (a document may travel in several round trips).
        let mut sent = BTreeSet::new();
        let mut received = BTreeSet::new();
        loop {
            self.cancelled()?;
            let Some(request) = session.next_request(&mut *self.replica())? else {
                break;
            };
            sent.extend(
                request
                    .entries
                    .iter()
                    .filter(|e| pending.contains(&e.doc))
                    .map(|e| e.doc.clone()),
            );
            let up = request.encode();
            let reply = self.exchange(token, &up)?;
            let batch = Batch::decode(&reply).map_err(|e| JishiError::Other {
                detail: format!("the server's reply is not a sync batch: {e}"),
            })?;
            session.record_bytes(up.len(), reply.len());
            received.extend(
                batch
                    .entries
                    .iter()
                    .filter(|e| matches!(&e.body, EntryBody::Sync(m) if carries_changes(m)))
                    .map(|e| e.doc.clone()),
            );
            session.handle_reply(&mut *self.replica(), batch)?;
            let stats = session.stats();
            notify(
                observer,
                SyncProgress::Documents {
                    round_trip: stats.round_trips,
                    sent: sent.len() as u64,
                    received: received.len() as u64,
                },
            );
        }
        let stats = session.stats().clone();
        summary.round_trips = stats.round_trips;
        summary.documents_sent = sent.len() as u64;
        summary.documents_received = received.len() as u64;
        summary.bytes_sent = stats.bytes_sent;
        summary.bytes_received = stats.bytes_received;
        summary.problems = session
            .problems()
            .iter()
            .map(|p| DocProblemView {
                doc_id: p.doc.to_string(),
                code: p.code.clone(),
                message: p.message.clone(),
            })
            .collect();
        Ok(())
    }

    fn classify(a: UploadAnswer) -> UploadResponse {
        match (a.status, a.offset) {
            (200..=299, Some(offset)) => UploadResponse::Offset {
                offset,
                complete: a.complete,
            },
            (409, Some(offset)) => UploadResponse::OffsetMismatch { offset },
            (400 | 403 | 413 | 415 | 422, _) => UploadResponse::Refused {
                code: a.code,
                message: a.message,
            },
            _ => UploadResponse::Failed,
        }
    }

    /// One sync round trip: a new access token when the old one expired,
    /// and busy answers waited out as the server asks.
    fn exchange(&self, token: &mut String, up: &[u8]) -> Result<Vec<u8>, JishiError> {
        let mut busy = 0;
        loop {
            let answer = match self.server.sync(token, up) {
                Err(HttpError::Status { status: 401, .. }) => {
                    *token = self.access_token(true)?;
                    self.server.sync(token, up)
                }
                other => other,
            };
            match answer {
                Err(HttpError::Busy { retry_after_secs }) if busy < MAX_BUSY_WAITS => {
                    busy += 1;
                    tracing::info!(retry_after_secs, busy, "server busy; waiting to send again");
                    let wait = Duration::from_secs(retry_after_secs).mul_f64(1.0 + rand_jitter());
                    self.sleep(wait)?;
                }
                other => return other.map_err(from_http),
            }
        }
    }

    fn pause(&self, upload: &Upload) -> Result<(), JishiError> {
        let jitter = rand_jitter();
        self.sleep(upload.backoff(jitter).min(MAX_PAUSE))
    }

    /// Sleep `left`, waking every 100 ms to see whether the sync was
    /// cancelled.
    fn sleep(&self, mut left: Duration) -> Result<(), JishiError> {
        while !left.is_zero() {
            self.cancelled()?;
            let step = left.min(Duration::from_millis(100));
            std::thread::sleep(step);
            left -= step;
        }
        Ok(())
    }

    fn upload_one(
        &self,
        observer: &dyn SyncObserver,
        token: &mut String,
        photo: &OutboxPhoto,
        index: u32,
        count: u32,
    ) -> Result<PhotoOutcome, JishiError> {
        let hash = PhotoHash::parse(&photo.sha256)?;
        let fail = |reason: String| -> Result<PhotoOutcome, JishiError> {
            self.replica()
                .record_upload(&UploadState::Failed { reason }, &hash)?;
            Ok(PhotoOutcome::Refused)
        };
        let bytes = match std::fs::read(&photo.path) {
            Ok(b) => b,
            Err(e) => return fail(format!("photo file {} unreadable: {e}", photo.path)),
        };
        if bytes.len() as u64 != photo.size || PhotoHash::of_bytes(&bytes) != hash {
            return fail(format!("photo file {} changed on the phone", photo.path));
        }
        let mut upload = Upload::new(hash.clone(), photo.size, DEFAULT_CHUNK);
        while let Some(request) = upload.next() {
            self.cancelled()?;
            let answer = match &request {
                UploadRequest::Head => self.server.blob_offset(token, hash.as_str()),
                UploadRequest::Patch { offset, len } => {
                    let (start, end) = (*offset as usize, (*offset + *len) as usize);
                    match bytes.get(start..end) {
                        Some(chunk) => {
                            self.server
                                .blob_chunk(token, hash.as_str(), *offset, photo.size, chunk)
                        }
                        None => return fail("the upload asked for bytes past the file".into()),
                    }
                }
            };
            let response = match answer {
                Ok(a) if a.status == 401 => {
                    *token = self.access_token(true)?;
                    UploadResponse::Failed
                }
                Ok(a) => Self::classify(a),
                Err(HttpError::Offline(reason)) => {
                    tracing::info!(photo = %hash, %reason, "photo upload cut; will retry");
                    UploadResponse::Failed
                }
                Err(e) => return Err(from_http(e)),
            };
            let failed = response == UploadResponse::Failed;
            upload.handle(response);
            self.replica().record_upload(upload.state(), &hash)?;
            match upload.state() {
                UploadState::Uploading { acked, total } => notify(
                    observer,
                    SyncProgress::Photo {
                        hash: hash.to_string(),
                        index,
                        count,
                        sent_bytes: *acked,
                        total_bytes: *total,
                    },
                ),
                UploadState::Done => notify(
                    observer,
                    SyncProgress::Photo {
                        hash: hash.to_string(),
                        index,
                        count,
                        sent_bytes: photo.size,
                        total_bytes: photo.size,
                    },
                ),
                _ => {}
            }
            if upload.failures() >= MAX_UPLOAD_FAILURES {
                return Ok(PhotoOutcome::Waiting);
            }
            if failed {
                self.pause(&upload)?;
            }
        }
        Ok(match upload.state() {
            UploadState::Done => PhotoOutcome::Done,
            _ => PhotoOutcome::Refused,
        })
    }

    fn sync_photos(
        &self,
        observer: &dyn SyncObserver,
        token: &mut String,
        summary: &mut SyncSummary,
    ) -> Result<(), JishiError> {
        let (pending, unsent_docs) = {
            let r = self.replica();
            let unsent: BTreeSet<String> =
                r.pending_docs()?.iter().map(ToString::to_string).collect();
            (r.uploads_pending()?, unsent)
        };
        // A photo waits for its document: the server keeps only photos a
        // document it holds refers to.
        let pending: Vec<_> = pending
            .into_iter()
            .filter(|p| !unsent_docs.contains(&p.doc))
            .collect();
        let count = u32::try_from(pending.len()).unwrap_or(u32::MAX);
        for (i, photo) in pending.iter().enumerate() {
            self.cancelled()?;
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            match self.upload_one(observer, token, photo, index, count)? {
                PhotoOutcome::Done => summary.photos_uploaded += 1,
                PhotoOutcome::Refused => summary.photos_failed += 1,
                PhotoOutcome::Waiting => break,
            }
        }
        summary.photos_pending =
            u32::try_from(self.replica().uploads_pending()?.len()).unwrap_or(u32::MAX);
        Ok(())
    }

    fn sync_inner(&self, observer: &dyn SyncObserver) -> Result<SyncSummary, JishiError> {
        let mut token = self.access_token(false)?;
        let mut summary = SyncSummary::default();
        self.sync_documents(observer, &mut token, &mut summary)?;
        self.sync_photos(observer, &mut token, &mut summary)?;
        notify(observer, SyncProgress::Finished);
        Ok(summary)
    }
}

fn rand_jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}

#[uniffi::export]
impl JishiClient {
    /// Sync: documents up and down, then photos. Reports progress to
    /// `observer`, can be stopped with `cancel_sync()`, returns what was
    /// done. Safe from any thread: a second call waits for the first. Call it
    /// whenever the network may be back; everything resumes where it was.
    pub fn sync(&self, observer: Arc<dyn SyncObserver>) -> Result<SyncSummary, JishiError> {
        guard(|| {
            let _one_at_a_time = self.sync_lock.lock().unwrap_or_else(|p| p.into_inner());
            self.cancel.store(false, Ordering::SeqCst);
            let result = self.sync_inner(observer.as_ref());
            let last = LastSync {
                at_ms: now_ms(),
                ok: result.is_ok(),
                message: match &result {
                    Ok(s) => format!(
                        "sent {} documents, received {}, uploaded {} photos",
                        s.documents_sent, s.documents_received, s.photos_uploaded
                    ),
                    Err(e) => e.to_string(),
                },
            };
            let recorded = account::set_last_sync(&mut self.replica(), &last);
            if let Err(e) = recorded {
                tracing::warn!(error = %e, "cannot record the last sync");
            }
            match &result {
                Ok(s) => tracing::info!(
                    sent = s.documents_sent,
                    received = s.documents_received,
                    photos = s.photos_uploaded,
                    "sync finished"
                ),
                Err(e) => tracing::info!(error = %e, "sync stopped"),
            }
            result
        })
    }
}
