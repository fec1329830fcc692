//! Finished photo blobs and the documents that reference them.

use sqlx::Row;

use super::{now_ms, on_pool, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRow {
    pub sha256: String,
    pub size: i64,
    pub width: i64,
    pub height: i64,
    pub uploaded_by: String,
}

impl Store {
    /// Record a finished blob; a second upload of the same photo is a no-op.
    pub async fn insert_blob(&self, b: &BlobRow) -> Result<(), StoreError> {
        on_pool!(self.pool(), p => sqlx::query(
            "INSERT INTO blobs (sha256, size, width, height, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (sha256) DO NOTHING")
            .bind(&b.sha256).bind(b.size).bind(b.width).bind(b.height).bind(&b.uploaded_by).bind(now_ms())
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn blob(&self, sha: &str) -> Result<Option<BlobRow>, StoreError> {
        let row = on_pool!(self.pool(), p => sqlx::query(
            "SELECT sha256, size, width, height, uploaded_by FROM blobs WHERE sha256 = $1")
            .bind(sha).fetch_optional(p).await?
            .map(|r| Ok::<_, sqlx::Error>(BlobRow {
                sha256: r.try_get(0)?, size: r.try_get(1)?, width: r.try_get(2)?, height: r.try_get(3)?,
                uploaded_by: r.try_get(4)?,
            })).transpose())?;
        Ok(row)
    }

    /// The owners of the documents that reference a photo.
    pub async fn photo_owners(&self, sha: &str) -> Result<Vec<String>, StoreError> {
        let rows = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT DISTINCT owner_id FROM photo_refs WHERE sha256 = $1 ORDER BY owner_id")
            .bind(sha).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Blobs no document references, finished at or before `before_ms`.
    pub async fn unreferenced_blobs(&self, before_ms: i64) -> Result<Vec<String>, StoreError> {
        let rows = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT b.sha256 FROM blobs b WHERE b.created_at <= $1
             AND NOT EXISTS (SELECT 1 FROM photo_refs r WHERE r.sha256 = b.sha256)
             AND NOT EXISTS (SELECT 1 FROM publication_photos pp WHERE pp.sha256 = b.sha256) ORDER BY b.sha256")
            .bind(before_ms).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Forget a blob if it is still unreferenced; true if it was removed.
    pub async fn delete_unreferenced_blob(&self, sha: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self.pool(), p => sqlx::query(
            "DELETE FROM blobs WHERE sha256 = $1 AND NOT EXISTS (SELECT 1 FROM photo_refs r WHERE r.sha256 = $1)
             AND NOT EXISTS (SELECT 1 FROM publication_photos pp WHERE pp.sha256 = $1)")
            .bind(sha).execute(p).await?.rows_affected());
        Ok(n > 0)
    }
}
