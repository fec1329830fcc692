//! Cases the public brings (issue 27): 投诉举报 (a complaint about a cadre
//! or a unit) and 便民诉求 (a request for something to be done).
//!
//! Filed without an account from a card's or a notice's QR link (the
//! routes check the proof of work and the limits first), or by a clerk
//! from the 便民热线. A case is an item document of the list `complaint` or
//! `request`, opened by the server in the name of the person who will
//! confirm it ([`assign`]), due three working days after filing by the
//! county's calendar, synced to its handler's phone and worked like any
//! 督办 item. The filer's name and phone and the tracking code's hash stay
//! in the server's `cases` table: the filer's contact is shown only to the
//! people named on the case and the supervisors over it ([`filer_for`]).

pub mod assign;
pub mod code;
pub mod pages;
pub mod pow;
pub mod public;
pub mod stats;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sync_core::document::item::{ItemBrief, ItemList, ItemSource, ItemStatus, Verdict};
use sync_core::{DocId, Edit, Record, Role, UserId};

use crate::auth::Caller;
use crate::calendar::Calendar;
use crate::problem::{IntoProblem, Problem};
use crate::state::AppState;
use crate::storage::{CaseRow, ItemRow, StoreError, User};
use crate::sync::{open_case_on_server, ServerEditError};

/// Working days a case is answered in (「3日内办结并反馈」).
pub const ANSWER_WORKDAYS: u32 = 3;
/// The most characters of what happened.
pub const MAX_CONTENT_CHARS: usize = 1_000;
/// The fewest: a case says something.
pub const MIN_CONTENT_CHARS: usize = 5;
/// The largest body the public's case routes read (the form as posted:
/// 1,000 characters percent-encoded are about 9 KB).
pub const MAX_FORM_BYTES: usize = 16 * 1024;
/// The most characters of the filer's name.
pub const MAX_NAME_CHARS: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("kind must be `complaint` or `request`")]
    BadKind,
    #[error("say what happened in {MIN_CONTENT_CHARS} to {MAX_CONTENT_CHARS} characters, without control characters")]
    BadContent,
    #[error("the name is at most {MAX_NAME_CHARS} characters, without control characters")]
    BadName,
    #[error("give a phone number for the answer (7 to 15 digits)")]
    BadPhone,
    #[error("name the card or the unit the case is about")]
    NoTarget,
    #[error("nobody can handle and confirm cases about {0}: give its county a supervisor (效能办) or the unit a leader")]
    NoHandler(String),
    #[error("no case has this tracking code")]
    UnknownCode,
    #[error("the month must be YYYY-MM")]
    BadMonth,
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(#[source] anyhow::Error),
}

impl CaseError {
    /// What the public is told.
    pub fn zh(&self) -> String {
        match self {
            CaseError::BadKind => "请选择投诉举报或便民诉求。".into(),
            CaseError::BadContent => {
                format!("请用{MIN_CONTENT_CHARS}到{MAX_CONTENT_CHARS}个字说明事情经过。")
            }
            CaseError::BadName => format!("姓名最多{MAX_NAME_CHARS}个字。"),
            CaseError::BadPhone => "请填写正确的联系电话（7到15位数字），以便答复您。".into(),
            CaseError::NoTarget => "找不到要反映的干部或单位，请重新扫码。".into(),
            CaseError::NoHandler(_) => "该单位暂时无法在线受理，请拨打卡片上的监督电话。".into(),
            CaseError::UnknownCode => "查询码不正确，请核对后再试。".into(),
            CaseError::BadMonth => "月份格式应为 2026-11。".into(),
            CaseError::Forbidden(_) => "您不能办理这一事项。".into(),
            CaseError::Store(_) | CaseError::Internal(_) => {
                "系统繁忙，请稍后再试。您填写的内容未提交。".into()
            }
        }
    }

    fn code(&self) -> &'static str {
        match self {
            CaseError::BadKind => "bad_kind",
            CaseError::BadContent => "bad_content",
            CaseError::BadName => "bad_name",
            CaseError::BadPhone => "bad_phone",
            CaseError::NoTarget => "no_target",
            CaseError::NoHandler(_) => "no_handler",
            CaseError::UnknownCode => "unknown_code",
            CaseError::BadMonth => "bad_month",
            CaseError::Forbidden(_) => "forbidden",
            CaseError::Store(_) | CaseError::Internal(_) => "internal",
        }
    }
}

impl IntoProblem for CaseError {
    fn into_problem(self) -> Problem {
        match self {
            CaseError::NoTarget | CaseError::UnknownCode => Problem::NotFound,
            CaseError::NoHandler(_) => Problem::Conflict {
                code: self.code(),
                message: self.to_string(),
            },
            CaseError::Forbidden(m) => Problem::Forbidden(m),
            CaseError::Store(e) => e.into_problem(),
            CaseError::Internal(e) => Problem::Internal(e),
            other => Problem::Invalid {
                code: other.code(),
                message: other.to_string(),
            },
        }
    }
}

crate::edge_error!(CaseError);

impl From<ServerEditError> for CaseError {
    fn from(e: ServerEditError) -> Self {
        match e {
            ServerEditError::Store(e) => CaseError::Store(e),
            other => CaseError::Internal(anyhow::anyhow!("opening a case: {other}")),
        }
    }
}

/// How a case came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The public form (a card's or a notice's QR link).
    Public,
    /// A clerk, from a call to the 便民热线.
    Hotline,
}

impl Via {
    fn source(self) -> ItemSource {
        match self {
            Via::Public => ItemSource::Public,
            Via::Hotline => ItemSource::Hotline,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Via::Public => "public",
            Via::Hotline => "hotline",
        }
    }
}

/// What a filer gives.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct Filing {
    /// `complaint` (投诉举报) or `request` (便民诉求).
    pub kind: String,
    /// The card it is filed from (the person it concerns), or give `unit`.
    #[serde(default)]
    pub card: Option<String>,
    /// The unit it concerns (from a notice), when not from a card.
    #[serde(default)]
    pub unit: Option<String>,
    /// What happened, 5 to 1,000 characters.
    pub content: String,
    /// The filer's name (may be empty).
    #[serde(default)]
    pub name: String,
    /// A phone for the answer.
    pub phone: String,
}

/// A case filed: its item and the tracking code, shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Filed {
    pub id: String,
    /// 查询码: the filer follows the case with it. The server keeps only
    /// its hash: it cannot be shown again.
    pub code: String,
    /// The day the answer is due, `YYYY-MM-DD`.
    pub due: String,
}

/// The kind a filer chose.
fn list_of(kind: &str) -> Result<ItemList, CaseError> {
    match kind {
        "complaint" => Ok(ItemList::Complaint),
        "request" => Ok(ItemList::Request),
        _ => Err(CaseError::BadKind),
    }
}

fn no_controls(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() && c != '\n')
}

/// A phone number as the filer typed it, reduced to its digits without
/// the country code (+86, 0086, 86 before a mobile number): one phone is
/// one key of the limits however it is written. 7 to 15 digits.
pub fn check_phone(s: &str) -> Result<String, CaseError> {
    let s = s.trim();
    if s.chars().count() > 24 || !s.chars().all(|c| c.is_ascii_digit() || " -+()".contains(c)) {
        return Err(CaseError::BadPhone);
    }
    let mut digits: String = s.chars().filter(char::is_ascii_digit).collect();
    for prefix in ["0086", "86"] {
        if digits.len() == prefix.len() + 11 && digits.starts_with(prefix) {
            digits = digits[prefix.len()..].to_owned();
        }
    }
    if !(7..=15).contains(&digits.len()) {
        return Err(CaseError::BadPhone);
    }
    Ok(digits)
}

/// Text as the public pastes it: invisible characters (emoji joiners,
/// variation selectors, the zero-width spaces of copied chat) dropped,
/// tabs as spaces, line ends as `\n`.
fn clean(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .filter(|c| !crate::invisible::is_invisible(*c))
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The filing, checked: (list, content, name, phone digits).
fn check(f: &Filing) -> Result<(ItemList, String, String, String), CaseError> {
    let list = list_of(&f.kind)?;
    let content = clean(&f.content);
    let n = content.chars().count();
    if !(MIN_CONTENT_CHARS..=MAX_CONTENT_CHARS).contains(&n) || !no_controls(&content) {
        return Err(CaseError::BadContent);
    }
    let name = clean(&f.name);
    if name.chars().count() > MAX_NAME_CHARS || !no_controls(&name) || name.contains('\n') {
        return Err(CaseError::BadName);
    }
    let phone = check_phone(&f.phone)?;
    Ok((list, content, name, phone))
}

/// The title a case's item carries: its kind and the start of what
/// happened.
fn title_of(list: ItemList, content: &str) -> String {
    let head: String = content
        .chars()
        .map(|c| if c == '\n' { ' ' } else { c })
        .take(24)
        .collect();
    let more = if content.chars().count() > 24 {
        "…"
    } else {
        ""
    };
    let kind = if list == ItemList::Complaint {
        "投诉"
    } else {
        "诉求"
    };
    format!("{kind}：{}{more}", head.trim())
}

/// The person and unit a filing names, checked before any limit is
/// spent on it: (unit id, the person when filed from a card).
pub async fn target(state: &AppState, f: &Filing) -> Result<(String, Option<User>), CaseError> {
    if let Some(card) = f.card.as_deref().filter(|c| !c.is_empty()) {
        let view = crate::cards::public_card(&state.store, card, 0)
            .await?
            .ok_or(CaseError::NoTarget)?;
        let row = state
            .store
            .card_by_id(&view.card_id)
            .await?
            .ok_or(CaseError::NoTarget)?;
        let user = state
            .store
            .user(&row.user_id)
            .await?
            .ok_or(CaseError::NoTarget)?;
        return Ok((user.unit_id.clone(), Some(user)));
    }
    let unit_id = f
        .unit
        .as_deref()
        .filter(|u| !u.is_empty() && u.len() <= 64)
        .ok_or(CaseError::NoTarget)?;
    let unit = state
        .store
        .unit(unit_id)
        .await?
        .ok_or(CaseError::NoTarget)?;
    Ok((unit.id, None))
}

/// File a case: checked, assigned, due in three working days, opened in
/// the confirmer's name. `clerk` took it from the hotline (else the
/// public filed it). The limits and the proof of work are the route's.
pub async fn file(
    state: &AppState,
    f: &Filing,
    via: Via,
    clerk: Option<&User>,
) -> Result<Filed, CaseError> {
    let (list, content, name, phone) = check(f)?;
    let (unit_id, concerns) = target(state, f).await?;
    let units = state.store.units().await?;
    let users = state.store.users().await?;
    let tree = assign::Tree::new(&units, &users);
    let chain = tree
        .assign(
            list,
            &unit_id,
            concerns
                .as_ref()
                .and_then(|c| users.iter().find(|u| u.id == c.id)),
        )
        .ok_or_else(|| CaseError::NoHandler(unit_id.clone()))?;
    let county = crate::calendar::county_of(&state.store, &unit_id)
        .await?
        .unwrap_or_else(|| unit_id.clone());
    let today = crate::policy::local_today();
    let due = Calendar::load(&state.store, &county)
        .await?
        .add_workdays(today, ANSWER_WORKDAYS);
    let id = DocId::new_item();
    let code = code::fresh();
    let normalized = code::normalize(&code)
        .ok_or_else(|| CaseError::Internal(anyhow::anyhow!("a fresh code does not read back")))?;
    let parse = |u: &User| {
        UserId::parse(&u.id).map_err(|e| CaseError::Internal(anyhow::anyhow!("user id: {e}")))
    };
    let brief = ItemBrief {
        list,
        source: via.source(),
        title: title_of(list, &content),
        content,
        measures: String::new(),
        due,
        unit: chain.handler.unit_id.clone(),
        responsible: parse(chain.handler)?,
        collaborators: Vec::new(),
    };
    state
        .store
        .insert_case(&CaseRow {
            doc_id: id.to_string(),
            code_hash: code::hash(&normalized),
            county_id: county,
            unit_id: unit_id.clone(),
            concerns_id: concerns.as_ref().map(|u| u.id.clone()),
            via: via.as_str().to_owned(),
            filer_name: name,
            filer_phone: phone,
            clerk_id: clerk.map(|c| c.id.clone()),
            photo_sha: None,
            filed_at: crate::storage::now_ms(),
        })
        .await?;
    let confirmer = Caller {
        user: chain.confirmer.clone(),
        device_id: state.store.case_desk_device(&chain.confirmer.id).await?,
        session_id: None,
        expires_at: i64::MAX,
    };
    if let Err(e) = open_case_on_server(state, &confirmer, &id, Edit::IssueItem { brief }).await {
        // Nothing half-filed: the filer is told to try again.
        state.store.delete_case(&id.to_string()).await?;
        return Err(e.into());
    }
    tracing::info!(case = %id, via = via.as_str(), kind = list.as_str(), unit = %unit_id,
        handler = %chain.handler.id, confirmer = %chain.confirmer.id, "case filed");
    Ok(Filed {
        id: id.to_string(),
        code,
        due: due.format("%Y-%m-%d").to_string(),
    })
}

/// A case as its filer sees it with the tracking code.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicCase {
    /// `complaint` or `request`.
    pub kind: String,
    pub kind_zh: String,
    /// The unit it concerns, by name.
    pub unit: String,
    /// The person it concerns, by name, when filed from their card.
    pub concerns: Option<String>,
    pub content: String,
    pub filed_at: i64,
    /// `YYYY-MM-DD`
    pub due: String,
    /// `received` (受理中), `answered` (已答复，待确认) or `closed` (已办结).
    pub state: String,
    pub state_zh: String,
    /// The answer to the filer, once confirmed.
    pub answer: Option<String>,
    pub closed_at: Option<i64>,
    /// A complaint's verdict once closed: `founded` or `unfounded`.
    pub verdict: Option<String>,
    pub verdict_zh: Option<String>,
}

/// The case whose tracking code is `typed`.
pub async fn lookup(state: &AppState, typed: &str) -> Result<PublicCase, CaseError> {
    let normalized = code::normalize(typed).ok_or(CaseError::UnknownCode)?;
    let case = state
        .store
        .case_by_code(&code::hash(&normalized))
        .await?
        .ok_or(CaseError::UnknownCode)?;
    let id = DocId::parse(&case.doc_id).map_err(|_| CaseError::UnknownCode)?;
    let docs = state
        .store
        .load_documents(std::slice::from_ref(&case.doc_id))
        .await?;
    let stored = docs.get(&case.doc_id).ok_or(CaseError::UnknownCode)?;
    let Record::Item(item) =
        crate::records::decode(id, &stored.bytes).map_err(|e| CaseError::Internal(e.into()))?
    else {
        return Err(CaseError::UnknownCode);
    };
    let brief = item.brief.clone().ok_or(CaseError::UnknownCode)?;
    let standing = item.standing();
    let unit = state
        .store
        .unit(&case.unit_id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let concerns = match &case.concerns_id {
        Some(id) => state.store.user(id).await?.map(|u| u.name),
        None => None,
    };
    let closed = standing.status == ItemStatus::Closed;
    let (state_key, state_zh) = match standing.status {
        ItemStatus::Closed => ("closed", "已办结"),
        ItemStatus::AwaitingConfirmation => ("answered", "已办理，待审核"),
        ItemStatus::Open | ItemStatus::Returned => ("received", "办理中"),
    };
    Ok(PublicCase {
        kind: brief.list.as_str().to_owned(),
        kind_zh: kind_zh(brief.list).to_owned(),
        unit,
        concerns,
        content: brief.content,
        filed_at: case.filed_at,
        due: brief.due,
        state: state_key.to_owned(),
        state_zh: state_zh.to_owned(),
        answer: standing.answer.filter(|_| closed),
        closed_at: standing.closed_at,
        verdict: standing.verdict.map(|v| v.as_str().to_owned()),
        verdict_zh: standing.verdict.map(|v| Verdict::zh(v).to_owned()),
    })
}

pub fn kind_zh(list: ItemList) -> &'static str {
    match list {
        ItemList::Complaint => "投诉举报",
        _ => "便民诉求",
    }
}

/// Who filed a case and how to answer them: shown to the people named on
/// it and to the supervisors over its unit, to nobody else.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Filer {
    pub name: String,
    pub phone: String,
    /// `public` or `hotline`.
    pub via: String,
    /// Who took the call, for a hotline case.
    pub clerk: Option<String>,
    pub filed_at: i64,
    /// The person the case concerns, when filed from their card.
    pub concerns: Option<String>,
}

/// The filer of the case `doc_id`, if `user` handles it; `None` when the
/// item is not a case or the user is not in its handling chain.
pub async fn filer_for(
    state: &AppState,
    user: &User,
    doc_id: &str,
) -> Result<Option<Filer>, CaseError> {
    let Some(case) = state.store.case(doc_id).await? else {
        return Ok(None);
    };
    if !handles(state, user, &case).await? {
        return Ok(None);
    }
    let name_of = |id: Option<String>| async move {
        match id {
            Some(id) => state.store.user(&id).await.map(|u| u.map(|u| u.name)),
            None => Ok(None),
        }
    };
    Ok(Some(Filer {
        name: case.filer_name,
        phone: case.filer_phone,
        via: case.via,
        clerk: name_of(case.clerk_id).await?,
        filed_at: case.filed_at,
        concerns: name_of(case.concerns_id).await?,
    }))
}

/// Is `user` in the handling chain of `case`: named on it, or a
/// supervisor whose scope holds its unit (and not the person it concerns,
/// unless named to handle it: a request to them)?
async fn handles(state: &AppState, user: &User, case: &CaseRow) -> Result<bool, CaseError> {
    if user.disabled {
        return Ok(false);
    }
    if state.store.is_participant(&case.doc_id, &user.id).await? {
        return Ok(true);
    }
    if case.concerns_id.as_deref() == Some(user.id.as_str()) || user.role != Role::Supervisor {
        return Ok(false);
    }
    // A supervisor over the case as it is handled: one who reads it.
    let Ok(id) = DocId::parse(&case.doc_id) else {
        return Ok(false);
    };
    let scope = crate::access::read_scope(&state.store, user)
        .await
        .map_err(|e| CaseError::Internal(e.into()))?;
    crate::access::may_read_doc(&state.store, &scope, &id)
        .await
        .map_err(|e| CaseError::Internal(e.into()))
}

/// A case's clock on `today`: working days left to its 时限 (0 on the
/// last day), or past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Answered (a request to close made by the 时限, or closed in time).
    Answered,
    /// Working days left after today.
    Left(u32),
    /// Past the 时限 and not answered: escalated to the level above.
    Overdue,
}

/// Where a case's row stands against its 时限 on `today`.
pub fn clock(row: &ItemRow, today: NaiveDate, calendar: &Calendar) -> Clock {
    let Ok(due) = NaiveDate::parse_from_str(&row.due, "%Y-%m-%d") else {
        return Clock::Answered;
    };
    let answered_on = row
        .done_at
        .filter(|_| {
            row.status == ItemStatus::Closed.as_str()
                || row.status == ItemStatus::AwaitingConfirmation.as_str()
        })
        .and_then(crate::china::at_ms)
        .map(|t| t.date_naive());
    match answered_on {
        Some(d) if d <= due => Clock::Answered,
        Some(_) => Clock::Overdue,
        None if today > due => Clock::Overdue,
        None => Clock::Left(calendar.workdays_between(today, due)),
    }
}

/// Whom a filing names, as the form says it: 「张三（青山村·村支书）」 or
/// the unit's name.
pub async fn target_name(state: &AppState, f: &Filing) -> Result<String, CaseError> {
    let (unit_id, person) = target(state, f).await?;
    let unit = state
        .store
        .unit(&unit_id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    Ok(match person {
        Some(p) if p.post.is_empty() => format!("{}（{unit}）", p.name),
        Some(p) => format!("{}（{unit}·{}）", p.name, p.post),
        None => unit,
    })
}

/// A case a clerk takes from a call to the 便民热线: a leader, supervisor
/// or admin, about a unit or person within their scope.
pub async fn take_call(state: &AppState, clerk: &User, f: &Filing) -> Result<Filed, CaseError> {
    if clerk.role == Role::Cadre {
        return Err(CaseError::Forbidden(
            "hotline calls are taken by a leader, supervisor or admin".into(),
        ));
    }
    check(f)?;
    let (unit_id, _) = target(state, f).await?;
    let within = match &clerk.scope_unit_id {
        Some(scope) => state.store.unit_in_scope(&unit_id, scope).await?,
        None => false,
    };
    if !within {
        return Err(CaseError::NoTarget);
    }
    file(state, f, Via::Hotline, Some(clerk)).await
}

/// A person's case figures for the month starting `first`: (complaints
/// about them closed as founded in the month, cases they handle that fell
/// due in it and were not answered by their 时限, as
/// [`crate::items::month_counts`] counts 督办 items).
pub async fn month_facts(
    store: &crate::storage::Store,
    user_id: &str,
    first: NaiveDate,
) -> Result<(i64, i64), StoreError> {
    let rows = store.case_rows_of(user_id).await?;
    let next = first + chrono::Months::new(1);
    let in_month = |ms: i64| {
        crate::china::at_ms(ms)
            .map(|t| t.date_naive())
            .is_some_and(|d| d >= first && d < next)
    };
    let founded = rows
        .iter()
        .filter(|(c, i)| {
            c.concerns_id.as_deref() == Some(user_id)
                && i.verdict.as_deref() == Some(Verdict::Founded.as_str())
                && i.closed_at.is_some_and(in_month)
        })
        .count() as i64;
    let handled: Vec<ItemRow> = rows
        .into_iter()
        .filter(|(_, i)| i.responsible_id == user_id)
        .map(|(_, i)| i)
        .collect();
    let (_, overdue) = crate::items::month_counts(&handled, first, crate::policy::local_today());
    Ok((founded, overdue))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(due: &str, status: ItemStatus, done: Option<&str>) -> ItemRow {
        let ms = |d: &str| {
            sync_core::china::ms_of(
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .unwrap()
                    .and_hms_opt(15, 0, 0)
                    .unwrap(),
            )
        };
        ItemRow {
            doc_id: "item:x".into(),
            list: "complaint".into(),
            source: "public".into(),
            title: "t".into(),
            unit_id: "t1".into(),
            issuer_id: "s1".into(),
            responsible_id: "l1".into(),
            issued_at: 0,
            due: due.into(),
            status: status.as_str().into(),
            done_at: done.map(ms),
            closed_at: None,
            sent_back: 0,
            steps: 0,
            last_step_at: None,
            verdict: None,
        }
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_clock_counts_working_days_left_and_answers_by_the_due_day() {
        let cal = Calendar::weekdays();
        // Due Wednesday 2026-12-09.
        let open = row("2026-12-09", ItemStatus::Open, None);
        assert_eq!(
            clock(&open, d("2026-12-04"), &cal),
            Clock::Left(3),
            "Fri: Mon Tue Wed"
        );
        assert_eq!(clock(&open, d("2026-12-08"), &cal), Clock::Left(1));
        assert_eq!(clock(&open, d("2026-12-09"), &cal), Clock::Left(0));
        assert_eq!(clock(&open, d("2026-12-10"), &cal), Clock::Overdue);
        let asked = row(
            "2026-12-09",
            ItemStatus::AwaitingConfirmation,
            Some("2026-12-09"),
        );
        assert_eq!(clock(&asked, d("2026-12-20"), &cal), Clock::Answered);
        let late = row("2026-12-09", ItemStatus::Closed, Some("2026-12-10"));
        assert_eq!(clock(&late, d("2026-12-20"), &cal), Clock::Overdue);
        // Sent back: answered no more.
        let returned = row("2026-12-09", ItemStatus::Returned, None);
        assert_eq!(clock(&returned, d("2026-12-10"), &cal), Clock::Overdue);
    }

    #[test]
    fn a_phone_is_one_key_however_written() {
        for typed in [
            "13912345678",
            "+86 139 1234 5678",
            "0086-13912345678",
            "86 139-1234-5678",
        ] {
            assert_eq!(check_phone(typed).unwrap(), "13912345678", "{typed}");
        }
        assert_eq!(check_phone("0736-5551234").unwrap(), "07365551234");
        assert!(check_phone("123").is_err());
        assert!(check_phone("1391234567a").is_err());
    }

    #[test]
    fn pasted_text_loses_its_invisible_characters() {
        assert_eq!(
            clean(" 路灯\u{200b}坏了\u{fe0f}\t一个月\r\n了 "),
            "路灯坏了 一个月\n了"
        );
    }
}
