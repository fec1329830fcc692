//! The cards of 亮身份 (`cards`) and where each person last said they
//! were (`cadre_status`, written by the sync commit in `documents.rs`).

use super::{now_ms, on_pool, Store, StoreError};

/// A person's card as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRow {
    pub user_id: String,
    /// The public id in `/c/{card_id}`.
    pub card_id: String,
    /// The work phone to publish ('' none).
    pub phone: String,
    pub photo_sha: Option<String>,
    pub updated_at: i64,
}

/// A status as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub user_id: String,
    pub kind: String,
    /// A village's unit id with `in_village`, else ''.
    pub village: String,
    pub set_at: i64,
}

type CardTuple = (String, String, String, Option<String>, i64);

fn card((user_id, card_id, phone, photo_sha, updated_at): CardTuple) -> CardRow {
    CardRow {
        user_id,
        card_id,
        phone,
        photo_sha,
        updated_at,
    }
}

const CARD_COLUMNS: &str = "user_id, card_id, phone, photo_sha, updated_at";

/// A new public card id: 16 lower-case hex digits, random.
fn new_card_id() -> String {
    sync_core::ItemId::random().to_string()[..16].to_owned()
}

impl Store {
    /// `user_id`'s card, made now if they have none (two instances making
    /// it at once keep the first).
    pub async fn card_of(&self, user_id: &str) -> Result<CardRow, StoreError> {
        if let Some(c) = self.stored_card_of(user_id).await? {
            return Ok(c);
        }
        {
            let _writer = self.writer().await;
            on_pool!(self.pool(), p => sqlx::query(
                "INSERT INTO cards (user_id, card_id, phone, photo_sha, updated_at)
                 VALUES ($1, $2, '', NULL, $3) ON CONFLICT (user_id) DO NOTHING")
                .bind(user_id).bind(new_card_id()).bind(now_ms())
                .execute(p).await.map(|_| ()))?;
        }
        self.stored_card_of(user_id)
            .await?
            .ok_or_else(|| StoreError::NotFound("card"))
    }

    async fn stored_card_of(&self, user_id: &str) -> Result<Option<CardRow>, StoreError> {
        let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE user_id = $1");
        let row: Option<CardTuple> = on_pool!(self.pool(), p => sqlx::query_as(&sql)
            .bind(user_id).fetch_optional(p).await)?;
        Ok(row.map(card))
    }

    /// The card whose public id is `card_id`.
    pub async fn card_by_id(&self, card_id: &str) -> Result<Option<CardRow>, StoreError> {
        let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE card_id = $1");
        let row: Option<CardTuple> = on_pool!(self.pool(), p => sqlx::query_as(&sql)
            .bind(card_id).fetch_optional(p).await)?;
        Ok(row.map(card))
    }

    /// Set what `user_id`'s card shows (the card is made if needed).
    pub async fn set_card(
        &self,
        user_id: &str,
        phone: &str,
        photo_sha: Option<&str>,
    ) -> Result<CardRow, StoreError> {
        self.card_of(user_id).await?;
        {
            let _writer = self.writer().await;
            on_pool!(self.pool(), p => sqlx::query(
                "UPDATE cards SET phone = $2, photo_sha = $3, updated_at = $4 WHERE user_id = $1")
                .bind(user_id).bind(phone).bind(photo_sha).bind(now_ms())
                .execute(p).await.map(|_| ()))?;
        }
        self.card_of(user_id).await
    }

    /// Where `user_id` last said they were.
    pub async fn status_of(&self, user_id: &str) -> Result<Option<StatusRow>, StoreError> {
        let row: Option<(String, String, String, i64)> = on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT user_id, kind, village, set_at FROM cadre_status WHERE user_id = $1")
            .bind(user_id).fetch_optional(p).await)?;
        Ok(row.map(|(user_id, kind, village, set_at)| StatusRow {
            user_id,
            kind,
            village,
            set_at,
        }))
    }
}
