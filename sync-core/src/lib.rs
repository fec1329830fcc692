//! `sync-core`: the Jishi documents, the phone's replica store and the sync
//! protocol, shared by the phone (through `mobile-ffi`) and the server.
//!
//! Architecture invariants:
//! - No web framework, no server database, no UniFFI here; the crate builds
//!   for Android and iOS.
//! - [`document`], [`protocol`], [`session`], [`upload`], [`photo`],
//!   [`photo_check`] and [`photo_strip`] do no I/O: they turn bytes and
//!   edits into bytes and values. Only [`replica`] touches a file.
//! - No panic escapes: Automerge calls on bytes from outside run contained,
//!   and become [`CoreError`] values; so do image decoders on camera files
//!   and on uploads.
//! - Phone-only parts are features, on by default: `replica` (the SQLite
//!   file) and `photo-prepare` (EXIF, resizing camera files). The server
//!   builds without them.

pub mod china;
pub mod document;
#[cfg(feature = "replica")]
mod draft;
pub mod error;
pub mod ids;
pub mod memory;
#[cfg(feature = "photo-prepare")]
pub mod photo;
pub mod photo_check;
pub mod photo_strip;
pub mod protocol;
#[cfg(feature = "replica")]
pub mod replica;
pub mod session;
pub mod upload;
pub mod validate;

pub use document::{Actor, Document, Edit, EditContext, Record};
pub use error::CoreError;
pub use ids::{DocId, DocKind, ItemId, Role, UserId};
