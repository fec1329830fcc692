//! The month's two notices: the month-start 晒承诺 (each cadre's
//! commitments of the month, as numbered clauses, 固定/动态 and 期限) and
//! the month-end 公示 (each commitment's 销号: done, not done, overdue,
//! dropped; the 月小结; the 月点评 result: score, comment, reviewer, rank,
//! 表态). Once the month-start notice is out the commitments are locked:
//! a cadre may still add, edit or drop one, and the month-end notice shows
//! each such change against what was published.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sync_core::document::{Record, Task, TaskKind, TaskStatus};
use sync_core::Role;

use super::masking::mask_numbers;
use super::PublishError;
use crate::calendar::Calendar;
use crate::reviews::{deadline_ms, last_day, parse_month};
use crate::state::AppState;
use crate::storage::Unit;

/// Which of the month's notices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MonthPart {
    /// 月初晒承诺.
    Start,
    /// 月底公示.
    End,
}

/// A month notice's key: `2026-12-start`, `2026-11-end` (what the notice
/// board and the addresses use in place of a week).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthKey {
    /// The first day of the month.
    pub first: NaiveDate,
    pub part: MonthPart,
}

impl MonthKey {
    pub fn parse(s: &str) -> Option<MonthKey> {
        let (month, part) = s.rsplit_once('-')?;
        let part = match part {
            "start" => MonthPart::Start,
            "end" => MonthPart::End,
            _ => return None,
        };
        Some(MonthKey {
            first: parse_month(month)?,
            part,
        })
    }

    /// `2026-11`.
    pub fn month(&self) -> String {
        self.first.format("%Y-%m").to_string()
    }

    /// `2026年11月`.
    pub fn zh_month(&self) -> String {
        format!("{}年{}月", self.first.year(), self.first.month())
    }

    pub fn title(&self, unit_name: &str) -> String {
        match self.part {
            MonthPart::Start => format!("{unit_name}{}干部承诺事项公示", self.zh_month()),
            MonthPart::End => format!("{unit_name}{}干部工作进展及点评公示", self.zh_month()),
        }
    }

    /// When it may be published (ms): the month-start notice from the
    /// publish hour of the month's first workday; the month-end one once
    /// the month's review deadline has passed (its results are public then).
    pub fn due_ms(&self, calendar: &Calendar, publish_hour: u32, deadline_day: u32) -> i64 {
        match self.part {
            MonthPart::Start => {
                let d = calendar.first_workday_from(self.first);
                crate::china::ms_of(
                    d.and_hms_opt(publish_hour.min(23), 0, 0)
                        .unwrap_or_default(),
                )
            }
            // The morning after the deadline day, at the publish hour.
            MonthPart::End => {
                deadline_ms(self.first, deadline_day)
                    + 1
                    + i64::from(publish_hour.min(23)) * 3_600_000
            }
        }
    }

    /// The month-start key of the same month.
    pub fn start(&self) -> MonthKey {
        MonthKey {
            first: self.first,
            part: MonthPart::Start,
        }
    }
}

impl std::fmt::Display for MonthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let part = match self.part {
            MonthPart::Start => "start",
            MonthPart::End => "end",
        };
        write!(f, "{}-{part}", self.month())
    }
}

/// A month notice as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthNotice {
    pub part: MonthPart,
    pub unit_id: String,
    pub unit_name: String,
    /// `2026-11`.
    pub month: String,
    pub title: String,
    /// ms since the epoch.
    pub published_at: i64,
    /// Month-end: when the month-start notice its changes are counted
    /// against was published; none when there was none (no change marked).
    #[serde(default)]
    pub start_published_at: Option<i64>,
    pub totals: MonthTotals,
    pub cadres: Vec<MonthCadre>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthTotals {
    pub cadres: u32,
    pub commitments: u32,
    pub done: u32,
    /// Not done by the month's end (no 期限, or one after it).
    pub not_done: u32,
    pub overdue: u32,
    pub dropped: u32,
    /// Added, edited or dropped after the month-start notice.
    pub changed: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthCadre {
    pub user_id: String,
    pub name: String,
    pub post: String,
    pub unit_name: String,
    pub commitments: Vec<Commitment>,
    /// 月小结 (month-end).
    pub summary: String,
    /// The 月点评 result (month-end, once the deadline has passed).
    pub result: Option<MonthResult>,
}

/// One commitment, as a clause of the notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commitment {
    /// The task's id in the plan: what the month-end notice compares by.
    pub id: String,
    pub title: String,
    pub kind: TaskKind,
    /// `2026-11-20`.
    pub due: Option<String>,
    pub status: CommitmentStatus,
    /// The closing note (销号说明).
    pub note: String,
    /// What changed after the month-start notice (month-end only).
    pub change: Option<Change>,
    /// Who handed it down, for a 固定任务 a leader issued into the plan
    /// (closed only by their 销号); absent for the cadre's own tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handed_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitmentStatus {
    /// Still running (month-start, or due after the month).
    Open,
    /// 已销号.
    Done,
    /// Month-end: not done, no 期限 passed.
    NotDone,
    /// Month-end: not done and its 期限 has passed.
    Overdue,
    /// 已取消 (or deleted after publication).
    Dropped,
}

/// A change to a commitment after the month-start notice published it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// Not in the month-start notice.
    Added,
    /// Its title, kind or 期限 differ from the month-start notice's.
    Edited {
        /// The clause as published: `title（固定任务，期限11月20日）`.
        was: String,
    },
    /// Cancelled or deleted after publication.
    Dropped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthResult {
    /// None while unreviewed.
    pub total: Option<i64>,
    pub rank: Option<u32>,
    pub ranked_of: u32,
    pub group: String,
    /// 末位.
    pub bottom: bool,
    pub comment: String,
    /// Who wrote the review (or who should have).
    pub reviewer: String,
    pub late: bool,
    pub statement: Option<String>,
}

fn kind_zh(k: TaskKind) -> &'static str {
    match k {
        TaskKind::Fixed => "固定任务",
        TaskKind::Dynamic => "动态任务",
    }
}

/// `11月20日` of an ISO date; the text itself if it is not one.
fn due_zh(due: &str) -> String {
    NaiveDate::parse_from_str(due, "%Y-%m-%d")
        .map(super::week::zh_day)
        .unwrap_or_else(|_| due.to_owned())
}

impl Commitment {
    pub fn kind_zh(&self) -> &'static str {
        kind_zh(self.kind)
    }

    pub fn due_zh(&self) -> String {
        self.due.as_deref().map(due_zh).unwrap_or_default()
    }

    pub fn status_zh(&self) -> &'static str {
        match self.status {
            CommitmentStatus::Open => "进行中",
            CommitmentStatus::Done => "已销号",
            CommitmentStatus::NotDone => "未完成",
            CommitmentStatus::Overdue => "逾期未完成",
            CommitmentStatus::Dropped => "已取消",
        }
    }

    /// The status as the page's style class names it.
    pub fn status_key(&self) -> &'static str {
        match self.status {
            CommitmentStatus::Open => "open",
            CommitmentStatus::Done => "done",
            CommitmentStatus::NotDone => "not_done",
            CommitmentStatus::Overdue => "overdue",
            CommitmentStatus::Dropped => "dropped",
        }
    }

    /// The change after publication, in words; empty when none.
    pub fn change_zh(&self) -> String {
        match &self.change {
            None => String::new(),
            Some(Change::Added) => "公示后新增".into(),
            Some(Change::Edited { was }) => format!("公示后修改，原为：{was}"),
            Some(Change::Dropped) => "公示后取消".into(),
        }
    }

    /// The clause as the month-start notice states it.
    fn describe(&self) -> String {
        match &self.due {
            Some(d) => format!("{}（{}，期限{}）", self.title, self.kind_zh(), due_zh(d)),
            None => format!("{}（{}）", self.title, self.kind_zh()),
        }
    }
}

impl MonthCadre {
    pub fn done(&self) -> usize {
        self.count(|c| c.status == CommitmentStatus::Done)
    }

    pub fn overdue(&self) -> usize {
        self.count(|c| c.status == CommitmentStatus::Overdue)
    }

    pub fn changed(&self) -> usize {
        self.count(|c| c.change.is_some())
    }

    fn count(&self, f: impl Fn(&Commitment) -> bool) -> usize {
        self.commitments.iter().filter(|c| f(c)).count()
    }
}

impl MonthResult {
    pub fn total_zh(&self) -> String {
        self.total
            .map_or_else(|| "未点评".into(), |t| t.to_string())
    }

    pub fn rank_zh(&self) -> String {
        match self.rank {
            Some(r) => format!("{}第{r}名（共{}人）", self.group, self.ranked_of),
            None => String::new(),
        }
    }
}

impl MonthNotice {
    /// `2026年11月1日至11月30日`.
    pub fn range_zh(&self) -> String {
        match parse_month(&self.month) {
            Some(first) => format!(
                "{}至{}",
                super::notice::zh_date(first),
                super::week::zh_day(last_day(first))
            ),
            None => self.month.clone(),
        }
    }

    pub fn is_start(&self) -> bool {
        self.part == MonthPart::Start
    }
}

/// A month notice made from the plans (and reviews) now, not stored.
#[derive(Debug)]
pub struct MonthDraft {
    pub notice: MonthNotice,
    /// The plan documents read, with their heads.
    pub heads: BTreeMap<String, Vec<String>>,
}

/// Make the month notice `key` of `unit` from the plans now; the month-end
/// one compares them with `start`, the month-start notice as it stands
/// (None: it was never published, nothing is marked as changed).
pub async fn draft(
    state: &AppState,
    unit: &Unit,
    key: MonthKey,
    start: Option<&MonthNotice>,
    now_ms: i64,
) -> Result<MonthDraft, PublishError> {
    let store = &state.store;
    let month = key.month();
    let units: BTreeMap<String, String> = store
        .units()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    // A 期限 is overdue when it passed by the month's end (or by today,
    // on a preview while the month runs): a task due after the month is
    // still running, whenever the notice is made.
    let cutoff = crate::china::at_ms(now_ms)
        .map(|t| t.date_naive())
        .unwrap_or(key.first)
        .min(last_day(key.first).succ_opt().unwrap_or(key.first));
    // The month's review results, once public.
    let results: BTreeMap<String, MonthResult> = if key.part == MonthPart::End
        && now_ms > deadline_ms(key.first, state.config.review_deadline_day)
    {
        crate::reviews::month::unit_month(state, unit, &month)
            .await
            .map_err(|e| match e {
                crate::reviews::month::ReviewError::Store(e) => PublishError::Store(e),
                other => PublishError::Month(other.to_string()),
            })?
            .rows
            .into_iter()
            .map(|r| {
                let result = MonthResult {
                    total: r.total,
                    rank: r.rank,
                    ranked_of: r.ranked_of,
                    group: r.group.clone(),
                    bottom: r.bottom,
                    comment: r
                        .review
                        .as_ref()
                        .map(|v| mask_numbers(&v.comment))
                        .unwrap_or_default(),
                    reviewer: if r.reviewed_by_name.is_empty() {
                        r.reviewer_name.clone()
                    } else {
                        r.reviewed_by_name.clone()
                    },
                    late: r.review.as_ref().is_some_and(|v| v.late),
                    statement: r.statement.as_ref().map(|s| mask_numbers(&s.text)),
                };
                (r.user_id, result)
            })
            .collect()
    } else {
        BTreeMap::new()
    };
    let published: BTreeMap<&str, BTreeMap<&str, &Commitment>> = start
        .map(|s| {
            s.cadres
                .iter()
                .map(|c| {
                    (
                        c.user_id.as_str(),
                        c.commitments.iter().map(|t| (t.id.as_str(), t)).collect(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut heads = BTreeMap::new();
    let mut cadres = Vec::new();
    for user in store.users_under(&unit.id).await? {
        if !matches!(user.role, Role::Cadre | Role::Leader) || user.disabled {
            continue;
        }
        let (mut tasks, summary) = match store.owner_plan(&user.id, &month).await? {
            Some(stored) => {
                heads.insert(stored.doc_id, stored.heads);
                match stored.record {
                    Record::Plan(p) => (p.tasks, p.summary),
                    _ => (Vec::new(), String::new()),
                }
            }
            None => (Vec::new(), String::new()),
        };
        let handed = crate::items::plan::handed(store, &user.id, &month).await?;
        tasks.extend(handed.iter().map(|h| h.task.clone()));
        let mut commitments: Vec<Commitment> = match key.part {
            MonthPart::Start => tasks
                .iter()
                .filter(|t| !t.deleted && t.status != TaskStatus::Dropped)
                .map(|t| commitment(t, CommitmentStatus::Open, None))
                .collect(),
            MonthPart::End => {
                let before =
                    start.map(|_| published.get(user.id.as_str()).cloned().unwrap_or_default());
                month_end(&tasks, before.as_ref(), cutoff)
            }
        };
        for c in &mut commitments {
            let Some(h) = handed.iter().find(|h| h.task.id == c.id) else {
                continue;
            };
            c.handed_by = Some(h.issuer_name.clone());
            // Asked to close by its 时限, awaiting the issuer's 销号: not
            // the cadre's delay.
            if h.requested_on_time
                && matches!(
                    c.status,
                    CommitmentStatus::Overdue | CommitmentStatus::NotDone
                )
            {
                c.status = CommitmentStatus::Open;
            }
        }
        cadres.push(MonthCadre {
            unit_name: units.get(&user.unit_id).cloned().unwrap_or_default(),
            result: results.get(&user.id).cloned(),
            user_id: user.id,
            name: user.name,
            post: user.post,
            commitments,
            summary: match key.part {
                MonthPart::Start => String::new(),
                MonthPart::End => mask_numbers(&summary),
            },
        });
    }
    let totals = totals(&cadres);
    Ok(MonthDraft {
        notice: MonthNotice {
            part: key.part,
            unit_id: unit.id.clone(),
            unit_name: unit.name.clone(),
            month,
            title: key.title(&unit.name),
            published_at: now_ms,
            start_published_at: start.map(|s| s.published_at),
            totals,
            cadres,
        },
        heads,
    })
}

/// Add to `into` what a later version `later` published that `into` lacks
/// (cadres and clauses); what `into` has stays as it was first published.
pub fn merge_published(into: &mut MonthNotice, later: MonthNotice) {
    for c in later.cadres {
        match into.cadres.iter_mut().find(|x| x.user_id == c.user_id) {
            Some(x) => {
                for t in c.commitments {
                    if !x.commitments.iter().any(|y| y.id == t.id) {
                        x.commitments.push(t);
                    }
                }
            }
            None => into.cadres.push(c),
        }
    }
}

fn commitment(t: &Task, status: CommitmentStatus, change: Option<Change>) -> Commitment {
    Commitment {
        id: t.id.clone(),
        title: mask_numbers(&t.title),
        kind: t.kind,
        due: t.due.clone(),
        status,
        note: mask_numbers(&t.note),
        change,
        handed_by: None,
    }
}

/// The month-end clauses of one cadre: every task of the plan (deleted ones
/// only if they had been published), with its 销号 (a 期限 before `cutoff`
/// not met is overdue) and, when a
/// month-start notice was published (`before`: its clauses), what changed.
fn month_end(
    tasks: &[Task],
    before: Option<&BTreeMap<&str, &Commitment>>,
    cutoff: NaiveDate,
) -> Vec<Commitment> {
    let mut out = Vec::new();
    for t in tasks {
        let was = before.and_then(|b| b.get(t.id.as_str()).copied());
        if t.deleted && was.is_none() {
            continue;
        }
        let status = match t.status {
            _ if t.deleted => CommitmentStatus::Dropped,
            TaskStatus::Done => CommitmentStatus::Done,
            TaskStatus::Dropped => CommitmentStatus::Dropped,
            TaskStatus::Open => match t
                .due
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            {
                Some(due) if due < cutoff => CommitmentStatus::Overdue,
                Some(_) => CommitmentStatus::Open,
                None => CommitmentStatus::NotDone,
            },
        };
        let mut c = commitment(t, status, None);
        c.change = match (before, was) {
            (None, _) => None,
            (Some(_), None) if t.status == TaskStatus::Dropped => continue,
            (Some(_), None) => Some(Change::Added),
            (Some(_), Some(_)) if status == CommitmentStatus::Dropped => Some(Change::Dropped),
            (Some(_), Some(w)) if w.title != c.title || w.kind != c.kind || w.due != c.due => {
                Some(Change::Edited { was: w.describe() })
            }
            (Some(_), Some(_)) => None,
        };
        out.push(c);
    }
    out
}

fn totals(cadres: &[MonthCadre]) -> MonthTotals {
    let mut t = MonthTotals {
        cadres: cadres.len() as u32,
        ..Default::default()
    };
    for c in cadres.iter().flat_map(|c| &c.commitments) {
        t.commitments += 1;
        match c.status {
            CommitmentStatus::Done => t.done += 1,
            CommitmentStatus::NotDone | CommitmentStatus::Open => t.not_done += 1,
            CommitmentStatus::Overdue => t.overdue += 1,
            CommitmentStatus::Dropped => t.dropped += 1,
        }
        if c.change.is_some() {
            t.changed += 1;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, title: &str, due: Option<&str>, status: TaskStatus, deleted: bool) -> Task {
        Task {
            id: id.into(),
            title: title.into(),
            kind: TaskKind::Fixed,
            due: due.map(str::to_owned),
            status,
            closed_at: None,
            note: String::new(),
            created_at: 0,
            updated_at: 0,
            deleted,
        }
    }

    #[test]
    fn a_correction_never_unpublishes_a_clause() {
        let notice = |clauses: &[(&str, &str)]| MonthNotice {
            part: MonthPart::Start,
            unit_id: "t1".into(),
            unit_name: "石门镇".into(),
            month: "2026-11".into(),
            title: String::new(),
            published_at: 1,
            start_published_at: None,
            totals: MonthTotals::default(),
            cadres: vec![MonthCadre {
                user_id: "u1".into(),
                name: String::new(),
                post: String::new(),
                unit_name: String::new(),
                commitments: clauses
                    .iter()
                    .map(|(id, title)| {
                        commitment(
                            &task(id, title, None, TaskStatus::Open, false),
                            CommitmentStatus::Open,
                            None,
                        )
                    })
                    .collect(),
                summary: String::new(),
                result: None,
            }],
        };
        let mut first = notice(&[("a", "修路"), ("b", "调解")]);
        // The correction: b cancelled before it, a renamed, c added.
        merge_published(&mut first, notice(&[("a", "修路（改）"), ("c", "新任务")]));
        let titles: Vec<&str> = first.cadres[0]
            .commitments
            .iter()
            .map(|c| c.title.as_str())
            .collect();
        assert_eq!(titles, ["修路", "调解", "新任务"]);
    }

    #[test]
    fn keys_read_and_print_back() {
        let k = MonthKey::parse("2026-11-end").unwrap();
        assert_eq!(k.to_string(), "2026-11-end");
        assert_eq!(k.part, MonthPart::End);
        assert_eq!(
            MonthKey::parse("2026-12-start")
                .unwrap()
                .start()
                .to_string(),
            "2026-12-start"
        );
        for bad in [
            "2026-11",
            "2026-13-end",
            "2026-11-middle",
            "2026-W47",
            "",
            "-end",
        ] {
            assert!(MonthKey::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(k.title("石门镇"), "石门镇2026年11月干部工作进展及点评公示");
    }

    #[test]
    fn the_month_start_is_due_on_the_first_workday() {
        // 2026-11-01 is a Sunday: the first workday is Monday the 2nd; a
        // holiday on the 2nd moves it to the 3rd.
        let k = MonthKey::parse("2026-11-start").unwrap();
        let at = |d: u32| {
            crate::china::ms_of(
                NaiveDate::from_ymd_opt(2026, 11, d)
                    .unwrap()
                    .and_hms_opt(8, 0, 0)
                    .unwrap(),
            )
        };
        assert_eq!(k.due_ms(&Calendar::weekdays(), 8, 5), at(2));
        let holiday = Calendar::with_holidays([NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()]);
        assert_eq!(k.due_ms(&holiday, 8, 5), at(3));
        let end = MonthKey::parse("2026-11-end").unwrap();
        assert_eq!(
            end.due_ms(&Calendar::weekdays(), 8, 5),
            crate::china::ms_of(
                NaiveDate::from_ymd_opt(2026, 12, 6)
                    .unwrap()
                    .and_hms_opt(8, 0, 0)
                    .unwrap()
            ),
            "the morning after the review deadline, at the publish hour"
        );
    }

    #[test]
    fn the_month_end_marks_every_change_after_publication() {
        let published = [
            commitment(
                &task("a", "修路", Some("2026-11-20"), TaskStatus::Open, false),
                CommitmentStatus::Open,
                None,
            ),
            commitment(
                &task("b", "调解", None, TaskStatus::Open, false),
                CommitmentStatus::Open,
                None,
            ),
            commitment(
                &task("c", "走访", None, TaskStatus::Open, false),
                CommitmentStatus::Open,
                None,
            ),
            commitment(
                &task("d", "学习", None, TaskStatus::Open, false),
                CommitmentStatus::Open,
                None,
            ),
            commitment(
                &task("e", "慰问", Some("2026-11-10"), TaskStatus::Open, false),
                CommitmentStatus::Open,
                None,
            ),
        ];
        let before: BTreeMap<&str, &Commitment> =
            published.iter().map(|c| (c.id.as_str(), c)).collect();
        let now = [
            // 期限 moved: edited.
            task("a", "修路", Some("2026-11-25"), TaskStatus::Done, false),
            // Cancelled after publication.
            task("b", "调解", None, TaskStatus::Dropped, false),
            // Deleted after publication: still shown, as dropped.
            task("c", "走访", None, TaskStatus::Open, true),
            // Unchanged, not done, no 期限.
            task("d", "学习", None, TaskStatus::Open, false),
            // Unchanged, its 期限 passed.
            task("e", "慰问", Some("2026-11-10"), TaskStatus::Open, false),
            // Added after publication.
            task("f", "新任务", None, TaskStatus::Done, false),
            // Added and deleted after publication: never a commitment.
            task("g", "草稿", None, TaskStatus::Open, true),
        ];
        // The day after November.
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let out = month_end(&now, Some(&before), today);
        let by: BTreeMap<&str, &Commitment> = out.iter().map(|c| (c.id.as_str(), c)).collect();
        assert_eq!(out.len(), 6);
        assert_eq!(by["a"].status, CommitmentStatus::Done);
        assert_eq!(
            by["a"].change,
            Some(Change::Edited {
                was: "修路（固定任务，期限11月20日）".into()
            })
        );
        assert_eq!(
            by["a"].change_zh(),
            "公示后修改，原为：修路（固定任务，期限11月20日）"
        );
        assert_eq!(
            (by["b"].status, by["b"].change.clone()),
            (CommitmentStatus::Dropped, Some(Change::Dropped))
        );
        assert_eq!(
            (by["c"].status, by["c"].change.clone()),
            (CommitmentStatus::Dropped, Some(Change::Dropped))
        );
        assert_eq!(
            (by["d"].status, by["d"].change.clone()),
            (CommitmentStatus::NotDone, None)
        );
        assert_eq!(
            (by["e"].status, by["e"].change.clone()),
            (CommitmentStatus::Overdue, None)
        );
        assert_eq!(by["f"].change, Some(Change::Added));
        // A 期限 after the month is still running, not overdue.
        let later = [task(
            "h",
            "冬修水利",
            Some("2026-12-10"),
            TaskStatus::Open,
            false,
        )];
        assert_eq!(
            month_end(&later, None, today)[0].status,
            CommitmentStatus::Open
        );
        // Without a month-start notice nothing is marked.
        let out = month_end(&now, None, today);
        assert!(out.iter().all(|c| c.change.is_none()));
        assert_eq!(out.len(), 5, "deleted tasks never published are left out");
    }
}
