//! `JishiClient`: the app's one object. Opened on a data folder (the replica
//! file, photos, the kept session) and a server URL. Every method is safe to
//! call from any thread; edits return only once they are on disk.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use chrono::NaiveDate;
use sync_core::document::{
    ActivityFields, ActivityPatch, EntryFields, EntryPatch, ItemText, TaskFields, TextTarget,
};
use sync_core::ids::Period;
use sync_core::photo::{prepare_photo, PhotoOptions};
use sync_core::replica::Replica;
use sync_core::validate::TimeOfDay;
use sync_core::{CoreError, DocId, DocKind, Edit, EditContext, ItemId, Record, Role, UserId};

use crate::account::{self, StoredSession};
use crate::cancel::{off_thread, Cancel, CancelToken};
use crate::comments::{self, CommentIndex};
use crate::error::{guard, in_field, JishiError};
use crate::http::{HttpError, LoginBody, Server};
use crate::observe::{
    ChangeListener, ChangeOrigin, DocChange, Observers, StatusListener, SyncState, SyncStatus,
};
use crate::photos::PhotoSize;
use crate::transport::{HttpTransport, UreqTransport};
use crate::types::*;

/// The clients open in this process, by data folder.
static OPEN: Mutex<BTreeMap<PathBuf, Weak<JishiClient>>> = Mutex::new(BTreeMap::new());

/// The replica file inside the data folder.
pub const REPLICA_FILE: &str = "jishi.sqlite";
/// Held locked (an OS file lock) by the one process using the folder.
pub const LOCK_FILE: &str = "jishi.lock";

#[derive(uniffi::Object)]
pub struct JishiClient {
    pub(crate) server: Server,
    /// Held only for a read, an edit or one step of a sync (building a
    /// request, committing a reply): a read never waits for a sync.
    pub(crate) replica: Mutex<Replica>,
    /// Held for the whole of a `sync()`: a second call waits for the first.
    pub(crate) sync_lock: Mutex<()>,
    /// Held while the tokens are renewed or a login runs: the server hands
    /// out a new `device_check` each time, and two renewals at once would
    /// leave this phone holding the older one.
    auth_lock: Mutex<()>,
    /// The app's secret store for the tokens, if it gave one.
    pub(crate) secrets: Mutex<Option<Arc<dyn crate::secrets::SecretStore>>>,
    /// The running sync's stop signal, for `cancel_sync()`.
    pub(crate) running: Mutex<Option<Arc<Cancel>>>,
    pub(crate) observers: Observers,
    /// The data folder.
    pub(crate) dir: PathBuf,
    /// The platform's decoder for HEIC photos, if the app gave one.
    photo_decoder: Mutex<Option<Arc<dyn crate::photos::PhotoDecoder>>>,
    /// Comments by others on my records (locked after the replica).
    comments: Mutex<CommentIndex>,
    photo_options: PhotoOptions,
    /// The data folder's OS lock, held while this client is open: a second
    /// process (an Android `:sync` process, an iOS extension) is refused.
    _folder_lock: std::fs::File,
}

impl std::fmt::Debug for JishiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JishiClient").finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn day(date: &str) -> Result<NaiveDate, JishiError> {
    Ok(Period::parse_day(date)?)
}

fn month(m: &str) -> Result<NaiveDate, JishiError> {
    Ok(Period::parse_month(m)?)
}

fn item(id: &str) -> Result<ItemId, JishiError> {
    ItemId::parse(id).map_err(in_field("item_id"))
}

fn time(t: &str, field: &str) -> Result<TimeOfDay, JishiError> {
    TimeOfDay::parse(t).map_err(in_field(field))
}

fn doc_of_kind(doc_id: &str, kind: DocKind) -> Result<DocId, JishiError> {
    let id = DocId::parse(doc_id).map_err(in_field("doc_id"))?;
    if id.kind() != kind {
        return Err(JishiError::invalid_as(
            "doc_id",
            "wrong_kind",
            format!("{doc_id} is not a {} document", kind.as_str()),
        ));
    }
    Ok(id)
}

pub(crate) fn from_http(e: HttpError) -> JishiError {
    match e {
        HttpError::Offline(message) => JishiError::Offline { detail: message },
        HttpError::Busy { retry_after_secs } => JishiError::Busy { retry_after_secs },
        HttpError::Stopped(stop) => stop.into(),
        HttpError::Status {
            status: 401,
            message,
            ..
        } => JishiError::login_required("session_expired", message),
        HttpError::Status {
            status: 403,
            code,
            message,
        } => JishiError::forbidden(&code, message),
        HttpError::Status {
            status: 409,
            code,
            message,
        } => JishiError::Conflict {
            code,
            detail: message,
        },
        HttpError::Limited {
            retry_after_secs,
            code,
            message,
        } => JishiError::RateLimited {
            code,
            retry_after_secs,
            detail: message,
        },
        HttpError::Status {
            status,
            code,
            message,
        } if status >= 500 || status == 408 => JishiError::Offline {
            detail: format!("server answered {status} {code}: {message}"),
        },
        other => JishiError::other(other),
    }
}

impl JishiClient {
    pub(crate) fn replica(&self) -> MutexGuard<'_, Replica> {
        // A panic while the lock was held left the replica as it was on
        // disk (edits are transactions; the cache reloads): go on.
        self.replica.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn session(replica: &Replica) -> Result<StoredSession, JishiError> {
        account::load(replica)?.ok_or_else(|| {
            JishiError::login_required(
                "never_logged_in",
                "log in once, online, before writing records",
            )
        })
    }

    /// The session with its tokens (from the secret store when kept there).
    fn session_with_tokens(&self, replica: &mut Replica) -> Result<StoredSession, JishiError> {
        self.load_session(replica)?.ok_or_else(|| {
            JishiError::login_required(
                "never_logged_in",
                "log in once, online, before writing records",
            )
        })
    }

    pub(crate) fn me(&self) -> Result<UserId, JishiError> {
        let s = Self::session(&self.replica())?;
        UserId::parse(&s.user_id).map_err(|e| JishiError::StorageDamaged {
            detail: format!("the kept session names a bad user: {e}"),
        })
    }

    pub(crate) fn context(replica: &Replica) -> Result<EditContext, JishiError> {
        let s = Self::session(replica)?;
        Ok(EditContext {
            user: UserId::parse(&s.user_id)?,
            role: Role::parse(&s.role)?,
            now_ms: now_ms(),
        })
    }

    pub(crate) fn edit(&self, id: &DocId, edit: Edit) -> Result<(), JishiError> {
        // The server refuses records of days to come (and plans beyond
        // next month): say so here, where the cadre can pick another day.
        sync_core::validate::period_open(id, chrono::Local::now().date_naive())?;
        {
            let mut r = self.replica();
            let ctx = Self::context(&r)?;
            r.edit(id, &edit, &ctx)?;
        }
        self.changed_here(id);
        Ok(())
    }

    /// Tell the listeners about an edit made here.
    pub(crate) fn changed_here(&self, id: &DocId) {
        self.index_comments(std::slice::from_ref(id));
        self.observers
            .changed(vec![DocChange::of(id, ChangeOrigin::Local)]);
        self.publish_status();
    }

    pub(crate) fn comment_index(&self) -> MutexGuard<'_, CommentIndex> {
        self.comments.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep the comment index up to date with changed documents.
    pub(crate) fn index_comments(&self, ids: &[DocId]) {
        let updated = (|| {
            let me = self.me()?;
            let mut r = self.replica();
            self.comment_index().changed(&mut r, &me, ids)
        })();
        if let Err(e) = updated {
            tracing::warn!(error = %e, "cannot update the comment index");
        }
    }

    /// The status as it is now.
    pub(crate) fn current_status(&self) -> Result<SyncStatus, JishiError> {
        let (state, live) = self.observers.state();
        let session = account::load(&self.replica())?;
        let login_expires_at_ms = session
            .as_ref()
            .and_then(|s| s.login_expires_at_ms.filter(|_| s.can_renew()));
        let me = session.and_then(|s| UserId::parse(&s.user_id).ok());
        let mut r = self.replica();
        let unread_comments = match me {
            Some(me) => self.comment_index().unread(&mut r, &me)?,
            None => 0,
        };
        Ok(SyncStatus {
            state,
            pending_documents: u32::try_from(r.pending_docs()?.len()).unwrap_or(u32::MAX),
            pending_photos: u32::try_from(r.uploads_pending()?.len()).unwrap_or(u32::MAX),
            live,
            unread_comments,
            login_expires_at_ms,
            last_sync: account::last_sync(&r)?,
        })
    }

    /// Tell the status listeners, if any, what the status is now.
    pub(crate) fn publish_status(&self) {
        if !self.observers.has_status_listeners() {
            return;
        }
        match self.current_status() {
            Ok(status) => self.observers.status(&status),
            Err(e) => tracing::warn!(error = %e, "cannot read the sync status"),
        }
    }

    pub(crate) fn set_sync_state(&self, state: SyncState) {
        self.observers.set_state(state);
        self.publish_status();
    }

    fn diary_id(&self, date: &str) -> Result<DocId, JishiError> {
        let date = day(date)?;
        Ok(DocId::diary(&self.me()?, date))
    }

    fn night_id(&self, date: &str) -> Result<DocId, JishiError> {
        let date = day(date)?;
        Ok(DocId::night(&self.me()?, date))
    }

    fn plan_id(&self, m: &str) -> Result<DocId, JishiError> {
        let first = month(m)?;
        Ok(DocId::plan(&self.me()?, first))
    }

    pub(crate) fn read(&self, id: &DocId) -> Result<(Option<Record>, bool), JishiError> {
        let mut r = self.replica();
        let record = r.record(id)?;
        let unsynced = r.pending_docs()?.contains(id);
        Ok((record, unsynced))
    }

    fn text(&self, id: DocId, target: TextTarget, text: String) -> Result<(), JishiError> {
        self.edit(&id, Edit::SetText { target, text })
    }

    fn splice(
        &self,
        id: DocId,
        target: TextTarget,
        pos: u32,
        delete: u32,
        insert: String,
    ) -> Result<(), JishiError> {
        self.edit(
            &id,
            Edit::SpliceTextUtf16 {
                target,
                pos: pos as usize,
                delete: delete as usize,
                insert,
            },
        )
    }

    /// The files on this phone that show these photos.
    fn show_photos(&self, photos: &mut [PhotoView]) {
        for p in photos {
            p.local_path = crate::photos::local_file(&self.dir, &p.hash, PhotoSize::Full)
                .map(|f| f.display().to_string());
        }
    }

    fn diary_view(&self, id: DocId) -> Result<DiaryView, JishiError> {
        let (record, unsynced) = self.read(&id)?;
        let mut view = DiaryView {
            doc_id: id.to_string(),
            date: id.period_or_key(),
            entries: Vec::new(),
            summary: String::new(),
            comments: Vec::new(),
            unsynced,
        };
        if let Some(Record::Diary(d)) = record {
            view.entries = d
                .entries
                .into_iter()
                .filter(|e| !e.deleted)
                .map(entry)
                .collect();
            for e in &mut view.entries {
                self.show_photos(&mut e.photos);
            }
            view.summary = d.summary;
            view.comments = comments(d.comments);
        }
        Ok(view)
    }

    fn night_view(&self, id: DocId) -> Result<NightView, JishiError> {
        let (record, unsynced) = self.read(&id)?;
        let mut view = NightView {
            doc_id: id.to_string(),
            date: id.period_or_key(),
            activities: Vec::new(),
            stayed_overnight: false,
            overnight_place: None,
            comments: Vec::new(),
            unsynced,
        };
        if let Some(Record::Night(n)) = record {
            view.activities = n
                .activities
                .into_iter()
                .filter(|a| !a.deleted)
                .map(activity)
                .collect();
            for a in &mut view.activities {
                self.show_photos(&mut a.photos);
            }
            view.stayed_overnight = n.stayed_overnight;
            view.overnight_place = n.overnight_place;
            view.comments = comments(n.comments);
        }
        Ok(view)
    }

    fn plan_view(&self, id: DocId) -> Result<PlanView, JishiError> {
        let (record, unsynced) = self.read(&id)?;
        let mut view = PlanView {
            doc_id: id.to_string(),
            month: id.period_or_key(),
            tasks: Vec::new(),
            handed: match id.owner() {
                Some(owner) => self.handed_tasks(owner.as_str(), &id.period_or_key())?,
                None => Vec::new(),
            },
            summary: String::new(),
            comments: Vec::new(),
            unsynced,
        };
        if let Some(Record::Plan(p)) = record {
            view.tasks = p
                .tasks
                .into_iter()
                .filter(|t| !t.deleted)
                .map(task)
                .collect();
            view.summary = p.summary;
            view.comments = comments(p.comments);
        }
        Ok(view)
    }

    pub(crate) fn access_token(
        &self,
        cancel: &Arc<Cancel>,
        force_refresh: bool,
    ) -> Result<String, JishiError> {
        let fresh = |s: &StoredSession| {
            s.access_token
                .clone()
                .filter(|_| s.access_expires_at_ms - account::REFRESH_MARGIN_MS > now_ms())
        };
        let seen = self.session_with_tokens(&mut self.replica())?;
        if let (false, Some(access)) = (force_refresh, fresh(&seen)) {
            return Ok(access);
        }
        let _renewing = self.auth_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (session, check) = {
            let mut r = self.replica();
            (
                self.session_with_tokens(&mut r)?,
                account::device_check(&r)?,
            )
        };
        // Renewed by another call while this one waited.
        if let Some(access) = fresh(&session).filter(|a| Some(a) != seen.access_token.as_ref()) {
            return Ok(access);
        }
        let Some(refresh) = session.refresh_token.clone() else {
            return Err(JishiError::login_required(
                "logged_out",
                "logged out; log in again to sync (nothing is lost)",
            ));
        };
        if let (false, Some(access)) = (force_refresh, fresh(&session)) {
            return Ok(access);
        }
        // A reply lost on a bad network: the server rotated the token and
        // accepts the old one again for a short grace; ask again at once.
        let answer = match self.server.refresh(cancel, &refresh, check.as_deref()) {
            Err(HttpError::Offline(_)) => self.server.refresh(cancel, &refresh, check.as_deref()),
            other => other,
        };
        // Store only if nobody logged out or in meanwhile.
        let still_current = |r: &mut Replica| -> Result<Option<StoredSession>, JishiError> {
            Ok(self
                .load_session(r)?
                .filter(|s| s.refresh_token.as_deref() == Some(refresh.as_str())))
        };
        match answer {
            Ok(pair) => {
                let mut r = self.replica();
                let Some(current) = still_current(&mut r)? else {
                    return Err(JishiError::login_required(
                        "session_changed",
                        "the session changed while it was renewed; log in again",
                    ));
                };
                let login_expires_at_ms = login_expiry(&pair);
                let renewed = StoredSession {
                    access_token: Some(pair.access_token.clone()),
                    refresh_token: Some(pair.refresh_token),
                    access_expires_at_ms: now_ms()
                        + i64::try_from(pair.expires_in.saturating_mul(1000)).unwrap_or(i64::MAX),
                    login_expires_at_ms,
                    ..current
                };
                self.save_session(&mut r, &renewed)?;
                if let Some(check) = &pair.device_check {
                    account::set_device_check(&mut r, Some(check))?;
                }
                Ok(pair.access_token)
            }
            Err(HttpError::Status {
                status: 409, code, ..
            }) if account::NewDeviceReason::from_code(&code).is_some() => {
                let reason = account::NewDeviceReason::from_code(&code)
                    .unwrap_or(account::NewDeviceReason::Copied);
                let device = self.become_new_device(reason)?;
                self.publish_status();
                Err(JishiError::login_required(
                    reason.code(),
                    format!(
                        "this folder must become a new device ({code}): it is now {device}; \
                         log in again and the records not yet synced go with it"
                    ),
                ))
            }
            Err(HttpError::Status {
                status: status @ (401 | 403),
                message,
                ..
            }) => {
                {
                    let mut r = self.replica();
                    if let Some(current) = still_current(&mut r)? {
                        self.save_session(&mut r, &current.signed_out())?;
                    }
                }
                tracing::warn!(status, "refresh token refused; login required");
                Err(JishiError::login_required(
                    "session_expired",
                    format!(
                        "the session expired ({message}); log in again, nothing unsynced is lost"
                    ),
                ))
            }
            Err(e) => Err(from_http(e)),
        }
    }
}

// The blocking bodies of the async exports (run on the call's thread).
impl JishiClient {
    fn login_now(
        &self,
        cancel: &Arc<Cancel>,
        login: String,
        password: String,
        device_name: String,
    ) -> Result<Account, JishiError> {
        guard(|| {
            let _renewing = self.auth_lock.lock().unwrap_or_else(|e| e.into_inner());
            let mut moved = None;
            let (pair, device_id, previous) = loop {
                let (device_id, actors, previous, check) = {
                    let mut r = self.replica();
                    (
                        account::device_id(&mut r)?,
                        vec![r.actor().to_hex()],
                        account::load(&r)?,
                        account::device_check(&r)?,
                    )
                };
                let body = LoginBody {
                    login: &login,
                    password: &password,
                    device_id: &device_id,
                    device_name: &device_name,
                    actors: &actors,
                    device_check: check.as_deref(),
                };
                match self.server.login(cancel, &body) {
                    Ok(pair) => break (pair, device_id, previous),
                    // Revoked, or a copy of another phone's folder: become
                    // a new device (unsynced work moves with it), once.
                    Err(HttpError::Status {
                        status: 409, code, ..
                    }) if moved.is_none()
                        && account::NewDeviceReason::from_code(&code).is_some() =>
                    {
                        let reason = account::NewDeviceReason::from_code(&code)
                            .unwrap_or(account::NewDeviceReason::Copied);
                        self.become_new_device(reason)?;
                        moved = Some(reason);
                    }
                    Err(HttpError::Status {
                        status: 401,
                        message,
                        ..
                    }) => {
                        return Err(JishiError::invalid_as(
                            "password",
                            "wrong_password",
                            message,
                        ))
                    }
                    Err(HttpError::Status {
                        status: 400 | 422,
                        code,
                        message,
                    }) => return Err(JishiError::invalid_as("login", &code, message)),
                    Err(other) => return Err(from_http(other)),
                }
            };
            let mut r = self.replica();
            if let Some(prev) = previous.filter(|p| p.user_id != pair.user_id) {
                if !r.pending_docs()?.is_empty() {
                    drop(r);
                    let _ = self.server.logout(cancel, &pair.refresh_token);
                    return Err(JishiError::forbidden(
                        "other_user_unsynced",
                        format!(
                            "this phone holds unsynced records of {}; log in as them and sync first",
                            prev.user_id
                        ),
                    ));
                }
            }
            let login_expires_at_ms = login_expiry(&pair);
            let session = StoredSession {
                user_id: pair.user_id,
                role: pair.role,
                access_token: Some(pair.access_token),
                access_expires_at_ms: now_ms()
                    + i64::try_from(pair.expires_in.saturating_mul(1000)).unwrap_or(i64::MAX),
                login_expires_at_ms,
                refresh_token: Some(pair.refresh_token),
                tokens_in_secret_store: false,
            };
            self.save_session(&mut r, &session)?;
            account::set_device_check(&mut r, pair.device_check.as_deref())?;
            tracing::info!(user = %session.user_id, "logged in");
            let mut account = session.account(&device_id);
            account.became_new_device = moved.map(|m| m.code().to_owned());
            Ok(account)
        })
    }

    pub(crate) fn logout_now(&self, cancel: &Arc<Cancel>) -> Result<(), JishiError> {
        guard(|| {
            let Some(session) = self.load_session(&mut self.replica())? else {
                return Ok(());
            };
            if let Some(refresh) = &session.refresh_token {
                if let Err(e) = self.server.logout(cancel, refresh) {
                    tracing::warn!(error = %e, "server logout failed; tokens forgotten here anyway");
                }
            }
            self.save_session(&mut self.replica(), &session.signed_out())
        })
    }

    /// Read a camera file whole, within the input limit (checked before
    /// anything is read).
    pub(crate) fn read_camera(&self, path: &str, field: &str) -> Result<Vec<u8>, JishiError> {
        use std::io::Read;
        let unreadable = |e: std::io::Error| {
            JishiError::invalid_as(field, "photo_unreadable", format!("{path}: {e}"))
        };
        let max = self.photo_options.max_input_bytes as u64;
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(unreadable)?
            .take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        self.within_input_limit(bytes.len(), field)?;
        Ok(bytes)
    }

    fn within_input_limit(&self, len: usize, field: &str) -> Result<(), JishiError> {
        let max = self.photo_options.max_input_bytes;
        if len > max {
            return Err(JishiError::Validation {
                field: field.into(),
                code: "photo_too_large".into(),
                reason: format!("over the limit of {max} bytes"),
                limit: Some(max as u64),
            });
        }
        Ok(())
    }

    /// Make a camera file into the photo to upload; HEIC through the
    /// platform's decoder, keeping the capture time and place it read.
    pub(crate) fn prepare(
        &self,
        bytes: Vec<u8>,
    ) -> Result<sync_core::photo::PreparedPhoto, JishiError> {
        let photo = |e| JishiError::from(CoreError::Photo(e));
        if !sync_core::photo::is_heif(&bytes) {
            return prepare_photo(&bytes, &self.photo_options).map_err(photo);
        }
        let decoder = self
            .photo_decoder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(decoder) = decoder else {
            return Err(JishiError::invalid_as(
                "photo",
                "photo_format",
                "a HEIC photo needs the platform's decoder: set_photo_decoder",
            ));
        };
        let decoded = decoder
            .to_jpeg(bytes, self.photo_options.max_long_edge)
            .map_err(|e| JishiError::invalid_as("photo", "photo_unreadable", e.to_string()))?;
        let mut prepared = prepare_photo(&decoded.jpeg, &self.photo_options).map_err(photo)?;
        if decoded.captured_at_ms.is_some() {
            prepared.captured_at = decoded.captured_at_ms;
        }
        if let Some(at) = decoded.location {
            let at = sync_core::validate::Location::from(at);
            at.validate().map_err(in_field("location"))?;
            prepared.location = Some(at);
        }
        Ok(prepared)
    }

    fn attach_photo_now(
        &self,
        doc_id: String,
        item_id: String,
        camera: &dyn Fn(&Self) -> Result<Vec<u8>, JishiError>,
    ) -> Result<PhotoView, JishiError> {
        guard(|| {
            let id = DocId::parse(&doc_id).map_err(in_field("doc_id"))?;
            let item_id = item(&item_id)?;
            let bytes = camera(self)?;
            let prepared = self.prepare(bytes)?;
            let ctx = {
                let mut r = self.replica();
                let ctx = Self::context(&r)?;
                r.queue_photo(&id, &item_id, &prepared, &ctx)?;
                ctx
            };
            self.changed_here(&id);
            Ok(PhotoView {
                hash: prepared.hash.to_string(),
                added_at_ms: ctx.now_ms,
                captured_at_ms: prepared.captured_at,
                location: prepared.location.map(Into::into),
                local_path: Some(
                    crate::photos::own_file(&self.dir, prepared.hash.as_str())
                        .display()
                        .to_string(),
                ),
            })
        })
    }
}

#[uniffi::export]
impl JishiClient {
    /// Open (or create) the client's data in `data_dir` (the app's private
    /// files folder) for the server at `server_url` (`https://…`). Works
    /// offline: nothing is sent until `login` or `sync`.
    #[uniffi::constructor]
    pub fn open(data_dir: String, server_url: String) -> Result<Arc<Self>, JishiError> {
        Self::open_with_transport(data_dir, server_url, Arc::new(UreqTransport::default()))
    }

    /// `open`, with HTTP through the app's `transport` (the platform's
    /// network stack: its trust store, proxies, VPN and radio).
    #[uniffi::constructor]
    pub fn open_with_transport(
        data_dir: String,
        server_url: String,
        transport: Arc<dyn HttpTransport>,
    ) -> Result<Arc<Self>, JishiError> {
        guard(|| {
            let url = server_url.trim();
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 10 {
                return Err(JishiError::invalid_as(
                    "server_url",
                    "format",
                    "must be an http:// or https:// address",
                ));
            }
            let dir = PathBuf::from(&data_dir);
            std::fs::create_dir_all(&dir).map_err(|e| JishiError::Storage {
                detail: format!("cannot create the data folder {data_dir}: {e}"),
            })?;
            let dir = dir.canonicalize().map_err(|e| JishiError::Storage {
                detail: format!("cannot resolve the data folder {data_dir}: {e}"),
            })?;
            // One client per folder in the process: two replicas with their
            // own caches on one file could send a stale document.
            let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
            open.retain(|_, c| c.strong_count() > 0);
            if let Some(existing) = open.get(&dir).and_then(Weak::upgrade) {
                if existing.server.base() == url.trim_end_matches('/') {
                    return Ok(existing);
                }
                return Err(JishiError::invalid_as(
                    "data_dir",
                    "open_elsewhere",
                    "this folder is open with another server address; close that client first",
                ));
            }
            let folder_lock = lock_folder(&dir)?;
            let replica = Replica::open(&dir.join(REPLICA_FILE))?;
            let folder = dir.clone();
            tracing::info!(data_dir, server_url = url, "client opened");
            let client = Arc::new(Self {
                server: Server::new(url, transport),
                replica: Mutex::new(replica),
                sync_lock: Mutex::new(()),
                auth_lock: Mutex::new(()),
                secrets: Mutex::new(None),
                running: Mutex::new(None),
                observers: Observers::default(),
                dir: folder,
                photo_decoder: Mutex::new(None),
                comments: Mutex::default(),
                photo_options: PhotoOptions::default(),
                _folder_lock: folder_lock,
            });
            open.insert(dir, Arc::downgrade(&client));
            Ok(client)
        })
    }

    /// Log in (online). The session is kept on the phone: records can be
    /// written offline for as long as needed, and `sync()` renews tokens.
    /// A phone holding another user's unsynced records refuses a new user.
    #[uniffi::method(default(cancel = None))]
    pub async fn login(
        self: Arc<Self>,
        login: String,
        password: String,
        device_name: String,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<Account, JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || {
            self.login_now(&c, login, password, device_name)
        })
        .await
    }

    /// Log out: the server forgets the session (when reachable) and the
    /// phone forgets its tokens. The records stay, unsynced ones included.
    pub async fn logout(self: Arc<Self>) -> Result<(), JishiError> {
        let stop = Cancel::new();
        let c = stop.clone();
        off_thread(stop, move || self.logout_now(&c)).await
    }

    /// Who is logged in on this phone, if anyone ever was.
    pub fn account(&self) -> Result<Option<Account>, JishiError> {
        guard(|| {
            let mut r = self.replica();
            let device = account::device_id(&mut r)?;
            Ok(account::load(&r)?.map(|s| s.account(&device)))
        })
    }

    // ---- diaries ----------------------------------------------------------

    /// Today's date on the phone's clock, `YYYY-MM-DD`.
    pub fn today(&self) -> String {
        chrono::Local::now()
            .date_naive()
            .format("%Y-%m-%d")
            .to_string()
    }

    /// My diary of `date` (empty if nothing was written).
    pub fn diary(&self, date: String) -> Result<DiaryView, JishiError> {
        guard(|| self.diary_view(self.diary_id(&date)?))
    }

    /// Any diary on this phone by its id (a leader or supervisor reading
    /// the records they oversee).
    pub fn diary_by_id(&self, doc_id: String) -> Result<DiaryView, JishiError> {
        guard(|| self.diary_view(doc_of_kind(&doc_id, DocKind::Diary)?))
    }

    /// Add an entry to my diary of `date`; returns the entry's id.
    pub fn add_entry(&self, date: String, input: EntryInput) -> Result<String, JishiError> {
        guard(|| {
            let id = self.diary_id(&date)?;
            let entry_id = ItemId::random();
            let fields = EntryFields {
                time: time(&input.time, "time")?,
                category: input.category.into(),
                place: input.place,
                text: input.text,
                households: input.households,
                location: input.location.map(Into::into),
            };
            self.edit(
                &id,
                Edit::AddEntry {
                    id: entry_id.clone(),
                    fields,
                },
            )?;
            Ok(entry_id.to_string())
        })
    }

    /// Change an entry's fields (not its text).
    pub fn update_entry(
        &self,
        date: String,
        entry_id: String,
        update: EntryUpdate,
    ) -> Result<(), JishiError> {
        guard(|| {
            let id = self.diary_id(&date)?;
            let patch = EntryPatch {
                time: update
                    .time
                    .as_deref()
                    .map(|t| time(t, "time"))
                    .transpose()?,
                category: update.category.map(Into::into),
                place: update.place,
                households: update.households,
                location: if update.clear_location {
                    Some(None)
                } else {
                    update.location.map(|l| Some(l.into()))
                },
            };
            self.edit(
                &id,
                Edit::UpdateEntry {
                    id: item(&entry_id)?,
                    patch,
                },
            )
        })
    }

    /// Replace `delete` units at `pos` of an entry's text with `insert`.
    /// Positions count UTF-16 code units, as Android's and iOS's text
    /// fields do (an emoji or 𠮷 is two); a position inside such a pair is
    /// refused. Concurrent edits on two phones merge.
    pub fn splice_entry_text(
        &self,
        date: String,
        entry_id: String,
        pos: u32,
        delete: u32,
        insert: String,
    ) -> Result<(), JishiError> {
        guard(|| {
            let id = self.diary_id(&date)?;
            let target = TextTarget::Item {
                id: item(&entry_id)?,
                field: ItemText::Text,
            };
            self.splice(id, target, pos, delete, insert)
        })
    }

    /// Splice any text of one of my records: a summary (`item_id` none,
    /// `field` `Summary`) or an item's text, issues, help, title or note.
    /// Positions count UTF-16 code units, as in `splice_entry_text`.
    pub fn splice_text(
        &self,
        doc_id: String,
        item_id: Option<String>,
        field: TextField,
        pos: u32,
        delete: u32,
        insert: String,
    ) -> Result<(), JishiError> {
        guard(|| {
            let id = DocId::parse(&doc_id).map_err(in_field("doc_id"))?;
            let target = text_target(item_id.as_deref(), field)?;
            self.splice(id, target, pos, delete, insert)
        })
    }

    /// Replace any text of one of my records (as a minimal diff, so it
    /// still merges); see `splice_text`.
    pub fn set_text(
        &self,
        doc_id: String,
        item_id: Option<String>,
        field: TextField,
        text: String,
    ) -> Result<(), JishiError> {
        guard(|| {
            let id = DocId::parse(&doc_id).map_err(in_field("doc_id"))?;
            let target = text_target(item_id.as_deref(), field)?;
            self.text(id, target, text)
        })
    }

    /// Replace an entry's whole text (stored as a minimal diff, so it still
    /// merges).
    pub fn set_entry_text(
        &self,
        date: String,
        entry_id: String,
        text: String,
    ) -> Result<(), JishiError> {
        guard(|| {
            let id = self.diary_id(&date)?;
            let target = TextTarget::Item {
                id: item(&entry_id)?,
                field: ItemText::Text,
            };
            self.text(id, target, text)
        })
    }

    /// Delete an entry (kept in the history, hidden from views).
    pub fn delete_entry(&self, date: String, entry_id: String) -> Result<(), JishiError> {
        guard(|| {
            let id = self.diary_id(&date)?;
            self.edit(
                &id,
                Edit::DeleteEntry {
                    id: item(&entry_id)?,
                },
            )
        })
    }

    /// Write the day summary of my diary of `date`.
    pub fn set_day_summary(&self, date: String, text: String) -> Result<(), JishiError> {
        guard(|| {
            let id = self.diary_id(&date)?;
            self.text(id, TextTarget::Summary, text)
        })
    }

    // ---- night logs -------------------------------------------------------

    /// My night log of `date`.
    pub fn night_log(&self, date: String) -> Result<NightView, JishiError> {
        guard(|| self.night_view(self.night_id(&date)?))
    }

    /// Any night log on this phone by its id.
    pub fn night_log_by_id(&self, doc_id: String) -> Result<NightView, JishiError> {
        guard(|| self.night_view(doc_of_kind(&doc_id, DocKind::Night)?))
    }

    /// Add a night activity (夜学, 夜访, 夜议, 夜帮); returns its id.
    pub fn add_activity(&self, date: String, input: ActivityInput) -> Result<String, JishiError> {
        guard(|| {
            let id = self.night_id(&date)?;
            let activity_id = ItemId::random();
            let fields = ActivityFields {
                kind: input.kind.into(),
                start: time(&input.start, "start")?,
                end: input.end.as_deref().map(|t| time(t, "end")).transpose()?,
                place: input.place,
                households: input.households,
                issues: input.issues,
                help: input.help,
            };
            self.edit(
                &id,
                Edit::AddActivity {
                    id: activity_id.clone(),
                    fields,
                },
            )?;
            Ok(activity_id.to_string())
        })
    }

    pub fn delete_activity(&self, date: String, activity_id: String) -> Result<(), JishiError> {
        guard(|| {
            let id = self.night_id(&date)?;
            self.edit(
                &id,
                Edit::DeleteActivity {
                    id: item(&activity_id)?,
                },
            )
        })
    }

    /// Change a night activity's fields (its texts: `splice_text`).
    pub fn update_activity(
        &self,
        date: String,
        activity_id: String,
        update: ActivityUpdate,
    ) -> Result<(), JishiError> {
        guard(|| {
            let id = self.night_id(&date)?;
            let patch = ActivityPatch {
                kind: update.kind.map(Into::into),
                start: update
                    .start
                    .as_deref()
                    .map(|t| time(t, "start"))
                    .transpose()?,
                end: if update.clear_end {
                    Some(None)
                } else {
                    update
                        .end
                        .as_deref()
                        .map(|t| time(t, "end").map(Some))
                        .transpose()?
                },
                place: update.place,
                households: update.households,
            };
            self.edit(
                &id,
                Edit::UpdateActivity {
                    id: item(&activity_id)?,
                    patch,
                },
            )
        })
    }

    /// Record whether I stayed the night in the village (住村), and where.
    pub fn set_overnight(
        &self,
        date: String,
        stayed: bool,
        place: Option<String>,
    ) -> Result<(), JishiError> {
        guard(|| {
            let id = self.night_id(&date)?;
            self.edit(&id, Edit::SetOvernight { stayed, place })
        })
    }

    // ---- monthly plan -----------------------------------------------------

    /// My plan of `month` (`YYYY-MM`).
    pub fn plan(&self, month: String) -> Result<PlanView, JishiError> {
        guard(|| self.plan_view(self.plan_id(&month)?))
    }

    /// Any plan on this phone by its id.
    pub fn plan_by_id(&self, doc_id: String) -> Result<PlanView, JishiError> {
        guard(|| self.plan_view(doc_of_kind(&doc_id, DocKind::Plan)?))
    }

    /// Add a task (承诺事项) to my plan; returns its id.
    pub fn add_task(&self, month: String, input: TaskInput) -> Result<String, JishiError> {
        guard(|| {
            let id = self.plan_id(&month)?;
            let task_id = ItemId::random();
            let fields = TaskFields {
                title: input.title,
                kind: input.kind.into(),
                due: input
                    .due
                    .as_deref()
                    .map(|d| {
                        day(d).map_err(|_| {
                            JishiError::invalid_as("due", "format", "must be YYYY-MM-DD")
                        })
                    })
                    .transpose()?,
            };
            self.edit(
                &id,
                Edit::AddTask {
                    id: task_id.clone(),
                    fields,
                },
            )?;
            Ok(task_id.to_string())
        })
    }

    /// Close a task (销号) as done or dropped, with a note.
    pub fn close_task(
        &self,
        month: String,
        task_id: String,
        status: TaskStatus,
        note: String,
    ) -> Result<(), JishiError> {
        guard(|| {
            if status == TaskStatus::Open {
                return Err(JishiError::invalid_as(
                    "status",
                    "inconsistent",
                    "a task is closed as done or dropped; use reopen_task to open it",
                ));
            }
            let id = self.plan_id(&month)?;
            self.edit(
                &id,
                Edit::CloseTask {
                    id: item(&task_id)?,
                    status: status.into(),
                    note,
                },
            )
        })
    }

    pub fn reopen_task(&self, month: String, task_id: String) -> Result<(), JishiError> {
        guard(|| {
            let id = self.plan_id(&month)?;
            self.edit(
                &id,
                Edit::ReopenTask {
                    id: item(&task_id)?,
                },
            )
        })
    }

    /// Move a task's due date (`YYYY-MM-DD`, within the plan's month or
    /// the year after), or clear it (`None`). Its title is a text field:
    /// `splice_text`/`set_text` with `TextField.TITLE`.
    pub fn set_task_due(
        &self,
        month: String,
        task_id: String,
        due: Option<String>,
    ) -> Result<(), JishiError> {
        guard(|| {
            let id = self.plan_id(&month)?;
            let due = match due {
                Some(d) => Some(Period::parse_day(&d).map_err(in_field("due"))?),
                None => None,
            };
            self.edit(
                &id,
                Edit::SetTaskDue {
                    id: item(&task_id)?,
                    due,
                },
            )
        })
    }

    /// Delete a task of my plan (kept in the history, hidden from views).
    pub fn delete_task(&self, month: String, task_id: String) -> Result<(), JishiError> {
        guard(|| {
            let id = self.plan_id(&month)?;
            self.edit(
                &id,
                Edit::DeleteTask {
                    id: item(&task_id)?,
                },
            )
        })
    }

    /// Write the month's summary (月小结).
    pub fn set_month_summary(&self, month: String, text: String) -> Result<(), JishiError> {
        guard(|| {
            let id = self.plan_id(&month)?;
            self.text(id, TextTarget::Summary, text)
        })
    }

    // ---- photos -----------------------------------------------------------

    /// Attach a camera file (JPEG or PNG) to an entry or activity of one of
    /// my records (`doc_id` from a view). The photo is made upright, at most
    /// 1,600 px, stripped of metadata, stored in the data folder and queued
    /// for upload, in one step (a few hundred ms, off the caller's thread).
    pub async fn attach_photo(
        self: Arc<Self>,
        doc_id: String,
        item_id: String,
        camera_file: String,
    ) -> Result<PhotoView, JishiError> {
        off_thread(Cancel::new(), move || {
            self.attach_photo_now(doc_id, item_id, &|c: &Self| {
                c.read_camera(&camera_file, "camera_file")
            })
        })
        .await
    }

    /// `attach_photo` from the photo's bytes (iOS `Data`, a picker's
    /// stream read by the app). JPEG or PNG; a HEIC photo is converted to
    /// JPEG by the platform first (the library keeps capture time and
    /// place from the JPEG's EXIF).
    pub async fn attach_photo_bytes(
        self: Arc<Self>,
        doc_id: String,
        item_id: String,
        bytes: Vec<u8>,
    ) -> Result<PhotoView, JishiError> {
        off_thread(Cancel::new(), move || {
            let once = std::cell::Cell::new(Some(bytes));
            self.attach_photo_now(doc_id, item_id, &|c: &Self| {
                let bytes = once.take().unwrap_or_default();
                c.within_input_limit(bytes.len(), "bytes")?;
                Ok(bytes)
            })
        })
        .await
    }

    /// `attach_photo` from an open file descriptor (Android: a
    /// `content://` URI's `ParcelFileDescriptor.fd`); read through
    /// `/proc/self/fd`, so Android and Linux only. The descriptor stays
    /// the caller's: close it after the call.
    pub async fn attach_photo_fd(
        self: Arc<Self>,
        doc_id: String,
        item_id: String,
        fd: i32,
    ) -> Result<PhotoView, JishiError> {
        off_thread(Cancel::new(), move || {
            self.attach_photo_now(doc_id, item_id, &|c: &Self| {
                if fd < 0 {
                    return Err(JishiError::invalid_as(
                        "fd",
                        "invalid",
                        "must be an open descriptor",
                    ));
                }
                c.read_camera(&format!("/proc/self/fd/{fd}"), "fd")
            })
        })
        .await
    }

    /// Take a photo off an entry or activity of one of my records (kept in
    /// the history; its upload, if waiting, still goes).
    pub fn detach_photo(
        &self,
        doc_id: String,
        item_id: String,
        hash: String,
    ) -> Result<(), JishiError> {
        guard(|| {
            let id = DocId::parse(&doc_id).map_err(in_field("doc_id"))?;
            let hash = sync_core::validate::PhotoHash::parse(&hash).map_err(in_field("hash"))?;
            self.edit(
                &id,
                Edit::DetachPhoto {
                    item: item(&item_id)?,
                    hash,
                },
            )
        })
    }

    /// Give the library the platform's image decoder for HEIC photos
    /// (none: HEIC photos are refused with `photo_format`).
    pub fn set_photo_decoder(&self, decoder: Option<Arc<dyn crate::photos::PhotoDecoder>>) {
        *self.photo_decoder.lock().unwrap_or_else(|p| p.into_inner()) = decoder;
    }

    /// Queue a failed photo again (after the user fixed what the server
    /// refused, or to retry a file that could not be read).
    pub fn retry_photo(&self, hash: String) -> Result<(), JishiError> {
        guard(|| {
            let hash = sync_core::validate::PhotoHash::parse(&hash).map_err(in_field("hash"))?;
            let mut r = self.replica();
            if !r.outbox()?.iter().any(|p| p.sha256 == hash.as_str()) {
                return Err(JishiError::invalid_as(
                    "hash",
                    "not_found",
                    "no such photo in the outbox",
                ));
            }
            r.record_upload(&sync_core::upload::UploadState::Queued, &hash)?;
            Ok(())
        })
    }

    /// Every photo in the outbox with its upload state, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxPhotoView>, JishiError> {
        guard(|| {
            self.replica()
                .outbox()?
                .into_iter()
                .map(|p| {
                    Ok(OutboxPhotoView {
                        status: upload_status(&p.state)?,
                        hash: p.sha256,
                        doc_id: p.doc,
                        item_id: p.item,
                        sent_bytes: p.acked_bytes,
                        total_bytes: p.size,
                        error: p.error,
                    })
                })
                .collect()
        })
    }

    // ---- reading ----------------------------------------------------------

    /// Comments by others on my records, newest first, each with
    /// `unread`. Kept as an index: cheap to call on every screen.
    pub fn comments_on_my_records(&self) -> Result<Vec<CommentNotice>, JishiError> {
        guard(|| {
            let me = self.me()?;
            let mut r = self.replica();
            self.comment_index().list(&mut r, &me)
        })
    }

    /// Mark comments up to `at_ms` (the newest the user saw) as read.
    pub fn mark_comments_read(&self, at_ms: i64) -> Result<(), JishiError> {
        guard(|| {
            comments::set_read_up_to(&mut self.replica(), at_ms)?;
            self.publish_status();
            Ok(())
        })
    }

    /// Documents with changes the server has not acknowledged.
    pub fn unsynced_documents(&self) -> Result<Vec<String>, JishiError> {
        guard(|| {
            Ok(self
                .replica()
                .pending_docs()?
                .iter()
                .map(ToString::to_string)
                .collect())
        })
    }

    /// The days from `from` to `to` (`YYYY-MM-DD`, inclusive, at most 62)
    /// of `user_id` (none: mine; a leader: the people they oversee whose
    /// records came with sync), one overview per day: a week in one call.
    pub fn days(
        &self,
        user_id: Option<String>,
        from: String,
        to: String,
    ) -> Result<Vec<DayOverview>, JishiError> {
        guard(|| {
            let who = match user_id {
                Some(u) => UserId::parse(&u).map_err(in_field("user_id"))?,
                None => self.me()?,
            };
            let (first, last) = (day(&from)?, day(&to)?);
            let span = (last - first).num_days();
            if !(0..62).contains(&span) {
                return Err(JishiError::Validation {
                    field: "to".into(),
                    code: "out_of_range".into(),
                    reason: "must be from `from` to at most 61 days later".into(),
                    limit: Some(62),
                });
            }
            let mut r = self.replica();
            let pending: std::collections::BTreeSet<DocId> =
                r.pending_docs()?.into_iter().collect();
            let mut out = Vec::new();
            for date in first.iter_days().take(span as usize + 1) {
                let (diary, night) = (DocId::diary(&who, date), DocId::night(&who, date));
                let mut o = DayOverview {
                    date: date.format("%Y-%m-%d").to_string(),
                    diary_id: diary.to_string(),
                    night_id: night.to_string(),
                    entries: 0,
                    households: 0,
                    night_activities: 0,
                    stayed_overnight: false,
                    has_summary: false,
                    photos: 0,
                    comments: 0,
                    unsynced: pending.contains(&diary) || pending.contains(&night),
                };
                let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                if let Some(Record::Diary(d)) = r.record(&diary)? {
                    let live: Vec<_> = d.entries.iter().filter(|e| !e.deleted).collect();
                    o.entries = count(live.len());
                    o.households = u32::try_from(live.iter().map(|e| e.households).sum::<u64>())
                        .unwrap_or(u32::MAX);
                    o.photos = count(live.iter().map(|e| e.photos.len()).sum());
                    o.has_summary = !d.summary.trim().is_empty();
                    o.comments = count(d.comments.iter().filter(|c| !c.deleted).count());
                }
                if let Some(Record::Night(n)) = r.record(&night)? {
                    let live: Vec<_> = n.activities.iter().filter(|a| !a.deleted).collect();
                    o.night_activities = count(live.len());
                    o.photos += count(live.iter().map(|a| a.photos.len()).sum());
                    o.stayed_overnight = n.stayed_overnight;
                    o.comments += count(n.comments.iter().filter(|c| !c.deleted).count());
                }
                out.push(o);
            }
            Ok(out)
        })
    }

    /// Every document on this phone, named (kind, owner, day or month).
    pub fn document_refs(&self) -> Result<Vec<DocRef>, JishiError> {
        guard(|| {
            let r = self.replica();
            let pending: std::collections::BTreeSet<DocId> =
                r.pending_docs()?.into_iter().collect();
            Ok(r.doc_ids()?
                .into_iter()
                .map(|id| DocRef {
                    doc_id: id.to_string(),
                    kind: id.kind().as_str().to_owned(),
                    owner_id: id.owner().map(|o| o.to_string()).unwrap_or_default(),
                    period: id.period_or_key(),
                    unsynced: pending.contains(&id),
                })
                .collect())
        })
    }

    /// Every document on this phone (mine, and for leaders and supervisors
    /// those of the people they oversee that came with sync).
    pub fn documents(&self) -> Result<Vec<String>, JishiError> {
        guard(|| {
            Ok(self
                .replica()
                .doc_ids()?
                .iter()
                .map(ToString::to_string)
                .collect())
        })
    }

    /// The comments on any document on this phone (for leaders reading the
    /// records they oversee).
    pub fn comments(&self, doc_id: String) -> Result<Vec<CommentView>, JishiError> {
        guard(|| {
            let id = DocId::parse(&doc_id).map_err(in_field("doc_id"))?;
            Ok(self
                .replica()
                .record(&id)?
                .map(|r| comments(r.comments().to_vec()))
                .unwrap_or_default())
        })
    }

    /// Add a comment to a document (a leader's or supervisor's remark, or
    /// the owner's reply), optionally on one item; returns its id.
    pub fn add_comment(
        &self,
        doc_id: String,
        on_item: Option<String>,
        text: String,
    ) -> Result<String, JishiError> {
        guard(|| {
            let id = DocId::parse(&doc_id).map_err(in_field("doc_id"))?;
            let on = on_item.as_deref().map(item).transpose()?;
            let comment_id = ItemId::random();
            self.edit(
                &id,
                Edit::AddComment {
                    id: comment_id.clone(),
                    on,
                    text,
                },
            )?;
            Ok(comment_id.to_string())
        })
    }

    /// Delete one of my comments (kept in the history, hidden from views).
    pub fn delete_comment(&self, doc_id: String, comment_id: String) -> Result<(), JishiError> {
        guard(|| {
            let id = DocId::parse(&doc_id).map_err(in_field("doc_id"))?;
            self.edit(
                &id,
                Edit::DeleteComment {
                    id: item(&comment_id)?,
                },
            )
        })
    }

    /// When the last `sync()` ended and how.
    pub fn last_sync(&self) -> Result<Option<LastSync>, JishiError> {
        guard(|| account::last_sync(&self.replica()))
    }

    /// Stop the running `sync()`, if one runs (also inside a request that
    /// waits for the network): it returns `Cancelled` and keeps what it
    /// finished. Does nothing when no sync runs. To stop one call of
    /// several, give it a `CancelToken`, or cancel its coroutine or task.
    pub fn cancel_sync(&self) {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = running.as_ref() {
            c.cancel();
        }
    }

    // ---- observing --------------------------------------------------------

    /// Hear every change to the documents on this phone (an edit here, or
    /// what sync brought); returns an id for `remove_listener`.
    pub fn add_change_listener(&self, listener: Arc<dyn ChangeListener>) -> u64 {
        self.observers.add_change(listener)
    }

    /// Hear the sync status whenever it changes, starting now with the
    /// current one; returns an id for `remove_listener`.
    pub fn add_status_listener(&self, listener: Arc<dyn StatusListener>) -> u64 {
        let id = self.observers.add_status(listener.clone());
        if let Ok(status) = self.current_status() {
            listener.on_status(status);
        }
        id
    }

    /// Stop a listener; false if `id` names none.
    pub fn remove_listener(&self, id: u64) -> bool {
        self.observers.remove(id)
    }

    /// The sync status now (pending counts, what sync is doing, live).
    pub fn status(&self) -> Result<SyncStatus, JishiError> {
        guard(|| self.current_status())
    }
}

/// Where a text is: a summary, or a text field of an item.
fn text_target(item_id: Option<&str>, field: TextField) -> Result<TextTarget, JishiError> {
    let field = match (item_id, field) {
        (None, TextField::Summary) => return Ok(TextTarget::Summary),
        (Some(_), TextField::Summary) | (None, _) => {
            return Err(JishiError::invalid_as(
                "item_id",
                "inconsistent",
                "a summary has no item; every other text belongs to one",
            ))
        }
        (Some(_), TextField::Text) => ItemText::Text,
        (Some(_), TextField::Issues) => ItemText::Issues,
        (Some(_), TextField::Help) => ItemText::Help,
        (Some(_), TextField::Title) => ItemText::Title,
        (Some(_), TextField::Note) => ItemText::Note,
    };
    Ok(TextTarget::Item {
        id: item(item_id.unwrap_or_default())?,
        field,
    })
}

/// The stop signal of one call: the app's token if it gave one, else a
/// fresh one (cancelled when the awaiting coroutine or task is).
pub(crate) fn call_cancel(token: Option<&CancelToken>) -> Arc<Cancel> {
    token.map_or_else(Cancel::new, |t| t.inner.clone())
}

/// When the refresh token of `pair` runs out.
fn login_expiry(pair: &crate::http::TokenPair) -> Option<i64> {
    pair.refresh_expires_in
        .map(|s| now_ms().saturating_add(i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)))
}

/// Take the data folder's OS lock, or say which process has it.
fn lock_folder(dir: &std::path::Path) -> Result<std::fs::File, JishiError> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| JishiError::Storage {
            detail: format!("cannot create {}: {e}", path.display()),
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(JishiError::FolderInUse {
            detail: format!(
                "{} is open in another process of this app; sync from the process that opened it, or close it there first",
                dir.display()
            ),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(JishiError::Storage {
            detail: format!("cannot lock {}: {e}", path.display()),
        }),
    }
}
