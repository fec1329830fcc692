//! Items (督办 and 问题清单) as the lists read them: the `items` and
//! `doc_participants` rows each commit rebuilds from the item documents
//! (`documents.rs`).

use serde::Serialize;
use sqlx::Row;

use super::{on_pool, Store, StoreError};

/// One item as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemRow {
    pub doc_id: String,
    pub list: String,
    pub source: String,
    pub title: String,
    pub unit_id: String,
    pub issuer_id: String,
    pub responsible_id: String,
    pub issued_at: i64,
    /// `YYYY-MM-DD`
    pub due: String,
    pub status: String,
    pub done_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub sent_back: i64,
    pub steps: i64,
    pub last_step_at: Option<i64>,
    /// A complaint's verdict once closed: `founded` or `unfounded`.
    pub verdict: Option<String>,
}

/// Which items to list.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    /// Items whose responsible person is now in the units whose path
    /// starts with this (a subtree), if given: who may read them.
    pub unit_path: Option<String>,
    /// Items on which this user is named (any part), if given.
    pub named: Option<String>,
    /// Issued in `[from, to)` (milliseconds), if given.
    pub issued_from: Option<i64>,
    pub issued_to: Option<i64>,
}

pub(super) const COLUMNS: &str =
    "i.doc_id, i.list, i.source, i.title, i.unit_id, i.issuer_id, i.responsible_id, \
     i.issued_at, i.due, i.status, i.done_at, i.closed_at, i.sent_back, i.steps, i.last_step_at, \
     i.verdict";

fn item_row<R: Row>(r: &R) -> Result<ItemRow, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    item_row_at(r, 0)
}

/// An item's row from the [`COLUMNS`] starting at column `at`.
pub(super) fn item_row_at<R: Row>(r: &R, at: usize) -> Result<ItemRow, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(ItemRow {
        doc_id: r.try_get(at)?,
        list: r.try_get(at + 1)?,
        source: r.try_get(at + 2)?,
        title: r.try_get(at + 3)?,
        unit_id: r.try_get(at + 4)?,
        issuer_id: r.try_get(at + 5)?,
        responsible_id: r.try_get(at + 6)?,
        issued_at: r.try_get(at + 7)?,
        due: r.try_get(at + 8)?,
        status: r.try_get(at + 9)?,
        done_at: r.try_get(at + 10)?,
        closed_at: r.try_get(at + 11)?,
        sent_back: r.try_get(at + 12)?,
        steps: r.try_get(at + 13)?,
        last_step_at: r.try_get(at + 14)?,
        verdict: r.try_get(at + 15)?,
    })
}

impl Store {
    /// The `owner_id` of a stored document (an item's responsible person),
    /// or `None` when the server does not hold it.
    pub async fn document_owner(&self, doc_id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            on_pool!(self.pool(), p => sqlx::query_scalar("SELECT owner_id FROM documents WHERE doc_id = $1")
            .bind(doc_id).fetch_optional(p).await)?,
        )
    }

    /// Is `user_id` named on the assigned document `doc_id`?
    pub async fn is_participant(&self, doc_id: &str, user_id: &str) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM doc_participants WHERE doc_id = $1 AND user_id = $2")
            .bind(doc_id).bind(user_id).fetch_one(p).await)?;
        Ok(n > 0)
    }

    /// One item's row.
    pub async fn item(&self, doc_id: &str) -> Result<Option<ItemRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM items i WHERE i.doc_id = $1");
        Ok(
            on_pool!(self.pool(), p => match sqlx::query(&sql).bind(doc_id).fetch_optional(p).await? {
                Some(r) => Some(item_row(&r)?),
                None => None,
            }),
        )
    }

    /// Every item `user_id` is responsible for, by 时限.
    pub async fn items_of_responsible(&self, user_id: &str) -> Result<Vec<ItemRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM items i WHERE i.responsible_id = $1 ORDER BY i.due, i.doc_id"
        );
        Ok(on_pool!(self.pool(), p => sqlx::query(&sql).bind(user_id)
            .fetch_all(p).await?.iter().map(item_row).collect::<Result<Vec<_>, _>>())?)
    }

    /// The 固定任务 handed down to `user_id` that belong to the month
    /// `[first_ms, next_ms)`: items of the list `task` issued before the
    /// month ends and not closed before it began — in every month from its
    /// issue to its 销号, whatever its 时限 (an open task past its 时限 is
    /// carried until it is closed; one closed early leaves the later
    /// months). By 时限, each with its issuer's name.
    pub async fn tasks_handed(
        &self,
        user_id: &str,
        first_ms: i64,
        next_ms: i64,
    ) -> Result<Vec<(ItemRow, String)>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS}, COALESCE(iu.name, '') FROM items i
             LEFT JOIN users iu ON iu.id = i.issuer_id
             WHERE i.responsible_id = $1 AND i.list = 'task' AND i.issued_at < $3
               AND (i.closed_at IS NULL OR i.closed_at >= $2)
             ORDER BY i.due, i.doc_id"
        );
        Ok(
            on_pool!(self.pool(), p => sqlx::query(&sql).bind(user_id).bind(first_ms).bind(next_ms)
            .fetch_all(p).await?.iter()
            .map(|r| Ok((item_row(r)?, r.try_get::<String, _>(16)?)))
            .collect::<Result<Vec<_>, sqlx::Error>>())?,
        )
    }

    /// Items matching `filter`, newest first, at most `limit`.
    pub async fn items(&self, filter: &ItemFilter, limit: i64) -> Result<Vec<ItemRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM items i
             LEFT JOIN users ru ON ru.id = i.responsible_id LEFT JOIN units un ON un.id = ru.unit_id
             WHERE ($1 IS NULL OR substr(un.path, 1, length($1)) = $1)
               AND ($2 IS NULL OR EXISTS (SELECT 1 FROM doc_participants dp
                                          WHERE dp.doc_id = i.doc_id AND dp.user_id = $2))
               AND ($3 IS NULL OR i.issued_at >= $3)
               AND ($4 IS NULL OR i.issued_at < $4)
             ORDER BY i.issued_at DESC, i.doc_id LIMIT $5"
        );
        Ok(on_pool!(self.pool(), p => sqlx::query(&sql)
            .bind(&filter.unit_path).bind(&filter.named).bind(filter.issued_from).bind(filter.issued_to).bind(limit)
            .fetch_all(p).await?.iter().map(item_row).collect::<Result<Vec<_>, _>>())?)
    }
}
