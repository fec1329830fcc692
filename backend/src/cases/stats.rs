//! A unit's cases of a month (issue 27, point 5): for each unit the cases
//! concern, in the unit's subtree, how many were received (complaints and
//! requests), answered within the three working days, answered late, still
//! open, overdue (not answered by the 时限), and found founded or not; with
//! the cases themselves, never their filers. A page and a spreadsheet read
//! it.

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};
use serde::Serialize;
use sync_core::document::item::ItemStatus;

use super::{clock, CaseError, Clock};
use crate::calendar::Calendar;
use crate::state::AppState;
use crate::storage::Unit;

/// One unit's line (or the total's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatsRow {
    pub unit_id: String,
    pub name: String,
    pub received: u32,
    pub complaints: u32,
    pub requests: u32,
    pub in_time: u32,
    pub late: u32,
    pub open: u32,
    pub overdue: u32,
    pub founded: u32,
    pub unfounded: u32,
}

/// One case as listed.
#[derive(Debug, Clone, Serialize)]
pub struct CaseLine {
    pub id: String,
    pub kind_zh: &'static str,
    pub title: String,
    pub unit_name: String,
    pub filed: String,
    pub due: String,
    pub state_zh: &'static str,
    pub verdict_zh: &'static str,
    pub overdue: bool,
}

/// A unit's month of cases.
#[derive(Debug, Clone, Serialize)]
pub struct CaseStats {
    pub unit_id: String,
    pub unit_name: String,
    pub month: String,
    pub rows: Vec<StatsRow>,
    pub total: StatsRow,
    pub cases: Vec<CaseLine>,
}

fn bad_month() -> CaseError {
    CaseError::BadMonth
}

/// The cases filed in `month` (`YYYY-MM`) about `unit`'s subtree, as of
/// today.
pub async fn of_month(state: &AppState, unit: &Unit, month: &str) -> Result<CaseStats, CaseError> {
    let first = sync_core::ids::Period::parse_month(month).map_err(|_| bad_month())?;
    let next = first + chrono::Months::new(1);
    let ms = |d: NaiveDate| sync_core::china::ms_of(d.and_hms_opt(0, 0, 0).unwrap_or_default());
    let found = state
        .store
        .cases_in(&unit.path, ms(first), ms(next))
        .await?;
    let calendar = Calendar::of_unit(&state.store, &unit.id).await?;
    let today = crate::policy::local_today();
    let units = state.store.units().await?;
    let name_of = |id: &str| {
        units
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| id.to_owned(), |u| u.name.clone())
    };
    let mut rows: Vec<StatsRow> = Vec::new();
    let mut total = StatsRow {
        name: "合计".into(),
        ..Default::default()
    };
    let mut cases = Vec::new();
    for (case, item) in &found {
        let closed = item.status == ItemStatus::Closed.as_str();
        let c = clock(item, today, &calendar);
        let i = match rows.iter().position(|r| r.unit_id == case.unit_id) {
            Some(i) => i,
            None => {
                rows.push(StatsRow {
                    unit_id: case.unit_id.clone(),
                    name: name_of(&case.unit_id),
                    ..Default::default()
                });
                rows.len() - 1
            }
        };
        for r in [&mut rows[i], &mut total] {
            r.received += 1;
            if item.list == "complaint" {
                r.complaints += 1;
            } else {
                r.requests += 1;
            }
            match (closed, c) {
                (true, Clock::Answered) => r.in_time += 1,
                (true, _) => r.late += 1,
                (false, _) => r.open += 1,
            }
            if c == Clock::Overdue {
                r.overdue += 1;
            }
            match item.verdict.as_deref() {
                Some("founded") => r.founded += 1,
                Some("unfounded") => r.unfounded += 1,
                _ => {}
            }
        }
        cases.push(CaseLine {
            id: item.doc_id.clone(),
            kind_zh: if item.list == "complaint" {
                "投诉举报"
            } else {
                "便民诉求"
            },
            title: item.title.clone(),
            unit_name: name_of(&case.unit_id),
            filed: crate::china::at_ms(case.filed_at)
                .map(|t| t.format("%m-%d %H:%M").to_string())
                .unwrap_or_default(),
            due: item.due.clone(),
            state_zh: match item.status.as_str() {
                "closed" => "已办结",
                "awaiting_confirmation" => "已答复待审核",
                "returned" => "已退回重办",
                _ => "办理中",
            },
            verdict_zh: match item.verdict.as_deref() {
                Some("founded") => "属实",
                Some("unfounded") => "不属实",
                _ => "",
            },
            overdue: c == Clock::Overdue,
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(CaseStats {
        unit_id: unit.id.clone(),
        unit_name: unit.name.clone(),
        month: month.to_owned(),
        rows,
        total,
        cases,
    })
}

const COLUMNS: [(&str, f64); 11] = [
    ("单位", 16.0),
    ("受理", 7.0),
    ("投诉举报", 9.0),
    ("便民诉求", 9.0),
    ("3日内办结", 10.0),
    ("超期办结", 9.0),
    ("办理中", 8.0),
    ("超期", 7.0),
    ("属实", 7.0),
    ("不属实", 8.0),
    ("备注", 18.0),
];

/// The month as a spreadsheet: one line per unit, and the total.
pub fn xlsx(s: &CaseStats) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(&s.month)?;
    let border = Format::new()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center);
    let header = border.clone().set_bold().set_background_color("F2F2F2");
    let title = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center);
    let last = COLUMNS.len() as u16 - 1;
    let month = crate::publications::week::zh_month(&s.month);
    sheet.merge_range(
        0,
        0,
        0,
        last,
        &format!("{}{}群众反映办理统计", s.unit_name, month),
        &title,
    )?;
    sheet.set_row_height(0, 30)?;
    for (c, (name, width)) in COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(1, c as u16, *name, &header)?;
        sheet.set_column_width(c as u16, *width)?;
    }
    for (i, r) in s.rows.iter().chain(std::iter::once(&s.total)).enumerate() {
        let row = i as u32 + 2;
        sheet.write_string_with_format(row, 0, &r.name, &border)?;
        for (c, n) in [
            r.received,
            r.complaints,
            r.requests,
            r.in_time,
            r.late,
            r.open,
            r.overdue,
            r.founded,
            r.unfounded,
        ]
        .into_iter()
        .enumerate()
        {
            sheet.write_number_with_format(row, c as u16 + 1, f64::from(n), &border)?;
        }
        sheet.write_blank(row, last, &border)?;
    }
    sheet
        .set_paper_size(9)
        .set_landscape()
        .set_print_fit_to_pages(1, 0)
        .set_print_center_horizontally(true);
    sheet.set_repeat_rows(1, 1)?;
    book.save_to_buffer()
}
