//! The SQL of `jishi backup` and `jishi restore`: a consistent copy of the
//! SQLite database while the server runs, the photos a backup must carry,
//! and what a restored database changes so that phones resync the rest.

use std::path::Path;

use super::{on_pool, Pool, Store, StoreError};

/// What a backup holds, counted in its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub documents: i64,
    pub changes: i64,
    pub users: i64,
    pub blobs: i64,
}

impl Store {
    /// Write a consistent copy of the SQLite database to `path` (which must
    /// not exist) while others keep reading and writing: `VACUUM INTO` runs
    /// in one read transaction, so the copy is the database as of one
    /// commit. `None` on PostgreSQL (use `pg_dump`).
    pub async fn snapshot_sqlite(&self, path: &Path) -> Result<Option<()>, StoreError> {
        let Pool::Sqlite(p) = self.pool() else {
            return Ok(None);
        };
        let target = path.to_str().ok_or_else(|| StoreError::Corrupt {
            doc: path.display().to_string(),
            reason: "the backup path is not UTF-8".into(),
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(p)
            .await?;
        Ok(Some(()))
    }

    /// Every finished photo the database knows, by hash.
    pub async fn blob_hashes(&self) -> Result<Vec<String>, StoreError> {
        Ok(on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT sha256 FROM blobs ORDER BY sha256").fetch_all(p).await)?)
    }

    pub async fn counts(&self) -> Result<Counts, StoreError> {
        let count = |table: &'static str| async move {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            Ok::<i64, StoreError>(
                on_pool!(self.pool(), p => sqlx::query_scalar(&sql).fetch_one(p).await)?,
            )
        };
        Ok(Counts {
            documents: count("documents").await?,
            changes: count("change_log").await?,
            users: count("users").await?,
            blobs: count("blobs").await?,
        })
    }

    /// Whether the database holds no users and no documents (a restore
    /// target).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let c = self.counts().await?;
        Ok(c.users == 0 && c.documents == 0)
    }

    /// Make a restored database safe for phones that synced after the
    /// backup was made. Those phones hold cursors beyond the backup's
    /// sequence and sync states that claim the server has changes it lost.
    /// So: the documents are renumbered, in order, from `base` on (above any
    /// cursor a phone can hold), and the server forgets every device's
    /// sync state. Each phone's next sync then receives every document of
    /// its scope as at its first sync, sees that the server lacks its later
    /// changes, and sends them. Refresh tokens issued after the backup are
    /// unknown to it; those phones log in again.
    pub async fn prepare_restored(&self, base: i64) -> Result<(), StoreError> {
        let _writer = self.writer().await;
        on_pool!(self.pool(), p => {
            let mut tx = p.begin_with(self.pool().begin_statement()).await?;
            let (floor, top): (i64, i64) = sqlx::query_as(
                "SELECT COALESCE((SELECT MIN(seq) FROM documents), value), value FROM change_seq WHERE id = 1")
                .fetch_one(&mut *tx).await?;
            let shift = base.saturating_sub(floor).max(0);
            sqlx::query("UPDATE documents SET seq = seq + $1").bind(shift).execute(&mut *tx).await?;
            sqlx::query("UPDATE change_seq SET value = $1 WHERE id = 1").bind(top + shift).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM peer_states").execute(&mut *tx).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// The current value of the change sequence (tests).
    pub async fn change_seq(&self) -> Result<i64, StoreError> {
        Ok(
            on_pool!(self.pool(), p => sqlx::query_scalar("SELECT value FROM change_seq WHERE id = 1")
            .fetch_one(p).await)?,
        )
    }
}

/// Whether the PostgreSQL database at `url` has no tables of its own (a
/// restore target), checked before migrations would create them.
pub async fn postgres_is_blank(url: &str) -> Result<bool, StoreError> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_one(&pool)
    .await?;
    pool.close().await;
    Ok(tables == 0)
}

impl Store {
    /// What the sync commit writes, summarised: the row count of each of
    /// its tables, the change sequence, and every document's heads and
    /// sequence number. Equal fingerprints mean nothing was stored (the
    /// crash-point tests).
    pub async fn commit_fingerprint(&self) -> Result<Vec<String>, StoreError> {
        use sqlx::Row;
        let mut out = Vec::new();
        for table in [
            "documents",
            "change_log",
            "peer_states",
            "diary_entries",
            "night_activities",
            "night_stays",
            "plan_tasks",
            "photo_refs",
            "items",
            "doc_participants",
            "cadre_status",
            "diary_status",
        ] {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar(&sql).fetch_one(p).await)?;
            out.push(format!("{table}: {n}"));
        }
        out.push(format!("change_seq: {}", self.change_seq().await?));
        let rows: Vec<String> = on_pool!(self.pool(), p => sqlx::query(
            "SELECT doc_id, heads, seq FROM documents ORDER BY doc_id").fetch_all(p).await?.into_iter()
            .map(|r| Ok::<_, sqlx::Error>(format!("{} {} {}",
                r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?, r.try_get::<i64, _>(2)?)))
            .collect::<Result<Vec<_>, _>>())?;
        out.extend(rows);
        Ok(out)
    }
}
