//! The roster template a county fills in: the sheets 单位 and 人员 with
//! their headers (cells formatted as text, so that codes and phone numbers
//! stay as typed; 层级 and 角色 offered as lists), and a sheet 说明 with
//! what each column takes and an example. Its data sheets are empty:
//! importing the template as it is changes nothing.

use rust_xlsxwriter::{
    Color, DataValidation, Format, FormatAlign, FormatBorder, Workbook, Worksheet,
};

use super::read::{Column, MAX_ROWS, PERSON_COLUMNS, UNIT_COLUMNS};
use super::{RosterError, PEOPLE_SHEET, UNITS_SHEET};

/// The file name a download offers.
pub const FILE_NAME: &str = "roster-template.xlsx";

const LEVELS: [&str; 5] = ["县", "乡镇", "部门", "村", "站所"];
const ROLES: [&str; 4] = ["干部", "领导", "督查", "管理员"];

/// An example county, for the notes.
const EXAMPLE_UNITS: [[&str; 4]; 4] = [
    ["c1", "青山县", "县", ""],
    ["t1", "石门镇", "乡镇", "c1"],
    ["d1", "县农业农村局", "部门", "c1"],
    ["v1", "青山村", "村", "t1"],
];
const EXAMPLE_PEOPLE: [[&str; 8]; 3] = [
    [
        "13800000001",
        "张三",
        "v1",
        "驻村干部",
        "干部",
        "13800000001",
        "",
        "",
    ],
    [
        "shimen-sj",
        "李四",
        "t1",
        "党委书记",
        "领导",
        "0736-7210001",
        "",
        "t1",
    ],
    ["dubanzu", "王五", "c1", "督办组组长", "督查", "", "", "c1"],
];

fn err(e: rust_xlsxwriter::XlsxError) -> RosterError {
    RosterError::Template(e.to_string())
}

fn width(column: &Column) -> f64 {
    match column.header {
        "名称" | "职务" | "职责" => 24.0,
        "登录名" | "电话" => 16.0,
        _ => 12.0,
    }
}

/// A data sheet: its headers, text cells, the lists.
fn data_sheet(
    sheet: &mut Worksheet,
    name: &str,
    columns: &[Column],
    header: &Format,
) -> Result<(), RosterError> {
    sheet.set_name(name).map_err(err)?;
    let text = Format::new().set_num_format("@");
    for (i, c) in columns.iter().enumerate() {
        let col = i as u16;
        sheet.set_column_width(col, width(c)).map_err(err)?;
        sheet.set_column_format(col, &text).map_err(err)?;
        sheet
            .write_string_with_format(0, col, c.header, header)
            .map_err(err)?;
        let list: &[&str] = match c.header {
            "层级" => &LEVELS,
            "角色" => &ROLES,
            _ => continue,
        };
        let rule = DataValidation::new()
            .allow_list_strings(list)
            .map_err(err)?
            .set_error_message(format!("请从列表中选择：{}", list.join("、")))
            .map_err(err)?;
        sheet
            .add_data_validation(1, col, MAX_ROWS as u32, col, &rule)
            .map_err(err)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(err)?;
    Ok(())
}

/// The template workbook.
pub fn template() -> Result<Vec<u8>, RosterError> {
    let mut book = Workbook::new();
    let cell = Format::new()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::VerticalCenter)
        .set_text_wrap();
    let header = cell
        .clone()
        .set_bold()
        .set_background_color(Color::RGB(0xD9D9D9))
        .set_align(FormatAlign::Center);
    data_sheet(book.add_worksheet(), UNITS_SHEET, &UNIT_COLUMNS, &header)?;
    data_sheet(book.add_worksheet(), PEOPLE_SHEET, &PERSON_COLUMNS, &header)?;

    let notes = book.add_worksheet();
    notes.set_name("说明").map_err(err)?;
    notes.set_column_width(0, 12).map_err(err)?;
    notes.set_column_width(1, 14).map_err(err)?;
    notes.set_column_width(2, 8).map_err(err)?;
    notes.set_column_width(3, 70).map_err(err)?;
    let bold = Format::new().set_bold();
    let mut row = 0u32;
    let mut line = |notes: &mut Worksheet, text: &str, f: Option<&Format>| {
        let r = match f {
            Some(f) => notes.write_string_with_format(row, 0, text, f),
            None => notes.write_string(row, 0, text),
        };
        row += 1;
        r.map(|_| ()).map_err(err)
    };
    line(
        notes,
        "干部名册导入说明",
        Some(&bold.clone().set_font_size(14)),
    )?;
    for text in [
        "1. 在“单位”表中每个单位写一行，在“人员”表中每人写一行；第一行是表头，列的顺序可以调整，多余的列不会读取。",
        "2. 单位按“编码”对应、人员按“登录名”对应：已有的会按表中内容修改，没有的会新建；表中没有的单位和人员保持不变，不会删除。",
        "3. 新建的人员会得到随机的初始密码，只在导入结果中显示一次；已有人员的密码不会改变。",
        "4. 任何一行有误，整个文件都不会导入，并会列出出错的工作表、行号和改正方法。同一文件重复导入不会产生任何变化。",
        "5. 导入前会先显示预览：哪些将新建、哪些将修改、哪些不变。",
    ] {
        line(notes, text, None)?;
    }
    row += 1;
    for (i, h) in ["工作表", "列", "必填", "填写说明"].iter().enumerate() {
        notes
            .write_string_with_format(row, i as u16, *h, &header)
            .map_err(err)?;
    }
    row += 1;
    for (sheet, columns) in [
        (UNITS_SHEET, &UNIT_COLUMNS[..]),
        (PEOPLE_SHEET, &PERSON_COLUMNS[..]),
    ] {
        for c in columns {
            let required = if c.required { "是" } else { "否" };
            for (i, v) in [sheet, c.header, required, c.note].iter().enumerate() {
                notes
                    .write_string_with_format(row, i as u16, *v, &cell)
                    .map_err(err)?;
            }
            row += 1;
        }
    }
    row += 1;
    let mut example = |notes: &mut Worksheet,
                       title: &str,
                       columns: &[Column],
                       rows: &[&[&str]]|
     -> Result<(), RosterError> {
        notes
            .write_string_with_format(row, 0, title, &bold)
            .map_err(err)?;
        row += 1;
        for (i, c) in columns.iter().enumerate() {
            notes
                .write_string_with_format(row, i as u16, c.header, &header)
                .map_err(err)?;
        }
        row += 1;
        for r in rows {
            for (i, v) in r.iter().enumerate() {
                notes
                    .write_string_with_format(row, i as u16, *v, &cell)
                    .map_err(err)?;
            }
            row += 1;
        }
        row += 1;
        Ok(())
    };
    let units: Vec<&[&str]> = EXAMPLE_UNITS.iter().map(|r| &r[..]).collect();
    example(notes, "示例：“单位”表", &UNIT_COLUMNS, &units)?;
    let people: Vec<&[&str]> = EXAMPLE_PEOPLE.iter().map(|r| &r[..]).collect();
    example(notes, "示例：“人员”表", &PERSON_COLUMNS, &people)?;
    book.save_to_buffer().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_reads_back_as_an_empty_roster() {
        let bytes = template().unwrap();
        let file = super::super::read(&bytes).unwrap();
        assert!(file.units.is_empty() && file.people.is_empty(), "{file:?}");
    }

    #[test]
    fn the_examples_in_the_notes_are_a_valid_roster() {
        use super::super::{plan, Existing, PersonRow, RosterFile, UnitRow};
        let file = RosterFile {
            units: EXAMPLE_UNITS
                .iter()
                .enumerate()
                .map(|(i, r)| UnitRow {
                    row: i as u32 + 2,
                    code: r[0].into(),
                    name: r[1].into(),
                    level: r[2].into(),
                    parent: r[3].into(),
                })
                .collect(),
            people: EXAMPLE_PEOPLE
                .iter()
                .enumerate()
                .map(|(i, r)| PersonRow {
                    row: i as u32 + 2,
                    login: r[0].into(),
                    name: r[1].into(),
                    unit: r[2].into(),
                    post: Some(r[3].into()),
                    role: r[4].into(),
                    phone: Some(r[5].into()),
                    duties: Some(r[6].into()),
                    scope: Some(r[7].into()),
                })
                .collect(),
        };
        let p = plan(&file, &Existing::default(), None).unwrap();
        assert_eq!(p.unit_counts().create, 4);
        assert_eq!(p.people_counts().create, 3);
    }
}
