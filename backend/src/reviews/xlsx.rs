//! A unit's month as an `.xlsx` sheet, the format the assessment offices
//! work in.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, XlsxError};

use super::results::ResultRow;
use crate::publications::week::zh_month;
use crate::storage::ReviewRow;

/// The workbook as a download (the API's and the web page's alike),
/// named `reviews-{unit}-{month}.xlsx`.
pub fn download(unit_id: &str, month: &str, bytes: Vec<u8>) -> Response {
    download_named(&format!("reviews-{unit_id}-{month}.xlsx"), bytes)
}

/// A workbook as a download named `file` (ASCII; another name is left out).
pub fn download_named(file: &str, bytes: Vec<u8>) -> Response {
    let name = format!("attachment; filename=\"{file}\"");
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
        )],
        bytes,
    )
        .into_response();
    // Unit ids and months are plain ASCII; a name that is not stays out.
    if let Ok(v) = HeaderValue::from_str(&name) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// The sheet's columns, in order, with their widths (in Excel's character
/// units; a Chinese character takes about two).
const COLUMNS: [(&str, f64); 19] = [
    ("分组", 16.0),
    ("组内排名", 6.0),
    ("姓名", 10.0),
    ("职务", 14.0),
    ("单位", 14.0),
    ("工作目标(80)", 9.0),
    ("日常表现与纪实(20)", 10.0),
    ("总分", 7.0),
    ("末位", 6.0),
    ("填报天数", 6.0),
    ("工作记录", 6.0),
    ("四夜活动", 6.0),
    ("住村晚数", 6.0),
    ("已销号", 6.0),
    ("未完成", 6.0),
    ("点评人", 10.0),
    // The review was late: the reviewer's, not the cadre's.
    ("点评逾期", 6.0),
    ("点评意见", 50.0),
    ("表态", 30.0),
];

/// Where the assessment office signs, under the table.
const SIGNATURES: &str = "制表人：＿＿＿＿　　审核人：＿＿＿＿　　日期：＿＿＿＿年＿＿月＿＿日";

/// The title over the table: `石门镇2026年11月干部月度点评结果`.
fn title(unit_name: &str, month: &str) -> String {
    format!("{unit_name}{}干部月度点评结果", zh_month(month))
}

/// The cell formats of the sheet: every table cell bordered.
struct Formats {
    title: Format,
    header: Format,
    text: Format,
    centered: Format,
    wrapped: Format,
    signatures: Format,
}

impl Formats {
    fn new() -> Self {
        let cell = Format::new()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::VerticalCenter);
        Self {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            header: cell
                .clone()
                .set_bold()
                .set_background_color(Color::RGB(0xD9D9D9))
                .set_align(FormatAlign::Center)
                .set_text_wrap(),
            centered: cell.clone().set_align(FormatAlign::Center),
            wrapped: cell.clone().set_text_wrap(),
            text: cell,
            signatures: Format::new().set_align(FormatAlign::VerticalCenter),
        }
    }
}

enum Cell<'a> {
    Text(&'a str, &'a Format),
    Number(f64),
}

/// A person's row, one cell a column of [`COLUMNS`].
fn cells<'a>(r: &'a ResultRow, f: &'a Formats) -> [Cell<'a>; COLUMNS.len()] {
    let number = |n: i64| Cell::Number(n as f64);
    let review = r.review.as_ref();
    let score = |n: fn(&ReviewRow) -> i64| match review {
        Some(v) => number(n(v)),
        None => Cell::Text("", &f.centered),
    };
    // Who wrote the review (an admin may), else who is to write it.
    let by = if !r.reviewed_by_name.is_empty() {
        r.reviewed_by_name.as_str()
    } else if r.reviewer_id.is_none() && review.is_none() {
        "未指定"
    } else {
        r.reviewer_name.as_str()
    };
    let facts = &r.facts;
    [
        Cell::Text(&r.group, &f.text),
        match r.rank {
            Some(rank) => Cell::Number(f64::from(rank)),
            None => Cell::Text("", &f.centered),
        },
        Cell::Text(&r.name, &f.text),
        Cell::Text(&r.post, &f.wrapped),
        Cell::Text(&r.unit_name, &f.wrapped),
        score(|v| v.targets),
        score(|v| v.conduct),
        match review {
            Some(v) => number(v.targets + v.conduct),
            None => Cell::Text("未点评", &f.centered),
        },
        Cell::Text(if r.bottom { "末位" } else { "" }, &f.centered),
        number(facts.days_filed),
        number(facts.entries),
        number(facts.night_activities),
        number(facts.nights_stayed),
        number(facts.tasks_done),
        number(facts.tasks_open),
        Cell::Text(by, &f.text),
        Cell::Text(
            if review.is_some_and(|v| v.late) {
                "是"
            } else {
                ""
            },
            &f.centered,
        ),
        Cell::Text(review.map_or("", |v| v.comment.as_str()), &f.wrapped),
        Cell::Text(
            r.statement.as_ref().map_or("", |s| s.text.as_str()),
            &f.wrapped,
        ),
    ]
}

/// The workbook bytes: one sheet, a title row, a header, one row a person,
/// and the signature line under them; printed on A4 landscape, one page
/// wide, the header on every page.
pub fn export(unit_name: &str, month: &str, rows: &[ResultRow]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(month)?;
    let f = Formats::new();
    let last_col = COLUMNS.len() as u16 - 1;

    sheet.merge_range(0, 0, 0, last_col, &title(unit_name, month), &f.title)?;
    sheet.set_row_height(0, 32)?;
    for (c, (name, width)) in COLUMNS.iter().enumerate() {
        let c = c as u16;
        sheet.write_string_with_format(1, c, *name, &f.header)?;
        sheet.set_column_width(c, *width)?;
    }
    sheet.set_row_height(1, 30)?;

    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 2;
        for (c, cell) in cells(r, &f).into_iter().enumerate() {
            let c = c as u16;
            // Blank cells are written too, so that each has its border.
            match cell {
                Cell::Text("", format) => sheet.write_blank(row, c, format)?,
                Cell::Text(text, format) => sheet.write_string_with_format(row, c, text, format)?,
                Cell::Number(n) => sheet.write_number_with_format(row, c, n, &f.centered)?,
            };
        }
    }

    // The signature line, a blank row under the table.
    let below = rows.len() as u32 + 3;
    sheet.merge_range(below, 0, below, last_col, SIGNATURES, &f.signatures)?;
    sheet.set_row_height(below, 24)?;

    sheet.set_freeze_panes(2, 0)?;
    sheet
        .set_paper_size(9)
        .set_landscape()
        .set_print_fit_to_pages(1, 0)
        .set_print_center_horizontally(true)
        .set_print_gridlines(false)
        .set_margins(0.4, 0.4, 0.6, 0.6, 0.3, 0.3)
        .set_footer("&C第 &P 页，共 &N 页");
    sheet.set_repeat_rows(1, 1)?;
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_writes_the_month_the_chinese_way() {
        assert_eq!(
            title("石门镇", "2026-11"),
            "石门镇2026年11月干部月度点评结果"
        );
        assert_eq!(
            title("青山县", "2026-01"),
            "青山县2026年1月干部月度点评结果"
        );
        // Not a month: left as it is rather than made up.
        assert_eq!(title("石门镇", "2026-13"), "石门镇2026-13干部月度点评结果");
    }

    #[test]
    fn an_empty_month_still_makes_a_workbook() {
        let bytes = export("石门镇", "2026-11", &[]).unwrap();
        assert!(bytes.starts_with(b"PK\x03\x04"));
    }
}
