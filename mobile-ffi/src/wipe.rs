//! Wiping the phone's data: a cadre hands the phone on, or leaves the post.

use std::sync::Arc;

use crate::cancel::{off_thread, Cancel};
use crate::client::JishiClient;
use crate::error::{guard, JishiError};

/// What `wipe()` removed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WipeReport {
    pub documents: u64,
    /// Records not on the server that were removed (only with `force`).
    pub unsynced_documents: u64,
    /// Photos not on the server that were removed (only with `force`).
    pub unsynced_photos: u64,
}

impl JishiClient {
    fn wipe_now(&self, cancel: &Arc<Cancel>, force: bool) -> Result<WipeReport, JishiError> {
        guard(|| {
            // A running sync stops; none starts while the wipe runs.
            self.cancel_sync();
            let _no_sync = self.sync_lock.lock().unwrap_or_else(|p| p.into_inner());
            let (docs, photos) = {
                let r = self.replica();
                (r.pending_docs()?.len(), r.uploads_pending()?.len())
            };
            if (docs > 0 || photos > 0) && !force {
                return Err(JishiError::Conflict {
                    code: "unsynced".into(),
                    detail: format!(
                        "{docs} records and {photos} photos have not reached the server: sync \
                         first, or wipe with force = true to lose them"
                    ),
                });
            }
            // Tell the server this session ends (offline: the tokens go
            // with the rest; an administrator can revoke the device).
            self.logout_now(cancel)?;
            let removed = self.replica().wipe()?;
            for folder in ["photos", "photo-cache"] {
                match std::fs::remove_dir_all(self.dir.join(folder)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!(folder, error = %e, "cannot remove a wiped folder"),
                }
            }
            *self.comment_index() = Default::default();
            tracing::warn!(
                documents = removed,
                docs,
                photos,
                "the phone's data was wiped"
            );
            self.publish_status();
            Ok(WipeReport {
                documents: removed as u64,
                unsynced_documents: docs as u64,
                unsynced_photos: photos as u64,
            })
        })
    }
}

#[uniffi::export]
impl JishiClient {
    /// Remove everything this phone holds for Jishi, as a fresh install:
    /// the records, the photos (own and cached), the session (logged out on
    /// the server when online) and the device identity (the next login is a
    /// new device). Refused with `Conflict(code = "unsynced")` while records
    /// or photos have not reached the server, unless `force` (they are
    /// lost). The client stays open and usable.
    #[uniffi::method(default(force = false))]
    pub async fn wipe(self: Arc<Self>, force: bool) -> Result<WipeReport, JishiError> {
        let stop = Cancel::new();
        let c = stop.clone();
        off_thread(stop, move || self.wipe_now(&c, force)).await
    }
}
