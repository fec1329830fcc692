//! The monthly review page of a unit: facts, ranking, and a review form
//! for each person the caller reviews; the spreadsheet export.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use sync_core::Role;

use super::units::overseen;
use super::{china_time, encode_query, WebCaller, WebError};
use crate::app::AppState;
use crate::reviews::results::Facts;
use crate::reviews::{ReviewInput, MAX_CONDUCT, MAX_TARGETS};
use crate::routes::reviews::{submit_review, unit_month};

pub struct RowView {
    pub user_id: String,
    pub name: String,
    pub unit_name: String,
    pub reviewer: String,
    pub facts: Facts,
    pub targets: String,
    pub conduct: String,
    pub comment: String,
    pub total: String,
    pub rank: String,
    pub bottom: bool,
    pub late: bool,
    pub reviewed_at: String,
    /// The caller is this person's reviewer (or an admin): show the form.
    pub mine: bool,
    pub draft: String,
}

#[derive(Template)]
#[template(path = "web/reviews.html")]
struct ReviewsPage<'a> {
    me: &'a str,
    unit_id: String,
    unit_name: String,
    month: String,
    deadline: String,
    published: bool,
    rows: Vec<RowView>,
    message: Option<String>,
    max_targets: i64,
    max_conduct: i64,
}

/// A comment drafted from the month's facts, for the reviewer to edit.
fn draft(f: &Facts) -> String {
    format!(
        "本月填报纪实{}天，工作记录{}条，“四夜”活动{}次，住村{}晚；承诺事项已销号{}项，未完成{}项。",
        f.days_filed, f.entries, f.night_activities, f.nights_stayed, f.tasks_done, f.tasks_open
    )
}

#[derive(Debug, Deserialize)]
pub struct MessageQuery {
    msg: Option<String>,
}

/// `GET /web/units/{unit}/reviews/{month}`
pub async fn page(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((unit_id, month)): Path<(String, String)>,
    Query(q): Query<MessageQuery>,
) -> Result<Html<String>, WebError> {
    let unit = overseen(&state, &caller, &unit_id).await?;
    let m = unit_month(&state, &unit, &month).await?;
    let names: BTreeMap<String, String> = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let me = &caller.0.user;
    let rows = m
        .rows
        .into_iter()
        .map(|r| {
            let mine = me.role == Role::Admin || r.reviewer_id.as_deref() == Some(me.id.as_str());
            RowView {
                reviewer: r
                    .reviewer_id
                    .as_ref()
                    .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone()))
                    .unwrap_or_else(|| "未指定".into()),
                targets: r
                    .review
                    .as_ref()
                    .map(|v| v.targets.to_string())
                    .unwrap_or_default(),
                conduct: r
                    .review
                    .as_ref()
                    .map(|v| v.conduct.to_string())
                    .unwrap_or_default(),
                comment: r
                    .review
                    .as_ref()
                    .map(|v| v.comment.clone())
                    .unwrap_or_default(),
                late: r.review.as_ref().is_some_and(|v| v.late),
                reviewed_at: r
                    .review
                    .as_ref()
                    .map(|v| china_time(v.submitted_at))
                    .unwrap_or_default(),
                total: r.total.map(|t| t.to_string()).unwrap_or_else(|| "—".into()),
                rank: r.rank.map(|t| t.to_string()).unwrap_or_else(|| "—".into()),
                bottom: r.bottom,
                draft: draft(&r.facts),
                mine,
                user_id: r.user_id,
                name: r.name,
                unit_name: r.unit_name,
                facts: r.facts,
            }
        })
        .collect();
    let page = ReviewsPage {
        me: &me.name,
        unit_id: m.unit_id,
        unit_name: m.unit_name,
        deadline: china_time(m.deadline_ms),
        published: m.published,
        month: m.month,
        rows,
        message: q.msg,
        max_targets: MAX_TARGETS,
        max_conduct: MAX_CONDUCT,
    };
    Ok(Html(page.render().map_err(WebError::internal)?))
}

/// `GET /web/units/{unit}/reviews/{month}/export.xlsx`
pub async fn export(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((unit_id, month)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let unit = overseen(&state, &caller, &unit_id).await?;
    let m = unit_month(&state, &unit, &month).await?;
    let bytes = crate::reviews::xlsx::export(&m.unit_name, &m.month, &m.rows)
        .map_err(WebError::internal)?;
    Ok(crate::routes::reviews::xlsx_response(
        &m.unit_id, &m.month, bytes,
    )?)
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    targets: String,
    conduct: String,
    #[serde(default)]
    comment: String,
    unit: String,
}

fn score(s: &str, label: &str, max: i64) -> Result<i64, String> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| format!("{label}请填写 0 到 {max} 的整数"))
}

/// `POST /web/reviews/{month}/{user}`: submit a review, back to the page
/// with what happened.
pub async fn submit(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((month, user_id)): Path<(String, String)>,
    form: Result<Form<ReviewForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|_| WebError::Invalid("请填写两项得分和点评意见。".into()))?;
    let unit = overseen(&state, &caller, &form.unit).await?;
    let back = |msg: &str| {
        Redirect::to(&format!(
            "/web/units/{}/reviews/{}?msg={}#u-{}",
            unit.id,
            encode_query(&month),
            encode_query(msg),
            encode_query(&user_id)
        ))
        .into_response()
    };
    let input = match (
        score(&form.targets, "工作目标得分", MAX_TARGETS),
        score(&form.conduct, "日常表现与纪实得分", MAX_CONDUCT),
    ) {
        (Ok(targets), Ok(conduct)) => ReviewInput {
            targets,
            conduct,
            comment: form.comment.trim().to_owned(),
        },
        (Err(m), _) | (_, Err(m)) => return Ok(back(&m)),
    };
    match submit_review(&state, &caller.0.user, &user_id, &month, &input).await {
        Ok(row) => {
            let name = state
                .store
                .user(&row.user_id)
                .await?
                .map(|u| u.name)
                .unwrap_or_default();
            let late = if row.late { "（逾期提交）" } else { "" };
            Ok(back(&format!("已保存对{name}的点评{late}。")))
        }
        Err(crate::error::ApiError::BadRequest { message, .. }) => Ok(back(&message)),
        Err(e) => Err(e.into()),
    }
}
