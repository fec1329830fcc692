//! What leaders and supervisors read under a photo: when and where the
//! camera took it (from the document, never from the published image, which
//! carries neither), and whether that fits the day or night the record
//! claims. Never on public pages.

use chrono::{Duration, NaiveDate, Timelike};
use sync_core::document::Photo;

/// A photo as the cadre's page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoView {
    pub hash: String,
    /// `拍摄于11月23日 21:05 · 位置 30.12345, 106.12345（±15米）`.
    pub caption: String,
    /// Taken outside the day (or night) the record is about.
    pub mismatch: bool,
}

/// What the record claims: a day's work, or a night's activity (which may
/// run past midnight: from noon of its date to noon of the next day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    Day(NaiveDate),
    Night(NaiveDate),
}

pub fn view(p: &Photo, claimed: Claimed) -> PhotoView {
    let taken = p.captured_at.and_then(crate::china::at_ms);
    let when = match taken {
        Some(t) => format!(
            "拍摄于{}月{}日 {:02}:{:02}",
            chrono::Datelike::month(&t.date_naive()),
            chrono::Datelike::day(&t.date_naive()),
            t.hour(),
            t.minute()
        ),
        None => "无拍摄时间".to_owned(),
    };
    let place = match &p.location {
        Some(l) => format!("位置 {:.5}, {:.5}（±{:.0}米）", l.lat, l.lon, l.accuracy_m),
        None => "无拍摄位置".to_owned(),
    };
    let mismatch = taken.is_some_and(|t| {
        let local = t.naive_local();
        match claimed {
            Claimed::Day(d) => local.date() != d,
            Claimed::Night(d) => {
                let from = d.and_hms_opt(12, 0, 0).unwrap_or_default();
                let to = from + Duration::days(1);
                local < from || local >= to
            }
        }
    });
    let caption = if mismatch {
        format!("{when} · {place}（拍摄时间与记录日期不符）")
    } else {
        format!("{when} · {place}")
    };
    PhotoView {
        hash: p.hash.clone(),
        caption,
        mismatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::validate::Location;

    fn photo(at: Option<&str>, location: Option<Location>) -> Photo {
        Photo {
            hash: "ab".into(),
            added_at: 0,
            captured_at: at.map(|s| {
                chrono::DateTime::parse_from_rfc3339(s)
                    .unwrap()
                    .timestamp_millis()
            }),
            location,
        }
    }

    #[test]
    fn a_night_photo_fits_its_night_and_nothing_else() {
        let night = Claimed::Night(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        let loc = Location {
            lat: 31.02901,
            lon: 106.42178,
            accuracy_m: 15.0,
        };
        let v = view(&photo(Some("2026-11-23T21:05:00+08:00"), Some(loc)), night);
        assert_eq!(
            v.caption,
            "拍摄于11月23日 21:05 · 位置 31.02901, 106.42178（±15米）"
        );
        assert!(!v.mismatch);
        // Past midnight still belongs to the night.
        assert!(!view(&photo(Some("2026-11-24T01:30:00+08:00"), None), night).mismatch);
        // A photo of another night is flagged.
        let v = view(&photo(Some("2026-11-20T21:00:00+08:00"), None), night);
        assert!(v.mismatch && v.caption.contains("拍摄时间与记录日期不符"));
        assert!(v.caption.contains("无拍摄位置"));
        // UTC midnight is 08:00 in China: the day is China's.
        let day = Claimed::Day(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
        assert!(!view(&photo(Some("2026-11-23T17:00:00Z"), None), day).mismatch);
        assert!(view(&photo(Some("2026-11-23T15:00:00Z"), None), day).mismatch);
        // Nothing recorded: said, not flagged.
        let v = view(&photo(None, None), day);
        assert_eq!(
            (v.caption.as_str(), v.mismatch),
            ("无拍摄时间 · 无拍摄位置", false)
        );
    }
}
