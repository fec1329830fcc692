//! Monthly reviews: reviewer overrides, submissions, the month's task counts.

use sqlx::Row;

use super::{now_ms, on_pool, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReviewRow {
    pub user_id: String,
    pub month: String,
    pub reviewer_id: String,
    pub targets: i64,
    pub conduct: i64,
    pub comment: String,
    pub submitted_at: i64,
    pub late: bool,
}

impl Store {
    pub async fn set_reviewer_override(
        &self,
        user: &str,
        reviewer: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self.pool(), p => sqlx::query(
            "INSERT INTO reviewer_overrides (user_id, reviewer_id, set_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET reviewer_id = excluded.reviewer_id, set_at = excluded.set_at")
            .bind(user).bind(reviewer).bind(now_ms()).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn reviewer_override(&self, user: &str) -> Result<Option<String>, StoreError> {
        let r = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT reviewer_id FROM reviewer_overrides WHERE user_id = $1")
            .bind(user).fetch_optional(p).await)?;
        Ok(r)
    }

    /// Keep a submission (every one is kept; the latest counts).
    pub async fn insert_review(&self, r: &ReviewRow) -> Result<(), StoreError> {
        on_pool!(self.pool(), p => sqlx::query(
            "INSERT INTO review_submissions (user_id, month, reviewer_id, targets, conduct, comment, submitted_at, late)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&r.user_id).bind(&r.month).bind(&r.reviewer_id).bind(r.targets).bind(r.conduct)
            .bind(&r.comment).bind(r.submitted_at).bind(r.late).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The review of `user` for `month`: the latest submission.
    pub async fn review(&self, user: &str, month: &str) -> Result<Option<ReviewRow>, StoreError> {
        let row = on_pool!(self.pool(), p => sqlx::query(
            "SELECT user_id, month, reviewer_id, targets, conduct, comment, submitted_at, late
             FROM review_submissions WHERE user_id = $1 AND month = $2 ORDER BY id DESC LIMIT 1")
            .bind(user).bind(month).fetch_optional(p).await?
            .map(|r| Ok::<_, sqlx::Error>(ReviewRow {
                user_id: r.try_get(0)?, month: r.try_get(1)?, reviewer_id: r.try_get(2)?,
                targets: r.try_get(3)?, conduct: r.try_get(4)?, comment: r.try_get(5)?,
                submitted_at: r.try_get(6)?, late: r.try_get(7)?,
            })).transpose())?;
        Ok(row)
    }

    /// How many of `user`'s tasks of `month` are done, and how many open.
    pub async fn task_counts(&self, user: &str, month: &str) -> Result<(i64, i64), StoreError> {
        let row = on_pool!(self.pool(), p => sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END), 0)
             FROM plan_tasks WHERE owner_id = $1 AND month = $2 AND NOT deleted")
            .bind(user).bind(month).fetch_one(p).await
            .and_then(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?))))?;
        Ok(row)
    }
}

/// A 表态 of a person ranked 末位 in a month.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatementRow {
    pub user_id: String,
    pub month: String,
    pub text: String,
    /// Who entered it: the person, or a leader over them.
    pub by_user: String,
    pub created_at: i64,
}

impl Store {
    /// Set the group `user` is ranked in; `None` returns them to the
    /// group of their role.
    pub async fn set_rank_group(&self, user: &str, group: Option<&str>) -> Result<(), StoreError> {
        match group {
            Some(g) => on_pool!(self.pool(), p => sqlx::query(
                "INSERT INTO rank_groups (user_id, group_name, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id) DO UPDATE SET group_name = excluded.group_name,
                     updated_at = excluded.updated_at")
                .bind(user).bind(g).bind(now_ms()).execute(p).await.map(|_| ()))?,
            None => on_pool!(self.pool(), p => sqlx::query(
                "DELETE FROM rank_groups WHERE user_id = $1")
                .bind(user).execute(p).await.map(|_| ()))?,
        }
        Ok(())
    }

    /// Every configured group: user id → group name.
    pub async fn rank_groups(
        &self,
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        let rows: Vec<(String, String)> = on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT user_id, group_name FROM rank_groups").fetch_all(p).await)?;
        Ok(rows.into_iter().collect())
    }

    /// Store a 表态 unless the person has one for the month; true if this
    /// call stored it.
    pub async fn insert_statement(&self, s: &StatementRow) -> Result<bool, StoreError> {
        let n = on_pool!(self.pool(), p => sqlx::query(
            "INSERT INTO review_statements (user_id, month, text, by_user, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, month) DO NOTHING")
            .bind(&s.user_id).bind(&s.month).bind(&s.text).bind(&s.by_user).bind(s.created_at)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// The 表态s of a month: user id → statement.
    pub async fn statements(
        &self,
        month: &str,
    ) -> Result<std::collections::BTreeMap<String, StatementRow>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT user_id, text, by_user, created_at FROM review_statements WHERE month = $1")
            .bind(month).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(user_id, text, by_user, created_at)| {
                (
                    user_id.clone(),
                    StatementRow {
                        user_id,
                        month: month.to_owned(),
                        text,
                        by_user,
                        created_at,
                    },
                )
            })
            .collect())
    }
}
