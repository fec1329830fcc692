//! Stored weekly publications, their later versions (corrections and
//! withdrawals), and the photos the current versions make public.

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
    /// The leader who approved it (None: published by itself or by a
    /// supervisor).
    pub approved_by: Option<String>,
}

/// What a version of a notice did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionAction {
    /// The first version: the notice as published.
    Publish,
    /// 更正: a new snapshot of the records, replacing the one before.
    Correct,
    /// 撤回: the notice is no longer shown.
    Withdraw,
}

impl VersionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionAction::Publish => "publish",
            VersionAction::Correct => "correct",
            VersionAction::Withdraw => "withdraw",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "correct" => Ok(VersionAction::Correct),
            "withdraw" => Ok(VersionAction::Withdraw),
            other => Err(StoreError::Corrupt {
                doc: "publication_versions".into(),
                reason: format!("unknown action {other:?}"),
            }),
        }
    }
}

/// A `publication_versions` row as read: version, action, title, content,
/// heads, reason, by_user, created_at.
type VersionTuple = (i64, String, String, String, String, String, String, i64);

/// One version of a notice. Version 1 is the publication as first made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    pub unit_id: String,
    pub week: String,
    pub version: i64,
    pub action: VersionAction,
    pub title: String,
    /// The publication as JSON; empty for a withdrawal.
    pub content: String,
    /// As `PublicationRow::heads`; `{}` for a withdrawal.
    pub heads: String,
    /// Why it was corrected or withdrawn; empty for version 1.
    pub reason: String,
    /// Who did it: the approver of version 1 (empty when it published by
    /// itself), the corrector or withdrawer of the others.
    pub by_user: String,
    pub created_at: i64,
}

impl VersionRow {
    /// Version 1: the stored publication.
    pub fn first(p: &PublicationRow) -> VersionRow {
        VersionRow {
            unit_id: p.unit_id.clone(),
            week: p.week.clone(),
            version: 1,
            action: VersionAction::Publish,
            title: p.title.clone(),
            content: p.content.clone(),
            heads: p.heads.clone(),
            reason: String::new(),
            by_user: p.approved_by.clone().unwrap_or_default(),
            created_at: p.created_at,
        }
    }

    /// The publication row this version's content reads as (for the
    /// amendments made after it).
    pub fn as_publication(&self) -> PublicationRow {
        PublicationRow {
            unit_id: self.unit_id.clone(),
            week: self.week.clone(),
            title: self.title.clone(),
            content: self.content.clone(),
            heads: self.heads.clone(),
            created_at: self.created_at,
            approved_by: None,
        }
    }
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
                    "INSERT INTO publications (unit_id, week, title, content, heads, created_at,
                         approved_by)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (unit_id, week) DO NOTHING")
                    .bind(&p.unit_id).bind(&p.week).bind(&p.title).bind(&p.content).bind(&p.heads)
                    .bind(p.created_at).bind(&p.approved_by)
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
            "SELECT unit_id, week, title, content, heads, created_at, approved_by FROM publications
             WHERE unit_id = $1 AND week = $2")
            .bind(unit_id).bind(week).fetch_optional(p).await?
            .map(|r| Ok::<_, sqlx::Error>(PublicationRow {
                unit_id: r.try_get(0)?, week: r.try_get(1)?, title: r.try_get(2)?,
                content: r.try_get(3)?, heads: r.try_get(4)?, created_at: r.try_get(5)?,
                approved_by: r.try_get(6)?,
            })).transpose())?;
        Ok(row)
    }

    /// Every version of a unit's notice of a week, oldest first (empty: not
    /// published).
    pub async fn publication_versions(
        &self,
        unit_id: &str,
        week: &str,
    ) -> Result<Vec<VersionRow>, StoreError> {
        let Some(first) = self.publication(unit_id, week).await? else {
            return Ok(Vec::new());
        };
        let rows: Vec<VersionTuple> = on_pool!(self.pool(), p => sqlx::query_as(
                "SELECT version, action, title, content, heads, reason, by_user, created_at
                 FROM publication_versions WHERE unit_id = $1 AND week = $2 ORDER BY version")
                .bind(unit_id).bind(week).fetch_all(p).await)?;
        let mut out = vec![VersionRow::first(&first)];
        for (version, action, title, content, heads, reason, by_user, created_at) in rows {
            out.push(VersionRow {
                unit_id: unit_id.to_owned(),
                week: week.to_owned(),
                version,
                action: VersionAction::parse(&action)?,
                title,
                content,
                heads,
                reason,
                by_user,
                created_at,
            });
        }
        Ok(out)
    }

    /// Store a later version (2 or more) unless that number is taken (by
    /// someone else at the same moment); true if this call stored it. Its
    /// photos go in the same transaction.
    pub async fn insert_version(
        &self,
        v: &VersionRow,
        photos: &[&str],
    ) -> Result<bool, StoreError> {
        let _writer = self.writer().await;
        let inserted = on_pool!(self.pool(), pool => {
            async {
                let mut tx = pool.begin_with(self.pool().begin_statement()).await?;
                let n = sqlx::query(
                    "INSERT INTO publication_versions (unit_id, week, version, action, title,
                         content, heads, reason, by_user, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT (unit_id, week, version) DO NOTHING")
                    .bind(&v.unit_id).bind(&v.week).bind(v.version).bind(v.action.as_str())
                    .bind(&v.title).bind(&v.content).bind(&v.heads).bind(&v.reason)
                    .bind(&v.by_user).bind(v.created_at)
                    .execute(&mut *tx).await?.rows_affected();
                if n == 1 {
                    for sha in photos {
                        sqlx::query("INSERT INTO publication_version_photos (unit_id, week, version, sha256)
                                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                            .bind(&v.unit_id).bind(&v.week).bind(v.version).bind(*sha)
                            .execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(n == 1)
            }.await
        })?;
        Ok(inserted)
    }

    /// The weeks a unit has published, newest first, with when.
    pub async fn unit_publications(&self, unit_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT week, created_at FROM publications WHERE unit_id = $1 ORDER BY week DESC")
            .bind(unit_id).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Is this photo shown by the current version of any publication, as
    /// its uploader's own?
    pub async fn photo_is_published(&self, sha: &str) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {CURRENT_PHOTOS} pp WHERE pp.sha256 = $1 AND {OWNED_IN_UNIT}"))
            .bind(sha).fetch_one(p).await)?;
        Ok(n > 0)
    }

    /// Is this photo shown by the current version of this publication?
    pub async fn photo_in_publication(
        &self,
        unit_id: &str,
        week: &str,
        sha: &str,
    ) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar(
            &format!("SELECT COUNT(*) FROM {CURRENT_PHOTOS} pp
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

/// The photos the current version of each publication shows: version 1's
/// while there is no later one; a withdrawal shows none.
const CURRENT_PHOTOS: &str = "(SELECT p1.unit_id, p1.week, p1.sha256 FROM publication_photos p1
        WHERE NOT EXISTS (SELECT 1 FROM publication_versions v
                          WHERE v.unit_id = p1.unit_id AND v.week = p1.week)
      UNION ALL
      SELECT vp.unit_id, vp.week, vp.sha256 FROM publication_version_photos vp
        WHERE vp.version = (SELECT MAX(v.version) FROM publication_versions v
                            WHERE v.unit_id = vp.unit_id AND v.week = vp.week))";

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
