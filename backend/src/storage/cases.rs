//! The cases the public brought (`cases`): who filed each and how to
//! answer them, whom it concerns, and its tracking code's hash; the proofs
//! of work the public form spent (`pow_spent`); and the server's own
//! device per person, through which a case is opened in their name.

use sqlx::Row;

use super::{now_ms, on_pool, ItemRow, Store, StoreError};

/// A case as stored beside its item document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    pub doc_id: String,
    pub code_hash: String,
    pub county_id: String,
    /// The unit the case concerns (the card's person's, or the notice's).
    pub unit_id: String,
    /// The person it concerns, when filed from their card.
    pub concerns_id: Option<String>,
    /// `public` or `hotline`.
    pub via: String,
    pub filer_name: String,
    pub filer_phone: String,
    /// Who took a hotline call.
    pub clerk_id: Option<String>,
    pub photo_sha: Option<String>,
    pub filed_at: i64,
}

const COLUMNS: &str = "c.doc_id, c.code_hash, c.county_id, c.unit_id, c.concerns_id, c.via, \
     c.filer_name, c.filer_phone, c.clerk_id, c.photo_sha, c.filed_at";

fn case_row<R: Row>(r: &R) -> Result<CaseRow, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(CaseRow {
        doc_id: r.try_get(0)?,
        code_hash: r.try_get(1)?,
        county_id: r.try_get(2)?,
        unit_id: r.try_get(3)?,
        concerns_id: r.try_get(4)?,
        via: r.try_get(5)?,
        filer_name: r.try_get(6)?,
        filer_phone: r.try_get(7)?,
        clerk_id: r.try_get(8)?,
        photo_sha: r.try_get(9)?,
        filed_at: r.try_get(10)?,
    })
}

impl Store {
    /// Keep a case's row (before its document is opened).
    pub async fn insert_case(&self, c: &CaseRow) -> Result<(), StoreError> {
        let _writer = self.writer().await;
        on_pool!(self.pool(), p => sqlx::query(
            "INSERT INTO cases (doc_id, code_hash, county_id, unit_id, concerns_id, via, filer_name,
               filer_phone, clerk_id, photo_sha, filed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(&c.doc_id).bind(&c.code_hash).bind(&c.county_id).bind(&c.unit_id)
            .bind(&c.concerns_id).bind(&c.via).bind(&c.filer_name).bind(&c.filer_phone)
            .bind(&c.clerk_id).bind(&c.photo_sha).bind(c.filed_at)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Remove a case whose document could not be opened.
    pub async fn delete_case(&self, doc_id: &str) -> Result<(), StoreError> {
        let _writer = self.writer().await;
        on_pool!(self.pool(), p => sqlx::query("DELETE FROM cases WHERE doc_id = $1")
            .bind(doc_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The case of the item `doc_id`.
    pub async fn case(&self, doc_id: &str) -> Result<Option<CaseRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM cases c WHERE c.doc_id = $1");
        Ok(
            on_pool!(self.pool(), p => match sqlx::query(&sql).bind(doc_id).fetch_optional(p).await? {
                Some(r) => Some(case_row(&r)?),
                None => None,
            }),
        )
    }

    /// The case whose tracking code hashes to `code_hash`.
    pub async fn case_by_code(&self, code_hash: &str) -> Result<Option<CaseRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM cases c WHERE c.code_hash = $1");
        Ok(
            on_pool!(self.pool(), p => match sqlx::query(&sql).bind(code_hash).fetch_optional(p).await? {
                Some(r) => Some(case_row(&r)?),
                None => None,
            }),
        )
    }

    /// The cases filed in `[from_ms, to_ms)` about units whose path starts
    /// with `unit_path`, each with its item's row (a case whose document
    /// never opened is left out), oldest first.
    pub async fn cases_in(
        &self,
        unit_path: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(CaseRow, ItemRow)>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS}, {items} FROM cases c
             JOIN units u ON u.id = c.unit_id
             JOIN items i ON i.doc_id = c.doc_id
             WHERE substr(u.path, 1, length($1)) = $1 AND c.filed_at >= $2 AND c.filed_at < $3
             ORDER BY c.filed_at, c.doc_id",
            items = super::items::COLUMNS,
        );
        Ok(
            on_pool!(self.pool(), p => sqlx::query(&sql).bind(unit_path).bind(from_ms).bind(to_ms)
            .fetch_all(p).await?.iter()
            .map(|r| Ok::<_, sqlx::Error>((case_row(r)?, super::items::item_row_at(r, 11)?)))
            .collect::<Result<Vec<_>, _>>())?,
        )
    }

    /// The cases that concern `user_id` or that they handle, oldest first.
    pub async fn case_rows_of(&self, user_id: &str) -> Result<Vec<(CaseRow, ItemRow)>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS}, {items} FROM cases c JOIN items i ON i.doc_id = c.doc_id
             WHERE c.concerns_id = $1 OR i.responsible_id = $1
             ORDER BY c.filed_at, c.doc_id",
            items = super::items::COLUMNS,
        );
        Ok(on_pool!(self.pool(), p => sqlx::query(&sql).bind(user_id)
            .fetch_all(p).await?.iter()
            .map(|r| Ok::<_, sqlx::Error>((case_row(r)?, super::items::item_row_at(r, 11)?)))
            .collect::<Result<Vec<_>, _>>())?)
    }

    /// Spend a solved challenge of the public form: `false` if it was spent
    /// already (on any instance).
    pub async fn spend_pow(&self, stamp: &str, expires_at: i64) -> Result<bool, StoreError> {
        let _writer = self.writer().await;
        let n = on_pool!(self.pool(), p => sqlx::query(
            "INSERT INTO pow_spent (stamp, expires_at) VALUES ($1, $2) ON CONFLICT (stamp) DO NOTHING")
            .bind(stamp).bind(expires_at).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Forget spent challenges that expired: how many.
    pub async fn remove_spent_pow(&self) -> Result<u64, StoreError> {
        let _writer = self.writer().await;
        Ok(
            on_pool!(self.pool(), p => sqlx::query("DELETE FROM pow_spent WHERE expires_at < $1")
            .bind(now_ms()).execute(p).await?.rows_affected()),
        )
    }

    /// The server's device for `user_id`, through which it opens cases in
    /// their name (made the first time).
    pub async fn case_desk_device(&self, user_id: &str) -> Result<String, StoreError> {
        let id = format!("case-desk-{user_id}");
        let _writer = self.writer().await;
        on_pool!(self.pool(), p => sqlx::query(
            "INSERT INTO devices (id, user_id, name, created_at, last_seen_at)
             VALUES ($1, $2, '案件受理（服务器）', $3, $3) ON CONFLICT (id) DO NOTHING")
            .bind(&id).bind(user_id).bind(now_ms()).execute(p).await.map(|_| ()))?;
        Ok(id)
    }
}
