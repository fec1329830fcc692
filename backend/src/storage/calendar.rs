//! The county calendar as stored (`calendar_days`, `calendar_changes`):
//! each county's days that are not what the weekday says, and every
//! change to them.
//! A change writes both tables in one transaction. Checks are the caller's
//! (`calendar`).

use super::{now_ms, on_pool, Store, StoreError};

/// A day that differs from the weekday rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDayRow {
    /// `YYYY-MM-DD`
    pub day: String,
    /// `holiday` or `workday`.
    pub kind: String,
    pub name: String,
    pub set_by: String,
    pub set_at: i64,
}

/// One change, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarChangeRow {
    pub day: String,
    /// `holiday`, `workday`, or `normal` (back to the weekday rule).
    pub kind: String,
    pub name: String,
    pub set_by: String,
    /// `web` or `cli`.
    pub via: String,
    pub set_at: i64,
}

impl Store {
    /// Every day of `county`'s calendar, by day.
    pub async fn calendar_days(&self, county: &str) -> Result<Vec<CalendarDayRow>, StoreError> {
        let rows: Vec<(String, String, String, String, i64)> = on_pool!(self.pool(), p => sqlx::query_as(
                "SELECT day, kind, name, set_by, set_at FROM calendar_days WHERE county_id = $1
                 ORDER BY day")
                .bind(county).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(day, kind, name, set_by, set_at)| CalendarDayRow {
                day,
                kind,
                name,
                set_by,
                set_at,
            })
            .collect())
    }

    /// Set each of `days` to `kind` (`normal` removes the day) with
    /// `name`, and keep the change. All or nothing.
    pub async fn set_calendar_days(
        &self,
        county: &str,
        days: &[String],
        kind: &str,
        name: &str,
        set_by: &str,
        via: &str,
    ) -> Result<i64, StoreError> {
        let _writer = self.writer().await;
        let set_at = now_ms();
        on_pool!(self.pool(), pool => {
            async {
                let mut tx = pool.begin_with(self.pool().begin_statement()).await?;
                for day in days {
                    if kind == "normal" {
                        sqlx::query("DELETE FROM calendar_days WHERE county_id = $1 AND day = $2")
                            .bind(county).bind(day).execute(&mut *tx).await?;
                    } else {
                        sqlx::query(
                            "INSERT INTO calendar_days (county_id, day, kind, name, set_by, set_at)
                             VALUES ($6, $1, $2, $3, $4, $5)
                             ON CONFLICT (county_id, day) DO UPDATE SET kind = excluded.kind,
                                 name = excluded.name, set_by = excluded.set_by,
                                 set_at = excluded.set_at")
                            .bind(day).bind(kind).bind(name).bind(set_by).bind(set_at).bind(county)
                            .execute(&mut *tx).await?;
                    }
                    sqlx::query(
                        "INSERT INTO calendar_changes (id, county_id, day, kind, name, set_by, via, set_at)
                         VALUES ($1, $8, $2, $3, $4, $5, $6, $7)")
                        .bind(sync_core::ItemId::random().to_string())
                        .bind(day).bind(kind).bind(name).bind(set_by).bind(via).bind(set_at).bind(county)
                        .execute(&mut *tx).await?;
                }
                tx.commit().await
            }.await
        })?;
        Ok(set_at)
    }

    /// The latest `limit` changes of `county`'s calendar, newest first.
    pub async fn calendar_changes(
        &self,
        county: &str,
        limit: i64,
    ) -> Result<Vec<CalendarChangeRow>, StoreError> {
        let rows: Vec<(String, String, String, String, String, i64)> = on_pool!(self.pool(), p => sqlx::query_as(
                "SELECT day, kind, name, set_by, via, set_at FROM calendar_changes
                 WHERE county_id = $2 ORDER BY set_at DESC, day DESC LIMIT $1")
                .bind(limit).bind(county).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(day, kind, name, set_by, via, set_at)| CalendarChangeRow {
                day,
                kind,
                name,
                set_by,
                via,
                set_at,
            })
            .collect())
    }
}
