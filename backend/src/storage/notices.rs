//! How units sign their notices (`notice_settings`, migration 0013) and
//! who publishes them (`approval`, migration 0014).

use sqlx::Row;

use super::{now_ms, on_pool, Store, StoreError, Unit};

/// A unit's own settings; empty text (or `None`) leaves the field to the
/// units above it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NoticeSettings {
    /// 落款: the issuing body, e.g. 中共石门镇委员会.
    pub issuer: String,
    pub phone: String,
    pub address: String,
    /// e.g. 县纪委监委第三纪检监察室.
    pub supervision_office: String,
    pub supervision_phone: String,
    /// 公示期 in days.
    pub display_days: Option<i64>,
    /// Published on Monday by itself, or when a leader approves it.
    #[serde(default)]
    pub approval: Option<Approval>,
}

/// How a unit's weekly notice is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    /// On Monday at the publish hour, by itself (the default).
    Auto,
    /// Drafted on Monday; published when a leader of the unit approves it.
    Leader,
}

impl Approval {
    pub fn as_str(self) -> &'static str {
        match self {
            Approval::Auto => "auto",
            Approval::Leader => "leader",
        }
    }

    pub fn parse(s: &str) -> Option<Approval> {
        match s {
            "auto" => Some(Approval::Auto),
            "leader" => Some(Approval::Leader),
            _ => None,
        }
    }
}

impl NoticeSettings {
    /// Fill what this one leaves empty from `above` (the next unit up).
    pub fn or(mut self, above: &NoticeSettings) -> NoticeSettings {
        for (mine, theirs) in [
            (&mut self.issuer, &above.issuer),
            (&mut self.phone, &above.phone),
            (&mut self.address, &above.address),
            (&mut self.supervision_office, &above.supervision_office),
            (&mut self.supervision_phone, &above.supervision_phone),
        ] {
            if mine.is_empty() {
                mine.clone_from(theirs);
            }
        }
        self.display_days = self.display_days.or(above.display_days);
        self.approval = self.approval.or(above.approval);
        self
    }
}

fn settings_from_row<R: Row>(r: &R) -> Result<NoticeSettings, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let approval: Option<String> = r.try_get(6)?;
    Ok(NoticeSettings {
        issuer: r.try_get(0)?,
        phone: r.try_get(1)?,
        address: r.try_get(2)?,
        supervision_office: r.try_get(3)?,
        supervision_phone: r.try_get(4)?,
        display_days: r.try_get(5)?,
        // An unknown mode (written by a later version) is left to the
        // units above, as if unset.
        approval: approval.as_deref().and_then(Approval::parse),
    })
}

impl Store {
    pub async fn set_notice_settings(
        &self,
        unit_id: &str,
        s: &NoticeSettings,
    ) -> Result<(), StoreError> {
        on_pool!(self.pool(), p => sqlx::query(
            "INSERT INTO notice_settings (unit_id, issuer, phone, address, supervision_office,
                 supervision_phone, display_days, approval, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (unit_id) DO UPDATE SET issuer = excluded.issuer,
                 phone = excluded.phone, address = excluded.address,
                 supervision_office = excluded.supervision_office,
                 supervision_phone = excluded.supervision_phone,
                 display_days = excluded.display_days, approval = excluded.approval,
                 updated_at = excluded.updated_at")
            .bind(unit_id).bind(&s.issuer).bind(&s.phone).bind(&s.address)
            .bind(&s.supervision_office).bind(&s.supervision_phone).bind(s.display_days)
            .bind(s.approval.map(Approval::as_str)).bind(now_ms()).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The unit's own settings (nothing inherited).
    pub async fn own_notice_settings(
        &self,
        unit_id: &str,
    ) -> Result<Option<NoticeSettings>, StoreError> {
        let row = on_pool!(self.pool(), p => sqlx::query(
            "SELECT issuer, phone, address, supervision_office, supervision_phone, display_days,
                 approval FROM notice_settings WHERE unit_id = $1")
            .bind(unit_id).fetch_optional(p).await?.map(|r| settings_from_row(&r)).transpose())?;
        Ok(row)
    }

    /// The settings `unit` signs with: its own, each empty field filled
    /// from the nearest unit above that sets it.
    pub async fn notice_settings(&self, unit: &Unit) -> Result<NoticeSettings, StoreError> {
        let units = self.units().await?;
        let mut settings = NoticeSettings::default();
        let mut at = Some(unit.id.clone());
        for _ in 0..64 {
            let Some(id) = at.take() else { break };
            if let Some(own) = self.own_notice_settings(&id).await? {
                settings = settings.or(&own);
            }
            at = units
                .iter()
                .find(|u| u.id == id)
                .and_then(|u| u.parent_id.clone());
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_takes_what_it_leaves_empty_from_above() {
        let township = NoticeSettings {
            issuer: "中共石门镇委员会".into(),
            phone: "0736-1234567".into(),
            ..Default::default()
        };
        let county = NoticeSettings {
            issuer: "中共桃源县委".into(),
            supervision_office: "县纪委监委".into(),
            supervision_phone: "0736-12388".into(),
            display_days: Some(5),
            ..Default::default()
        };
        let s = NoticeSettings::default().or(&township).or(&county);
        assert_eq!(s.issuer, "中共石门镇委员会");
        assert_eq!(s.phone, "0736-1234567");
        assert_eq!(s.supervision_phone, "0736-12388");
        assert_eq!(s.display_days, Some(5));
        assert_eq!(s.approval, None, "nobody set one: automatic");
        let county = NoticeSettings {
            approval: Some(Approval::Leader),
            ..county
        };
        let s = NoticeSettings::default().or(&township).or(&county);
        assert_eq!(
            s.approval,
            Some(Approval::Leader),
            "a county sets it for all"
        );
        assert_eq!(s.address, "");
    }
}
