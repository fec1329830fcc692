//! The photos' share of the hourly clean-up (`jobs.rs`).

use super::upload::clean_stored;
use super::{photo_key, thumb_key, PhotoError};
use crate::state::AppState;

/// Remove photos no document references, finished more than `grace_ms` ago.
pub async fn collect_garbage(state: &AppState, grace_ms: i64) -> Result<usize, PhotoError> {
    let before = crate::storage::now_ms() - grace_ms;
    let mut removed = 0;
    for sha in state.store.unreferenced_blobs(before).await? {
        if state.store.delete_unreferenced_blob(&sha).await? {
            state.blobs.delete(&photo_key(&sha)).await?;
            state.blobs.delete(&thumb_key(&sha)).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Clean up to `limit` photos stored as uploaded (a photo asked for is
/// cleaned at once). Returns how many were cleaned.
pub async fn clean_stored_photos(state: &AppState, limit: i64) -> Result<usize, PhotoError> {
    let mut cleaned = 0;
    for sha in state.store.uncleaned_blobs(limit).await? {
        if let Some(blob) = state.store.blob(&sha).await? {
            if clean_stored(state, &blob).await?.is_some() {
                cleaned += 1;
            }
        }
    }
    Ok(cleaned)
}
