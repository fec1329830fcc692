//! ISO weeks (`2026-W47`): Monday to Sunday.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// An ISO week, held as its Monday: only a real week can be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    monday: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ISO week; write it like 2026-W47")]
pub struct BadWeek(pub String);

impl IsoWeek {
    pub fn parse(s: &str) -> Result<Self, BadWeek> {
        let bad = || BadWeek(s.to_owned());
        let (y, w) = s.split_once("-W").ok_or_else(bad)?;
        if y.len() != 4 || w.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let week: u32 = w.parse().map_err(|_| bad())?;
        if !(2000..=2200).contains(&year) {
            return Err(bad());
        }
        let monday = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(bad)?;
        Ok(Self { monday })
    }

    pub fn of(date: NaiveDate) -> Self {
        let back = date.weekday().num_days_from_monday();
        Self {
            monday: date - Duration::days(i64::from(back)),
        }
    }

    /// The ISO year (which may differ from the calendar year at its ends).
    pub fn year(self) -> i32 {
        self.monday.iso_week().year()
    }

    /// The week's number in its ISO year, 1 to 53.
    pub fn week(self) -> u32 {
        self.monday.iso_week().week()
    }

    pub fn monday(self) -> NaiveDate {
        self.monday
    }

    pub fn sunday(self) -> NaiveDate {
        self.monday + Duration::days(6)
    }

    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        let monday = self.monday;
        (0..7).map(move |i| monday + Duration::days(i))
    }

    /// `第47周 11月16日—11月22日`, as the notices write a week (never
    /// `2026-W47`).
    pub fn zh_range(self) -> String {
        format!(
            "第{}周 {}—{}",
            self.week(),
            zh_day(self.monday()),
            zh_day(self.sunday())
        )
    }

    pub fn previous(self) -> Self {
        Self {
            monday: self.monday - Duration::days(7),
        }
    }
}

impl std::fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-W{:02}", self.year(), self.week())
    }
}

/// `2026年11月` of a `YYYY-MM` month; anything else as it is.
pub fn zh_month(month: &str) -> String {
    match NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d") {
        Ok(d) => format!("{}年{}月", d.year(), d.month()),
        Err(_) => month.to_owned(),
    }
}

/// `11月17日` as the publications write dates.
pub fn zh_day(d: NaiveDate) -> String {
    format!("{}月{}日", d.month(), d.day())
}

/// `周一` to `周日`.
pub fn zh_weekday(d: NaiveDate) -> &'static str {
    ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
        [d.weekday().num_days_from_monday() as usize]
}

/// A `YYYY-MM-DD` day as `11月17日 周二`; anything else as it is.
pub fn zh_day_label(iso: &str) -> String {
    match NaiveDate::parse_from_str(iso, "%Y-%m-%d") {
        Ok(d) => format!("{} {}", zh_day(d), zh_weekday(d)),
        Err(_) => iso.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_parse_and_span_monday_to_sunday() {
        let w = IsoWeek::parse("2026-W47").unwrap();
        assert_eq!(w.monday(), NaiveDate::from_ymd_opt(2026, 11, 16).unwrap());
        assert_eq!(w.sunday(), NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
        assert_eq!(w.to_string(), "2026-W47");
        assert_eq!(w.days().count(), 7);
        assert_eq!(w.previous().to_string(), "2026-W46");
        assert_eq!(
            IsoWeek::of(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()).to_string(),
            "2026-W53"
        );
        for bad in ["2026-47", "2026-W54", "26-W01", "2026-W1", "x", "2026-W00"] {
            assert!(IsoWeek::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(zh_day(w.monday()), "11月16日");
        assert_eq!(w.zh_range(), "第47周 11月16日—11月22日");
        assert_eq!(zh_day_label("2026-11-22"), "11月22日 周日");
        assert_eq!(zh_day_label("nonsense"), "nonsense");
        // A week across the new year is numbered in its ISO year.
        let w53 = IsoWeek::parse("2026-W53").unwrap();
        assert_eq!(w53.zh_range(), "第53周 12月28日—1月3日");
    }
}
