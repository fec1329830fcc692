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

    /// Is this photo shown by any publication, as its uploader's own?
    pub async fn photo_is_published(&self, sha: &str) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM publication_photos pp WHERE pp.sha256 = $1 AND {OWNED_IN_UNIT}"))
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
            &format!("SELECT COUNT(*) FROM publication_photos pp
                      WHERE pp.sha256 = $1 AND pp.unit_id = $2 AND pp.week = $3 AND {OWNED_IN_UNIT}"))
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

/// A publication `pp` shows a photo only as its uploader's own: a document
/// of someone in the publishing unit's subtree references it, and that
/// owner sent its bytes. Naming another person's hash in one's own diary
/// publishes nothing of it (issue 23, item 6). Paths are compared by
/// prefix with `substr`, not `LIKE`, whose `_` would match any character.
const OWNED_IN_UNIT: &str = "EXISTS (SELECT 1 FROM photo_refs r
        JOIN blob_uploaders up ON up.sha256 = r.sha256 AND up.user_id = r.owner_id
        JOIN users us ON us.id = r.owner_id
        JOIN units un ON un.id = us.unit_id
        JOIN units pu ON pu.id = pp.unit_id
        WHERE r.sha256 = pp.sha256 AND substr(un.path, 1, length(pu.path)) = pu.path)";
