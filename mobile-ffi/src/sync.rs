//! `sync()`: documents first (sans-I/O session from sync-core over HTTP),
//! then photos in the background order of the outbox (the sans-I/O upload
//! state machine over HTTP). Documents never wait for photos. Every step is
//! persisted as it happens, so a cut, a cancel or a killed app loses
//! nothing and the next call continues.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sync_core::document::{Actor, Document};
use sync_core::protocol::{Batch, EntryBody};
use sync_core::replica::{OutboxPhoto, Replica};
use sync_core::session::{carries_changes, ClientSession, ClientStore, ClientWrites};
use sync_core::upload::{Upload, UploadRequest, UploadResponse, UploadState, DEFAULT_CHUNK};
use sync_core::validate::PhotoHash;
use sync_core::{CoreError, DocId};

use crate::account;
use crate::cancel::{off_thread, Cancel, CancelToken};
use crate::client::{call_cancel, from_http, now_ms, JishiClient};
use crate::error::JishiError;
use crate::http::{HttpError, UploadAnswer};
use crate::observe::{ChangeOrigin, DocChange, SyncState};
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

/// How one `sync()` runs.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncOptions {
    /// Upload queued photos after the records. `false`: records only (a
    /// metered network, photos on Wi-Fi only: the app knows the network).
    #[uniffi(default = true)]
    pub photos: bool,
    /// Stop after this many seconds, at the next step or inside a request
    /// (a background task's budget: iOS gives about 30 s). What was done is
    /// kept; the summary says `complete: false` and the next sync goes on.
    #[uniffi(default = None)]
    pub deadline_secs: Option<u32>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            photos: true,
            deadline_secs: None,
        }
    }
}

/// The replica as the sync session sees it: locked for each step only
/// (loading a document, committing a reply), never while a request is on
/// the network or a reply is decoded, so the app's reads and edits do not
/// wait for a sync. An edit that lands between a document's load and the
/// commit of the reply is merged in by the replica (`ClientDocWrite.base`).
struct Locked<'a>(&'a Mutex<Replica>);

impl Locked<'_> {
    fn get(&self) -> MutexGuard<'_, Replica> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ClientStore for Locked<'_> {
    fn actor(&self) -> Actor {
        self.get().actor().clone()
    }
    fn load(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        self.get().load(id)
    }
    fn load_to_send(&mut self, id: &DocId) -> Result<Option<Document>, CoreError> {
        self.get().load_to_send(id)
    }
    fn sync_state(&mut self, id: &DocId) -> Result<Option<Vec<u8>>, CoreError> {
        self.get().sync_state(id)
    }
    fn pending(&mut self) -> Result<Vec<DocId>, CoreError> {
        self.get().pending()
    }
    fn cursor(&mut self) -> Result<u64, CoreError> {
        ClientStore::cursor(&mut *self.get())
    }
    fn commit_sync(&mut self, writes: ClientWrites) -> Result<(), CoreError> {
        self.get().commit_sync(writes)
    }
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

/// What a sync is given: its stop signal and its progress observer.
struct Run<'a> {
    cancel: &'a Arc<Cancel>,
    observer: Option<&'a dyn SyncObserver>,
}

impl Run<'_> {
    fn check(&self) -> Result<(), JishiError> {
        Ok(self.cancel.check()?)
    }

    fn progress(&self, progress: SyncProgress) {
        if let Some(o) = self.observer {
            notify(o, progress);
        }
    }
}

impl JishiClient {
    /// The documents' part; `false` if it used its round trips without
    /// settling (a very large first sync: the next sync goes on).
    fn sync_documents(
        &self,
        run: &Run<'_>,
        token: &mut String,
        summary: &mut SyncSummary,
    ) -> Result<bool, JishiError> {
        let mut store = Locked(&self.replica);
        let pending: BTreeSet<_> = self.replica().pending_docs()?.into_iter().collect();
        let mut session = ClientSession::new(&mut store)?;
        // Distinct documents (a document may travel in several round trips).
        let mut sent = BTreeSet::new();
        let mut received = BTreeSet::new();
        loop {
            run.check()?;
            let request = match session.next_request(&mut store) {
                Ok(Some(request)) => request,
                Ok(None) => break,
                Err(CoreError::Unsettled { rounds }) => {
                    tracing::info!(rounds, "sync: round trips used up; the next sync goes on");
                    Self::count(summary, &session, &sent, &received);
                    crate::refused::note(&mut self.replica(), session.problems(), &sent)?;
                    return Ok(false);
                }
                Err(e) => return Err(e.into()),
            };
            sent.extend(
                request
                    .entries
                    .iter()
                    .filter(|e| pending.contains(&e.doc))
                    .map(|e| e.doc.clone()),
            );
            let up = request.encode();
            let reply = self.exchange(run, token, &up)?;
            let batch = Batch::decode(&reply).map_err(|e| JishiError::Other {
                detail: format!("the server's reply is not a sync batch: {e}"),
            })?;
            session.record_bytes(up.len(), reply.len());
            let brought: Vec<DocId> = batch
                .entries
                .iter()
                .filter(|e| matches!(&e.body, EntryBody::Sync(m) if carries_changes(m)))
                .map(|e| e.doc.clone())
                .collect();
            session.handle_reply(&mut store, batch)?;
            let refused: BTreeSet<&DocId> = session.problems().iter().map(|p| &p.doc).collect();
            let changes: Vec<DocChange> = brought
                .iter()
                .filter(|d| !refused.contains(d))
                .map(|d| DocChange::of(d, ChangeOrigin::Server))
                .collect();
            self.index_comments(&brought);
            received.extend(brought);
            self.observers.changed(changes);
            let stats = session.stats();
            Self::count(summary, &session, &sent, &received);
            run.progress(SyncProgress::Documents {
                round_trip: stats.round_trips,
                sent: sent.len() as u64,
                received: received.len() as u64,
            });
        }
        Self::count(summary, &session, &sent, &received);
        crate::refused::note(&mut self.replica(), session.problems(), &sent)?;
        Ok(true)
    }

    fn count(
        summary: &mut SyncSummary,
        session: &ClientSession,
        sent: &BTreeSet<DocId>,
        received: &BTreeSet<DocId>,
    ) {
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
    fn exchange(
        &self,
        run: &Run<'_>,
        token: &mut String,
        up: &[u8],
    ) -> Result<Vec<u8>, JishiError> {
        let mut busy = 0;
        loop {
            let answer = match self.server.sync(run.cancel, token, up) {
                Err(HttpError::Status { status: 401, .. }) => {
                    *token = self.access_token(run.cancel, true)?;
                    self.server.sync(run.cancel, token, up)
                }
                other => other,
            };
            match answer {
                Err(HttpError::Busy { retry_after_secs }) if busy < MAX_BUSY_WAITS => {
                    busy += 1;
                    tracing::info!(retry_after_secs, busy, "server busy; waiting to send again");
                    self.set_sync_state(SyncState::WaitingBusy { retry_after_secs });
                    let wait = Duration::from_secs(retry_after_secs).mul_f64(1.0 + rand_jitter());
                    run.cancel.sleep(wait)?;
                    self.set_sync_state(SyncState::Syncing);
                }
                other => return other.map_err(from_http),
            }
        }
    }

    fn pause(&self, run: &Run<'_>, upload: &Upload) -> Result<(), JishiError> {
        let jitter = rand_jitter();
        Ok(run.cancel.sleep(upload.backoff(jitter).min(MAX_PAUSE))?)
    }

    fn upload_one(
        &self,
        run: &Run<'_>,
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
            run.check()?;
            let answer = match &request {
                UploadRequest::Head => self.server.blob_offset(run.cancel, token, hash.as_str()),
                UploadRequest::Patch { offset, len } => {
                    let (start, end) = (*offset as usize, (*offset + *len) as usize);
                    match bytes.get(start..end) {
                        Some(chunk) => self.server.blob_chunk(
                            run.cancel,
                            token,
                            hash.as_str(),
                            *offset,
                            photo.size,
                            chunk,
                        ),
                        None => return fail("the upload asked for bytes past the file".into()),
                    }
                }
            };
            let response = match answer {
                Ok(a) if a.status == 401 => {
                    *token = self.access_token(run.cancel, true)?;
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
                UploadState::Uploading { acked, total } => run.progress(SyncProgress::Photo {
                    hash: hash.to_string(),
                    index,
                    count,
                    sent_bytes: *acked,
                    total_bytes: *total,
                }),
                UploadState::Done => run.progress(SyncProgress::Photo {
                    hash: hash.to_string(),
                    index,
                    count,
                    sent_bytes: photo.size,
                    total_bytes: photo.size,
                }),
                _ => {}
            }
            if upload.failures() >= MAX_UPLOAD_FAILURES {
                return Ok(PhotoOutcome::Waiting);
            }
            if failed {
                self.pause(run, &upload)?;
            }
        }
        Ok(match upload.state() {
            UploadState::Done => PhotoOutcome::Done,
            _ => PhotoOutcome::Refused,
        })
    }

    fn sync_photos(
        &self,
        run: &Run<'_>,
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
            run.check()?;
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            match self.upload_one(run, token, photo, index, count)? {
                PhotoOutcome::Done => summary.photos_uploaded += 1,
                PhotoOutcome::Refused => summary.photos_failed += 1,
                PhotoOutcome::Waiting => break,
            }
        }
        summary.photos_pending =
            u32::try_from(self.replica().uploads_pending()?.len()).unwrap_or(u32::MAX);
        Ok(())
    }

    /// One whole sync; a deadline ends it with `complete: false` and
    /// what it did.
    fn sync_now(&self, options: &SyncOptions, run: &Run<'_>) -> Result<SyncSummary, JishiError> {
        if let Some(secs) = options.deadline_secs {
            run.cancel
                .set_deadline(Instant::now() + Duration::from_secs(u64::from(secs)));
        }
        let mut summary = SyncSummary::default();
        let done = (|| {
            let mut token = self.access_token(run.cancel, false)?;
            let settled = self.sync_documents(run, &mut token, &mut summary)?;
            if options.photos {
                self.sync_photos(run, &mut token, &mut summary)?;
            }
            Ok(settled)
        })();
        match done {
            Ok(settled) => summary.complete = settled,
            Err(JishiError::DeadlineReached) => {
                tracing::info!("sync stopped at its deadline; the next one goes on");
            }
            Err(e) => return Err(e),
        }
        if !options.photos || !summary.complete {
            summary.photos_pending =
                u32::try_from(self.replica().uploads_pending()?.len()).unwrap_or(u32::MAX);
        }
        run.progress(SyncProgress::Finished);
        Ok(summary)
    }

    /// `sync()`'s body, on the call's thread: one sync at a time, the
    /// result recorded and published.
    pub(crate) fn sync_blocking(
        &self,
        options: &SyncOptions,
        cancel: &Arc<Cancel>,
        observer: Option<&dyn SyncObserver>,
    ) -> Result<SyncSummary, JishiError> {
        let _one_at_a_time = self.sync_lock.lock().unwrap_or_else(|p| p.into_inner());
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(cancel.clone());
        self.set_sync_state(SyncState::Syncing);
        let result = self.sync_now(options, &Run { cancel, observer });
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let last = LastSync {
            at_ms: now_ms(),
            ok: result.as_ref().is_ok_and(|s| s.complete),
            message: match &result {
                Ok(s) if s.complete => format!(
                    "sent {} documents, received {}, uploaded {} photos",
                    s.documents_sent, s.documents_received, s.photos_uploaded
                ),
                Ok(s) => format!(
                    "stopped at the deadline: sent {} documents, received {}, uploaded {} photos",
                    s.documents_sent, s.documents_received, s.photos_uploaded
                ),
                Err(e) => e.to_string(),
            },
        };
        // A cancel is the app's choice, not an outcome: the last sync that
        // ended by itself stays the one the status bar shows.
        if !matches!(result, Err(JishiError::Cancelled)) {
            let recorded = account::set_last_sync(&mut self.replica(), &last);
            if let Err(e) = recorded {
                tracing::warn!(error = %e, "cannot record the last sync");
            }
        }
        match &result {
            Ok(s) => tracing::info!(
                sent = s.documents_sent,
                received = s.documents_received,
                photos = s.photos_uploaded,
                complete = s.complete,
                "sync finished"
            ),
            Err(e) => tracing::info!(error = %e, "sync stopped"),
        }
        self.set_sync_state(match &result {
            Err(JishiError::Offline { .. }) => SyncState::Offline,
            Err(JishiError::LoginRequired { .. }) => SyncState::NeedsLogin,
            _ => SyncState::Idle,
        });
        result
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
    /// Sync: documents up and down, then photos (unless `options.photos`
    /// is false; no options: everything, no deadline), until done or `options.deadline_secs`. Reports progress to
    /// `observer`; stopped by `cancel`, by cancelling the awaiting
    /// coroutine or task, or by `cancel_sync()`, at once, also inside a
    /// request. A second call waits for the first. Reads and edits do not
    /// wait for a sync. Call it whenever the network may be back;
    /// everything resumes where it was.
    #[uniffi::method(default(options = None, observer = None, cancel = None))]
    pub async fn sync(
        self: Arc<Self>,
        options: Option<SyncOptions>,
        observer: Option<Arc<dyn SyncObserver>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<SyncSummary, JishiError> {
        let options = options.unwrap_or_default();
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || {
            self.sync_blocking(&options, &c, observer.as_deref())
        })
        .await
    }
}
