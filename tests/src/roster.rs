//! Roster workbooks as a county office fills them in (sheets 单位 and 人员,
//! `backend::roster`), and the multipart body a browser uploads one in.

use rust_xlsxwriter::Workbook;

/// A sheet: its name, header row and data rows. A cell written `n:123` is
/// a number cell (as Excel stores a phone number typed without a
/// leading apostrophe); every other cell is text.
pub type Sheet<'a> = (&'a str, &'a [&'a str], &'a [&'a [&'a str]]);

/// A workbook of `sheets`.
pub fn workbook(sheets: &[Sheet]) -> Vec<u8> {
    let mut book = Workbook::new();
    for (name, headers, rows) in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(*name).unwrap();
        for (c, h) in headers.iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (r, c) = (r as u32 + 1, c as u16);
                match v.strip_prefix("n:") {
                    Some(n) => sheet.write_number(r, c, n.parse::<f64>().unwrap()),
                    None if v.is_empty() => continue,
                    None => sheet.write_string(r, c, *v),
                }
                .unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

/// A roster of units (columns 编码 名称 层级 上级编码, in a shuffled
/// order: the import finds columns by header) and people (登录名 姓名
/// 单位编码 职务 角色 电话).
pub fn roster(units: &[[&str; 4]], people: &[[&str; 6]]) -> Vec<u8> {
    // The columns as the office ordered them: name first.
    let unit_rows: Vec<Vec<&str>> = units.iter().map(|u| vec![u[1], u[0], u[3], u[2]]).collect();
    let unit_rows: Vec<&[&str]> = unit_rows.iter().map(Vec::as_slice).collect();
    let people_rows: Vec<Vec<&str>> = people
        .iter()
        .map(|p| vec![p[1], p[0], p[4], p[2], p[3], p[5]])
        .collect();
    let people_rows: Vec<&[&str]> = people_rows.iter().map(Vec::as_slice).collect();
    workbook(&[
        (
            "单位",
            &["名称", "编码", "上级编码", "层级（县/乡镇/村）"],
            &unit_rows,
        ),
        (
            "人员",
            &["姓名", "登录名*", "角色", "单位编码", "职务", "手机号"],
            &people_rows,
        ),
    ])
}

/// A `multipart/form-data` body with one file field: (content type, body).
pub fn multipart(field: &str, file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----jishi-test-boundary-7d1f2a";
    let mut body = Vec::with_capacity(bytes.len() + 256);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The value of the hidden input `name` of a page, unescaped.
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    let value = &rest[..rest.find('"')?];
    Some(unescape(value))
}

/// HTML entities as askama writes them.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e => e
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
