//! Finished photo blobs, the accounts that uploaded them, and the documents
//! that reference them.

use sqlx::Row;

use super::{now_ms, on_pool, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRow {
    /// The photo's name: the SHA-256 of the bytes uploaded.
    pub sha256: String,
    /// Bytes uploaded (what `Upload-Offset` reports once complete).
    pub size: i64,
    /// Upright.
    pub width: i64,
    pub height: i64,
    /// The first uploader.
    pub uploaded_by: String,
    /// SHA-256 of the file stored and served (no metadata, upright); `None`
    /// for a photo stored as uploaded before the server cleaned photos.
    pub stored_sha256: Option<String>,
}

impl Store {
    /// Record a finished blob and its uploader; a second upload of the same
    /// photo adds only the uploader.
    pub async fn insert_blob(&self, b: &BlobRow) -> Result<(), StoreError> {
        let _writer = self.writer().await;
        on_pool!(self.pool(), p => async {
            let mut tx = p.begin_with(self.pool().begin_statement()).await?;
            sqlx::query(
                "INSERT INTO blobs (sha256, size, width, height, uploaded_by, created_at, stored_sha256)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING")
                .bind(&b.sha256).bind(b.size).bind(b.width).bind(b.height).bind(&b.uploaded_by)
                .bind(now_ms()).bind(&b.stored_sha256)
                .execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO blob_uploaders (sha256, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&b.sha256).bind(&b.uploaded_by)
                .execute(&mut *tx).await?;
            tx.commit().await
        }.await)?;
        Ok(())
    }

    /// `user` sent all of the photo's bytes too.
    pub async fn add_uploader(&self, sha: &str, user: &str) -> Result<(), StoreError> {
        on_pool!(self.pool(), p => sqlx::query(
            "INSERT INTO blob_uploaders (sha256, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(sha).bind(user).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Whether `user` sent all of the photo's bytes.
    pub async fn is_uploader(&self, sha: &str, user: &str) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM blob_uploaders WHERE sha256 = $1 AND user_id = $2")
            .bind(sha).bind(user).fetch_one(p).await)?;
        Ok(n > 0)
    }

    pub async fn blob(&self, sha: &str) -> Result<Option<BlobRow>, StoreError> {
        let row = on_pool!(self.pool(), p => sqlx::query(
            "SELECT sha256, size, width, height, uploaded_by, stored_sha256 FROM blobs WHERE sha256 = $1")
            .bind(sha).fetch_optional(p).await?
            .map(|r| Ok::<_, sqlx::Error>(BlobRow {
                sha256: r.try_get(0)?, size: r.try_get(1)?, width: r.try_get(2)?, height: r.try_get(3)?,
                uploaded_by: r.try_get(4)?, stored_sha256: r.try_get(5)?,
            })).transpose())?;
        Ok(row)
    }

    /// A photo stored as uploaded is now stored clean.
    pub async fn set_blob_cleaned(
        &self,
        sha: &str,
        stored_sha256: &str,
        width: i64,
        height: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self.pool(), p => sqlx::query(
            "UPDATE blobs SET stored_sha256 = $2, width = $3, height = $4 WHERE sha256 = $1")
            .bind(sha).bind(stored_sha256).bind(width).bind(height).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Photos still stored as uploaded (before the server cleaned photos).
    pub async fn uncleaned_blobs(&self, limit: i64) -> Result<Vec<String>, StoreError> {
        let rows = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT sha256 FROM blobs WHERE stored_sha256 IS NULL ORDER BY sha256 LIMIT $1")
            .bind(limit).fetch_all(p).await)?;
        Ok(rows)
    }

    /// The documents that reference a photo where whose reference it is
    /// (the record's owner, or the author of an item's step) uploaded it
    /// themselves, as (document, that person): the readers of those
    /// documents may see it. A reference by anyone else grants nothing.
    pub async fn photo_owners(&self, sha: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows = on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT r.doc_id, r.owner_id FROM photo_refs r
             JOIN blob_uploaders u ON u.sha256 = r.sha256 AND u.user_id = r.owner_id
             WHERE r.sha256 = $1 ORDER BY r.doc_id")
            .bind(sha).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Blobs no document references, finished at or before `before_ms`.
    pub async fn unreferenced_blobs(&self, before_ms: i64) -> Result<Vec<String>, StoreError> {
        let rows = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT b.sha256 FROM blobs b WHERE b.created_at <= $1
             AND NOT EXISTS (SELECT 1 FROM photo_refs r WHERE r.sha256 = b.sha256)
             AND NOT EXISTS (SELECT 1 FROM publication_photos pp WHERE pp.sha256 = b.sha256)
             AND NOT EXISTS (SELECT 1 FROM publication_version_photos vp WHERE vp.sha256 = b.sha256)
             AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.photo_sha = b.sha256)
             ORDER BY b.sha256")
            .bind(before_ms).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Forget a blob (and its uploaders) if it is still unreferenced; true
    /// if it was removed.
    pub async fn delete_unreferenced_blob(&self, sha: &str) -> Result<bool, StoreError> {
        let _writer = self.writer().await;
        let n = on_pool!(self.pool(), p => async {
            let mut tx = p.begin_with(self.pool().begin_statement()).await?;
            let n = sqlx::query(
                "DELETE FROM blobs WHERE sha256 = $1 AND NOT EXISTS (SELECT 1 FROM photo_refs r WHERE r.sha256 = $1)
                 AND NOT EXISTS (SELECT 1 FROM publication_photos pp WHERE pp.sha256 = $1)
                 AND NOT EXISTS (SELECT 1 FROM publication_version_photos vp WHERE vp.sha256 = $1)
                 AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.photo_sha = $1)")
                .bind(sha).execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                sqlx::query("DELETE FROM blob_uploaders WHERE sha256 = $1")
                    .bind(sha).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        }.await)?;
        Ok(n > 0)
    }
}
