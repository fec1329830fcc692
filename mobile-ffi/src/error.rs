//! The one error the app sees. Each variant is something the app does
//! differently: wait for a network, show the login screen, tell the user
//! they may not, point at the field to fix, report the phone's storage, or
//! show a message. The text field is `detail` (not `message`, which
//! Kotlin exceptions reserve).

use sync_core::validate::ValidationError;
use sync_core::CoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum JishiError {
    /// No network, or the server cannot be reached or is failing: the work
    /// is kept and goes up on a later `sync()`.
    #[error("offline or server unreachable: {detail}")]
    Offline { detail: String },
    /// No valid session (never logged in, logged out, or the refresh token
    /// expired after a long time offline): show the login screen. Nothing
    /// unsynced is lost.
    #[error("login required: {detail}")]
    LoginRequired { detail: String },
    /// The account may not do this (another cadre's record, a role that may
    /// not comment, a revoked device).
    #[error("forbidden: {detail}")]
    Forbidden { detail: String },
    /// Bad input; `field` names what to fix (`date`, `text`, `time`, …).
    #[error("invalid {field}: {reason}")]
    Validation { field: String, reason: String },
    /// The phone's storage failed (disk full, damaged file).
    #[error("storage: {detail}")]
    Storage { detail: String },
    /// The server stayed busy with other phones' syncs (Monday morning)
    /// through several waits: nothing was lost; call `sync()` again after
    /// `retry_after_secs` or later.
    #[error("server busy: sync again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// The call was cancelled (its `CancelToken`, its coroutine or task,
    /// or `cancel_sync()`); what was done is kept.
    #[error("cancelled")]
    Cancelled,
    /// The call reached the deadline it was given; what was done is kept
    /// and the next call goes on from there.
    #[error("deadline reached")]
    DeadlineReached,
    /// The data folder is open in another process (an Android `:sync`
    /// process, an iOS extension): one process at a time.
    #[error("data folder in use: {detail}")]
    FolderInUse { detail: String },
    /// Anything else; `detail` says what.
    #[error("{detail}")]
    Other { detail: String },
}

impl JishiError {
    pub(crate) fn other(message: impl std::fmt::Display) -> Self {
        JishiError::Other {
            detail: message.to_string(),
        }
    }

    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        JishiError::Validation {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

impl From<ValidationError> for JishiError {
    fn from(e: ValidationError) -> Self {
        JishiError::Validation {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl From<CoreError> for JishiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Validation(v) => v.into(),
            CoreError::Forbidden { .. } => JishiError::Forbidden {
                detail: e.to_string(),
            },
            CoreError::NotFound { what, .. } => JishiError::Validation {
                field: what.to_owned(),
                reason: e.to_string(),
            },
            CoreError::WrongKind { .. } => JishiError::Validation {
                field: "doc_id".into(),
                reason: e.to_string(),
            },
            CoreError::TooMany { what, .. } => JishiError::Validation {
                field: what.to_owned(),
                reason: e.to_string(),
            },
            CoreError::Photo(p) => JishiError::Validation {
                field: "photo".into(),
                reason: p.to_string(),
            },
            CoreError::Storage(_)
            | CoreError::StorageSetup { .. }
            | CoreError::PhotoFile { .. }
            | CoreError::Corrupt { .. } => JishiError::Storage {
                detail: e.to_string(),
            },
            CoreError::NotFoundPhoto(_) | CoreError::Protocol(_) => JishiError::other(e),
        }
    }
}

/// Run an exported function's body so that no panic crosses the boundary:
/// a panic becomes [`JishiError::Other`].
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, JishiError>) -> Result<T, JishiError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            tracing::error!(panic = %what, "internal error caught at the FFI boundary");
            Err(JishiError::Other {
                detail: format!("internal error: {what}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error() {
        let r: Result<(), _> = guard(|| panic!("boom"));
        assert_eq!(
            r,
            Err(JishiError::Other {
                detail: "internal error: boom".into()
            })
        );
    }

    #[test]
    fn validation_keeps_its_field() {
        let e: JishiError = CoreError::Validation(ValidationError::new("date", "bad")).into();
        assert_eq!(
            e,
            JishiError::Validation {
                field: "date".into(),
                reason: "bad".into()
            }
        );
    }
}
