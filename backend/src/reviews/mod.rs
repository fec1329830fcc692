//! Monthly reviews (月点评): who reviews whom, the review itself (two scores
//! and a comment, due by a deadline), the month's facts it is drafted from,
//! and the results per unit (ranking, the bottom two marked 末位), exported
//! as a spreadsheet.

pub mod assign;
pub mod month;
pub mod results;
pub mod xlsx;

use chrono::{Datelike, NaiveDate};

/// Most points for work targets.
pub const MAX_TARGETS: i64 = 80;
/// Most points for daily conduct and records.
pub const MAX_CONDUCT: i64 = 20;
/// Longest review comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// A review as submitted by a form or the API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ReviewInput {
    pub targets: i64,
    pub conduct: i64,
    #[serde(default)]
    pub comment: String,
}

/// Why a review is refused: the message is shown to the reviewer (Chinese).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReviewRefused {
    pub field: &'static str,
    pub message: String,
}

impl ReviewInput {
    pub fn validate(&self) -> Result<(), ReviewRefused> {
        if !(0..=MAX_TARGETS).contains(&self.targets) {
            return Err(ReviewRefused {
                field: "targets",
                message: format!("工作目标得分须在 0 到 {MAX_TARGETS} 之间"),
            });
        }
        if !(0..=MAX_CONDUCT).contains(&self.conduct) {
            return Err(ReviewRefused {
                field: "conduct",
                message: format!("日常表现与纪实得分须在 0 到 {MAX_CONDUCT} 之间"),
            });
        }
        if self.comment.chars().count() > MAX_COMMENT_CHARS {
            return Err(ReviewRefused {
                field: "comment",
                message: format!("点评意见不能超过 {MAX_COMMENT_CHARS} 字"),
            });
        }
        Ok(())
    }
}

/// Whether a member sees the published results of `unit`, given the chain
/// of units from their own unit up to the root (`chain[0]` is their own):
/// their own unit and those above it up to the nearest township or
/// department, where a month's ranking is published to its people. Never a
/// unit above that (a county's results hold every township's people,
/// comments and ranks), never a sibling.
pub fn member_sees(chain: &[crate::storage::Unit], unit: &str) -> bool {
    for u in chain {
        if u.id == unit {
            return true;
        }
        if matches!(u.level.as_str(), "township" | "department") {
            return false;
        }
    }
    false
}

/// The month a `YYYY-MM` names: its first day.
pub fn parse_month(s: &str) -> Option<NaiveDate> {
    sync_core::ids::Period::parse_month(s).ok()
}

/// The last day of the month starting at `first`.
pub fn last_day(first: NaiveDate) -> NaiveDate {
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    next.and_then(|n| n.pred_opt()).unwrap_or(first)
}

/// The deadline of a month's reviews: the end of day `day` of the next
/// month, in UTC+8, as milliseconds since the epoch.
pub fn deadline_ms(first: NaiveDate, day: u32) -> i64 {
    let next = last_day(first).succ_opt().unwrap_or(first);
    let due = NaiveDate::from_ymd_opt(next.year(), next.month(), day.clamp(1, 28))
        .unwrap_or(next)
        .and_hms_opt(23, 59, 59)
        .unwrap_or_default();
    crate::china::ms_of(due) + 999
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_bounded_with_chinese_messages() {
        let ok = ReviewInput {
            targets: 80,
            conduct: 20,
            comment: "好".repeat(2000),
        };
        assert!(ok.validate().is_ok());
        let e = ReviewInput {
            targets: 81,
            ..ok.clone()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "targets");
        assert!(e.message.contains("工作目标"));
        assert_eq!(
            ReviewInput {
                conduct: -1,
                ..ok.clone()
            }
            .validate()
            .unwrap_err()
            .field,
            "conduct"
        );
        assert_eq!(
            ReviewInput {
                comment: "好".repeat(2001),
                ..ok
            }
            .validate()
            .unwrap_err()
            .field,
            "comment"
        );
    }

    fn unit(id: &str, level: &str) -> crate::storage::Unit {
        crate::storage::Unit {
            id: id.into(),
            parent_id: None,
            name: id.into(),
            level: level.into(),
            path: String::new(),
        }
    }

    #[test]
    fn members_see_their_unit_up_to_the_township_only() {
        let village = [
            unit("v1", "village"),
            unit("t1", "township"),
            unit("c1", "county"),
        ];
        assert!(member_sees(&village, "v1"));
        assert!(member_sees(&village, "t1"));
        assert!(!member_sees(&village, "c1"));
        assert!(!member_sees(&village, "t2"));
        let township = [unit("t1", "township"), unit("c1", "county")];
        assert!(member_sees(&township, "t1"));
        assert!(!member_sees(&township, "c1"));
        // Someone who sits in the county itself: their own unit.
        assert!(member_sees(&[unit("c1", "county")], "c1"));
        assert!(!member_sees(&[], "c1"));
    }

    #[test]
    fn the_deadline_is_the_fifth_of_the_next_month_china_time() {
        let nov = parse_month("2026-11").unwrap();
        assert_eq!(
            last_day(nov),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        let dec = parse_month("2026-12").unwrap();
        assert_eq!(
            last_day(dec),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
        // 2026-12-05 23:59:59.999 +08:00 = 15:59:59.999 UTC.
        let due = deadline_ms(nov, 5);
        let t = chrono::DateTime::from_timestamp_millis(due).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-05T15:59:59.999+00:00");
        assert!(parse_month("2026-13").is_none());
    }
}
