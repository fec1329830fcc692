//! 固定任务 handed down into a month plan (issue 26, point 4).
//!
//! A leader hands a task into a cadre's month plan by issuing an item of
//! the list `task` whose 时限 falls in that month. The cadre's plan
//! document stays the cadre's own (nobody else writes in it); the handed
//! task is read beside the plan's tasks wherever the plan is shown — the
//! month's notices (月初晒承诺 and the month's end), the cadre's page, the
//! 月点评 facts and the phone. It is closed like every item: the cadre asks
//! to close it, and only the issuer's 销号 makes it done.

use chrono::NaiveDate;
use sync_core::document::{Task, TaskKind, TaskStatus};

use crate::storage::{ItemRow, Store, StoreError};

/// A handed-down task as a plan reads it, with who handed it down.
#[derive(Debug, Clone, PartialEq)]
pub struct Handed {
    /// As a task of the plan: id = the item's id, kind 固定任务, done only
    /// once the issuer confirmed.
    pub task: Task,
    pub issuer_id: String,
    pub issuer_name: String,
    /// Awaiting the issuer's 销号, asked for by the 时限: not overdue.
    pub requested_on_time: bool,
}

/// The item as a plan task.
pub fn as_task(row: &ItemRow) -> Task {
    let closed = row.status == "closed";
    Task {
        id: row.doc_id.clone(),
        title: row.title.clone(),
        kind: TaskKind::Fixed,
        due: Some(row.due.clone()),
        status: if closed {
            TaskStatus::Done
        } else {
            TaskStatus::Open
        },
        closed_at: row.closed_at,
        note: match row.status.as_str() {
            "awaiting_confirmation" => "已申请销号，待交办人确认".into(),
            "returned" => "销号申请被退回，继续办理".into(),
            _ => String::new(),
        },
        created_at: row.issued_at,
        updated_at: row.last_step_at.unwrap_or(row.issued_at),
        deleted: false,
    }
}

/// The tasks handed down to `user_id` that belong to `month` (`YYYY-MM`):
/// issued by its end and not closed before it began. By 时限. A month that
/// does not parse has none.
pub async fn handed(store: &Store, user_id: &str, month: &str) -> Result<Vec<Handed>, StoreError> {
    let Ok(first) = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d") else {
        return Ok(Vec::new());
    };
    let Some(next) = first.checked_add_months(chrono::Months::new(1)) else {
        return Ok(Vec::new());
    };
    let ms = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map_or(0, crate::china::ms_of);
    let rows = store.tasks_handed(user_id, ms(first), ms(next)).await?;
    Ok(rows
        .into_iter()
        .map(|(row, issuer_name)| Handed {
            requested_on_time: requested_on_time(&row),
            task: as_task(&row),
            issuer_id: row.issuer_id,
            issuer_name,
        })
        .collect())
}

/// Did the cadre ask to close by the 时限 (China time) a task that still
/// awaits its issuer's 销号? Then it is not overdue on the cadre's part.
fn requested_on_time(row: &ItemRow) -> bool {
    let asked = row
        .done_at
        .and_then(crate::china::at_ms)
        .map(|t| t.date_naive());
    let due = NaiveDate::parse_from_str(&row.due, "%Y-%m-%d").ok();
    row.status == "awaiting_confirmation" && matches!((asked, due), (Some(a), Some(d)) if a <= d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: &str) -> ItemRow {
        ItemRow {
            doc_id: "item:0123456789abcdef0123456789abcdef".into(),
            list: "task".into(),
            source: "superior".into(),
            title: "完成秸秆禁烧巡查".into(),
            unit_id: "u".into(),
            issuer_id: "l1".into(),
            responsible_id: "c1".into(),
            issued_at: 10,
            due: "2026-12-20".into(),
            status: status.into(),
            done_at: None,
            closed_at: (status == "closed").then_some(30),
            sent_back: 0,
            steps: 1,
            last_step_at: Some(30),
            verdict: None,
        }
    }

    #[test]
    fn only_the_issuers_confirmation_makes_a_handed_task_done() {
        for (status, done) in [
            ("open", false),
            ("awaiting_confirmation", false),
            ("returned", false),
            ("closed", true),
        ] {
            let t = as_task(&row(status));
            assert_eq!(t.status == TaskStatus::Done, done, "{status}");
            assert_eq!(t.kind, TaskKind::Fixed);
            assert_eq!(t.due.as_deref(), Some("2026-12-20"));
        }
        assert_eq!(as_task(&row("closed")).closed_at, Some(30));
        assert!(as_task(&row("awaiting_confirmation"))
            .note
            .contains("待交办人确认"));
    }

    #[test]
    fn a_request_by_the_due_day_awaiting_confirmation_is_on_time() {
        let mut r = row("awaiting_confirmation");
        // China time: 01:00 on the 21st is still the 20th in UTC.
        let at = |d: u32, h: u32| {
            crate::china::ms_of(
                NaiveDate::from_ymd_opt(2026, 12, d)
                    .unwrap()
                    .and_hms_opt(h, 0, 0)
                    .unwrap(),
            )
        };
        r.done_at = Some(at(20, 23));
        assert!(requested_on_time(&r));
        r.done_at = Some(at(21, 1));
        assert!(!requested_on_time(&r), "asked on the 21st, China time");
        let mut closed = row("closed");
        closed.done_at = Some(at(1, 9));
        assert!(!requested_on_time(&closed), "a closed task is simply done");
    }
}
