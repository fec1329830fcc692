//! The 督办 台账 of a unit and month: for each person responsible for
//! items issued that month in the unit's subtree, how many were issued,
//! closed on time (the work done by the 时限), closed late, still open,
//! overdue, and sent back; with the items themselves. A page, a print
//! layout and a spreadsheet read it.

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};
use serde::Serialize;

use super::{list, ItemError, ItemSummary, ListQuery};
use crate::state::AppState;
use crate::storage::{Unit, User};

/// One person's line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LedgerRow {
    pub user_id: String,
    pub name: String,
    pub issued: u32,
    pub closed_on_time: u32,
    pub closed_late: u32,
    pub open: u32,
    pub overdue: u32,
    pub sent_back: u32,
}

/// A unit's month.
#[derive(Debug, Clone, Serialize)]
pub struct Ledger {
    pub unit_id: String,
    pub unit_name: String,
    pub month: String,
    pub rows: Vec<LedgerRow>,
    pub total: LedgerRow,
    pub items: Vec<ItemSummary>,
}

/// Was an item closed by its 时限: the work done (the request the
/// confirmation answered) on or before the due day, local time?
pub fn on_time(item: &ItemSummary) -> bool {
    let Some(done) = item.done_at else {
        return false;
    };
    let day = crate::china::at_ms(done).map(|t| t.format("%Y-%m-%d").to_string());
    day.is_some_and(|d| d <= item.due)
}

/// Count `items` person by person, in the order of first appearance by
/// name.
pub fn count(items: &[ItemSummary]) -> (Vec<LedgerRow>, LedgerRow) {
    let mut rows: Vec<LedgerRow> = Vec::new();
    let mut total = LedgerRow {
        name: "合计".into(),
        ..Default::default()
    };
    for it in items {
        let i = match rows.iter().position(|r| r.user_id == it.responsible.id) {
            Some(i) => i,
            None => {
                rows.push(LedgerRow {
                    user_id: it.responsible.id.clone(),
                    name: it.responsible.name.clone(),
                    ..Default::default()
                });
                rows.len() - 1
            }
        };
        for r in [&mut rows[i], &mut total] {
            r.issued += 1;
            if it.status == "closed" {
                if on_time(it) {
                    r.closed_on_time += 1;
                } else {
                    r.closed_late += 1;
                }
            } else {
                r.open += 1;
            }
            if it.overdue {
                r.overdue += 1;
            }
            r.sent_back += u32::try_from(it.sent_back).unwrap_or(0);
        }
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    (rows, total)
}

/// The 台账 of `unit` (which `user` oversees: the caller checked) for
/// `month` (`YYYY-MM`).
pub async fn of_month(
    state: &AppState,
    user: &User,
    unit: &Unit,
    month: &str,
) -> Result<Ledger, ItemError> {
    let items = list(
        state,
        user,
        &ListQuery {
            unit: Some(unit.id.clone()),
            month: Some(month.to_owned()),
        },
    )
    .await?;
    // The public's cases have their own month (`cases::stats`).
    let items: Vec<ItemSummary> = items
        .into_iter()
        .filter(|i| {
            !sync_core::document::item::ItemList::parse(&i.list)
                .is_ok_and(sync_core::document::item::ItemList::is_case)
        })
        .collect();
    let (rows, total) = count(&items);
    Ok(Ledger {
        unit_id: unit.id.clone(),
        unit_name: unit.name.clone(),
        month: month.to_owned(),
        rows,
        total,
        items,
    })
}

const COLUMNS: [(&str, f64); 8] = [
    ("责任人", 14.0),
    ("交办", 8.0),
    ("按期办结", 10.0),
    ("逾期办结", 10.0),
    ("未办结", 8.0),
    ("逾期未办结", 11.0),
    ("退回次数", 10.0),
    ("备注", 24.0),
];

/// The 台账 as a workbook: a title, one row a person and a total, the
/// signature line; A4 landscape, one page wide, the header on every page.
pub fn xlsx(l: &Ledger) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(&l.month)?;
    let border = Format::new()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center);
    let header = border.clone().set_bold().set_background_color("F2F2F2");
    let title = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center);
    let last = COLUMNS.len() as u16 - 1;
    let month = crate::publications::week::zh_month(&l.month);
    sheet.merge_range(
        0,
        0,
        0,
        last,
        &format!("{}{}督办事项台账", l.unit_name, month),
        &title,
    )?;
    sheet.set_row_height(0, 30)?;
    for (c, (name, width)) in COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(1, c as u16, *name, &header)?;
        sheet.set_column_width(c as u16, *width)?;
    }
    for (i, r) in l.rows.iter().chain(std::iter::once(&l.total)).enumerate() {
        let row = i as u32 + 2;
        sheet.write_string_with_format(row, 0, &r.name, &border)?;
        for (c, n) in [
            r.issued,
            r.closed_on_time,
            r.closed_late,
            r.open,
            r.overdue,
            r.sent_back,
        ]
        .into_iter()
        .enumerate()
        {
            sheet.write_number_with_format(row, c as u16 + 1, f64::from(n), &border)?;
        }
        sheet.write_blank(row, last, &border)?;
    }
    let below = l.rows.len() as u32 + 4;
    sheet.merge_range(
        below,
        0,
        below,
        last,
        "制表人：　　　　　审核人：　　　　　日期：",
        &Format::new(),
    )?;
    sheet
        .set_paper_size(9)
        .set_landscape()
        .set_print_fit_to_pages(1, 0)
        .set_print_center_horizontally(true)
        .set_footer("&C第 &P 页，共 &N 页");
    sheet.set_repeat_rows(1, 1)?;
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::Person;

    fn item(
        who: &str,
        status: &str,
        due: &str,
        done: Option<i64>,
        overdue: bool,
        sent_back: i64,
    ) -> ItemSummary {
        let p = |id: &str| Person {
            id: id.into(),
            name: format!("用户{id}"),
        };
        ItemSummary {
            id: "item:x".into(),
            list: "supervision".into(),
            source: "meeting".into(),
            title: "t".into(),
            unit_id: "v1".into(),
            issuer: p("l1"),
            responsible: p(who),
            issued_at: 0,
            due: due.into(),
            status: status.into(),
            overdue,
            overdue_days: 0,
            escalated: false,
            due_soon: false,
            done_at: done,
            closed_at: done,
            sent_back,
            steps: 0,
            verdict: None,
        }
    }

    #[test]
    fn the_ledger_counts_on_time_late_open_overdue_and_sent_back() {
        // 2026-12-04 12:00 in UTC+8.
        let dec4 = sync_core::china::ms_of(
            chrono::NaiveDate::from_ymd_opt(2026, 12, 4)
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap(),
        );
        let items = [
            item("u1", "closed", "2026-12-04", Some(dec4), false, 1),
            item("u1", "closed", "2026-12-03", Some(dec4), false, 0),
            item("u1", "open", "2026-12-01", None, true, 0),
            item("u2", "returned", "2026-12-31", None, false, 2),
        ];
        let (rows, total) = count(&items);
        assert_eq!(rows.len(), 2);
        let u1 = &rows[0];
        assert_eq!(
            (
                u1.issued,
                u1.closed_on_time,
                u1.closed_late,
                u1.open,
                u1.overdue,
                u1.sent_back
            ),
            (3, 1, 1, 1, 1, 1)
        );
        assert_eq!((total.issued, total.open, total.sent_back), (4, 2, 3));
        assert!(xlsx(&Ledger {
            unit_id: "t1".into(),
            unit_name: "石门镇".into(),
            month: "2026-12".into(),
            rows,
            total,
            items: Vec::new(),
        })
        .unwrap()
        .starts_with(b"PK"));
    }
}
