//! Who may see a photo, and which file answers: the original to its
//! uploaders and to whoever may read a document that references it and
//! whose owner (in an item: the author of the step showing it) uploaded
//! it; the thumbnail also to anyone once a publication shows it. Otherwise
//! "not found", as for a photo that does not exist.

use super::upload::clean_stored;
use super::{photo_key, thumb_key, PhotoError};
use crate::access::{may_read, may_read_doc, read_scope};
use crate::state::AppState;
use crate::storage::{BlobRow, User};

/// Which file of a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoSize {
    /// The photo as stored (cleaned), at the size it was uploaded.
    Original,
    /// Long edge 320 px: what a publication shows.
    Thumbnail,
}

/// One file of a photo, found and allowed: where it is and its validators.
#[derive(Debug, Clone)]
pub struct PhotoFile {
    pub key: String,
    /// The HTTP validator: the hash of what is served (the original's is
    /// the photo's name when the upload was clean already).
    pub etag: String,
    /// SHA-256 (hex) of the served bytes, for the original.
    pub digest: Option<String>,
}

impl PhotoFile {
    /// The file of `blob` at `size`.
    pub fn of(blob: &BlobRow, size: PhotoSize) -> Self {
        let sha = &blob.sha256;
        let stored = blob.stored_sha256.as_deref().unwrap_or(sha);
        match size {
            PhotoSize::Original => PhotoFile {
                key: photo_key(sha),
                etag: format!("\"{stored}\""),
                digest: Some(stored.to_owned()),
            },
            PhotoSize::Thumbnail => PhotoFile {
                key: thumb_key(sha),
                etag: format!("\"{sha}-t\""),
                digest: None,
            },
        }
    }
}

/// The photo's row, if `user` may see it at this size.
async fn may_view(
    state: &AppState,
    user: &User,
    sha: &str,
    size: PhotoSize,
) -> Result<BlobRow, PhotoError> {
    let blob = state.store.blob(sha).await?.ok_or(PhotoError::NotFound)?;
    if state.store.is_uploader(sha, &user.id).await?
        || (size == PhotoSize::Thumbnail && state.store.photo_is_published(sha).await?)
    {
        return Ok(blob);
    }
    let scope = read_scope(&state.store, user).await?;
    for (doc, owner) in state.store.photo_owners(sha).await? {
        // A record: whoever may read its owner's. An item: whoever may
        // read the item (those named on it, and those over its
        // responsible person), whoever's step the photo is in.
        let readable = match sync_core::DocId::parse(&doc) {
            Ok(id) if id.owner().is_none() => may_read_doc(&state.store, &scope, &id).await?,
            _ => may_read(&state.store, &scope, &owner).await?,
        };
        if readable {
            return Ok(blob);
        }
    }
    Err(PhotoError::NotFound)
}

/// The file of photo `sha` at `size` for `user`, if they may see it. A
/// photo stored before photos were cleaned is cleaned first.
pub async fn open(
    state: &AppState,
    user: &User,
    sha: &str,
    size: PhotoSize,
) -> Result<PhotoFile, PhotoError> {
    let sha = super::parse_hash(sha)?;
    let blob = may_view(state, user, &sha, size).await?;
    let blob = match &blob.stored_sha256 {
        Some(_) => blob,
        None => clean_stored(state, &blob)
            .await?
            .ok_or(PhotoError::NotFound)?,
    };
    Ok(PhotoFile::of(&blob, size))
}
