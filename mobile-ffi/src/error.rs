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
    /// No valid session: show the login screen. Nothing unsynced is lost.
    /// `code`: `never_logged_in`, `logged_out`, `session_expired` (the
    /// refresh token ran out after a long time offline, or was revoked),
    /// `session_changed` (another login or logout happened meanwhile).
    #[error("login required ({code}): {detail}")]
    LoginRequired { code: String, detail: String },
    /// The account may not do this. `code`: `not_owner` (another cadre's
    /// record), `other_user_unsynced` (this phone holds another user's
    /// unsynced records), `events_refused`, or the server's code
    /// (`forbidden`, `device_revoked`, …).
    #[error("forbidden ({code}): {detail}")]
    Forbidden { code: String, detail: String },
    /// Bad input. `field` names what to fix (`date`, `text`, `time`, …);
    /// `code` the rule (the table in `mobile-ffi/README.md`: `too_long`
    /// with `limit` characters, `too_high`, `format`, `out_of_range`,
    /// `not_yet`, `empty`, `exists`, `position`, `too_many` with `limit`,
    /// `not_found`, `wrong_kind`, `photo_unreadable`, `photo_too_large`,
    /// `wrong_password`, …); `reason` says it in English for logs.
    #[error("invalid {field} ({code}): {reason}")]
    Validation {
        field: String,
        code: String,
        reason: String,
        limit: Option<u64>,
    },
    /// The phone's storage failed in another way (an I/O error).
    #[error("storage: {detail}")]
    Storage { detail: String },
    /// The phone's storage is full: free space, then try again.
    #[error("storage full: {detail}")]
    StorageFull { detail: String },
    /// The data folder's file is damaged.
    #[error("storage damaged: {detail}")]
    StorageDamaged { detail: String },
    /// The data folder was written by a newer version of the app: update.
    #[error("update the app: {detail}")]
    NeedsNewerApp { detail: String },
    /// The server stayed busy with other phones' syncs (Monday morning)
    /// through several waits: nothing was lost; call `sync()` again after
    /// `retry_after_secs` or later.
    #[error("server busy: sync again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// Too many attempts (logins, streams): wait `retry_after_secs`.
    #[error("too many attempts ({code}): wait {retry_after_secs} s: {detail}")]
    RateLimited {
        code: String,
        retry_after_secs: u64,
        detail: String,
    },
    /// The server refused a change that conflicts with its state (409;
    /// `code` says which, e.g. `device_revoked` at login: use a new device).
    #[error("conflict ({code}): {detail}")]
    Conflict { code: String, detail: String },
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
    /// Anything else (a bug, a server this version does not understand);
    /// `detail` says what.
    #[error("{detail}")]
    Other { detail: String },
}

impl JishiError {
    pub(crate) fn other(message: impl std::fmt::Display) -> Self {
        JishiError::Other {
            detail: message.to_string(),
        }
    }

    pub(crate) fn invalid_as(field: &str, code: &str, reason: impl Into<String>) -> Self {
        JishiError::Validation {
            field: field.to_owned(),
            code: code.to_owned(),
            reason: reason.into(),
            limit: None,
        }
    }

    pub(crate) fn login_required(code: &str, detail: impl Into<String>) -> Self {
        JishiError::LoginRequired {
            code: code.to_owned(),
            detail: detail.into(),
        }
    }

    pub(crate) fn forbidden(code: &str, detail: impl Into<String>) -> Self {
        JishiError::Forbidden {
            code: code.to_owned(),
            detail: detail.into(),
        }
    }
}

impl From<ValidationError> for JishiError {
    fn from(e: ValidationError) -> Self {
        JishiError::Validation {
            field: e.field,
            code: e.rule.code().to_owned(),
            reason: e.reason,
            limit: e.limit,
        }
    }
}

/// A parse error of an argument, named by the argument (its rule kept).
pub(crate) fn in_field(name: &str) -> impl FnOnce(ValidationError) -> JishiError + '_ {
    move |e| JishiError::Validation {
        field: name.to_owned(),
        code: e.rule.code().to_owned(),
        reason: e.reason,
        limit: e.limit,
    }
}

/// What a SQLite failure means to the user.
fn sqlite(e: &rusqlite::Error, detail: String) -> JishiError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => JishiError::StorageFull { detail },
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            JishiError::StorageDamaged { detail }
        }
        _ => JishiError::Storage { detail },
    }
}

impl From<CoreError> for JishiError {
    fn from(e: CoreError) -> Self {
        let detail = e.to_string();
        match e {
            CoreError::Validation(v) => v.into(),
            CoreError::Forbidden { .. } => JishiError::forbidden("not_owner", detail),
            CoreError::NotFound { what, .. } => JishiError::invalid_as(what, "not_found", detail),
            CoreError::WrongKind { .. } => JishiError::invalid_as("doc_id", "wrong_kind", detail),
            CoreError::TooMany { what, max, .. } => JishiError::Validation {
                field: what.to_owned(),
                code: "too_many".into(),
                reason: detail,
                limit: Some(max as u64),
            },
            CoreError::Photo(p) => {
                let code = match p {
                    sync_core::photo::PhotoError::TooLarge { .. } => "photo_too_large",
                    sync_core::photo::PhotoError::UnsupportedFormat(_) => "photo_format",
                    _ => "photo_unreadable",
                };
                JishiError::invalid_as("photo", code, detail)
            }
            CoreError::Storage(s) => sqlite(&s, detail),
            CoreError::NewerReplica { .. } => JishiError::NeedsNewerApp { detail },
            CoreError::Corrupt { .. } => JishiError::StorageDamaged { detail },
            CoreError::StorageSetup { .. } | CoreError::PhotoFile { .. } => {
                if detail.contains("No space left") || detail.contains("disk is full") {
                    JishiError::StorageFull { detail }
                } else {
                    JishiError::Storage { detail }
                }
            }
            CoreError::Unsettled { .. } | CoreError::NotFoundPhoto(_) | CoreError::Protocol(_) => {
                JishiError::Other { detail }
            }
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
                code: "invalid".into(),
                reason: "bad".into(),
                limit: None,
            }
        );
    }
}
