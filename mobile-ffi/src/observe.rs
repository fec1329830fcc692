//! What the app observes instead of polling: data changes (an edit here, a
//! comment or a second phone's records brought by sync) and the sync
//! status (pending counts, syncing, waiting on a busy server, offline,
//! login needed, live). Listeners are called on the library's thread that
//! made the change, after it is on disk; post to the UI thread from there.
//! A listener that throws is logged and the change stands.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sync_core::DocId;

use crate::types::LastSync;

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ChangeOrigin {
    /// An edit on this phone.
    Local,
    /// Brought by sync: the server, another phone, a leader's comment.
    Server,
}

/// One document that changed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DocChange {
    pub doc_id: String,
    /// `diary`, `night` or `plan`.
    pub kind: String,
    /// Whose record it is.
    pub owner_id: String,
    /// The day (`YYYY-MM-DD`) or month (`YYYY-MM`) it is of.
    pub period: String,
    pub origin: ChangeOrigin,
}

impl DocChange {
    pub fn of(id: &DocId, origin: ChangeOrigin) -> Self {
        Self {
            doc_id: id.to_string(),
            kind: id.kind().as_str().to_owned(),
            owner_id: id.owner().map(|o| o.to_string()).unwrap_or_default(),
            period: id.period_or_key(),
            origin,
        }
    }
}

/// Hears data changes.
#[uniffi::export(with_foreign)]
pub trait ChangeListener: Send + Sync {
    fn on_change(&self, changes: Vec<DocChange>);
}

/// What sync is doing.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SyncState {
    Idle,
    Syncing,
    /// The server is busy with other phones; the sync waits and sends
    /// again by itself.
    WaitingBusy {
        retry_after_secs: u64,
    },
    /// The last sync found no network or no server.
    Offline,
    /// The session ended: show the login screen (nothing is lost).
    NeedsLogin,
}

/// The status bar's facts.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncStatus {
    pub state: SyncState,
    /// Documents with changes the server has not acknowledged.
    pub pending_documents: u32,
    /// Photos queued or uploading.
    pub pending_photos: u32,
    /// `live()` is connected to the server's change events.
    pub live: bool,
    /// Comments by others on my records not yet marked read.
    pub unread_comments: u32,
    /// When a login will be needed if the phone stays offline (see
    /// `Account.login_expires_at_ms`).
    pub login_expires_at_ms: Option<i64>,
    pub last_sync: Option<LastSync>,
}

/// Hears the sync status each time it changes.
#[uniffi::export(with_foreign)]
pub trait StatusListener: Send + Sync {
    fn on_status(&self, status: SyncStatus);
}

/// The registered listeners and the state the status is made of.
pub(crate) struct Observers {
    next: AtomicU64,
    changes: Mutex<Vec<(u64, Arc<dyn ChangeListener>)>>,
    statuses: Mutex<Vec<(u64, Arc<dyn StatusListener>)>>,
    state: Mutex<(SyncState, bool)>,
}

impl Default for Observers {
    fn default() -> Self {
        Self {
            next: AtomicU64::new(1),
            changes: Mutex::default(),
            statuses: Mutex::default(),
            state: Mutex::new((SyncState::Idle, false)),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Call a listener; one that fails does not stop the library.
fn shielded(what: &str, call: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).is_err() {
        tracing::warn!(listener = what, "a listener failed; going on");
    }
}

impl Observers {
    pub fn add_change(&self, l: Arc<dyn ChangeListener>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.changes).push((id, l));
        id
    }

    pub fn add_status(&self, l: Arc<dyn StatusListener>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.statuses).push((id, l));
        id
    }

    pub fn remove(&self, id: u64) -> bool {
        let mut found = false;
        lock(&self.changes).retain(|(i, _)| {
            found |= *i == id;
            *i != id
        });
        lock(&self.statuses).retain(|(i, _)| {
            found |= *i == id;
            *i != id
        });
        found
    }

    pub fn changed(&self, changes: Vec<DocChange>) {
        if changes.is_empty() {
            return;
        }
        let listeners: Vec<_> = lock(&self.changes).iter().map(|(_, l)| l.clone()).collect();
        for l in listeners {
            let changes = changes.clone();
            shielded("change", || l.on_change(changes));
        }
    }

    pub fn has_status_listeners(&self) -> bool {
        !lock(&self.statuses).is_empty()
    }

    pub fn state(&self) -> (SyncState, bool) {
        lock(&self.state).clone()
    }

    pub fn set_state(&self, state: SyncState) {
        lock(&self.state).0 = state;
    }

    pub fn set_live(&self, live: bool) {
        lock(&self.state).1 = live;
    }

    pub fn status(&self, status: &SyncStatus) {
        let listeners: Vec<_> = lock(&self.statuses)
            .iter()
            .map(|(_, l)| l.clone())
            .collect();
        for l in listeners {
            let status = status.clone();
            shielded("status", || l.on_status(status));
        }
    }
}
