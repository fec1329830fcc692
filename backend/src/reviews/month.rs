//! A unit's month of reviews (月点评): the facts of each cadre's month,
//! who reviews whom, the reviews and the ranking; who may see it; and
//! submitting a review. Shared by the API and the web pages.

use std::collections::BTreeMap;

use serde::Serialize;
use sync_core::Role;

use super::assign::Org;
use super::results::{
    rank, role_group, separate_reviewers, Facts, ResultRow, Statement, CONFIGURED_GROUP_ORDER,
};
use super::{deadline_ms, last_day, member_sees, parse_month, ReviewInput};
use crate::access::AccessError;
use crate::problem::{IntoProblem, Problem};
use crate::state::AppState;
use crate::storage::{now_ms, ReviewRow, StatementRow, StoreError, Unit, User};

/// Why a month could not be shown or a review not stored.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("月份格式应为 YYYY-MM，例如 2026-11")]
    BadMonth,
    /// No such unit or person, or not one the caller may see.
    #[error("not found")]
    NotFound,
    #[error("您不是该干部本月的点评人")]
    NotReviewer,
    #[error("表态由本人录入，或由其上级领导、督导人员代为录入。")]
    NotTheirStatement,
    #[error("{0}")]
    Invalid(String),
    /// A 表态 where there is none to make, or one already made.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AccessError> for ReviewError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::ScopeUnitMissing(_) => ReviewError::NotFound,
            AccessError::Store(e) => ReviewError::Store(e),
        }
    }
}

impl IntoProblem for ReviewError {
    fn into_problem(self) -> Problem {
        match self {
            ReviewError::BadMonth => Problem::Invalid {
                code: "bad_month",
                message: self.to_string(),
            },
            ReviewError::NotFound => Problem::NotFound,
            ReviewError::NotReviewer | ReviewError::NotTheirStatement => {
                Problem::Forbidden(self.to_string())
            }
            ReviewError::Invalid(message) => Problem::Invalid {
                code: "invalid_review",
                message,
            },
            ReviewError::Conflict { code, message } => Problem::Conflict { code, message },
            ReviewError::Store(e) => e.into_problem(),
        }
    }
}

crate::edge_error!(ReviewError);

#[derive(Debug, Serialize)]
pub struct UnitMonth {
    pub unit_id: String,
    pub unit_name: String,
    pub month: String,
    pub deadline_ms: i64,
    /// The deadline has passed: the results are published to the unit.
    pub published: bool,
    pub rows: Vec<ResultRow>,
}

fn first_day(month: &str) -> Result<chrono::NaiveDate, ReviewError> {
    parse_month(month).ok_or(ReviewError::BadMonth)
}

/// The reviewer of `user`: an admin's override, else the unit tree's.
pub async fn reviewer_of(state: &AppState, user: &User) -> Result<Option<String>, ReviewError> {
    if let Some(r) = state.store.reviewer_override(&user.id).await? {
        return Ok(Some(r));
    }
    let units = state.store.units().await?;
    let users = state.store.users().await?;
    Ok(Org::new(&units, &users).reviewer(user).map(str::to_owned))
}

/// Everything about a unit's month.
pub async fn unit_month(
    state: &AppState,
    unit: &Unit,
    month: &str,
) -> Result<UnitMonth, ReviewError> {
    let first = first_day(month)?;
    let (from, to) = (
        first.format("%Y-%m-%d").to_string(),
        last_day(first).format("%Y-%m-%d").to_string(),
    );
    let units = state.store.units().await?;
    let users = state.store.users().await?;
    let org = Org::new(&units, &users);
    let names: BTreeMap<&str, &str> = units
        .iter()
        .map(|u| (u.id.as_str(), u.name.as_str()))
        .collect();
    let people: BTreeMap<&str, &str> = users
        .iter()
        .map(|u| (u.id.as_str(), u.name.as_str()))
        .collect();
    let name_of = |id: Option<&str>| -> String {
        id.and_then(|id| people.get(id).copied())
            .unwrap_or("")
            .to_owned()
    };
    let filing: BTreeMap<String, crate::storage::FilingRow> = state
        .store
        .filing(&unit.id, &from, &to)
        .await?
        .into_iter()
        .map(|f| (f.user_id.clone(), f))
        .collect();
    let above_townships = !matches!(unit.level.as_str(), "township" | "department" | "village");
    let configured = state.store.rank_groups().await?;
    let statements = state.store.statements(month).await?;
    let mut rows = Vec::new();
    for user in state.store.users_under(&unit.id).await? {
        if user.disabled || !matches!(user.role, Role::Cadre | Role::Leader) {
            continue;
        }
        let (mut tasks_done, mut tasks_open) = state.store.task_counts(&user.id, month).await?;
        // 固定任务 handed down count as the plan's: done once confirmed.
        for h in crate::items::plan::handed(&state.store, &user.id, month).await? {
            match h.task.status {
                sync_core::document::TaskStatus::Done => tasks_done += 1,
                _ => tasks_open += 1,
            }
        }
        // A 固定任务 handed down counts above, as the plan's; not again here.
        let mut supervised = state.store.items_of_responsible(&user.id).await?;
        // Cases the public brought count apart (founded, overdue), below.
        supervised.retain(|r| {
            sync_core::document::item::ItemList::parse(&r.list)
                .is_ok_and(|l| l != sync_core::document::item::ItemList::Task && !l.is_case())
        });
        let (items, items_overdue) =
            crate::items::month_counts(&supervised, first, crate::policy::local_today());
        let (complaints_founded, cases_overdue) =
            crate::cases::month_facts(&state.store, &user.id, first).await?;
        let f = filing.get(&user.id);
        let facts = Facts {
            days_filed: f.map_or(0, |f| f.days_filed),
            entries: f.map_or(0, |f| f.entries),
            night_activities: f.map_or(0, |f| f.night_activities),
            nights_stayed: f.map_or(0, |f| f.nights_stayed),
            tasks_done,
            tasks_open,
            items,
            items_overdue,
            complaints_founded,
            cases_overdue,
        };
        let reviewer_id = match state.store.reviewer_override(&user.id).await? {
            Some(r) => Some(r),
            None => org.reviewer(&user).map(str::to_owned),
        };
        // The group the unit put the person in, else the one of their role.
        let (group, order) = match configured.get(&user.id) {
            Some(g) => (g.as_str(), CONFIGURED_GROUP_ORDER),
            None => role_group(user.role),
        };
        // Above a township (a county's page), people are ranked within
        // their township or department.
        let township = if above_townships {
            township_of(&units, &user.unit_id)
        } else {
            None
        };
        let (group, group_order) = match township {
            Some(t) => (format!("{} {group}", t.name), (t.path.clone(), order)),
            None => (group.to_owned(), (String::new(), order)),
        };
        let review = state.store.review(&user.id, month).await?;
        rows.push(ResultRow {
            group,
            group_order,
            ranked_of: 0,
            reviewer_name: name_of(reviewer_id.as_deref()),
            reviewed_by_name: name_of(review.as_ref().map(|v| v.reviewer_id.as_str())),
            statement: statements.get(&user.id).map(|s| Statement {
                text: s.text.clone(),
                by: name_of(Some(&s.by_user)),
                at: s.created_at,
            }),
            review,
            unit_name: names
                .get(user.unit_id.as_str())
                .copied()
                .unwrap_or("")
                .to_owned(),
            user_id: user.id,
            name: user.name,
            post: user.post,
            reviewer_id,
            facts,
            total: None,
            rank: None,
            bottom: false,
        });
    }
    let deadline = deadline_ms(first, state.config.review_deadline_day);
    Ok(UnitMonth {
        unit_id: unit.id.clone(),
        unit_name: unit.name.clone(),
        month: month.to_owned(),
        deadline_ms: deadline,
        published: now_ms() > deadline,
        rows: {
            separate_reviewers(&mut rows);
            rank(rows)
        },
    })
}

/// The township or department `unit_id` is in (itself, or the nearest
/// above it).
fn township_of<'a>(units: &'a [Unit], unit_id: &str) -> Option<&'a Unit> {
    let mut at = Some(unit_id);
    for _ in 0..64 {
        let u = units.iter().find(|u| Some(u.id.as_str()) == at)?;
        if matches!(u.level.as_str(), "township" | "department") {
            return Some(u);
        }
        at = u.parent_id.as_deref();
    }
    None
}

/// May the caller see this unit's month? Leaders and supervisors over it;
/// after the deadline, its members: their own unit and those above it up to
/// their township or department (`member_sees`), never the county above
/// nor a sibling township.
pub async fn visible_unit(
    state: &AppState,
    caller: &User,
    unit_id: &str,
    month: &str,
) -> Result<Unit, ReviewError> {
    let first = first_day(month)?;
    let unit = state
        .store
        .unit(unit_id)
        .await?
        .ok_or(ReviewError::NotFound)?;
    let over = match (caller.role, &caller.scope_unit_id) {
        (Role::Cadre, _) | (_, None) => false,
        (_, Some(scope)) => state.store.unit_in_scope(unit_id, scope).await?,
    };
    if over {
        return Ok(unit);
    }
    // The caller's unit and those above it, nearest first.
    let chain = state.store.unit_chain(&caller.unit_id).await?;
    if member_sees(&chain, unit_id)
        && now_ms() > deadline_ms(first, state.config.review_deadline_day)
    {
        return Ok(unit);
    }
    Err(ReviewError::NotFound)
}

/// Submit (or resubmit) a review: only its reviewer, or an admin.
pub async fn submit_review(
    state: &AppState,
    reviewer: &User,
    user_id: &str,
    month: &str,
    input: &ReviewInput,
) -> Result<ReviewRow, ReviewError> {
    let first = first_day(month)?;
    let user = state
        .store
        .user(user_id)
        .await?
        .ok_or(ReviewError::NotFound)?;
    let assigned = reviewer_of(state, &user).await?.as_deref() == Some(reviewer.id.as_str());
    let scope = crate::access::read_scope(&state.store, reviewer).await?;
    let in_scope = crate::access::may_read(&state.store, &scope, &user.id).await?;
    // The assigned reviewer (by the tree or an admin's override) reviews;
    // an admin, anyone within their own scope.
    let allowed = if reviewer.role == Role::Admin {
        in_scope
    } else {
        assigned
    };
    if !allowed {
        // Outside the caller's scope a person is as unknown as one who
        // does not exist: a refusal here would tell that they do.
        return Err(if in_scope {
            ReviewError::NotReviewer
        } else {
            ReviewError::NotFound
        });
    }
    input
        .validate()
        .map_err(|e| ReviewError::Invalid(e.message))?;
    let now = now_ms();
    let row = ReviewRow {
        user_id: user.id,
        month: month.to_owned(),
        reviewer_id: reviewer.id.clone(),
        targets: input.targets,
        conduct: input.conduct,
        comment: input.comment.clone(),
        submitted_at: now,
        late: now > deadline_ms(first, state.config.review_deadline_day),
    };
    state.store.insert_review(&row).await?;
    Ok(row)
}

/// The longest 表态, in characters.
pub const MAX_STATEMENT: usize = 500;

/// Record the 表态 of `user_id`, ranked 末位 in `month` within their
/// township (or department): entered by the person, or by a leader,
/// supervisor or admin over them; once the month's results are published;
/// once (it is never changed).
pub async fn submit_statement(
    state: &AppState,
    caller: &User,
    user_id: &str,
    month: &str,
    text: &str,
) -> Result<StatementRow, ReviewError> {
    let first = first_day(month)?;
    let user = state
        .store
        .user(user_id)
        .await?
        .ok_or(ReviewError::NotFound)?;
    let scope = crate::access::read_scope(&state.store, caller).await?;
    let in_scope = crate::access::may_read(&state.store, &scope, &user.id).await?;
    let own = caller.id == user.id;
    // Supervisors and admins over the person; a leader for the cadres
    // under him, not for a fellow leader.
    let over = in_scope
        && match caller.role {
            Role::Supervisor | Role::Admin => true,
            Role::Leader => user.role == Role::Cadre,
            Role::Cadre => false,
        };
    if !(own || over) {
        // Outside the scope a person is as unknown as one who does not
        // exist; inside it, not theirs to state.
        return Err(if in_scope && caller.role != Role::Cadre {
            ReviewError::NotTheirStatement
        } else {
            ReviewError::NotFound
        });
    }
    // A browser sends a textarea's line breaks as CRLF: one line break.
    let text = text.trim().replace("\r\n", "\n");
    let chars = text.chars().count();
    if !(2..=MAX_STATEMENT).contains(&chars) {
        return Err(ReviewError::Invalid(format!(
            "表态应为2到{MAX_STATEMENT}个字。"
        )));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ReviewError::Invalid("表态含有不能显示的字符。".into()));
    }
    if now_ms() <= deadline_ms(first, state.config.review_deadline_day) {
        return Err(ReviewError::Conflict {
            code: "not_published",
            message: "本月点评结果尚未公布，公布后才能表态。".into(),
        });
    }
    let units = state.store.units().await?;
    let ranked_in = township_of(&units, &user.unit_id)
        .cloned()
        .ok_or(ReviewError::NotFound)?;
    let results = unit_month(state, &ranked_in, month).await?;
    let bottom = results
        .rows
        .iter()
        .any(|r| r.user_id == user.id && r.bottom);
    if !bottom {
        return Err(ReviewError::Conflict {
            code: "not_bottom",
            message: format!("{}本月不是末位，无需表态。", user.name),
        });
    }
    let row = StatementRow {
        user_id: user.id.clone(),
        month: month.to_owned(),
        text,
        by_user: caller.id.clone(),
        created_at: now_ms(),
    };
    if !state.store.insert_statement(&row).await? {
        return Err(ReviewError::Conflict {
            code: "statement_exists",
            message: format!("{}本月已经表态，表态不能修改。", user.name),
        });
    }
    Ok(row)
}
