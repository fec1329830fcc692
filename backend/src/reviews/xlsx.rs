//! A unit's month as an `.xlsx` sheet, the format the assessment offices
//! work in.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::results::ResultRow;

/// The workbook as a download (the API's and the web page's alike),
/// named `reviews-{unit}-{month}.xlsx`.
pub fn download(unit_id: &str, month: &str, bytes: Vec<u8>) -> Response {
    let name = format!("attachment; filename=\"reviews-{unit_id}-{month}.xlsx\"");
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

/// The workbook bytes: one sheet, a title row, a header, one row a person.
pub fn export(unit_name: &str, month: &str, rows: &[ResultRow]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(month)?;
    let bold = Format::new().set_bold();
    sheet.write_string_with_format(0, 0, format!("{unit_name}{month}月度点评结果"), &bold)?;
    let header = [
        "排名",
        "姓名",
        "单位",
        "工作目标(80)",
        "日常表现与纪实(20)",
        "总分",
        "末位",
        "逾期点评",
        "填报天数",
        "工作记录",
        "四夜活动",
        "住村晚数",
        "已销号",
        "未完成",
        "点评人",
        "点评意见",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string_with_format(1, c as u16, *h, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 2;
        if let Some(rank) = r.rank {
            sheet.write_number(row, 0, f64::from(rank))?;
        }
        sheet.write_string(row, 1, &r.name)?;
        sheet.write_string(row, 2, &r.unit_name)?;
        if let Some(v) = &r.review {
            sheet.write_number(row, 3, v.targets as f64)?;
            sheet.write_number(row, 4, v.conduct as f64)?;
            sheet.write_number(row, 5, (v.targets + v.conduct) as f64)?;
            sheet.write_string(row, 7, if v.late { "是" } else { "" })?;
            sheet.write_string(row, 15, &v.comment)?;
        } else {
            sheet.write_string(row, 5, "未点评")?;
        }
        sheet.write_string(row, 6, if r.bottom { "末位" } else { "" })?;
        let f = &r.facts;
        for (c, n) in [
            f.days_filed,
            f.entries,
            f.night_activities,
            f.nights_stayed,
            f.tasks_done,
            f.tasks_open,
        ]
        .iter()
        .enumerate()
        {
            sheet.write_number(row, 8 + c as u16, *n as f64)?;
        }
        // Who wrote the review (an admin may), else who is to write it.
        let by = r
            .review
            .as_ref()
            .map(|v| v.reviewer_id.as_str())
            .or(r.reviewer_id.as_deref())
            .unwrap_or("");
        sheet.write_string(row, 14, by)?;
    }
    sheet.set_column_width(15, 60)?;
    book.save_to_buffer()
}
