//! Stored weekly publications and the photos they make public.

use sqlx::Row;

use super::{on_pool, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationRow {
    pub unit_id: String,
    pub week: String,
    pub title: String,
    /// The publication as JSON.
    pub content: String,
    /// `{doc_id: [head, …]}` as JSON: what it was made from.
    pub heads: String,
    pub created_at: i64,
}

impl Store {
    /// Store a publication unless one exists for the unit and week; true if
    /// this call stored it. The photos go in the same transaction.
    pub async fn insert_publication(
        &self,
        p: &PublicationRow,
        photos: &[&str],
    ) -> Result<bool, StoreError> {
        let _writer = self.writer().await;
        let inserted = on_pool!(self.pool(), pool => {
            async {
                let mut tx = pool.begin_with(self.pool().begin_statement()).await?;
                let n = sqlx::query(
                    "INSERT INTO publications (unit_id, week, title, content, heads, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (unit_id, week) DO NOTHING")
                    .bind(&p.unit_id).bind(&p.week).bind(&p.title).bind(&p.content).bind(&p.heads)
                    .bind(p.created_at)
                    .execute(&mut *tx).await?.rows_affected();
                if n == 1 {
                    for sha in photos {
                        sqlx::query("INSERT INTO publication_photos (unit_id, week, sha256) VALUES ($1, $2, $3)
                                     ON CONFLICT DO NOTHING")
                            .bind(&p.unit_id).bind(&p.week).bind(*sha).execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(n == 1)
            }.await
        })?;
        Ok(inserted)
    }

    pub async fn publication(
        &self,
        unit_id: &str,
        week: &str,
    ) -> Result<Option<PublicationRow>, StoreError> {
        let row = on_pool!(self.pool(), p => sqlx::query(
            "SELECT unit_id, week, title, content, heads, created_at FROM publications
             WHERE unit_id = $1 AND week = $2")
            .bind(unit_id).bind(week).fetch_optional(p).await?
            .map(|r| Ok::<_, sqlx::Error>(PublicationRow {
                unit_id: r.try_get(0)?, week: r.try_get(1)?, title: r.try_get(2)?,
                content: r.try_get(3)?, heads: r.try_get(4)?, created_at: r.try_get(5)?,
            })).transpose())?;
        Ok(row)
    }

    /// Is this photo shown by any publication?
    pub async fn photo_is_published(&self, sha: &str) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM publication_photos WHERE sha256 = $1")
            .bind(sha).fetch_one(p).await)?;
        Ok(n > 0)
    }

    /// Is this photo shown by this publication?
    pub async fn photo_in_publication(
        &self,
        unit_id: &str,
        week: &str,
        sha: &str,
    ) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM publication_photos WHERE sha256 = $1 AND unit_id = $2 AND week = $3")
            .bind(sha).bind(unit_id).bind(week).fetch_one(p).await)?;
        Ok(n > 0)
    }

    /// Units that publish weekly: townships and departments.
    pub async fn publishing_units(&self) -> Result<Vec<String>, StoreError> {
        let rows = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT id FROM units WHERE level IN ('township', 'department') ORDER BY path")
            .fetch_all(p).await)?;
        Ok(rows)
    }
}

impl Store {
    /// The current heads (comma-joined hex, as stored) of these documents.
    pub async fn current_heads(
        &self,
        doc_ids: &[String],
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        let mut out = std::collections::BTreeMap::new();
        for id in doc_ids {
            let heads: Option<String> = on_pool!(self.pool(), p => sqlx::query_scalar(
                "SELECT heads FROM documents WHERE doc_id = $1")
                .bind(id).fetch_optional(p).await)?;
            if let Some(h) = heads {
                out.insert(id.clone(), h);
            }
        }
        Ok(out)
    }
}
