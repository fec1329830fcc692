//! Photos on the server, one module for the one concept:
//!
//! - [`store`]: where the files live (a folder, or an S3 bucket for several
//!   instances), finished and half-uploaded;
//! - [`work`]: the image check and cleaning (`sync_core::photo_check`)
//!   under a budget of bytes in memory;
//! - [`upload`]: the resumable upload's steps, from a chunk to a checked,
//!   cleaned, stored photo;
//! - [`view`]: who may see which photo, and its file;
//! - [`http`]: a photo file as an HTTP answer (validators, digest), for the
//!   API and the web pages alike;
//! - [`gc`]: the hourly clean-up (unreferenced photos, photos stored before
//!   the server cleaned them).
//!
//! The photo rows (uploaders, references, publication) are SQL in
//! `storage/photos.rs`; the HTTP protocol is `routes/photos.rs` and
//! `docs/photo-upload.md`.

pub mod gc;
pub mod http;
pub mod store;
pub mod upload;
pub mod view;
pub mod work;

use crate::problem::{IntoProblem, Problem};
use crate::storage::StoreError;
use store::BlobError;
use work::ImageWorkError;

pub use store::{photo_key, thumb_key, BlobStore};

/// Why a photo step failed.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("the path must end in a SHA-256 of 64 lower-case hex digits")]
    BadHash,
    #[error("the bytes do not have the SHA-256 named in the path; upload again from 0")]
    HashMismatch,
    /// The image check refused the file (`PhotoCheckError::code`).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("another upload of this photo from this device is in progress")]
    UploadInProgress,
    /// No such photo, or not one the caller may see.
    #[error("no such photo")]
    NotFound,
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Work(ImageWorkError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ImageWorkError> for PhotoError {
    fn from(e: ImageWorkError) -> Self {
        match e {
            ImageWorkError::Refused(e) => PhotoError::Refused {
                code: e.code(),
                message: e.to_string(),
            },
            other => PhotoError::Work(other),
        }
    }
}

impl IntoProblem for PhotoError {
    fn into_problem(self) -> Problem {
        match self {
            PhotoError::BadHash => Problem::Invalid {
                code: "bad_hash",
                message: self.to_string(),
            },
            PhotoError::HashMismatch => Problem::Invalid {
                code: "hash_mismatch",
                message: self.to_string(),
            },
            PhotoError::Refused { code, message } => Problem::Invalid { code, message },
            PhotoError::UploadInProgress => Problem::Conflict {
                code: "conflict",
                message: self.to_string(),
            },
            PhotoError::NotFound => Problem::NotFound,
            PhotoError::Store(e) => e.into_problem(),
            PhotoError::Blob(e) => Problem::Internal(e.into()),
            PhotoError::Work(e) => Problem::Internal(e.into()),
        }
    }
}

crate::edge_error!(PhotoError);

impl From<crate::access::AccessError> for PhotoError {
    fn from(e: crate::access::AccessError) -> Self {
        match e {
            crate::access::AccessError::ScopeUnitMissing(_) => PhotoError::NotFound,
            crate::access::AccessError::Store(e) => PhotoError::Store(e),
        }
    }
}

/// A photo's name from a path: its SHA-256 in lower-case hex.
pub fn parse_hash(s: &str) -> Result<String, PhotoError> {
    sync_core::validate::PhotoHash::parse(s)
        .map(|h| h.to_string())
        .map_err(|_| PhotoError::BadHash)
}
