//! The resumable upload's steps (protocol: `docs/photo-upload.md`, the
//! header decisions `sync_core::upload`): one writer per device and photo,
//! chunks appended to the staged file, and at the last chunk the hash
//! checked, the image checked and cleaned under the image budget, and the
//! clean files stored before the row that says the photo is there.

use std::collections::HashSet;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::work::{Checked, FileTurn, ImageWorkError};
use super::{photo_key, thumb_key, PhotoError};
use crate::state::AppState;
use crate::storage::BlobRow;

/// Largest chunk one PATCH may carry.
pub const MAX_CHUNK: usize = 1024 * 1024;
/// Chunk bodies held in memory at once, whoever sends them: a PATCH
/// reserves what it declares before its body is read, and waits its turn
/// past this.
pub const UPLOAD_BYTES_IN_MEMORY: usize = 32 * MAX_CHUNK;

/// Uploads being written right now, (device, sha): one writer each.
#[derive(Debug, Default)]
pub struct UploadsInProgress(Mutex<HashSet<(String, String)>>);

/// The right to write one device's upload of one photo, until dropped.
pub struct UploadGuard<'a> {
    set: &'a UploadsInProgress,
    key: (String, String),
}

impl<'a> UploadGuard<'a> {
    pub fn take(set: &'a UploadsInProgress, device: &str, sha: &str) -> Result<Self, PhotoError> {
        let key = (device.to_owned(), sha.to_owned());
        let mut held = set.0.lock().unwrap_or_else(|p| p.into_inner());
        if !held.insert(key.clone()) {
            return Err(PhotoError::UploadInProgress);
        }
        Ok(Self { set, key })
    }
}

impl Drop for UploadGuard<'_> {
    fn drop(&mut self) {
        let mut held = self.set.0.lock().unwrap_or_else(|p| p.into_inner());
        held.remove(&self.key);
    }
}

/// The photo, if the account `user` has sent all of its bytes: then
/// nothing needs sending. Someone else's upload does not count: the bytes
/// are the proof that the account holds the photo, and what its documents
/// may show.
pub async fn uploaded_by(
    state: &AppState,
    user: &str,
    sha: &str,
) -> Result<Option<BlobRow>, PhotoError> {
    match state.store.blob(sha).await? {
        Some(blob) if state.store.is_uploader(sha, user).await? => Ok(Some(blob)),
        _ => Ok(None),
    }
}

/// The last chunk has arrived: check the hash, then the image, and store
/// the clean photo for `user` (or record `user` as another uploader of a
/// photo stored already). The staged file is discarded either way.
pub async fn finish(
    state: &AppState,
    user: &str,
    device: &str,
    sha: &str,
    length: u64,
) -> Result<BlobRow, PhotoError> {
    // Room for the file before it is read: the image work's memory is a
    // budget of bytes (`work.rs`).
    let turn = state.image_budget.file_turn(length).await?;
    let bytes = state.blobs.read_staged(device, sha).await?;
    let discard = || async {
        if let Err(e) = state.blobs.discard_staged(device, sha).await {
            tracing::warn!(sha, error = %e, "cannot discard a staged upload");
        }
    };
    if hex::encode(Sha256::digest(&bytes)) != sha {
        drop(turn);
        discard().await;
        return Err(PhotoError::HashMismatch);
    }
    if let Some(blob) = state.store.blob(sha).await? {
        // Another account's upload of the same photo finished first: these
        // bytes prove that this account holds the photo too.
        drop(turn);
        state.store.add_uploader(sha, user).await?;
        discard().await;
        return Ok(blob);
    }
    let checked = match check(state, turn, bytes).await {
        Ok(c) => c,
        Err(e) => {
            discard().await;
            return Err(e.into());
        }
    };
    let blob = store_checked(state, sha, length, user, checked).await?;
    discard().await;
    Ok(blob)
}

/// Check and clean a photo's bytes, the rest of the memory it needs held
/// first (`work.rs`).
async fn check(
    state: &AppState,
    turn: FileTurn,
    bytes: Vec<u8>,
) -> Result<Checked, ImageWorkError> {
    let limits = state.photo_limits;
    let (bytes, turn) = turn.plan(bytes, limits).await?;
    turn.check(bytes, limits).await
}

/// Store a checked photo's clean file and thumbnail under its name: the
/// clean file's hash and the size.
async fn write_files(
    state: &AppState,
    sha: &str,
    checked: Checked,
) -> Result<(String, i64, i64), PhotoError> {
    let stored_sha256 = hex::encode(Sha256::digest(&checked.stored));
    let (width, height) = (i64::from(checked.width), i64::from(checked.height));
    state.blobs.put(&photo_key(sha), checked.stored).await?;
    state.blobs.put(&thumb_key(sha), checked.thumbnail).await?;
    Ok((stored_sha256, width, height))
}

/// Write a checked photo's files, then its row: the row is what says the
/// photo is there.
async fn store_checked(
    state: &AppState,
    sha: &str,
    length: u64,
    uploader: &str,
    checked: Checked,
) -> Result<BlobRow, PhotoError> {
    tracing::info!(
        sha,
        cleaning = checked.cleaning.as_str(),
        uploaded = length,
        stored = checked.stored.len(),
        "photo stored"
    );
    let (stored_sha256, width, height) = write_files(state, sha, checked).await?;
    let blob = BlobRow {
        sha256: sha.to_owned(),
        size: length as i64,
        width,
        height,
        uploaded_by: uploader.to_owned(),
        stored_sha256: Some(stored_sha256),
    };
    state.store.insert_blob(&blob).await?;
    Ok(blob)
}

/// Clean a photo stored as uploaded (before the server cleaned photos):
/// the same check as an upload, its files replaced by the clean ones. A
/// photo the check now refuses is withheld (`None`).
pub async fn clean_stored(state: &AppState, blob: &BlobRow) -> Result<Option<BlobRow>, PhotoError> {
    let sha = blob.sha256.as_str();
    let turn = state.image_budget.file_turn(blob.size as u64).await?;
    let Some(bytes) = state.blobs.get(&photo_key(sha)).await? else {
        return Ok(None);
    };
    let checked = match check(state, turn, bytes).await {
        Ok(c) => c,
        Err(ImageWorkError::Refused(e)) => {
            tracing::warn!(sha, error = %e, "a photo stored before photos were cleaned fails the check; withheld");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let (stored_sha256, width, height) = write_files(state, sha, checked).await?;
    state
        .store
        .set_blob_cleaned(sha, &stored_sha256, width, height)
        .await?;
    Ok(Some(BlobRow {
        width,
        height,
        stored_sha256: Some(stored_sha256),
        ..blob.clone()
    }))
}
