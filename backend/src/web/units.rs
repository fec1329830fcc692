//! The unit tree with this week's filing rate, and one unit's cadres.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use super::{china_today, WebCaller, WebError};
use crate::publications::week::{zh_month, IsoWeek};
use crate::state::AppState;
use std::collections::BTreeSet;

use crate::calendar::Calendar;
use crate::storage::Unit;

pub fn level_zh(level: &str) -> &'static str {
    match level {
        "county" => "县",
        "township" => "乡镇",
        "department" => "部门",
        "village" => "村",
        "office" => "站所",
        _ => "单位",
    }
}

/// Publishing units (townships and departments) have weekly publications.
pub fn publishes(unit: &Unit) -> bool {
    matches!(unit.level.as_str(), "township" | "department")
}

/// The workdays of `week` already due: before today (today's records may
/// still come in the evening).
fn due_days(week: IsoWeek, today: NaiveDate, calendar: &Calendar) -> BTreeSet<String> {
    week.days()
        .filter(|d| calendar.is_workday(*d) && *d < today)
        .map(|d| d.to_string())
        .collect()
}

/// Filing of a unit's people over a week: (workdays filed, workdays due).
async fn rate(
    state: &AppState,
    unit_id: &str,
    people: usize,
    week: IsoWeek,
    today: NaiveDate,
    calendar: &Calendar,
) -> Result<(i64, i64), WebError> {
    let due = due_days(week, today, calendar);
    let filed = state
        .store
        .filed_days(
            unit_id,
            &week.monday().to_string(),
            &week.sunday().to_string(),
        )
        .await?
        .into_iter()
        .filter(|(_, day)| due.contains(day))
        .count() as i64;
    Ok((filed, (people * due.len()) as i64))
}

pub fn percent(filed: i64, due: i64) -> String {
    if due == 0 {
        "—".into()
    } else {
        format!("{}%", filed * 100 / due)
    }
}

pub struct UnitLine {
    pub id: String,
    pub name: String,
    pub level: &'static str,
    pub indent: usize,
    pub people: usize,
    pub filed: i64,
    pub due: i64,
    pub rate: String,
    /// Below 60 %: shown in red.
    pub low: bool,
    /// Townships and departments: their weekly notice of the week shown.
    pub publishes: bool,
}

#[derive(Template)]
#[template(path = "web/home.html")]
struct Home<'a> {
    me: &'a str,
    week: String,
    week_label: String,
    previous_week: String,
    next_week: Option<String>,
    /// The scope's unit, and the months whose reviews the page links.
    top_id: String,
    months: Vec<(String, String)>,
    units: Vec<UnitLine>,
    /// An admin: the roster import is linked.
    admin: bool,
}

/// The week the home page rates: this week once a workday of it is due,
/// else the week before (on a Monday, or after a holiday start, this week
/// has nothing due yet and every rate would be a dash).
fn home_week(today: NaiveDate, calendar: &Calendar) -> IsoWeek {
    let this_week = IsoWeek::of(today);
    if due_days(this_week, today, calendar).is_empty() {
        this_week.previous()
    } else {
        this_week
    }
}

/// `GET /web/[?week=2026-W47]`: the units under the caller, each with the
/// week's filing rate (by default this week's, last week's while nothing
/// of this week is due yet: on Monday morning, last week), the week's
/// notices and the months' reviews.
pub async fn home(
    State(state): State<AppState>,
    caller: WebCaller,
    q: Result<Query<WeekQuery>, QueryRejection>,
) -> Result<Html<String>, WebError> {
    let Query(q) = q.map_err(|_| WebError::Invalid("周次格式应为 2026-W47。".into()))?;
    let scope = caller.scope()?;
    let top = state.store.unit(scope).await?.ok_or(WebError::NotFound)?;
    let calendar = Calendar::of_unit(&state.store, &top.id).await?;
    let today = china_today();
    let this_week = IsoWeek::of(today);
    let week = match q.week.as_deref() {
        Some(w) => IsoWeek::parse(w)
            .ok()
            .filter(|w| w.monday() <= this_week.monday())
            .ok_or_else(|| WebError::Invalid("周次格式应为 2026-W47，且不能晚于本周。".into()))?,
        None => home_week(today, &calendar),
    };
    let (from, to) = (week.monday().to_string(), week.sunday().to_string());
    let base_depth = top.path.matches('/').count();
    let mut units = Vec::new();
    for unit in state.store.units().await? {
        if !unit.path.starts_with(top.path.as_str()) {
            continue;
        }
        let people = state.store.filing(&unit.id, &from, &to).await?.len();
        let (filed, due) = rate(&state, &unit.id, people, week, today, &calendar).await?;
        units.push(UnitLine {
            level: level_zh(&unit.level),
            indent: unit.path.matches('/').count().saturating_sub(base_depth),
            rate: percent(filed, due),
            low: due > 0 && filed * 100 < due * 60,
            publishes: publishes(&unit),
            id: unit.id,
            name: unit.name,
            people,
            filed,
            due,
        });
    }
    // The reviews of the week's month and of the month before it.
    let month_of = |d: NaiveDate| d.format("%Y-%m").to_string();
    let first = NaiveDate::from_ymd_opt(week.monday().year(), week.monday().month(), 1)
        .unwrap_or(week.monday());
    let months = [first.pred_opt().unwrap_or(first), first]
        .into_iter()
        .map(|d| (month_of(d), zh_month(&month_of(d))))
        .collect();
    let next = IsoWeek::of(week.sunday().succ_opt().unwrap_or(week.sunday()));
    let page = Home {
        me: &caller.0.user.name,
        week: week.to_string(),
        week_label: week.zh_range(),
        previous_week: week.previous().to_string(),
        next_week: (week.monday() < this_week.monday()).then(|| next.to_string()),
        top_id: top.id,
        months,
        units,
        admin: caller.0.user.role == sync_core::Role::Admin,
    };
    Ok(Html(page.render().map_err(WebError::internal)?))
}

#[derive(Debug, Deserialize)]
pub struct WeekQuery {
    week: Option<String>,
}

pub struct PersonLine {
    pub user_id: String,
    pub name: String,
    pub unit_name: String,
    pub days_filed: i64,
    pub entries: i64,
    pub night_activities: i64,
    pub nights_stayed: i64,
}

#[derive(Template)]
#[template(path = "web/unit.html")]
struct UnitPage<'a> {
    me: &'a str,
    unit: &'a Unit,
    level: &'static str,
    week: String,
    week_label: String,
    previous_week: String,
    next_week: Option<String>,
    from: String,
    to: String,
    people: Vec<PersonLine>,
    rate: String,
    publishes: bool,
    last_week: String,
    last_week_label: String,
    month_label: String,
    last_month_label: String,
    month: String,
    last_month: String,
}

/// The unit, if the caller oversees it.
pub async fn overseen(
    state: &AppState,
    caller: &WebCaller,
    unit_id: &str,
) -> Result<Unit, WebError> {
    let scope = caller.scope()?;
    if !state.store.unit_in_scope(unit_id, scope).await? {
        return Err(WebError::NotFound);
    }
    state.store.unit(unit_id).await?.ok_or(WebError::NotFound)
}

/// `GET /web/units/{unit}?week=2026-W47`: the unit's people and their week.
pub async fn unit_page(
    State(state): State<AppState>,
    caller: WebCaller,
    Path(unit_id): Path<String>,
    q: Result<Query<WeekQuery>, QueryRejection>,
) -> Result<Html<String>, WebError> {
    let Query(q) = q.map_err(|_| WebError::Invalid("周次格式应为 2026-W47。".into()))?;
    let unit = overseen(&state, &caller, &unit_id).await?;
    let today = china_today();
    let this_week = IsoWeek::of(today);
    let week = match q.week.as_deref() {
        Some(w) => {
            IsoWeek::parse(w).map_err(|_| WebError::Invalid("周次格式应为 2026-W47。".into()))?
        }
        None => this_week,
    };
    let (from, to) = (week.monday().to_string(), week.sunday().to_string());
    let rows = state.store.filing(&unit.id, &from, &to).await?;
    let calendar = Calendar::of_unit(&state.store, &unit.id).await?;
    let (filed, due) = rate(&state, &unit.id, rows.len(), week, today, &calendar).await?;
    let names: std::collections::BTreeMap<String, String> = state
        .store
        .units()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let people = rows
        .into_iter()
        .map(|r| PersonLine {
            unit_name: names.get(&r.unit_id).cloned().unwrap_or_default(),
            user_id: r.user_id,
            name: r.name,
            days_filed: r.days_filed,
            entries: r.entries,
            night_activities: r.night_activities,
            nights_stayed: r.nights_stayed,
        })
        .collect();
    let month_start = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let last_month = month_start.pred_opt().unwrap_or(month_start);
    let next = IsoWeek::of(week.sunday().succ_opt().unwrap_or(week.sunday()));
    let page = UnitPage {
        me: &caller.0.user.name,
        level: level_zh(&unit.level),
        publishes: publishes(&unit),
        unit: &unit,
        week: week.to_string(),
        week_label: week.zh_range(),
        previous_week: week.previous().to_string(),
        next_week: (week.monday() < this_week.monday()).then(|| next.to_string()),
        from,
        to,
        people,
        rate: percent(filed, due),
        last_week: this_week.previous().to_string(),
        last_week_label: format!("第{}周", this_week.previous().week()),
        month: month_start.format("%Y-%m").to_string(),
        month_label: zh_month(&month_start.format("%Y-%m").to_string()),
        last_month: last_month.format("%Y-%m").to_string(),
        last_month_label: zh_month(&last_month.format("%Y-%m").to_string()),
    };
    Ok(Html(page.render().map_err(WebError::internal)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_home_page_rates_last_week_until_a_day_of_this_week_is_due() {
        // Monday 2026-12-07: nothing of this week is due yet.
        assert_eq!(
            home_week(day("2026-12-07"), &Calendar::weekdays()),
            IsoWeek::of(day("2026-11-30"))
        );
        // Tuesday: Monday is due.
        assert_eq!(
            home_week(day("2026-12-08"), &Calendar::weekdays()),
            IsoWeek::of(day("2026-12-08"))
        );
        // A holiday Monday: still last week on Tuesday.
        let holiday = Calendar::with_holidays([day("2026-12-07")]);
        assert_eq!(
            home_week(day("2026-12-08"), &holiday),
            IsoWeek::of(day("2026-11-30"))
        );
    }
}
