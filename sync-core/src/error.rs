//! The one error type of `sync-core`.
//!
//! Variants are what a caller can act on: a rule broken by the input
//! (`Validation`), bytes that are not a document or message (`Corrupt`,
//! `Protocol`), an operation on the wrong kind of document or a missing item
//! (`WrongKind`, `NotFound`), a camera file that cannot be made into a photo
//! (`Photo`), and the phone's storage failing (`Storage`, `PhotoFile`).

use crate::ids::{DocId, DocKind};
#[cfg(feature = "photo-prepare")]
use crate::photo::PhotoError;
use crate::protocol::DecodeError;
use crate::validate::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("invalid input: {0}")]
    Validation(#[from] ValidationError),

    #[error("document {doc}: {reason}")]
    Corrupt { doc: String, reason: String },

    #[error("sync batch: {0}")]
    Protocol(#[from] DecodeError),

    #[error("{doc} is a {actual:?} document; this operation needs a {expected:?}")]
    WrongKind {
        doc: DocId,
        expected: DocKind,
        actual: DocKind,
    },

    #[error("{what} {id} not found in {doc}")]
    NotFound {
        doc: DocId,
        what: &'static str,
        id: String,
    },

    #[error("{doc}: {reason}")]
    Forbidden { doc: DocId, reason: String },

    #[error("{doc}: too many {what} (at most {max})")]
    TooMany {
        doc: DocId,
        what: &'static str,
        max: usize,
    },

    #[error("photo {0} is not in the outbox")]
    NotFoundPhoto(String),

    #[cfg(feature = "replica")]
    #[error("replica storage: {0}")]
    Storage(#[from] rusqlite::Error),

    #[error("replica storage at {path}: {reason}")]
    StorageSetup { path: String, reason: String },

    #[cfg(feature = "photo-prepare")]
    #[error("photo: {0}")]
    Photo(#[from] PhotoError),

    /// The replica file was written by a newer app version: update the app.
    #[error(
        "the replica has schema version {found}, newer than this app ({known}); update the app"
    )]
    NewerReplica { found: i64, known: i64 },

    /// A sync session used its round trips without settling (a very large
    /// first sync): what it brought is kept; the next session goes on.
    #[error("the sync did not settle in {rounds} round trips; sync again to go on")]
    Unsettled { rounds: u32 },

    /// Writing a photo file next to the replica failed (disk full, ...).
    #[error("photo file {path}: {reason}")]
    PhotoFile { path: String, reason: String },
}

impl CoreError {
    pub(crate) fn corrupt(doc: impl ToString, reason: impl ToString) -> Self {
        CoreError::Corrupt {
            doc: doc.to_string(),
            reason: reason.to_string(),
        }
    }
}
