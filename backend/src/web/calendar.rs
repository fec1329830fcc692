//! The county calendar on the web pages (`/web/calendar`): a year's
//! holidays and make-up working days of the caller's county and its latest
//! changes, for everyone logged in; a form to change them for the admins
//! who keep it (an admin of the county, a top unit). A refused change
//! shows the form again as typed.

use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use super::{china_time, china_today, WebCaller, WebError};
use crate::calendar::{self, CalendarError, Change, Keeper};
use crate::state::AppState;

/// How many of the latest changes the page lists.
const CHANGES_SHOWN: i64 = 30;

pub struct DayLine {
    pub day: String,
    pub weekday: &'static str,
    /// `holiday` or `workday`.
    pub kind: String,
    pub name: String,
}

pub struct ChangeLine {
    pub at: String,
    pub by: String,
    pub what: String,
}

/// The form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
}

#[derive(Template)]
#[template(path = "web/calendar.html")]
struct CalendarPage<'a> {
    me: &'a str,
    year: i32,
    days: Vec<DayLine>,
    changes: Vec<ChangeLine>,
    keeper: bool,
    form: ChangeForm,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct YearQuery {
    year: Option<i32>,
    saved: Option<String>,
}

fn weekday_zh(d: NaiveDate) -> &'static str {
    ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
        [d.weekday().num_days_from_monday() as usize]
}

/// The county whose calendar `user` sees: that of the unit they oversee,
/// else of their own.
async fn caller_county(state: &AppState, user: &crate::storage::User) -> Result<String, WebError> {
    let unit = user.scope_unit_id.as_deref().unwrap_or(&user.unit_id);
    calendar::county_of(&state.store, unit)
        .await?
        .ok_or(WebError::NotFound)
}

async fn page(
    state: &AppState,
    caller: &WebCaller,
    year: i32,
    form: ChangeForm,
    message: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let user = &caller.0.user;
    let county = caller_county(state, user).await?;
    let prefix = format!("{year}-");
    let days = state
        .store
        .calendar_days(&county)
        .await?
        .into_iter()
        .filter(|r| r.day.starts_with(&prefix))
        .map(|r| DayLine {
            weekday: NaiveDate::parse_from_str(&r.day, "%Y-%m-%d").map_or("", weekday_zh),
            day: r.day,
            kind: r.kind,
            name: r.name,
        })
        .collect();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut changes = Vec::new();
    for c in state.store.calendar_changes(&county, CHANGES_SHOWN).await? {
        let by = if c.set_by.is_empty() {
            "命令行".to_owned()
        } else {
            if !names.contains_key(&c.set_by) {
                let name = state
                    .store
                    .user(&c.set_by)
                    .await?
                    .map_or_else(|| c.set_by.clone(), |u| u.name);
                names.insert(c.set_by.clone(), name);
            }
            let name = names[&c.set_by].clone();
            if c.via == "cli" {
                format!("{name}（命令行）")
            } else {
                name
            }
        };
        changes.push(ChangeLine {
            at: china_time(c.set_at),
            by,
            what: calendar::change_line(&c),
        });
    }
    let body = CalendarPage {
        me: &user.name,
        year,
        days,
        changes,
        keeper: calendar::kept_by(&state.store, user).await?.is_some(),
        form,
        message,
    }
    .render()
    .map_err(WebError::internal)?;
    Ok((status, Html(body)).into_response())
}

/// `GET /web/calendar[?year=2026]`: the year's days and the latest
/// changes; the form for those who keep the calendar.
pub async fn show(
    State(state): State<AppState>,
    caller: WebCaller,
    q: Result<Query<YearQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let Query(q) = q.map_err(|_| WebError::Invalid("年份格式应为 2026。".into()))?;
    let year = match q.year {
        Some(y) if (2000..=2200).contains(&y) => y,
        Some(_) => return Err(WebError::Invalid("年份应在 2000 至 2200 之间。".into())),
        None => china_today().year(),
    };
    let message = q
        .saved
        .and_then(|d| sync_core::ids::Period::parse_day(&d).ok())
        .map(|d| format!("已保存：{d} 起的安排。"));
    page(
        &state,
        &caller,
        year,
        ChangeForm::default(),
        message,
        StatusCode::OK,
    )
    .await
}

/// `POST /web/calendar` (from, to, kind, name): apply the change, then
/// back to its year.
pub async fn save(
    State(state): State<AppState>,
    caller: WebCaller,
    form: Result<Form<ChangeForm>, FormRejection>,
) -> Result<Response, WebError> {
    let user = &caller.0.user;
    let Some(county) = calendar::kept_by(&state.store, user).await? else {
        return Err(WebError::Forbidden(
            CalendarError::Forbidden.zh().unwrap_or_default(),
        ));
    };
    let Form(form) = form.map_err(|_| WebError::Invalid("表单不完整，请重新填写。".into()))?;
    let year = sync_core::ids::Period::parse_day(form.from.trim())
        .map_or_else(|_| china_today().year(), |d| d.year());
    let change = Change::parse(&form.from, &form.to, &form.kind, &form.name);
    let applied = match change {
        Ok(change) => {
            let keeper = Keeper {
                user_id: &user.id,
                via: "web",
            };
            calendar::apply(&state.store, &county, &change, keeper)
                .await
                .map(|_| change)
        }
        Err(e) => Err(e),
    };
    match applied {
        Ok(change) => Ok(Redirect::to(&format!(
            "/web/calendar?year={}&saved={}",
            change.from.year(),
            change.from
        ))
        .into_response()),
        Err(e) => match e.zh() {
            Some(m) => {
                page(
                    &state,
                    &caller,
                    year,
                    form,
                    Some(m),
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
            None => Err(e.into()),
        },
    }
}
