//! What makes a publication an official notice: who issues it and when
//! (落款), how long it stays up (公示期), and where the public answers
//! (the unit's phone and address, the supervision office's phone). Read
//! from the unit's settings when the page is shown, so a changed phone
//! number reaches every notice still on the board.

use chrono::{DateTime, Duration, NaiveDate};

use super::week::zh_day;
use crate::storage::{NoticeSettings, Store, StoreError};

/// 公示期 when no unit above sets one.
pub const DEFAULT_DISPLAY_DAYS: i64 = 7;

/// The official part of a notice, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeFrame {
    /// 落款.
    pub issuer: String,
    /// `2026年11月23日`.
    pub issued_on: String,
    /// `11月23日至11月29日`.
    pub display: String,
    pub display_days: i64,
    pub phone: String,
    pub address: String,
    pub supervision_office: String,
    pub supervision_phone: String,
    /// The QR code (SVG) of the notice's own address, for the printed
    /// copy, and the address of the unit's notice board, printed beside it
    /// (short enough to type); empty when the server's public address is
    /// not known.
    pub qr_svg: String,
    pub board_url: String,
}

/// `2026年11月23日`.
pub fn zh_date(d: NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

impl NoticeFrame {
    /// The frame of a notice of `unit_name` made at `published_at` (ms).
    pub fn new(unit_name: &str, settings: NoticeSettings, published_at: i64) -> Self {
        let issued = DateTime::from_timestamp_millis(published_at)
            .map(|t| t.with_timezone(&crate::china::OFFSET).date_naive())
            .unwrap_or_default();
        let days = settings
            .display_days
            .filter(|d| (1..=365).contains(d))
            .unwrap_or(DEFAULT_DISPLAY_DAYS);
        let until = issued + Duration::days(days - 1);
        Self {
            issuer: if settings.issuer.is_empty() {
                unit_name.to_owned()
            } else {
                settings.issuer
            },
            issued_on: zh_date(issued),
            display: format!("{}至{}", zh_day(issued), zh_day(until)),
            display_days: days,
            phone: settings.phone,
            address: settings.address,
            supervision_office: settings.supervision_office,
            supervision_phone: settings.supervision_phone,
            qr_svg: String::new(),
            board_url: String::new(),
        }
    }

    /// The frame of the notice at `url` (`…/p/{unit}/{week}`): its QR
    /// code, and the notice board's address (`…/p/{unit}`).
    pub fn at(mut self, url: Option<String>) -> Self {
        if let Some(url) = url {
            if let (Some(svg), Some((board, _))) = (super::qr::svg(&url), url.rsplit_once('/')) {
                self.qr_svg = svg;
                self.board_url = board.to_owned();
            }
        }
        self
    }

    /// The frame of `unit_id`'s notice made at `published_at`, from the
    /// settings stored for it and the units above it.
    pub async fn load(
        store: &Store,
        unit_id: &str,
        unit_name: &str,
        published_at: i64,
    ) -> Result<Self, StoreError> {
        let settings = match store.unit(unit_id).await? {
            Some(unit) => store.notice_settings(&unit).await?,
            None => NoticeSettings::default(),
        };
        Ok(Self::new(unit_name, settings, published_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_signs_dates_and_defaults() {
        // 2026-11-23 08:00 in China.
        let at = 1_795_392_000_000;
        let f = NoticeFrame::new("石门镇", NoticeSettings::default(), at);
        assert_eq!(
            f.issuer, "石门镇",
            "the unit signs when nobody set an issuer"
        );
        assert_eq!(f.issued_on, "2026年11月23日");
        assert_eq!(f.display, "11月23日至11月29日");
        let f = NoticeFrame::new(
            "石门镇",
            NoticeSettings {
                issuer: "中共石门镇委员会".into(),
                display_days: Some(3),
                ..Default::default()
            },
            at,
        );
        assert_eq!(f.issuer, "中共石门镇委员会");
        assert_eq!(
            (f.display.as_str(), f.display_days),
            ("11月23日至11月25日", 3)
        );
    }
}
