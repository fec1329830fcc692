//! The session kept on the phone (in the replica's `meta` table, inside the
//! app's private data folder): who is logged in, the device id, and the
//! tokens. Kept across restarts so the app works offline for days after one
//! login.

use serde::{Deserialize, Serialize};
use sync_core::replica::Replica;

use crate::error::JishiError;
use crate::types::Account;

const SESSION_KEY: &str = "ffi.session";
const DEVICE_KEY: &str = "ffi.device_id";
const LAST_SYNC_KEY: &str = "ffi.last_sync";
const DEVICE_CHECK_KEY: &str = "ffi.device_check";

/// Refresh the access token when it has less than this left.
pub const REFRESH_MARGIN_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    pub user_id: String,
    pub role: String,
    pub access_token: Option<String>,
    pub access_expires_at_ms: i64,
    pub refresh_token: Option<String>,
    /// When the refresh token runs out (a login is needed after that long
    /// offline); `None`: unknown (an older server).
    #[serde(default)]
    pub login_expires_at_ms: Option<i64>,
    /// The tokens are in the app's secret store, not here (see
    /// `secrets.rs`); `access_token` and `refresh_token` are `None` then.
    #[serde(default)]
    pub tokens_in_secret_store: bool,
}

impl StoredSession {
    pub fn account(&self, device_id: &str) -> Account {
        Account {
            user_id: self.user_id.clone(),
            role: self.role.clone(),
            device_id: device_id.to_owned(),
            needs_login: !self.can_renew(),
            login_expires_at_ms: self.login_expires_at_ms.filter(|_| self.can_renew()),
            became_new_device: None,
        }
    }

    /// Whether a refresh token is kept (here or in the secret store).
    pub fn can_renew(&self) -> bool {
        self.refresh_token.is_some() || self.tokens_in_secret_store
    }

    /// Forget the tokens but keep who the records belong to.
    pub fn signed_out(&self) -> Self {
        Self {
            access_token: None,
            refresh_token: None,
            access_expires_at_ms: 0,
            login_expires_at_ms: None,
            tokens_in_secret_store: false,
            ..self.clone()
        }
    }
}

fn storage(e: impl std::fmt::Display) -> JishiError {
    JishiError::Storage {
        detail: e.to_string(),
    }
}

pub fn load(replica: &Replica) -> Result<Option<StoredSession>, JishiError> {
    match replica.meta(SESSION_KEY)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(storage),
    }
}

pub fn save(replica: &mut Replica, s: &StoredSession) -> Result<(), JishiError> {
    let bytes = serde_json::to_vec(s).map_err(storage)?;
    replica.set_meta(SESSION_KEY, &bytes)?;
    Ok(())
}

/// This installation's device id, made on first use.
pub fn device_id(replica: &mut Replica) -> Result<String, JishiError> {
    if let Some(id) = replica.meta(DEVICE_KEY)? {
        return String::from_utf8(id).map_err(storage);
    }
    let id = format!("phone-{}", sync_core::ItemId::random());
    replica.set_meta(DEVICE_KEY, id.as_bytes())?;
    Ok(id)
}

/// The last `device_check` the server handed this device (none before its
/// first login, or from an older server).
pub fn device_check(replica: &Replica) -> Result<Option<String>, JishiError> {
    match replica.meta(DEVICE_CHECK_KEY)? {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => String::from_utf8(v).map(Some).map_err(storage),
    }
}

pub fn set_device_check(replica: &mut Replica, check: Option<&str>) -> Result<(), JishiError> {
    replica.set_meta(DEVICE_CHECK_KEY, check.unwrap_or("").as_bytes())?;
    Ok(())
}

/// Why this folder must become a new device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewDeviceReason {
    /// An administrator revoked the device (a lost phone found again).
    Revoked,
    /// The folder is an older copy of another phone's (restored from a
    /// backup, or cloned): the phone it came from goes on as that device.
    Copied,
}

impl NewDeviceReason {
    pub fn code(self) -> &'static str {
        match self {
            NewDeviceReason::Revoked => "device_revoked",
            NewDeviceReason::Copied => "device_copied",
        }
    }
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "device_revoked" => Some(NewDeviceReason::Revoked),
            "device_copied" => Some(NewDeviceReason::Copied),
            _ => None,
        }
    }
}

/// Become a new device: a new device id and actor, this replica's unsynced
/// changes moved to the new actor (`Replica::take_new_actor`), the old
/// device's tokens and check forgotten (the user id stays: the records are
/// still theirs). The next login registers the new device and the next
/// sync sends the moved changes. Returns the new device id.
pub fn become_new_device(
    replica: &mut Replica,
    reason: NewDeviceReason,
) -> Result<String, JishiError> {
    let old = device_id(replica)?;
    let moved = replica.take_new_actor()?;
    let id = format!("phone-{}", sync_core::ItemId::random());
    replica.set_meta(DEVICE_KEY, id.as_bytes())?;
    set_device_check(replica, None)?;
    tracing::warn!(
        old_device = %old,
        new_device = %id,
        reason = reason.code(),
        docs = moved.docs,
        changes = moved.changes,
        "became a new device; unsynced changes moved to its new actor"
    );
    Ok(id)
}

pub fn last_sync(replica: &Replica) -> Result<Option<crate::types::LastSync>, JishiError> {
    match replica.meta(LAST_SYNC_KEY)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(storage),
    }
}

pub fn set_last_sync(
    replica: &mut Replica,
    last: &crate::types::LastSync,
) -> Result<(), JishiError> {
    let bytes = serde_json::to_vec(last).map_err(storage)?;
    replica.set_meta(LAST_SYNC_KEY, &bytes)?;
    Ok(())
}
