//! Keeping the session's tokens in the platform's secret store (Android
//! Keystore-backed EncryptedSharedPreferences, the iOS Keychain) instead of
//! the replica's SQLite file, through a trait the app implements.
//!
//! With a store set, the tokens are written to it under a key unique to the
//! data folder, and the replica keeps only that they are there. A folder
//! restored on another phone finds no tokens (secret stores are not in
//! backups): its user logs in again, and the device check tells it apart
//! from the phone it came from (see the README's identity section).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sync_core::replica::Replica;

use crate::account::{self, StoredSession};
use crate::client::JishiClient;
use crate::error::{guard, JishiError};

const SECRET_ID_KEY: &str = "ffi.secret_id";

/// The platform's secret store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum SecretError {
    #[error("the secret store failed: {detail}")]
    Unavailable { detail: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SecretError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        SecretError::Unavailable { detail: e.reason }
    }
}

/// Where the app keeps secrets: Android Keystore (e.g. through
/// EncryptedSharedPreferences), the iOS Keychain
/// (`kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`, so a background
/// sync can read it and it never leaves the phone). Called from the
/// library's threads; each call is quick and local.
#[uniffi::export(with_foreign)]
pub trait SecretStore: Send + Sync {
    /// The value kept under `key`, if any.
    fn load(&self, key: String) -> Result<Option<Vec<u8>>, SecretError>;
    /// Keep `value` under `key` (replacing what was there), or remove the
    /// key (`None`).
    fn store(&self, key: String, value: Option<Vec<u8>>) -> Result<(), SecretError>;
}

#[derive(Serialize, Deserialize)]
struct Tokens {
    access_token: Option<String>,
    refresh_token: Option<String>,
}

fn unavailable(e: SecretError) -> JishiError {
    JishiError::Storage {
        detail: e.to_string(),
    }
}

/// This folder's key in the secret store, made on first use.
fn key_of(replica: &mut Replica) -> Result<String, JishiError> {
    let id = match replica.meta(SECRET_ID_KEY)? {
        Some(id) => String::from_utf8_lossy(&id).into_owned(),
        None => {
            let id = sync_core::ItemId::random().as_str().to_owned();
            replica.set_meta(SECRET_ID_KEY, id.as_bytes())?;
            id
        }
    };
    Ok(format!("jishi-session-{id}"))
}

impl JishiClient {
    /// Become a new device ([`account::become_new_device`]) and forget the
    /// old device's tokens wherever they are kept: the session stays (user,
    /// server), signed out.
    pub(crate) fn become_new_device(
        &self,
        reason: account::NewDeviceReason,
    ) -> Result<String, JishiError> {
        let mut r = self.replica();
        let device = account::become_new_device(&mut r, reason)?;
        if let Some(session) = self.load_session(&mut r)? {
            self.save_session(&mut r, &session.signed_out())?;
        }
        Ok(device)
    }

    fn secret_store(&self) -> Option<Arc<dyn SecretStore>> {
        self.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The session with its tokens, wherever they are kept.
    pub(crate) fn load_session(
        &self,
        replica: &mut Replica,
    ) -> Result<Option<StoredSession>, JishiError> {
        let Some(mut s) = account::load(replica)? else {
            return Ok(None);
        };
        if s.tokens_in_secret_store {
            let tokens = match self.secret_store() {
                Some(store) => store.load(key_of(replica)?).map_err(unavailable)?,
                None => None,
            };
            let tokens: Option<Tokens> = tokens.and_then(|b| serde_json::from_slice(&b).ok());
            s.access_token = tokens.as_ref().and_then(|t| t.access_token.clone());
            s.refresh_token = tokens.and_then(|t| t.refresh_token);
            s.tokens_in_secret_store = false;
        }
        Ok(Some(s))
    }

    /// Keep `session`: its tokens in the secret store when the app gave
    /// one, the rest in the replica.
    pub(crate) fn save_session(
        &self,
        replica: &mut Replica,
        session: &StoredSession,
    ) -> Result<(), JishiError> {
        let Some(store) = self.secret_store() else {
            return account::save(replica, session);
        };
        let key = key_of(replica)?;
        let has_tokens = session.access_token.is_some() || session.refresh_token.is_some();
        let value = if has_tokens {
            let t = Tokens {
                access_token: session.access_token.clone(),
                refresh_token: session.refresh_token.clone(),
            };
            Some(serde_json::to_vec(&t).map_err(|e| JishiError::other(e.to_string()))?)
        } else {
            None
        };
        store.store(key, value).map_err(unavailable)?;
        let kept = StoredSession {
            access_token: None,
            refresh_token: None,
            tokens_in_secret_store: has_tokens,
            ..session.clone()
        };
        account::save(replica, &kept)
    }
}

#[uniffi::export]
impl JishiClient {
    /// Keep the session's tokens in the platform's secret store from now
    /// on (call right after `open`, every time the app starts: the library
    /// does not remember the store). Tokens already in the replica's file
    /// move to it and are removed from the file.
    pub fn set_secret_store(&self, store: Arc<dyn SecretStore>) -> Result<(), JishiError> {
        guard(|| {
            let mut r = self.replica();
            *self.secrets.lock().unwrap_or_else(|p| p.into_inner()) = Some(store);
            // Tokens still in the file move; tokens already in a store stay
            // where they are (found or not: this store may not have them).
            if let Some(session) = account::load(&r)?.filter(|s| s.refresh_token.is_some()) {
                self.save_session(&mut r, &session)?;
            }
            Ok(())
        })
    }
}
