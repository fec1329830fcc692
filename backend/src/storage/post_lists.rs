//! The stored versions of each post's 权力清单 and 责任清单
//! (`post_list_versions`, `post_list_entries`). Versions are only ever
//! added: a save reads the highest number and inserts the next in one
//! transaction, and two saves that read the same number at once (two
//! instances on PostgreSQL) meet the primary key: the one that loses reads
//! again and takes the number after. Bounds are the caller's
//! (`post_lists`); this module stores what it is given.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{now_ms, on_pool, Store, StoreError};

/// One entry (事项) of a version, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostListEntryRow {
    pub title: String,
    pub basis: String,
    pub detail: String,
}

/// One version of one list, with its entries in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostListRow {
    pub unit_id: String,
    pub post: String,
    /// `power` or `duty`.
    pub kind: String,
    pub version: i64,
    pub note: String,
    /// The admin's user id; empty from the command line without `--by`.
    pub saved_by: String,
    /// `web` or `cli`.
    pub via: String,
    pub saved_at: i64,
    pub entries: Vec<PostListEntryRow>,
}

/// A version to store: its number is the store's to give.
#[derive(Debug, Clone)]
pub struct NewPostListVersion<'a> {
    pub unit_id: &'a str,
    pub post: &'a str,
    pub kind: &'a str,
    pub note: &'a str,
    pub saved_by: &'a str,
    pub via: &'a str,
    pub entries: &'a [PostListEntryRow],
}

/// What a save did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostListSave {
    /// Stored as this version, at this time.
    Saved { version: i64, saved_at: i64 },
    /// The caller edited version `expected` (0: none yet) but `current` is
    /// the list's version now: nothing stored.
    Stale { expected: i64, current: i64 },
}

/// How many times a save reads the next number again after losing it.
/// Each round one of the saves racing for a number wins it (the loser's
/// insert waited for the winner's commit, so its next read sees it): a
/// save gives up only after this many saves of the same list won at the
/// same moment, far more than admins ever make.
const RETRIES: usize = 32;

const VERSION_COLUMNS: &str =
    "v.unit_id, v.post, v.kind, v.version, v.note, v.saved_by, v.via, v.saved_at, \
     e.title, e.basis, e.detail";

/// Rows of versions joined to their entries (`LEFT JOIN`, ordered by
/// version then position), folded into versions.
fn fold<R: Row>(rows: &[R]) -> Result<Vec<PostListRow>, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut out: Vec<PostListRow> = Vec::new();
    for r in rows {
        let (unit_id, post, kind, version): (String, String, String, i64) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
        let same = out.last().is_some_and(|l| {
            l.unit_id == unit_id && l.post == post && l.kind == kind && l.version == version
        });
        if !same {
            out.push(PostListRow {
                unit_id,
                post,
                kind,
                version,
                note: r.try_get(4)?,
                saved_by: r.try_get(5)?,
                via: r.try_get(6)?,
                saved_at: r.try_get(7)?,
                entries: Vec::new(),
            });
        }
        let title: Option<String> = r.try_get(8)?;
        if let (Some(title), Some(list)) = (title, out.last_mut()) {
            list.entries.push(PostListEntryRow {
                title,
                basis: r.try_get::<Option<String>, _>(9)?.unwrap_or_default(),
                detail: r.try_get::<Option<String>, _>(10)?.unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

impl Store {
    /// Store the next version of a list; with `expected`, only if the
    /// list's current version is that one (0: the list has none yet).
    pub async fn save_post_list(
        &self,
        new: &NewPostListVersion<'_>,
        expected: Option<i64>,
    ) -> Result<PostListSave, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_save_post_list(new, expected).await {
                Err(StoreError::Database(sqlx::Error::Database(e)))
                    if e.is_unique_violation() && attempt < RETRIES =>
                {
                    // Another instance took this number between our read
                    // and our insert: read again.
                    tracing::debug!(attempt, "a post list's version number was taken; retrying");
                }
                other => return other,
            }
        }
    }

    async fn try_save_post_list(
        &self,
        new: &NewPostListVersion<'_>,
        expected: Option<i64>,
    ) -> Result<PostListSave, StoreError> {
        let _writer = self.writer().await;
        let saved_at = now_ms();
        let outcome = on_pool!(self.pool(), pool => {
            async {
                let mut tx = pool.begin_with(self.pool().begin_statement()).await?;
                let current: i64 = sqlx::query_scalar(
                    "SELECT COALESCE(MAX(version), 0) FROM post_list_versions
                     WHERE unit_id = $1 AND post = $2 AND kind = $3")
                    .bind(new.unit_id).bind(new.post).bind(new.kind)
                    .fetch_one(&mut *tx).await?;
                if let Some(expected) = expected.filter(|e| *e != current) {
                    tx.rollback().await?;
                    return Ok::<_, sqlx::Error>(PostListSave::Stale { expected, current });
                }
                let version = current + 1;
                sqlx::query(
                    "INSERT INTO post_list_versions (unit_id, post, kind, version, entries, note,
                         saved_by, via, saved_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(new.unit_id).bind(new.post).bind(new.kind).bind(version)
                    .bind(new.entries.len() as i64).bind(new.note).bind(new.saved_by)
                    .bind(new.via).bind(saved_at)
                    .execute(&mut *tx).await?;
                for (i, e) in new.entries.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO post_list_entries (unit_id, post, kind, version, position,
                             title, basis, detail)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                        .bind(new.unit_id).bind(new.post).bind(new.kind).bind(version)
                        .bind(i as i64 + 1).bind(&e.title).bind(&e.basis).bind(&e.detail)
                        .execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(PostListSave::Saved { version, saved_at })
            }.await
        })?;
        Ok(outcome)
    }

    /// The current version of every list of a unit (of one post, if
    /// given), withdrawn ones included (no entries), by post then kind.
    pub async fn current_post_lists(
        &self,
        unit_id: &str,
        post: Option<&str>,
    ) -> Result<Vec<PostListRow>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM post_list_versions v
             LEFT JOIN post_list_entries e ON e.unit_id = v.unit_id AND e.post = v.post
                  AND e.kind = v.kind AND e.version = v.version
             WHERE v.unit_id = $1 AND ($2 IS NULL OR v.post = $2)
               AND v.version = (SELECT MAX(m.version) FROM post_list_versions m
                                WHERE m.unit_id = v.unit_id AND m.post = v.post AND m.kind = v.kind)
             ORDER BY v.post, v.kind, v.version, e.position"
        );
        Ok(on_pool!(self.pool(), p => {
            let rows = sqlx::query(&sql).bind(unit_id).bind(post).fetch_all(p).await?;
            fold(&rows)?
        }))
    }

    /// Every version of one list, newest first.
    pub async fn post_list_history(
        &self,
        unit_id: &str,
        post: &str,
        kind: &str,
    ) -> Result<Vec<PostListRow>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM post_list_versions v
             LEFT JOIN post_list_entries e ON e.unit_id = v.unit_id AND e.post = v.post
                  AND e.kind = v.kind AND e.version = v.version
             WHERE v.unit_id = $1 AND v.post = $2 AND v.kind = $3
             ORDER BY v.version DESC, e.position"
        );
        Ok(on_pool!(self.pool(), p => {
            let rows = sqlx::query(&sql).bind(unit_id).bind(post).bind(kind).fetch_all(p).await?;
            fold(&rows)?
        }))
    }

    /// The posts of a unit: those its people hold (with their names, by
    /// name) and those that have a list, by post.
    pub async fn unit_posts(
        &self,
        unit_id: &str,
    ) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
        let held: Vec<(String, String)> = on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT post, name FROM users
             WHERE unit_id = $1 AND post <> '' AND NOT disabled ORDER BY post, name")
            .bind(unit_id).fetch_all(p).await)?;
        let listed: Vec<String> = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT DISTINCT post FROM post_list_versions WHERE unit_id = $1")
            .bind(unit_id).fetch_all(p).await)?;
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (post, name) in held {
            out.entry(post.trim().to_owned()).or_default().push(name);
        }
        for post in listed {
            out.entry(post).or_default();
        }
        Ok(out)
    }
}
