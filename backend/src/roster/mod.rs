//! The county roster (名册) from a spreadsheet: the units (sheet 单位) and
//! the people (sheet 人员) a county keeps in Excel, imported by `jishi admin
//! import` and the admins' web page (`web/roster.rs`).
//!
//! Reading ([`read`]) takes the cells as text by their Chinese column
//! headers; planning ([`plan`], pure) checks every row against the file and
//! the database and says, per unit and person, create, change or unchanged;
//! applying ([`apply`]) writes a plan in one transaction. Guarantees: a file
//! with any bad row is refused whole, each problem naming the sheet, the row
//! and the fix; importing the same file again changes nothing; nothing that
//! is not in the file is deleted or disabled; an existing person's password
//! is never touched (new people get a random one, shown once).

pub mod apply;
pub mod archive;
pub mod plan;
pub mod read;
pub mod template;

pub use apply::{apply, Applied, NewAccount, Progress};
pub use plan::{
    plan, plan_against, Action, Change, Counts, Existing, Field, PersonStep, Plan, UnitStep,
};
pub use read::{read, PersonRow, RosterFile, UnitRow};
pub use template::{template, FILE_NAME as TEMPLATE_FILE_NAME};

use crate::problem::{IntoProblem, Problem};
use crate::storage::StoreError;

/// The sheet of units.
pub const UNITS_SHEET: &str = "单位";
/// The sheet of people.
pub const PEOPLE_SHEET: &str = "人员";
/// The most problems a refusal lists (the rest are counted).
pub const MAX_PROBLEMS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    /// The file has problems; nothing was written.
    #[error("the roster was refused with {} problem(s); nothing was imported", .0.len())]
    Refused(Vec<RowProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed")]
    Hash,
    #[error("the template could not be written: {0}")]
    Template(String),
}

impl IntoProblem for RosterError {
    fn into_problem(self) -> Problem {
        match self {
            RosterError::Refused(problems) => Problem::Invalid {
                code: "roster_refused",
                message: problems
                    .iter()
                    .map(RowProblem::zh)
                    .collect::<Vec<_>>()
                    .join("\n"),
            },
            RosterError::Store(e) => e.into_problem(),
            other @ (RosterError::Hash | RosterError::Template(_)) => {
                Problem::Internal(other.into())
            }
        }
    }
}

crate::edge_error!(RosterError);

/// What is wrong with the file, where: a sheet and an Excel row number
/// (as Excel shows it, from 1), or the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub sheet: Option<&'static str>,
    pub row: Option<u32>,
    pub fault: Fault,
}

impl RowProblem {
    pub fn file(fault: Fault) -> Self {
        Self {
            sheet: None,
            row: None,
            fault,
        }
    }

    pub fn sheet(sheet: &'static str, fault: Fault) -> Self {
        Self {
            sheet: Some(sheet),
            row: None,
            fault,
        }
    }

    pub fn row(sheet: &'static str, row: u32, fault: Fault) -> Self {
        Self {
            sheet: Some(sheet),
            row: Some(row),
            fault,
        }
    }

    /// In English, for the command line.
    pub fn en(&self) -> String {
        let place = match (self.sheet, self.row) {
            (Some(s), Some(r)) => format!("sheet {s}, row {r}: "),
            (Some(s), None) => format!("sheet {s}: "),
            _ => String::new(),
        };
        format!("{place}{}", self.fault.en())
    }

    /// In Chinese, for the web page.
    pub fn zh(&self) -> String {
        let place = match (self.sheet, self.row) {
            (Some(s), Some(r)) => format!("“{s}”表第 {r} 行："),
            (Some(s), None) => format!("“{s}”表："),
            _ => String::new(),
        };
        format!("{place}{}", self.fault.zh())
    }
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en())
    }
}

/// Why a file, sheet or row is refused. Each says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    NotXlsx(String),
    /// Past the bounds on a workbook's size ([`archive`]).
    TooLarge(String),
    MissingSheet {
        found: Vec<String>,
    },
    TooManyRows {
        max: usize,
    },
    MissingColumn {
        column: &'static str,
    },
    DuplicateColumn {
        column: &'static str,
    },
    TooManyProblems {
        more: usize,
    },
    /// A cell that is not text or a number: `what` is `date`, `error`
    /// (with Excel's code) or `boolean`.
    BadCell {
        column: &'static str,
        what: String,
    },
    Empty {
        column: &'static str,
    },
    TooLong {
        column: &'static str,
        max: usize,
    },
    /// Line breaks, tabs or invisible characters.
    BadText {
        column: &'static str,
    },
    BadUnitCode {
        code: String,
    },
    DuplicateUnit {
        code: String,
        first_row: u32,
    },
    BadLevel {
        value: String,
    },
    NoParent,
    UnknownParent {
        code: String,
    },
    ParentIsSelf,
    Cycle {
        code: String,
    },
    /// A unit code or login held by a unit or account outside the web
    /// admin's scope (never said whose).
    CodeTaken {
        code: String,
    },
    /// The top unit of a web admin's scope cannot be moved there.
    MovesScopeTop {
        code: String,
    },
    /// A unit with no parent, outside the web admin's scope.
    OutsideScope {
        code: String,
        scope: String,
    },
    BadLogin {
        login: String,
        reason: String,
    },
    DuplicateLogin {
        login: String,
        first_row: u32,
    },
    LoginTaken {
        login: String,
    },
    UnknownUnit {
        code: String,
    },
    BadRole {
        value: String,
    },
    BadPhone {
        value: String,
    },
    UnknownScope {
        code: String,
    },
    ScopeForCadre,
}

impl Fault {
    pub fn en(&self) -> String {
        match self {
            Fault::NotXlsx(why) => format!(
                "the file is not an .xlsx workbook ({why}); save it from Excel or WPS as an \
                 Excel workbook (.xlsx), or start from `jishi admin import-template`"
            ),
            Fault::TooLarge(why) => format!(
                "the workbook is larger than a roster can be ({why}); keep only the sheets \
                 {UNITS_SHEET} and {PEOPLE_SHEET}, or split the file by township"
            ),
            Fault::MissingSheet { found } => format!(
                "the workbook has no such sheet (it has: {}); name the sheets {UNITS_SHEET} and \
                 {PEOPLE_SHEET} as in the template",
                found.join(", ")
            ),
            Fault::TooManyRows { max } => {
                format!("more than {max} rows; split the roster into several files")
            }
            Fault::MissingColumn { column } => {
                format!("no column {column} in the header row (the first row); add it as in the template")
            }
            Fault::DuplicateColumn { column } => {
                format!("two columns are headed {column}; keep one")
            }
            Fault::TooManyProblems { more } => {
                format!("and {more} more problem(s); correct the ones above and import again")
            }
            Fault::BadCell { column, what } => format!(
                "the {column} cell holds {what}, not text; type it as text (format the column as 文本)"
            ),
            Fault::Empty { column } => format!("{column} is empty; fill it in"),
            Fault::TooLong { column, max } => {
                format!("{column} is longer than {max} characters; shorten it")
            }
            Fault::BadText { column } => format!(
                "{column} holds a line break, tab or invisible character; type it again without"
            ),
            Fault::BadUnitCode { code } => format!(
                "the unit code {code:?} must be 1 to 64 of A-Z a-z 0-9 and -, e.g. t1 or 430123-01"
            ),
            Fault::DuplicateUnit { code, first_row } => format!(
                "unit {code} is also on row {first_row}; write each unit once"
            ),
            Fault::BadLevel { value } => format!(
                "the level {value:?} is not one of 县 乡镇 部门 村 站所 (or county, township, \
                 department, village, office)"
            ),
            Fault::NoParent => "上级编码 is empty: only a county (县) has no unit above it; \
                 give the code of the unit above"
                .into(),
            Fault::UnknownParent { code } => format!(
                "the unit above, {code}, is neither in sheet {UNITS_SHEET} nor an existing unit; \
                 add it to sheet {UNITS_SHEET} or correct the code"
            ),
            Fault::ParentIsSelf => "a unit cannot be above itself; correct 上级编码".into(),
            Fault::Cycle { code } => format!(
                "the units above {code} lead back to {code} (a loop); correct 上级编码"
            ),
            Fault::CodeTaken { code } => format!("{code} is taken; choose another"),
            Fault::MovesScopeTop { code } => format!(
                "{code} is the top unit of your scope: its unit above cannot change here"
            ),
            Fault::OutsideScope { code, scope } => format!(
                "unit {code} would be outside your scope ({scope}); give a unit above it inside it"
            ),
            Fault::BadLogin { login, reason } => format!("the login {login:?}: {reason}"),
            Fault::DuplicateLogin { login, first_row } => format!(
                "the login {login} is also on row {first_row}; each person has their own login"
            ),
            Fault::LoginTaken { login } => format!("the login {login} is taken; choose another"),
            Fault::UnknownUnit { code } => format!(
                "the unit {code} is neither in sheet {UNITS_SHEET} nor an existing unit; add it \
                 to sheet {UNITS_SHEET} or correct the code"
            ),
            Fault::BadRole { value } => format!(
                "the role {value:?} is not one of 干部 领导 督查 管理员 (or cadre, leader, \
                 supervisor, admin)"
            ),
            Fault::BadPhone { value } => format!(
                "the phone {value:?} may hold digits, spaces and - + ( ) only, e.g. 13800000001 \
                 or 0736-7210001"
            ),
            Fault::UnknownScope { code } => format!(
                "the unit overseen (管辖单位), {code}, is neither in sheet {UNITS_SHEET} nor an \
                 existing unit; correct it"
            ),
            Fault::ScopeForCadre => "a cadre (干部) oversees no unit: empty 管辖单位, or make \
                 the role 领导, 督查 or 管理员"
                .into(),
        }
    }

    pub fn zh(&self) -> String {
        match self {
            Fault::NotXlsx(_) => "文件不是 .xlsx 工作簿；请在 Excel 或 WPS 中另存为“Excel 工作簿(*.xlsx)”，或从模板开始填写。".into(),
            Fault::TooLarge(_) => format!("工作簿超出名册文件的大小限制；请只保留“{UNITS_SHEET}”和“{PEOPLE_SHEET}”两张工作表，或按乡镇分成几个文件导入。"),
            Fault::MissingSheet { found } => format!(
                "工作簿中没有这张工作表（现有：{}）；请按模板把工作表命名为“{UNITS_SHEET}”和“{PEOPLE_SHEET}”。",
                found.join("、")
            ),
            Fault::TooManyRows { max } => format!("超过 {max} 行；请分成几个文件导入。"),
            Fault::MissingColumn { column } => {
                format!("表头（第一行）中没有“{column}”列；请按模板添加。")
            }
            Fault::DuplicateColumn { column } => {
                format!("有两列的表头都是“{column}”；请只保留一列。")
            }
            Fault::TooManyProblems { more } => {
                format!("另有 {more} 处问题未列出；请先改正以上各处后再导入。")
            }
            Fault::BadCell { column, what } => {
                let what = match what.as_str() {
                    "date" => "日期",
                    "boolean" => "逻辑值",
                    _ => "错误值",
                };
                format!("“{column}”单元格是{what}，不是文字；请把该列设置为文本格式后重新填写。")
            }
            Fault::Empty { column } => format!("“{column}”为空；请填写。"),
            Fault::TooLong { column, max } => format!("“{column}”超过 {max} 个字；请缩短。"),
            Fault::BadText { column } => {
                format!("“{column}”含有换行、制表符或不可见字符；请删除后重新输入。")
            }
            Fault::BadUnitCode { code } => format!(
                "单位编码“{code}”只能由字母、数字和 - 组成（1 到 64 位），例如 t1 或 430123-01。"
            ),
            Fault::DuplicateUnit { code, first_row } => {
                format!("单位编码 {code} 与第 {first_row} 行重复；每个单位只写一行。")
            }
            Fault::BadLevel { value } => {
                format!("层级“{value}”无法识别；请填写 县、乡镇、部门、村 或 站所。")
            }
            Fault::NoParent => "“上级编码”为空：只有县没有上级单位；请填写上级单位的编码。".into(),
            Fault::UnknownParent { code } => format!(
                "上级编码 {code} 既不在“{UNITS_SHEET}”表中，也不是已有的单位；请先在“{UNITS_SHEET}”表中添加该单位，或改正编码。"
            ),
            Fault::ParentIsSelf => "上级编码不能是本单位自己；请改正。".into(),
            Fault::Cycle { code } => {
                format!("上级关系形成了循环（{code} 成了自己的下级）；请改正上级编码。")
            }
            Fault::CodeTaken { code } => format!("{code} 已被占用；请换一个。"),
            Fault::MovesScopeTop { code } => {
                format!("{code} 是您管辖范围的顶层单位，不能在这里改变它的上级单位。")
            }
            Fault::OutsideScope { code, scope } => format!(
                "单位 {code} 将不在您的管辖范围（{scope}）之内；请填写它在管辖范围内的上级单位编码。"
            ),
            Fault::BadLogin { login, .. } => format!(
                "登录名“{login}”不可用：只能包含字母、数字和 . _ - @，不能有空格或不可见字符，也不能混用拉丁与西里尔等字母。"
            ),
            Fault::DuplicateLogin { login, first_row } => {
                format!("登录名 {login} 与第 {first_row} 行重复；每人使用自己的登录名。")
            }
            Fault::LoginTaken { login } => format!("登录名 {login} 已被占用；请换一个。"),
            Fault::UnknownUnit { code } => format!(
                "单位编码 {code} 既不在“{UNITS_SHEET}”表中，也不是已有的单位；请先在“{UNITS_SHEET}”表中添加，或改正编码。"
            ),
            Fault::BadRole { value } => {
                format!("角色“{value}”无法识别；请填写 干部、领导、督查 或 管理员。")
            }
            Fault::BadPhone { value } => format!(
                "电话“{value}”只能包含数字、空格和 - + ( )，例如 13800000001 或 0736-7210001。"
            ),
            Fault::UnknownScope { code } => format!(
                "管辖单位 {code} 既不在“{UNITS_SHEET}”表中，也不是已有的单位；请改正。"
            ),
            Fault::ScopeForCadre => {
                "干部没有管辖单位；请清空“管辖单位”，或把角色改为领导、督查或管理员。".into()
            }
        }
    }
}

/// A unit level from the roster: Chinese as counties write it, or the
/// schema's own name.
pub fn parse_level(value: &str) -> Option<&'static str> {
    let v = value.trim();
    let found = match v {
        "县" | "县级" | "县（市、区）" | "县(市、区)" => "county",
        "乡镇" | "乡" | "镇" | "街道" | "乡镇（街道）" | "乡镇(街道)" => "township",
        "部门" | "县直部门" => "department",
        "村" | "社区" | "村（社区）" | "村(社区)" => "village",
        "站所" | "站" | "所" => "office",
        other => {
            let lower = other.to_ascii_lowercase();
            return crate::admin::LEVELS.iter().find(|l| **l == lower).copied();
        }
    };
    Some(found)
}

/// A level in Chinese, as the template's list says it.
pub fn level_zh(level: &str) -> &'static str {
    match level {
        "county" => "县",
        "township" => "乡镇",
        "department" => "部门",
        "village" => "村",
        "office" => "站所",
        _ => "单位",
    }
}

/// A role from the roster: Chinese or the schema's own name.
pub fn parse_role(value: &str) -> Option<sync_core::Role> {
    use sync_core::Role;
    match value.trim() {
        "干部" | "一般干部" => Some(Role::Cadre),
        "领导" | "班子成员" | "负责人" => Some(Role::Leader),
        "督查" | "督导" | "督办" => Some(Role::Supervisor),
        "管理员" => Some(Role::Admin),
        other => Role::parse(&other.to_ascii_lowercase()).ok(),
    }
}

/// A role in Chinese, as the template's list says it.
pub fn role_zh(role: sync_core::Role) -> &'static str {
    use sync_core::Role;
    match role {
        Role::Cadre => "干部",
        Role::Leader => "领导",
        Role::Supervisor => "督查",
        Role::Admin => "管理员",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::Role;

    #[test]
    fn levels_and_roles_read_in_chinese_and_english() {
        assert_eq!(parse_level("乡镇"), Some("township"));
        assert_eq!(parse_level(" 村 "), Some("village"));
        assert_eq!(parse_level("Township"), Some("township"));
        assert_eq!(parse_level("省"), None);
        assert_eq!(parse_role("督查"), Some(Role::Supervisor));
        assert_eq!(parse_role("ADMIN"), Some(Role::Admin));
        assert_eq!(parse_role("组长"), None);
        for l in crate::admin::LEVELS {
            assert_eq!(parse_level(level_zh(l)), Some(*l));
        }
        for r in [Role::Cadre, Role::Leader, Role::Supervisor, Role::Admin] {
            assert_eq!(parse_role(role_zh(r)), Some(r));
        }
    }
}
