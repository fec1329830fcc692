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
use crate::reviews::month::{submit_review, unit_month};
use crate::reviews::results::Facts;
use crate::reviews::{ReviewInput, MAX_CONDUCT, MAX_TARGETS};
use crate::state::AppState;

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
    /// The group the rank is within, and how many are ranked in it.
    pub group: String,
    pub late: bool,
    pub reviewed_at: String,
    /// Who wrote the review (an admin may write it for the reviewer).
    pub reviewed_by: String,
    /// The caller is this person's reviewer (or an admin): show the form.
    pub mine: bool,
    pub draft: String,
    /// 表态 of a 末位 person: what they said, who entered it and when.
    pub statement: Option<(String, String, String)>,
    /// 末位, published, no 表态 yet: the form to enter it.
    pub may_state: bool,
}

#[derive(Template)]
#[template(path = "web/reviews.html")]
struct ReviewsPage<'a> {
    me: &'a str,
    unit_id: String,
    unit_name: String,
    month: String,
    /// `2026年11月`.
    month_label: String,
    deadline: String,
    published: bool,
    rows: Vec<RowView>,
    message: Option<String>,
    max_targets: i64,
    max_conduct: i64,
}

/// What happened to the last form, as the redirect says it (the page
/// writes the sentence: nothing a link carries is shown as a message).
#[derive(Debug, Default, Deserialize)]
pub struct OutcomeQuery {
    /// The person whose review was saved.
    saved: Option<String>,
    late: Option<u8>,
    /// Which field was refused.
    refused: Option<String>,
    /// The person whose 表态 was recorded.
    stated: Option<String>,
}

fn outcome(q: &OutcomeQuery, names: &BTreeMap<String, String>) -> Option<String> {
    if let Some(user) = &q.stated {
        return Some(format!("已记录{}的表态。", names.get(user)?));
    }
    if let Some(user) = &q.saved {
        let name = names.get(user)?;
        let late = if q.late == Some(1) {
            "（逾期提交）"
        } else {
            ""
        };
        return Some(format!("已保存对{name}的点评{late}。"));
    }
    match q.refused.as_deref()? {
        "targets" => Some(format!(
            "未保存：工作目标得分须为 0 到 {MAX_TARGETS} 的整数。"
        )),
        "conduct" => Some(format!(
            "未保存：日常表现与纪实得分须为 0 到 {MAX_CONDUCT} 的整数。"
        )),
        "comment" => Some(format!(
            "未保存：点评意见不能超过 {} 字。",
            crate::reviews::MAX_COMMENT_CHARS
        )),
        _ => None,
    }
}

/// `GET /web/units/{unit}/reviews/{month}`
pub async fn page(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((unit_id, month)): Path<(String, String)>,
    q: Result<Query<OutcomeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Html<String>, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
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
    let village = unit.level == "village";
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
                reviewed_by: r
                    .review
                    .as_ref()
                    .map(|v| {
                        names
                            .get(&v.reviewer_id)
                            .cloned()
                            .unwrap_or_else(|| v.reviewer_id.clone())
                    })
                    .unwrap_or_default(),
                total: r.total.map(|t| t.to_string()).unwrap_or_else(|| "—".into()),
                rank: r
                    .rank
                    .map(|t| format!("{t}/{}", r.ranked_of))
                    .unwrap_or_else(|| "—".into()),
                // A village's page ranks the village only; a 表态 follows
                // the township's ranking (as the server checks it).
                may_state: r.bottom && m.published && r.statement.is_none() && !village,
                statement: r.statement.map(|st| (st.text, st.by, china_time(st.at))),
                bottom: r.bottom,
                group: r.group,
                draft: r.facts.draft(),
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
        month_label: crate::publications::week::zh_month(&m.month),
        month: m.month,
        rows,
        message: outcome(&q, &names),
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
    Ok(crate::reviews::xlsx::download(&m.unit_id, &m.month, bytes))
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    targets: String,
    conduct: String,
    #[serde(default)]
    comment: String,
    unit: String,
}

fn score(s: &str) -> Option<i64> {
    s.trim().parse::<i64>().ok()
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
    let back = |outcome: &str| {
        Redirect::to(&format!(
            "/web/units/{}/reviews/{}?{outcome}#u-{}",
            unit.id,
            encode_query(&month),
            encode_query(&user_id)
        ))
        .into_response()
    };
    let (Some(targets), Some(conduct)) = (score(&form.targets), score(&form.conduct)) else {
        let field = if score(&form.targets).is_none() {
            "targets"
        } else {
            "conduct"
        };
        return Ok(back(&format!("refused={field}")));
    };
    let input = ReviewInput {
        targets,
        conduct,
        comment: form.comment.trim().to_owned(),
    };
    if let Err(refused) = input.validate() {
        return Ok(back(&format!("refused={}", refused.field)));
    }
    let row = submit_review(&state, &caller.0.user, &user_id, &month, &input).await?;
    Ok(back(&format!(
        "saved={}&late={}",
        encode_query(&row.user_id),
        u8::from(row.late)
    )))
}

#[derive(Debug, Deserialize)]
pub struct StatementForm {
    #[serde(default)]
    text: String,
    unit: String,
}

/// `POST /web/reviews/{month}/{user}/statement`: a leader enters the 表态
/// of a person ranked 末位 (as they said it), back to the page.
pub async fn statement(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((month, user_id)): Path<(String, String)>,
    form: Result<Form<StatementForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|_| WebError::Invalid("请填写表态内容。".into()))?;
    let unit = overseen(&state, &caller, &form.unit).await?;
    let row = crate::reviews::month::submit_statement(
        &state,
        &caller.0.user,
        &user_id,
        &month,
        &form.text,
    )
    .await
    .map_err(|e| match e {
        // Why there is none to make, in the page's words.
        crate::reviews::month::ReviewError::Conflict { message, .. } => WebError::Invalid(message),
        other => other.into(),
    })?;
    Ok(Redirect::to(&format!(
        "/web/units/{}/reviews/{}?stated={}#u-{}",
        unit.id,
        encode_query(&month),
        encode_query(&row.user_id),
        encode_query(&row.user_id)
    ))
    .into_response())
}
