//! 亮身份 on the phone: where I am now (在岗及去向), set offline on the
//! day's diary and synced like any record, and my public card (its
//! address to share, the work phone it shows), read and set online.

use std::sync::Arc;

use serde::Deserialize;
use sync_core::document::{Record, StatusKind as CoreStatus};
use sync_core::Edit;

use crate::cancel::{off_thread, Cancel, CancelToken};
use crate::client::{call_cancel, from_http, JishiClient};
use crate::error::{guard, JishiError};
use crate::http::HttpError;
use crate::reads::bad_reply;

/// Where I am (在岗及去向).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Whereabouts {
    /// 在岗
    OnDuty,
    /// 下村: name the village (its unit id).
    InVillage,
    /// 会议
    Meeting,
    /// 出差
    Travel,
    /// 培训
    Training,
    /// 请假
    Leave,
}

impl From<Whereabouts> for CoreStatus {
    fn from(w: Whereabouts) -> Self {
        match w {
            Whereabouts::OnDuty => CoreStatus::OnDuty,
            Whereabouts::InVillage => CoreStatus::InVillage,
            Whereabouts::Meeting => CoreStatus::Meeting,
            Whereabouts::Travel => CoreStatus::Travel,
            Whereabouts::Training => CoreStatus::Training,
            Whereabouts::Leave => CoreStatus::Leave,
        }
    }
}

impl From<CoreStatus> for Whereabouts {
    fn from(s: CoreStatus) -> Self {
        match s {
            CoreStatus::OnDuty => Whereabouts::OnDuty,
            CoreStatus::InVillage => Whereabouts::InVillage,
            CoreStatus::Meeting => Whereabouts::Meeting,
            CoreStatus::Travel => Whereabouts::Travel,
            CoreStatus::Training => Whereabouts::Training,
            CoreStatus::Leave => Whereabouts::Leave,
        }
    }
}

/// My status as this phone has it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StatusView {
    pub kind: Whereabouts,
    /// The village's unit id with `InVillage`.
    pub village: Option<String>,
    /// When it was set (ms since the epoch).
    pub set_at: i64,
    /// The day whose diary holds it.
    pub date: String,
}

/// My public card.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, uniffi::Record)]
pub struct MyCard {
    pub card_id: String,
    /// Its public address (for sharing, the QR code); none when the
    /// server does not know its public address.
    pub url: Option<String>,
    /// The work phone the card shows ('' none).
    pub phone: String,
    /// The photo shown (hex SHA-256), if any.
    pub photo: Option<String>,
}

#[uniffi::export]
impl JishiClient {
    /// Say where I am now, offline: stored on today's diary and shown on
    /// my public card after the next sync. `village` (a village's unit
    /// id) with `InVillage` only, and then required.
    #[uniffi::method(default(village = None))]
    pub fn set_my_status(
        &self,
        kind: Whereabouts,
        village: Option<String>,
    ) -> Result<(), JishiError> {
        guard(|| {
            let id = sync_core::DocId::diary(&self.me()?, self.today_date()?);
            self.edit(
                &id,
                Edit::SetStatus {
                    kind: kind.into(),
                    village,
                },
            )
        })
    }

    /// My status as this phone has it: the one set on today's diary, else
    /// on the latest of the last 7 days'; none if I set none.
    pub fn my_status(&self) -> Result<Option<StatusView>, JishiError> {
        guard(|| {
            let me = self.me()?;
            let mut day = self.today_date()?;
            for _ in 0..7 {
                let id = sync_core::DocId::diary(&me, day);
                if let (Some(Record::Diary(d)), _) = self.read(&id)? {
                    if let Some(s) = d.status {
                        return Ok(Some(StatusView {
                            kind: s.kind.into(),
                            village: s.village,
                            set_at: s.at,
                            date: day.to_string(),
                        }));
                    }
                }
                match day.pred_opt() {
                    Some(d) => day = d,
                    None => break,
                }
            }
            Ok(None)
        })
    }

    /// My public card: its address to share and what it shows (online).
    #[uniffi::method(default(cancel = None))]
    pub async fn my_card(
        self: Arc<Self>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<MyCard, JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || self.my_card_now(&c)).await
    }

    /// Set the work phone my public card shows ('' shows none), online.
    #[uniffi::method(default(cancel = None))]
    pub async fn set_my_card_phone(
        self: Arc<Self>,
        phone: String,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<MyCard, JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || self.set_my_card_phone_now(&c, &phone)).await
    }
}

impl JishiClient {
    fn today_date(&self) -> Result<chrono::NaiveDate, JishiError> {
        chrono::NaiveDate::parse_from_str(&self.today(), "%Y-%m-%d")
            .map_err(|e| JishiError::invalid_as("date", "format", e.to_string()))
    }

    fn my_card_now(&self, cancel: &Arc<Cancel>) -> Result<MyCard, JishiError> {
        let body = self.read_now(cancel, "/api/v1/me/card")?;
        serde_json::from_slice(&body).map_err(|e| bad_reply("card", e))
    }

    fn set_my_card_phone_now(
        &self,
        cancel: &Arc<Cancel>,
        phone: &str,
    ) -> Result<MyCard, JishiError> {
        let now = self.my_card_now(cancel)?;
        let body = serde_json::json!({ "phone": phone, "photo": now.photo });
        let token = self.access_token(cancel, false)?;
        let answer = match self
            .server
            .put_json(cancel, &token, "/api/v1/me/card", &body)
        {
            Err(HttpError::Status { status: 401, .. }) => {
                let token = self.access_token(cancel, true)?;
                self.server
                    .put_json(cancel, &token, "/api/v1/me/card", &body)
            }
            other => other,
        };
        let body = answer.map_err(|e| match e {
            // The server's rule for a phone to publish, named as a field.
            HttpError::Status {
                status: 400,
                code,
                message,
            } => JishiError::invalid_as("phone", &code, message),
            other => from_http(other),
        })?;
        serde_json::from_slice(&body).map_err(|e| bad_reply("card", e))
    }
}
