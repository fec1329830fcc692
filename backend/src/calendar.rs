//! Each county's working-day calendar: Monday to Friday are working days,
//! except the holidays (节假日) the county's admins enter, and a weekend day
//! is one when they make it a make-up working day (调休上班). Every count of
//! working days reads the calendar of the county concerned (the top unit
//! above the unit): a 督办 时限 given in working days, the weekly filing
//! rate (a day off is not a missing record), the first workday the
//! month-start notice waits for.
//!
//! The calendar is read from the database each time it is needed (a few
//! dozen rows a year), so every instance counts with the same days the
//! moment an admin saves them.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Serialize;

use crate::problem::{IntoProblem, Problem};
use crate::storage::{CalendarChangeRow, Store, StoreError};

/// The longest range one change sets (a holiday and its make-up days fit
/// many times over).
pub const MAX_RANGE_DAYS: i64 = 31;
/// The longest name of a day (国庆节调休上班 and the like).
pub const MAX_NAME_CHARS: usize = 30;

/// What a day is, where it is not what its weekday says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A day off (节假日), whatever the weekday.
    Holiday,
    /// A working day on a weekend (调休上班).
    Workday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            DayKind::Holiday => "放假",
            DayKind::Workday => "调休上班",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "holiday" => Some(DayKind::Holiday),
            "workday" => Some(DayKind::Workday),
            _ => None,
        }
    }
}

/// What a change sets the days to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Day(DayKind),
    /// Back to the weekday rule.
    Normal,
}

impl Setting {
    /// `holiday`, `workday` or `normal`.
    pub fn parse(s: &str) -> Result<Self, CalendarError> {
        match s.trim() {
            "normal" => Ok(Setting::Normal),
            other => DayKind::parse(other)
                .map(Setting::Day)
                .ok_or_else(|| CalendarError::BadKind(other.to_owned())),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Setting::Day(k) => k.as_str(),
            Setting::Normal => "normal",
        }
    }
}

/// The calendar: the days that are not what their weekday says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    days: BTreeMap<NaiveDate, DayKind>,
}

impl Calendar {
    /// Monday to Friday, no exceptions.
    pub fn weekdays() -> Self {
        Self::default()
    }

    /// A calendar with these days off (and no make-up days).
    pub fn with_holidays(days: impl IntoIterator<Item = NaiveDate>) -> Self {
        Self::from_days(days.into_iter().map(|d| (d, DayKind::Holiday)))
    }

    pub fn from_days(days: impl IntoIterator<Item = (NaiveDate, DayKind)>) -> Self {
        Self {
            days: days.into_iter().collect(),
        }
    }

    /// The calendar of the county above `unit_id` (weekdays only when the
    /// unit is unknown).
    pub async fn of_unit(store: &Store, unit_id: &str) -> Result<Self, StoreError> {
        match county_of(store, unit_id).await? {
            Some(county) => Self::load(store, &county).await,
            None => Ok(Self::weekdays()),
        }
    }

    /// `county`'s calendar as the database holds it now.
    pub async fn load(store: &Store, county: &str) -> Result<Self, StoreError> {
        let mut days = BTreeMap::new();
        for row in store.calendar_days(county).await? {
            // The table's CHECK keeps kinds to these two; a day that does
            // not parse was written by hand and is skipped, not fatal.
            match (
                NaiveDate::parse_from_str(&row.day, "%Y-%m-%d"),
                DayKind::parse(&row.kind),
            ) {
                (Ok(d), Some(k)) => {
                    days.insert(d, k);
                }
                _ => {
                    tracing::warn!(day = %row.day, kind = %row.kind, "a calendar row that does not parse is ignored")
                }
            }
        }
        Ok(Self { days })
    }

    /// What `d` is, where the calendar says.
    pub fn kind(&self, d: NaiveDate) -> Option<DayKind> {
        self.days.get(&d).copied()
    }

    /// Is `d` a working day?
    pub fn is_workday(&self, d: NaiveDate) -> bool {
        match self.kind(d) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !is_weekend(d),
        }
    }

    /// The day `n` working days after `from`: 3 working days from a Friday
    /// is the Wednesday; `n = 0` is `from`.
    pub fn add_workdays(&self, from: NaiveDate, n: u32) -> NaiveDate {
        let mut day = from;
        let mut left = n;
        // A calendar cannot hold more than a run of holidays per change; a
        // bound keeps a hand-edited table of all holidays from spinning.
        let mut steps = 0u32;
        while left > 0 && steps < n.saturating_mul(7).saturating_add(400) {
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
            steps += 1;
            if self.is_workday(day) {
                left -= 1;
            }
        }
        day
    }

    /// Working days after `from` up to and including `to` (0 when `to` is
    /// not after `from`): a case filed on Friday and answered on Monday
    /// took one working day.
    pub fn workdays_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut n = 0;
        let mut day = from;
        while day < to {
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
            if self.is_workday(day) {
                n += 1;
            }
        }
        n
    }

    /// The first working day on or after `d` (within a month).
    pub fn first_workday_from(&self, d: NaiveDate) -> NaiveDate {
        let mut day = d;
        for _ in 0..31 {
            if self.is_workday(day) {
                return day;
            }
            day = day.succ_opt().unwrap_or(day);
        }
        d
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("{0:?} is not a day: write YYYY-MM-DD, e.g. 2026-10-01")]
    BadDay(String),
    #[error("{0:?} is not a kind of day: write holiday (放假), workday (调休上班) or normal")]
    BadKind(String),
    #[error("the range {from} to {to} runs backwards: give the earlier day first")]
    Backwards { from: NaiveDate, to: NaiveDate },
    #[error("the range {from} to {to} is longer than {MAX_RANGE_DAYS} days: set it in parts")]
    TooLong { from: NaiveDate, to: NaiveDate },
    #[error(
        "{0} is a weekday, a working day already: a make-up working day (workday) is a \
         Saturday or Sunday"
    )]
    WorkdayOnWeekday(NaiveDate),
    #[error("a holiday or make-up day needs a name (e.g. 国庆节), at most {MAX_NAME_CHARS} characters without control characters")]
    BadName,
    #[error("only an admin of a top unit (the county) keeps the calendar")]
    Forbidden,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CalendarError {
    /// The refusal in Chinese, for the web pages (`None`: not the
    /// keeper's input, an internal error).
    pub fn zh(&self) -> Option<String> {
        Some(match self {
            CalendarError::BadDay(d) => format!("「{d}」不是日期，请按 2026-10-01 的格式填写。"),
            CalendarError::BadKind(_) => "请选择放假、调休上班或恢复按星期。".into(),
            CalendarError::Backwards { .. } => "结束日期早于开始日期，请先填较早的一天。".into(),
            CalendarError::TooLong { .. } => {
                format!("一次最多设置 {MAX_RANGE_DAYS} 天，请分段设置。")
            }
            CalendarError::WorkdayOnWeekday(d) => {
                format!("{d} 是周一至周五，本来就是工作日；调休上班只能设在周六或周日。")
            }
            CalendarError::BadName => format!(
                "请填写名称（如“国庆节”“国庆节调休”），不超过 {MAX_NAME_CHARS} 字，不含控制字符。"
            ),
            CalendarError::Forbidden => "工作日历由县级管理员维护。".into(),
            CalendarError::Store(_) => return None,
        })
    }
}

impl IntoProblem for CalendarError {
    fn into_problem(self) -> Problem {
        let invalid = |code, e: &CalendarError| Problem::Invalid {
            code,
            message: e.to_string(),
        };
        match self {
            e @ CalendarError::BadDay(_) => invalid("bad_day", &e),
            e @ CalendarError::BadKind(_) => invalid("bad_kind", &e),
            e @ (CalendarError::Backwards { .. } | CalendarError::TooLong { .. }) => {
                invalid("bad_range", &e)
            }
            e @ CalendarError::WorkdayOnWeekday(_) => invalid("workday_on_weekday", &e),
            e @ CalendarError::BadName => invalid("bad_name", &e),
            e @ CalendarError::Forbidden => Problem::Forbidden(e.to_string()),
            CalendarError::Store(e) => e.into_problem(),
        }
    }
}

crate::edge_error!(CalendarError);

/// A change an admin asks for: the days from `from` to `to` (inclusive)
/// set to `setting`, named `name`.
#[derive(Debug, Clone)]
pub struct Change {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub setting: Setting,
    pub name: String,
}

impl Change {
    /// Read a change from text fields (the form, the command line); `to`
    /// empty means the one day `from`.
    pub fn parse(from: &str, to: &str, kind: &str, name: &str) -> Result<Self, CalendarError> {
        let day = |s: &str| {
            sync_core::ids::Period::parse_day(s.trim())
                .map_err(|_| CalendarError::BadDay(s.trim().to_owned()))
        };
        let from_day = day(from)?;
        let to_day = if to.trim().is_empty() {
            from_day
        } else {
            day(to)?
        };
        let change = Change {
            from: from_day,
            to: to_day,
            setting: Setting::parse(kind)?,
            name: name.trim().to_owned(),
        };
        change.check()?;
        Ok(change)
    }

    fn check(&self) -> Result<(), CalendarError> {
        if self.to < self.from {
            return Err(CalendarError::Backwards {
                from: self.from,
                to: self.to,
            });
        }
        if (self.to - self.from).num_days() >= MAX_RANGE_DAYS {
            return Err(CalendarError::TooLong {
                from: self.from,
                to: self.to,
            });
        }
        if let Setting::Day(_) = self.setting {
            let chars = self.name.chars().count();
            if chars == 0
                || chars > MAX_NAME_CHARS
                || self
                    .name
                    .chars()
                    .any(|c| c.is_control() || crate::invisible::is_invisible(c))
            {
                return Err(CalendarError::BadName);
            }
        }
        if self.setting == Setting::Day(DayKind::Workday) {
            if let Some(d) = self.days().find(|d| !is_weekend(*d)) {
                return Err(CalendarError::WorkdayOnWeekday(d));
            }
        }
        Ok(())
    }

    fn days(&self) -> impl Iterator<Item = NaiveDate> {
        self.from.iter_days().take_while({
            let to = self.to;
            move |d| *d <= to
        })
    }
}

/// Who makes a change, for the record.
pub struct Keeper<'a> {
    pub user_id: &'a str,
    /// `web` or `cli`.
    pub via: &'a str,
}

/// The county of `unit_id`: the top unit above it (itself if it is one).
pub async fn county_of(store: &Store, unit_id: &str) -> Result<Option<String>, StoreError> {
    Ok(store
        .unit(unit_id)
        .await?
        .and_then(|u| u.path.split('/').find(|s| !s.is_empty()).map(str::to_owned)))
}

/// Apply `change` to `county`'s calendar: every day of its range is set
/// at once, and kept in the calendar's history.
pub async fn apply(
    store: &Store,
    county: &str,
    change: &Change,
    by: Keeper<'_>,
) -> Result<i64, CalendarError> {
    change.check()?;
    let days: Vec<String> = change
        .days()
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect();
    let name = match change.setting {
        Setting::Normal => "",
        Setting::Day(_) => change.name.as_str(),
    };
    Ok(store
        .set_calendar_days(
            county,
            &days,
            change.setting.as_str(),
            name,
            by.user_id,
            by.via,
        )
        .await?)
}

/// The county whose calendar `user` keeps: an admin's whose scope is a
/// top unit (a county); none for anyone else.
pub async fn kept_by(
    store: &Store,
    user: &crate::storage::User,
) -> Result<Option<String>, StoreError> {
    if user.role != sync_core::Role::Admin {
        return Ok(None);
    }
    let Some(scope) = &user.scope_unit_id else {
        return Ok(None);
    };
    Ok(store
        .unit(scope)
        .await?
        .filter(|u| u.parent_id.is_none())
        .map(|u| u.id))
}

/// A change as the history shows it.
pub fn change_line(c: &CalendarChangeRow) -> String {
    let what = match c.kind.as_str() {
        "holiday" => format!("放假（{}）", c.name),
        "workday" => format!("调休上班（{}）", c.name),
        _ => "恢复按星期".to_owned(),
    };
    format!("{} → {}", c.day, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// 2026's National Day: 10-01 (Thu) to 10-08 off, Sunday 09-27 and
    /// Saturday 10-10 worked.
    fn national_day() -> Calendar {
        let mut days: Vec<(NaiveDate, DayKind)> = d("2026-10-01")
            .iter_days()
            .take(8)
            .map(|d| (d, DayKind::Holiday))
            .collect();
        days.push((d("2026-09-27"), DayKind::Workday));
        days.push((d("2026-10-10"), DayKind::Workday));
        Calendar::from_days(days)
    }

    #[test]
    fn weekends_holidays_and_make_up_days() {
        let c = national_day();
        assert!(c.is_workday(d("2026-09-30"))); // Wednesday
        assert!(!c.is_workday(d("2026-10-01"))); // Thursday, holiday
        assert!(c.is_workday(d("2026-09-27"))); // Sunday, make-up
        assert!(c.is_workday(d("2026-10-10"))); // Saturday, make-up
        assert!(!c.is_workday(d("2026-10-11"))); // Sunday
        assert!(!Calendar::weekdays().is_workday(d("2026-12-05")));
    }

    #[test]
    fn working_days_are_counted_over_a_holiday_and_its_make_up_day() {
        let c = national_day();
        // Filed Wednesday 09-30: Thu–Thu off, Friday 10-09 is the first
        // working day, Saturday 10-10 the second, Monday 10-12 the third.
        assert_eq!(c.add_workdays(d("2026-09-30"), 3), d("2026-10-12"));
        assert_eq!(c.workdays_between(d("2026-09-30"), d("2026-10-12")), 3);
        assert_eq!(c.workdays_between(d("2026-09-30"), d("2026-10-09")), 1);
        assert_eq!(c.workdays_between(d("2026-10-12"), d("2026-10-12")), 0);
        // A plain weekend: Friday + 3 = Wednesday.
        let w = Calendar::weekdays();
        assert_eq!(w.add_workdays(d("2026-12-04"), 3), d("2026-12-09"));
        assert_eq!(w.add_workdays(d("2026-12-04"), 0), d("2026-12-04"));
        assert_eq!(c.first_workday_from(d("2026-10-01")), d("2026-10-09"));
    }

    #[test]
    fn a_calendar_of_only_holidays_does_not_spin() {
        let all = Calendar::from_days(
            d("2026-01-01")
                .iter_days()
                .take(5000)
                .map(|d| (d, DayKind::Holiday)),
        );
        let end = all.add_workdays(d("2026-01-01"), 3);
        assert!(end > d("2026-01-01"));
    }

    #[test]
    fn changes_are_checked_before_anything_is_stored() {
        assert!(matches!(
            Change::parse("2026-10-1", "", "holiday", "国庆节"),
            Err(CalendarError::BadDay(_))
        ));
        assert!(matches!(
            Change::parse("2026-10-08", "2026-10-01", "holiday", "国庆节"),
            Err(CalendarError::Backwards { .. })
        ));
        assert!(matches!(
            Change::parse("2026-10-01", "2026-12-01", "holiday", "国庆节"),
            Err(CalendarError::TooLong { .. })
        ));
        assert!(matches!(
            Change::parse("2026-10-12", "", "workday", "调休"),
            Err(CalendarError::WorkdayOnWeekday(_))
        ));
        assert!(matches!(
            Change::parse("2026-10-01", "", "holiday", " "),
            Err(CalendarError::BadName)
        ));
        assert!(matches!(
            Change::parse("2026-10-01", "", "holiday", "国庆\u{202E}节"),
            Err(CalendarError::BadName)
        ));
        assert!(matches!(
            Change::parse("2026-10-01", "", "off", "国庆节"),
            Err(CalendarError::BadKind(_))
        ));
        let ok = Change::parse("2026-10-01", "2026-10-08", "holiday", " 国庆节 ").unwrap();
        assert_eq!((ok.days().count(), ok.name.as_str()), (8, "国庆节"));
        // Back to normal needs no name.
        assert!(Change::parse("2026-10-10", "", "normal", "").is_ok());
    }
}
