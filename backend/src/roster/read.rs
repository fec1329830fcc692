//! Reading a roster workbook: the sheets 单位 and 人员, their columns found
//! by the Chinese header (or an alias) in the first non-empty row, in any
//! order, other columns ignored; every cell as trimmed text (a number as
//! Excel shows it, `13800000001` not `1.38e10`), every row with its Excel
//! row number. Nothing here knows the database: the checks that need it
//! are [`super::plan`]'s. CPU work on untrusted bytes: callers run it off
//! the async threads.

use std::io::Cursor;

use calamine::{Data, Range, Reader, Xlsx};
use serde::{Deserialize, Serialize};

use super::{Fault, RowProblem, MAX_PROBLEMS, PEOPLE_SHEET, UNITS_SHEET};

/// The most rows a sheet may have.
pub const MAX_ROWS: usize = 20_000;

/// A roster as the file says it: text, checked only for its shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterFile {
    pub units: Vec<UnitRow>,
    pub people: Vec<PersonRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitRow {
    /// The Excel row number.
    pub row: u32,
    pub code: String,
    pub name: String,
    pub level: String,
    /// Empty for a county.
    pub parent: String,
}

/// A person. An optional column the sheet does not have is `None`: an
/// existing person keeps that field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRow {
    pub row: u32,
    pub login: String,
    pub name: String,
    pub unit: String,
    pub role: String,
    /// 职务
    pub post: Option<String>,
    pub phone: Option<String>,
    /// 职责
    pub duties: Option<String>,
    /// 管辖单位: the unit a leader, supervisor or admin oversees.
    pub scope: Option<String>,
}

/// A column: its header in the template, the other headers taken for it.
pub struct Column {
    pub header: &'static str,
    pub aliases: &'static [&'static str],
    pub required: bool,
    /// What the template's notes say of it.
    pub note: &'static str,
}

pub const UNIT_COLUMNS: [Column; 4] = [
    Column {
        header: "编码",
        aliases: &["单位编码", "代码", "code"],
        required: true,
        note: "单位的唯一编码：字母、数字和 -，例如 c1、t1、430123-01；导入后不能更改",
    },
    Column {
        header: "名称",
        aliases: &["单位名称", "name"],
        required: true,
        note: "单位全称，例如 石门镇",
    },
    Column {
        header: "层级",
        aliases: &["级别", "level"],
        required: true,
        note: "县、乡镇、部门、村 或 站所",
    },
    Column {
        header: "上级编码",
        aliases: &["上级", "上级单位", "上级单位编码", "parent"],
        required: true,
        note: "上级单位的编码；只有县不填。上级可以写在本表中任何一行，也可以是系统中已有的单位",
    },
];

pub const PERSON_COLUMNS: [Column; 8] = [
    Column {
        header: "登录名",
        aliases: &["账号", "帐号", "用户名", "login"],
        required: true,
        note: "登录用的账号，每人唯一，例如手机号或拼音；已有账号按登录名对应，不会改动其密码",
    },
    Column {
        header: "姓名",
        aliases: &["name"],
        required: true,
        note: "本人姓名",
    },
    Column {
        header: "单位编码",
        aliases: &["单位", "所在单位", "所在单位编码", "unit"],
        required: true,
        note: "所在单位的编码（“单位”表中的编码，或系统中已有单位的编码）",
    },
    Column {
        header: "职务",
        aliases: &["岗位", "post"],
        required: false,
        note: "例如 驻村干部、党委书记",
    },
    Column {
        header: "角色",
        aliases: &["role"],
        required: true,
        note: "干部（填写纪实）、领导（点评本单位及下级）、督查（查看、点评、发布）或 管理员",
    },
    Column {
        header: "电话",
        aliases: &["手机", "手机号", "手机号码", "联系电话", "phone"],
        required: false,
        note: "数字、空格和 - + ( )，例如 13800000001",
    },
    Column {
        header: "职责",
        aliases: &["工作职责", "duties"],
        required: false,
        note: "可不填",
    },
    Column {
        header: "管辖单位",
        aliases: &["管辖单位编码", "管辖范围", "scope"],
        required: false,
        note: "领导、督查、管理员所管辖的单位编码；不填则为本人所在单位。干部不填",
    },
];

/// A header as written, reduced to what identifies it: the text before a
/// bracketed hint (`层级（县/乡镇）`), without spaces or the `*` of a
/// required column, ASCII lower case.
fn header_key(s: &str) -> String {
    let s = s.split(['(', '（']).next().unwrap_or_default();
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '*' | '＊'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn column_of(columns: &[Column], header: &str) -> Option<usize> {
    let key = header_key(header);
    if key.is_empty() {
        return None;
    }
    columns
        .iter()
        .position(|c| header_key(c.header) == key || c.aliases.iter().any(|a| header_key(a) == key))
}

/// A cell as text, or what it holds instead (`date`, `boolean`, `error …`).
fn cell_text(cell: &Data) -> Result<String, String> {
    match cell {
        Data::Empty => Ok(String::new()),
        Data::String(s) => Ok(s.trim().to_owned()),
        Data::Int(i) => Ok(i.to_string()),
        // Excel keeps every number as a float: a phone number or a code
        // typed as a number is an integer in a float.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(format!("{}", *f as i64)),
        Data::Float(f) => Ok(f.to_string()),
        Data::Bool(_) => Err("boolean".into()),
        Data::DateTime(_) | Data::DateTimeIso(_) | Data::DurationIso(_) => Err("date".into()),
        Data::Error(e) => Err(format!("error {e}")),
    }
}

/// The rows of one sheet under its header: for each data row, its Excel
/// row number and the text of each column in `columns` (`None` where the
/// sheet has no such column). Empty rows are skipped.
fn rows_of(
    range: &Range<Data>,
    sheet: &'static str,
    columns: &[Column],
    problems: &mut Vec<RowProblem>,
) -> Vec<(u32, Vec<Option<String>>)> {
    let Some((first_row, _)) = range.start() else {
        // A sheet with nothing in it: no rows.
        return Vec::new();
    };
    let mut rows = range
        .rows()
        .enumerate()
        .map(|(i, r)| (first_row + i as u32 + 1, r));
    // The header: the first row with anything in it.
    let Some((_, header)) = rows
        .by_ref()
        .find(|(_, r)| r.iter().any(|c| !matches!(c, Data::Empty)))
    else {
        return Vec::new();
    };
    let mut at: Vec<Option<usize>> = vec![None; columns.len()];
    let before = problems.len();
    for (i, cell) in header.iter().enumerate() {
        let Ok(text) = cell_text(cell) else { continue };
        if let Some(c) = column_of(columns, &text) {
            if at[c].is_some() {
                problems.push(RowProblem::sheet(
                    sheet,
                    Fault::DuplicateColumn {
                        column: columns[c].header,
                    },
                ));
            }
            at[c] = Some(i);
        }
    }
    for (c, column) in columns.iter().enumerate() {
        if column.required && at[c].is_none() {
            problems.push(RowProblem::sheet(
                sheet,
                Fault::MissingColumn {
                    column: column.header,
                },
            ));
        }
    }
    if problems.len() > before {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (row, cells) in rows {
        if cells.iter().all(|c| match cell_text(c) {
            Ok(t) => t.is_empty(),
            Err(_) => false,
        }) {
            continue;
        }
        if out.len() == MAX_ROWS {
            problems.push(RowProblem::sheet(
                sheet,
                Fault::TooManyRows { max: MAX_ROWS },
            ));
            break;
        }
        let mut values = Vec::with_capacity(columns.len());
        for (c, column) in columns.iter().enumerate() {
            values.push(match at[c] {
                None => None,
                Some(i) => match cells.get(i).map(cell_text).unwrap_or(Ok(String::new())) {
                    Ok(t) => Some(t),
                    Err(what) => {
                        problems.push(RowProblem::row(
                            sheet,
                            row,
                            Fault::BadCell {
                                column: column.header,
                                what,
                            },
                        ));
                        Some(String::new())
                    }
                },
            });
        }
        out.push((row, values));
    }
    out
}

/// Read a roster workbook. Every problem of the file's shape at once
/// (capped at [`MAX_PROBLEMS`]), or the rows.
pub fn read(bytes: &[u8]) -> Result<RosterFile, Vec<RowProblem>> {
    super::archive::check(bytes).map_err(|fault| vec![RowProblem::file(fault)])?;
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| vec![RowProblem::file(Fault::NotXlsx(e.to_string()))])?;
    let names = book.sheet_names();
    let mut problems = Vec::new();
    let mut range = |sheet: &'static str, problems: &mut Vec<RowProblem>| {
        let Some(name) = names.iter().find(|n| n.trim() == sheet) else {
            problems.push(RowProblem::sheet(
                sheet,
                Fault::MissingSheet {
                    found: names.clone(),
                },
            ));
            return None;
        };
        match book.worksheet_range(name) {
            Ok(r) => Some(r),
            Err(e) => {
                problems.push(RowProblem::sheet(sheet, Fault::NotXlsx(e.to_string())));
                None
            }
        }
    };
    let units = range(UNITS_SHEET, &mut problems);
    let people = range(PEOPLE_SHEET, &mut problems);
    let mut file = RosterFile::default();
    let text = |v: &mut Vec<Option<String>>, i: usize| v[i].take().unwrap_or_default();
    if let Some(units) = units {
        for (row, mut v) in rows_of(&units, UNITS_SHEET, &UNIT_COLUMNS, &mut problems) {
            file.units.push(UnitRow {
                row,
                code: text(&mut v, 0),
                name: text(&mut v, 1),
                level: text(&mut v, 2),
                parent: text(&mut v, 3),
            });
        }
    }
    if let Some(people) = people {
        for (row, mut v) in rows_of(&people, PEOPLE_SHEET, &PERSON_COLUMNS, &mut problems) {
            file.people.push(PersonRow {
                row,
                login: text(&mut v, 0),
                name: text(&mut v, 1),
                unit: text(&mut v, 2),
                post: v[3].take(),
                role: text(&mut v, 4),
                phone: v[5].take(),
                duties: v[6].take(),
                scope: v[7].take(),
            });
        }
    }
    if problems.is_empty() {
        Ok(file)
    } else {
        Err(cap(problems))
    }
}

/// At most [`MAX_PROBLEMS`], and a line saying how many more.
pub(super) fn cap(mut problems: Vec<RowProblem>) -> Vec<RowProblem> {
    if problems.len() > MAX_PROBLEMS {
        let more = problems.len() - MAX_PROBLEMS;
        problems.truncate(MAX_PROBLEMS);
        problems.push(RowProblem::file(Fault::TooManyProblems { more }));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_by_name_alias_and_hint() {
        assert_eq!(column_of(&UNIT_COLUMNS, "编码"), Some(0));
        assert_eq!(column_of(&UNIT_COLUMNS, " 单位编码* "), Some(0));
        assert_eq!(column_of(&UNIT_COLUMNS, "层级（县/乡镇/村）"), Some(2));
        assert_eq!(column_of(&UNIT_COLUMNS, "Parent"), Some(3));
        assert_eq!(column_of(&UNIT_COLUMNS, "备注"), None);
        assert_eq!(column_of(&PERSON_COLUMNS, "手机号"), Some(5));
    }

    #[test]
    fn numbers_read_as_excel_shows_them() {
        assert_eq!(
            cell_text(&Data::Float(13800000001.0)).unwrap(),
            "13800000001"
        );
        assert_eq!(cell_text(&Data::Float(1.5)).unwrap(), "1.5");
        assert_eq!(
            cell_text(&Data::String(" 张三\u{3000}".into())).unwrap(),
            "张三"
        );
        assert!(cell_text(&Data::Bool(true)).is_err());
    }

    #[test]
    fn what_is_not_a_workbook_is_said_so() {
        let problems = read(b"login,name\nu1,x\n").unwrap_err();
        assert!(
            matches!(problems[0].fault, Fault::NotXlsx(_)),
            "{problems:?}"
        );
    }
}
