//! 督办 items and the problems of a 问题清单, for the API and the web
//! pages: issuing one (a document the server opens on the issuer's
//! behalf), taking a step on one (progress, a request to close, 销号,
//! sending back) through the same write policy as a phone, reading one
//! with what the caller may do next, and listing them with their deadlines.
//!
//! An item is overdue from the day after its 时限 while it is not closed;
//! overdue for [`crate::config::Config::item_escalate_days`] days or more
//! it is escalated: the level above sees it marked on its lists.

pub mod ledger;
pub mod plan;

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sync_core::document::item::{
    Item, ItemBrief, ItemList, ItemSource, ItemStatus, StepAction, StepFields, Verdict,
};
use sync_core::{DocId, Edit, ItemId, Record, Role, UserId};

use crate::access::{may_read, may_read_doc, read_scope, AccessError};
use crate::auth::Caller;
use crate::calendar::Calendar;
use crate::cases::Clock;
use crate::problem::{IntoProblem, Problem};
use crate::state::AppState;
use crate::storage::{ItemFilter, ItemRow, ReadScope, StoreError, User};
use crate::sync::{edit_on_server, open_on_server, ServerEditError};

#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    #[error("no such item")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{0}")]
    Busy(String),
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(#[source] anyhow::Error),
}

impl IntoProblem for ItemError {
    fn into_problem(self) -> Problem {
        match self {
            ItemError::NotFound => Problem::NotFound,
            ItemError::Forbidden(m) => Problem::Forbidden(m),
            ItemError::Invalid { code, message } => Problem::Invalid { code, message },
            ItemError::Busy(message) => Problem::Conflict {
                code: "busy",
                message,
            },
            ItemError::Access(e) => e.into_problem(),
            ItemError::Store(e) => e.into_problem(),
            ItemError::Internal(e) => Problem::Internal(e),
        }
    }
}

crate::edge_error!(ItemError);

fn invalid(code: &'static str, message: impl Into<String>) -> ItemError {
    ItemError::Invalid {
        code,
        message: message.into(),
    }
}

impl From<ServerEditError> for ItemError {
    fn from(e: ServerEditError) -> Self {
        match e {
            ServerEditError::NoDocument => ItemError::NotFound,
            ServerEditError::Invalid(m) if m.starts_with("verdict") => invalid("bad_verdict", m),
            ServerEditError::Invalid(m) => invalid("bad_step", m),
            ServerEditError::Forbidden(m) => ItemError::Forbidden(m),
            ServerEditError::Busy(m) => ItemError::Busy(format!("{m}; try again")),
            ServerEditError::Store(StoreError::Stale(d)) => {
                ItemError::Busy(format!("{d} changed meanwhile; try again"))
            }
            ServerEditError::Store(e) => ItemError::Store(e),
            ServerEditError::Internal(e) => ItemError::Internal(e),
        }
    }
}

/// What an issuer sends to open an item.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct IssueInput {
    /// `supervision` (督办) or `problem` (问题清单).
    pub list: String,
    /// `meeting`, `superior`, `petition`, `inspection` or `self_check`.
    pub source: String,
    pub title: String,
    pub content: String,
    #[serde(default)]
    pub measures: String,
    /// The last day, `YYYY-MM-DD`; or give `due_workdays`.
    #[serde(default)]
    pub due: Option<String>,
    /// 时限 in working days from today (by the county calendar).
    #[serde(default)]
    pub due_workdays: Option<u32>,
    /// The responsible person's user id.
    pub responsible: String,
    #[serde(default)]
    pub collaborators: Vec<String>,
}

/// The most working days a 时限 may be given in.
const MAX_WORKDAYS: u32 = 250;

/// A person named on an item, with their name for pages.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: String,
    pub name: String,
}

/// An item in a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemSummary {
    pub id: String,
    pub list: String,
    pub source: String,
    pub title: String,
    pub unit_id: String,
    pub issuer: Person,
    pub responsible: Person,
    pub issued_at: i64,
    pub due: String,
    /// `open`, `awaiting_confirmation`, `returned` or `closed`.
    pub status: String,
    pub overdue: bool,
    /// Days past the 时限 (0 when not overdue).
    pub overdue_days: i64,
    /// Overdue long enough to be shown to the level above (a case the
    /// public brought: from its first day overdue).
    pub escalated: bool,
    /// Not answered, and due today or on the next working day: flagged to
    /// the handler and the level above.
    pub due_soon: bool,
    pub done_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub sent_back: i64,
    pub steps: i64,
    /// A complaint's verdict once closed: `founded` (属实) or `unfounded`.
    pub verdict: Option<String>,
}

/// One step as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StepView {
    pub id: String,
    pub action: String,
    pub by: Person,
    pub role: String,
    pub at: i64,
    pub text: String,
    /// Photo hashes.
    pub photos: Vec<String>,
}

/// One item, whole, with what the caller may do on it now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    #[serde(flatten)]
    pub summary: ItemSummary,
    pub content: String,
    pub measures: String,
    pub collaborators: Vec<Person>,
    pub returned_because: Option<String>,
    pub closed_by: Option<Person>,
    pub history: Vec<StepView>,
    /// The steps the caller may take now.
    pub may: Vec<String>,
}

/// How late an item due `due` (`YYYY-MM-DD`) is on `today`, if not closed:
/// (overdue, days past, escalated).
pub fn lateness(
    due: &str,
    closed: bool,
    today: NaiveDate,
    escalate_days: u32,
) -> (bool, i64, bool) {
    let Ok(due) = NaiveDate::parse_from_str(due, "%Y-%m-%d") else {
        return (false, 0, false);
    };
    if closed || today <= due {
        return (false, 0, false);
    }
    let days = (today - due).num_days();
    (true, days, days >= i64::from(escalate_days))
}

/// Names of `ids`, once each (a person no longer stored shows their id).
async fn names(state: &AppState, ids: Vec<String>) -> Result<HashMap<String, String>, StoreError> {
    let mut out = HashMap::new();
    for id in ids {
        if out.contains_key(&id) {
            continue;
        }
        let name = state
            .store
            .user(&id)
            .await?
            .map(|u| u.name)
            .unwrap_or_else(|| id.clone());
        out.insert(id, name);
    }
    Ok(out)
}

fn person(names: &HashMap<String, String>, id: &str) -> Person {
    Person {
        id: id.to_owned(),
        name: names.get(id).cloned().unwrap_or_else(|| id.to_owned()),
    }
}

/// Was the work of `row` done by its 时限: closed, or awaiting 销号 on a
/// request made by then (the issuer's answer is not the person's delay)?
fn done_in_time(row: &ItemRow) -> bool {
    if row.status == ItemStatus::Closed.as_str() {
        return true;
    }
    let asked = row
        .done_at
        .and_then(crate::china::at_ms)
        .map(|t| t.format("%Y-%m-%d").to_string());
    row.status == ItemStatus::AwaitingConfirmation.as_str() && asked.is_some_and(|d| d <= row.due)
}

/// The calendars of the items' units (by unit id), each county's loaded
/// once.
async fn calendars(
    state: &AppState,
    rows: &[ItemRow],
) -> Result<HashMap<String, Calendar>, StoreError> {
    let mut by_county: HashMap<Option<String>, Calendar> = HashMap::new();
    let mut out = HashMap::new();
    for r in rows {
        if out.contains_key(&r.unit_id) {
            continue;
        }
        let county = crate::calendar::county_of(&state.store, &r.unit_id).await?;
        let calendar = match by_county.get(&county) {
            Some(c) => c.clone(),
            None => {
                let c = match &county {
                    Some(c) => Calendar::load(&state.store, c).await?,
                    None => Calendar::weekdays(),
                };
                by_county.insert(county, c.clone());
                c
            }
        };
        out.insert(r.unit_id.clone(), calendar);
    }
    Ok(out)
}

fn summary(
    state: &AppState,
    row: ItemRow,
    names: &HashMap<String, String>,
    calendars: &HashMap<String, Calendar>,
) -> ItemSummary {
    let is_case = ItemList::parse(&row.list).is_ok_and(ItemList::is_case);
    let today = crate::policy::local_today();
    let escalate_days = if is_case {
        1
    } else {
        state.config.item_escalate_days
    };
    let (overdue, overdue_days, escalated) =
        lateness(&row.due, done_in_time(&row), today, escalate_days);
    let weekdays = Calendar::weekdays();
    let calendar = calendars.get(&row.unit_id).unwrap_or(&weekdays);
    let due_soon = matches!(crate::cases::clock(&row, today, calendar), Clock::Left(n) if n <= 1);
    ItemSummary {
        issuer: person(names, &row.issuer_id),
        responsible: person(names, &row.responsible_id),
        id: row.doc_id,
        list: row.list,
        source: row.source,
        title: row.title,
        unit_id: row.unit_id,
        issued_at: row.issued_at,
        due: row.due,
        status: row.status,
        overdue,
        overdue_days,
        escalated,
        due_soon,
        done_at: row.done_at,
        closed_at: row.closed_at,
        sent_back: row.sent_back,
        steps: row.steps,
        verdict: row.verdict,
    }
}

/// A person the issuer may name: stored, enabled, and within the issuer's
/// scope.
async fn nameable(
    state: &AppState,
    scope: &ReadScope,
    id: &str,
    what: &str,
) -> Result<User, ItemError> {
    let user = state
        .store
        .user(id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| {
            invalid(
                "unknown_person",
                format!("{what} {id} is not an active account"),
            )
        })?;
    if !may_read(&state.store, scope, &user.id).await? {
        return Err(invalid(
            "unknown_person",
            format!("{what} {id} is not an active account in your scope"),
        ));
    }
    Ok(user)
}

/// Open an item on behalf of `caller` (a leader, supervisor or admin), for
/// a responsible person in their scope. The item's unit is the
/// responsible person's.
pub async fn issue(
    state: &AppState,
    caller: &Caller,
    input: &IssueInput,
) -> Result<DocId, ItemError> {
    if caller.user.role == Role::Cadre {
        return Err(ItemError::Forbidden(
            "cadres do not issue items; a leader or supervisor does".into(),
        ));
    }
    let list = ItemList::parse(&input.list).map_err(|e| invalid("bad_list", e.to_string()))?;
    if list.is_case() {
        return Err(invalid(
            "bad_list",
            "complaints and requests are filed by the public (or taken from the hotline at \
             POST /api/v1/cases), not issued",
        ));
    }
    let source =
        ItemSource::parse(&input.source).map_err(|e| invalid("bad_source", e.to_string()))?;
    let today = crate::policy::local_today();
    let due = match (&input.due, input.due_workdays) {
        (Some(d), None) => {
            sync_core::ids::Period::parse_day(d).map_err(|e| invalid("bad_due", e.to_string()))?
        }
        (None, Some(n)) if (1..=MAX_WORKDAYS).contains(&n) => {
            Calendar::of_unit(&state.store, &caller.user.unit_id)
                .await?
                .add_workdays(today, n)
        }
        (None, Some(_)) => {
            return Err(invalid(
                "bad_due",
                format!("due_workdays must be 1 to {MAX_WORKDAYS}"),
            ))
        }
        _ => {
            return Err(invalid(
                "bad_due",
                "give either `due` (YYYY-MM-DD) or `due_workdays`",
            ))
        }
    };
    if due < today || due > today + chrono::Days::new(731) {
        return Err(invalid(
            "bad_due",
            "the 时限 must be from today to two years ahead",
        ));
    }
    let scope = read_scope(&state.store, &caller.user).await?;
    let responsible = nameable(state, &scope, &input.responsible, "the responsible person").await?;
    let mut collaborators = Vec::new();
    for c in &input.collaborators {
        let u = nameable(state, &scope, c, "collaborator").await?;
        collaborators
            .push(UserId::parse(&u.id).map_err(|e| invalid("unknown_person", e.to_string()))?);
    }
    let brief = ItemBrief {
        list,
        source,
        title: input.title.trim().to_owned(),
        content: input.content.trim().to_owned(),
        measures: input.measures.trim().to_owned(),
        due,
        unit: responsible.unit_id.clone(),
        responsible: UserId::parse(&responsible.id)
            .map_err(|e| invalid("unknown_person", e.to_string()))?,
        collaborators,
    };
    let issuer =
        UserId::parse(&caller.user.id).map_err(|e| invalid("bad_issuer", e.to_string()))?;
    sync_core::document::check_brief(&brief, &issuer)
        .map_err(|e| invalid("bad_item", e.to_string()))?;
    let id = DocId::new_item();
    open_on_server(state, caller, &id, Edit::IssueItem { brief }).await?;
    tracing::info!(item = %id, issuer = %caller.user.id, responsible = %responsible.id, "item issued");
    Ok(id)
}

/// An item id the caller may read, or `NotFound`.
async fn readable(state: &AppState, user: &User, doc_id: &str) -> Result<DocId, ItemError> {
    let id = DocId::parse(doc_id).map_err(|_| ItemError::NotFound)?;
    if !id.kind().is_assigned() {
        return Err(ItemError::NotFound);
    }
    let scope = read_scope(&state.store, user).await?;
    if !may_read_doc(&state.store, &scope, &id).await? {
        return Err(ItemError::NotFound);
    }
    Ok(id)
}

/// The item document as stored.
async fn load(state: &AppState, id: &DocId) -> Result<Item, ItemError> {
    let key = id.to_string();
    let docs = state
        .store
        .load_documents(std::slice::from_ref(&key))
        .await?;
    let stored = docs.get(&key).ok_or(ItemError::NotFound)?;
    match crate::records::decode(id.clone(), &stored.bytes)
        .map_err(|e| ItemError::Internal(e.into()))?
    {
        Record::Item(item) => Ok(item),
        _ => Err(ItemError::NotFound),
    }
}

/// Take a step on an item as `caller`: the text is the note, the request's
/// summary (for a case, the answer to the filer) or the reason for sending
/// back; `verdict` (`founded` or `unfounded`) goes with the 销号 of a
/// complaint.
pub async fn take_step(
    state: &AppState,
    caller: &Caller,
    doc_id: &str,
    action: &str,
    text: &str,
    verdict: Option<&str>,
) -> Result<(), ItemError> {
    let id = readable(state, &caller.user, doc_id).await?;
    let action = StepAction::parse(action).map_err(|e| invalid("bad_action", e.to_string()))?;
    let verdict = verdict
        .filter(|v| !v.is_empty())
        .map(Verdict::parse)
        .transpose()
        .map_err(|e| invalid("bad_verdict", e.to_string()))?;
    let edit = Edit::AddItemStep {
        id: ItemId::random(),
        step: StepFields {
            action,
            text: text.trim().to_owned(),
            photos: Vec::new(),
            verdict,
        },
    };
    edit_on_server(state, caller, &id, edit).await?;
    tracing::info!(item = %id, user = %caller.user.id, action = action.as_str(), "item step");
    Ok(())
}

/// One item as `user` may see it.
pub async fn view(state: &AppState, user: &User, doc_id: &str) -> Result<ItemView, ItemError> {
    let id = readable(state, user, doc_id).await?;
    let item = load(state, &id).await?;
    let brief = item.brief.clone().ok_or(ItemError::NotFound)?;
    let row = state
        .store
        .item(&id.to_string())
        .await?
        .ok_or(ItemError::NotFound)?;
    let standing = item.standing();
    let mut ids: Vec<String> = vec![brief.issuer.clone(), brief.responsible.clone()];
    ids.extend(brief.collaborators.iter().cloned());
    ids.extend(item.steps.iter().map(|s| s.by.clone()));
    let names = names(state, ids).await?;
    let calendars = calendars(state, std::slice::from_ref(&row)).await?;
    let may = item
        .may_now(&user.id, user.role)
        .into_iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    Ok(ItemView {
        summary: summary(state, row, &names, &calendars),
        content: brief.content.clone(),
        measures: brief.measures.clone(),
        collaborators: brief
            .collaborators
            .iter()
            .map(|c| person(&names, c))
            .collect(),
        returned_because: standing.returned_because.clone(),
        closed_by: standing.closed_by.as_deref().map(|c| person(&names, c)),
        history: item
            .steps
            .iter()
            .map(|s| StepView {
                id: s.id.clone(),
                action: s.action.as_str().to_owned(),
                by: person(&names, &s.by),
                role: s.role.clone(),
                at: s.at,
                text: s.text.clone(),
                photos: s.photos.iter().map(|p| p.hash.clone()).collect(),
            })
            .collect(),
        may,
    })
}

/// Which items a list shows.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Only items of this unit's subtree (within the caller's scope).
    pub unit: Option<String>,
    /// Only items issued in this month (`YYYY-MM`).
    pub month: Option<String>,
}

/// The most items one list answers.
pub const MAX_LISTED: i64 = 2_000;

/// The items `user` may read: every item named on them, and those of the
/// units they oversee; newest first.
pub async fn list(
    state: &AppState,
    user: &User,
    q: &ListQuery,
) -> Result<Vec<ItemSummary>, ItemError> {
    let scope = read_scope(&state.store, user).await?;
    let (issued_from, issued_to) = match &q.month {
        Some(m) => {
            let first = sync_core::ids::Period::parse_month(m)
                .map_err(|e| invalid("bad_month", e.to_string()))?;
            let next = first + chrono::Months::new(1);
            let ms =
                |d: NaiveDate| sync_core::china::ms_of(d.and_hms_opt(0, 0, 0).unwrap_or_default());
            (Some(ms(first)), Some(ms(next)))
        }
        None => (None, None),
    };
    let unit_path = match &q.unit {
        Some(u) => {
            let unit = state.store.unit(u).await?.ok_or(ItemError::NotFound)?;
            match &scope {
                ReadScope::Subtree { scope_path, .. }
                    if unit.path.starts_with(scope_path.as_str()) =>
                {
                    Some(unit.path)
                }
                _ => return Err(ItemError::NotFound),
            }
        }
        None => None,
    };
    let mut rows = Vec::new();
    if unit_path.is_none() {
        rows.extend(
            state
                .store
                .items(
                    &ItemFilter {
                        named: Some(user.id.clone()),
                        issued_from,
                        issued_to,
                        ..Default::default()
                    },
                    MAX_LISTED,
                )
                .await?,
        );
    }
    let subtree = match (&scope, unit_path) {
        (_, Some(p)) => Some(p),
        (ReadScope::Subtree { scope_path, .. }, None) => Some(scope_path.clone()),
        (ReadScope::Own { .. }, None) => None,
    };
    if let Some(path) = subtree {
        rows.extend(
            state
                .store
                .items(
                    &ItemFilter {
                        unit_path: Some(path),
                        issued_from,
                        issued_to,
                        ..Default::default()
                    },
                    MAX_LISTED,
                )
                .await?,
        );
    }
    let mut seen = std::collections::HashSet::new();
    rows.retain(|r| seen.insert(r.doc_id.clone()));
    rows.sort_by(|a, b| (b.issued_at, &a.doc_id).cmp(&(a.issued_at, &b.doc_id)));
    let ids: Vec<String> = rows
        .iter()
        .flat_map(|r| [r.issuer_id.clone(), r.responsible_id.clone()])
        .collect();
    let names = names(state, ids).await?;
    let calendars = calendars(state, &rows).await?;
    Ok(rows
        .into_iter()
        .map(|r| summary(state, r, &names, &calendars))
        .collect())
}

/// A person's 督办 figures for the month starting `first`, as of `today`:
/// (items, overdue). An item counts when its 时限 fell in the month, or
/// before it while it was still open at the month's start; it is overdue
/// when its work was not done by the 时限 (done late, or still open after
/// it by the month's end or today, whichever is first).
pub fn month_counts(rows: &[ItemRow], first: NaiveDate, today: NaiveDate) -> (i64, i64) {
    let next = first + chrono::Months::new(1);
    let cutoff = today.min(next - chrono::Days::new(1));
    let day_of = |ms: i64| crate::china::at_ms(ms).map(|t| t.date_naive());
    let (mut items, mut overdue) = (0, 0);
    for r in rows {
        let Ok(due) = NaiveDate::parse_from_str(&r.due, "%Y-%m-%d") else {
            continue;
        };
        // Done when asked to close, if confirmed or still awaiting 销号.
        let asked = [
            ItemStatus::Closed.as_str(),
            ItemStatus::AwaitingConfirmation.as_str(),
        ];
        let done = r
            .done_at
            .filter(|_| asked.contains(&r.status.as_str()))
            .and_then(day_of);
        let open_at_start = done.is_none_or(|d| d >= first);
        if due >= next || (due < first && !open_at_start) {
            continue;
        }
        items += 1;
        let late = match done {
            Some(d) => d > due,
            None => cutoff > due,
        };
        if late {
            overdue += 1;
        }
    }
    (items, overdue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_counts_take_what_fell_due_and_what_was_late() {
        let row = |due: &str, status: &str, done: Option<&str>| ItemRow {
            doc_id: format!("item:{due}{status}"),
            list: "supervision".into(),
            source: "meeting".into(),
            title: "t".into(),
            unit_id: "v1".into(),
            issuer_id: "l1".into(),
            responsible_id: "u1".into(),
            issued_at: 0,
            due: due.into(),
            status: status.into(),
            done_at: done.map(|day| {
                sync_core::china::ms_of(
                    NaiveDate::parse_from_str(day, "%Y-%m-%d")
                        .unwrap()
                        .and_hms_opt(10, 0, 0)
                        .unwrap(),
                )
            }),
            closed_at: None,
            sent_back: 0,
            steps: 0,
            last_step_at: None,
            verdict: None,
        };
        let rows = [
            row("2026-11-10", "closed", Some("2026-11-09")), // on time
            row("2026-11-10", "closed", Some("2026-11-12")), // late
            row("2026-11-20", "open", None),                 // open past due
            row("2026-10-20", "open", None),                 // due before, still open
            row("2026-10-20", "closed", Some("2026-10-19")), // done before the month
            row("2026-11-25", "awaiting_confirmation", Some("2026-11-24")), // asked in time
            row("2026-12-05", "open", None),                 // due after
        ];
        assert_eq!(
            month_counts(&rows, d("2026-11-01"), d("2026-12-07")),
            (5, 3)
        );
        // Mid-month, the open one is not late yet.
        assert_eq!(
            month_counts(&rows, d("2026-11-01"), d("2026-11-15")),
            (5, 2)
        );
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn lateness_counts_from_the_day_after_the_due_day() {
        assert_eq!(
            lateness("2026-12-04", false, d("2026-12-04"), 3),
            (false, 0, false)
        );
        assert_eq!(
            lateness("2026-12-04", false, d("2026-12-05"), 3),
            (true, 1, false)
        );
        assert_eq!(
            lateness("2026-12-04", false, d("2026-12-07"), 3),
            (true, 3, true)
        );
        assert_eq!(
            lateness("2026-12-04", true, d("2026-12-07"), 3),
            (false, 0, false)
        );
    }
}
