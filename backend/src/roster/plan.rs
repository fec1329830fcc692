//! What importing a roster would do, computed without writing: each unit
//! and person of the file checked against the file itself and the
//! database, and marked create, change (which fields, from what to what)
//! or unchanged. [`plan`] is pure; [`plan_against`] reads the database
//! first. Units are matched by code (= unit id), people by login
//! (normalized as logging in normalizes it). A web admin plans within
//! their scope: units and people outside it cannot be named or changed,
//! and answer as taken codes and logins, never as what they are.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sync_core::{Role, UserId};

use super::read::{cap, RosterFile};
use super::{parse_level, parse_role, Fault, RosterError, RowProblem, PEOPLE_SHEET, UNITS_SHEET};
use crate::login_name::LoginName;
use crate::storage::{valid_unit_id, Store, Unit, User};

/// The longest texts, in characters.
const MAX_UNIT_NAME: usize = 50;
const MAX_PERSON_NAME: usize = 32;
const MAX_POST: usize = 50;
const MAX_PHONE: usize = 30;
const MAX_DUTIES: usize = 500;

/// The database as a plan sees it.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    pub units: Vec<Unit>,
    pub users: Vec<User>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Action {
    Create,
    Change(Vec<Change>),
    Unchanged,
}

impl Action {
    pub fn is_create(&self) -> bool {
        matches!(self, Action::Create)
    }
    pub fn is_change(&self) -> bool {
        matches!(self, Action::Change(_))
    }
}

/// A field a roster sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Field {
    Name,
    Level,
    Parent,
    Unit,
    Role,
    Post,
    Phone,
    Duties,
    Scope,
}

impl Field {
    pub fn en(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Level => "level",
            Field::Parent => "unit above",
            Field::Unit => "unit",
            Field::Role => "role",
            Field::Post => "post",
            Field::Phone => "phone",
            Field::Duties => "duties",
            Field::Scope => "scope",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Field::Name => "名称",
            Field::Level => "层级",
            Field::Parent => "上级单位",
            Field::Unit => "单位",
            Field::Role => "角色",
            Field::Post => "职务",
            Field::Phone => "电话",
            Field::Duties => "职责",
            Field::Scope => "管辖单位",
        }
    }
}

/// One field's value now and after the import (as stored: a level or a
/// role in the schema's words, a unit by code, empty for none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub field: Field,
    pub from: String,
    pub to: String,
}

impl Change {
    fn of(field: Field, from: &str, to: &str) -> Option<Change> {
        (from != to).then(|| Change {
            field,
            from: from.to_owned(),
            to: to.to_owned(),
        })
    }

    /// The two values in Chinese words (levels and roles translated).
    pub fn zh(&self) -> (String, String) {
        let word = |v: &str| match self.field {
            Field::Level => super::level_zh(v).to_owned(),
            Field::Role => Role::parse(v)
                .map(|r| super::role_zh(r).to_owned())
                .unwrap_or_else(|_| v.to_owned()),
            _ if v.is_empty() => "（空）".to_owned(),
            _ => v.to_owned(),
        };
        (word(&self.from), word(&self.to))
    }
}

/// A unit after the import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitStep {
    pub row: u32,
    pub id: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
    pub action: Action,
}

/// A person after the import (an existing person's fields the file does
/// not have are as they were).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonStep {
    pub row: u32,
    /// The existing account's id, or the new one's.
    pub id: String,
    pub login: String,
    pub name: String,
    pub unit: String,
    pub role: Role,
    pub post: String,
    pub phone: String,
    pub duties: String,
    pub scope: Option<String>,
    pub action: Action,
}

/// What an import does, row by row in the file's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub units: Vec<UnitStep>,
    pub people: Vec<PersonStep>,
}

/// How many of each action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub create: usize,
    pub change: usize,
    pub unchanged: usize,
}

fn count<'a>(actions: impl Iterator<Item = &'a Action>) -> Counts {
    let mut c = Counts::default();
    for a in actions {
        match a {
            Action::Create => c.create += 1,
            Action::Change(_) => c.change += 1,
            Action::Unchanged => c.unchanged += 1,
        }
    }
    c
}

impl Plan {
    pub fn unit_counts(&self) -> Counts {
        count(self.units.iter().map(|u| &u.action))
    }

    pub fn people_counts(&self) -> Counts {
        count(self.people.iter().map(|p| &p.action))
    }

    /// Importing would write nothing.
    pub fn changes_nothing(&self) -> bool {
        self.units.iter().all(|u| u.action == Action::Unchanged)
            && self.people.iter().all(|p| p.action == Action::Unchanged)
    }

    /// A digest of everything the plan would do: a preview and the apply
    /// that confirms it compare digests, so what is applied is what was
    /// shown.
    pub fn digest(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(json))
    }
}

/// A text field's check: length, and no control or invisible characters
/// (line breaks allowed where `lines`).
fn text(value: &str, column: &'static str, max: usize, lines: bool) -> Option<Fault> {
    if value.chars().count() > max {
        return Some(Fault::TooLong { column, max });
    }
    let bad =
        |c: char| (c.is_control() && !(lines && c == '\n')) || crate::invisible::is_invisible(c);
    value.chars().any(bad).then_some(Fault::BadText { column })
}

/// The id of a new account: its login when that is a valid user id and
/// free, else one made from the login's hash (logins may be Chinese or
/// hold `@`; ids are `A-Z a-z 0-9 _ - .`).
fn new_user_id(login: &str, taken: &HashSet<String>) -> String {
    let hashed = format!("u{}", &hex::encode(Sha256::digest(login.as_bytes()))[..10]);
    let free = |id: &str| UserId::parse(id).is_ok() && !taken.contains(id);
    if free(login) {
        return login.to_owned();
    }
    if free(&hashed) {
        return hashed;
    }
    (2..)
        .map(|n| format!("{hashed}-{n}"))
        .find(|id| free(id))
        .unwrap_or(hashed)
}

/// A unit row that passed its own checks.
struct UnitIn<'a> {
    row: u32,
    code: &'a str,
    name: &'a str,
    level: &'static str,
    parent: Option<&'a str>,
}

/// Check `file` against itself and `existing`; the plan, or every problem.
/// `scope`: a web admin's unit; `None` for the command line.
pub fn plan(
    file: &RosterFile,
    existing: &Existing,
    scope: Option<&str>,
) -> Result<Plan, Vec<RowProblem>> {
    let mut problems = Vec::new();
    let by_id: HashMap<&str, &Unit> = existing.units.iter().map(|u| (u.id.as_str(), u)).collect();
    let scope_path = scope.map(|s| by_id.get(s).map(|u| u.path.as_str()));
    let visible = |u: &Unit| match scope_path {
        None => true,
        Some(Some(top)) => u.path.starts_with(top),
        // A scope unit that is gone: nothing.
        Some(None) => false,
    };
    let unit_problem = |row: u32, fault| RowProblem::row(UNITS_SHEET, row, fault);
    let person_problem = |row: u32, fault| RowProblem::row(PEOPLE_SHEET, row, fault);

    // ---- units, each row alone ----
    let mut first_row: HashMap<&str, u32> = HashMap::new();
    let mut units_in: Vec<UnitIn> = Vec::new();
    for r in &file.units {
        let before = problems.len();
        let code = r.code.as_str();
        if code.is_empty() {
            problems.push(unit_problem(r.row, Fault::Empty { column: "编码" }));
        } else if !valid_unit_id(code) {
            problems.push(unit_problem(
                r.row,
                Fault::BadUnitCode {
                    code: code.to_owned(),
                },
            ));
        } else if let Some(first) = first_row.get(code) {
            problems.push(unit_problem(
                r.row,
                Fault::DuplicateUnit {
                    code: code.to_owned(),
                    first_row: *first,
                },
            ));
        } else {
            first_row.insert(code, r.row);
            if by_id.get(code).is_some_and(|u| !visible(u)) {
                problems.push(unit_problem(
                    r.row,
                    Fault::CodeTaken {
                        code: code.to_owned(),
                    },
                ));
            }
        }
        if r.name.is_empty() {
            problems.push(unit_problem(r.row, Fault::Empty { column: "名称" }));
        } else if let Some(f) = text(&r.name, "名称", MAX_UNIT_NAME, false) {
            problems.push(unit_problem(r.row, f));
        }
        let level = if r.level.is_empty() {
            problems.push(unit_problem(r.row, Fault::Empty { column: "层级" }));
            None
        } else {
            let l = parse_level(&r.level);
            if l.is_none() {
                problems.push(unit_problem(
                    r.row,
                    Fault::BadLevel {
                        value: r.level.clone(),
                    },
                ));
            }
            l
        };
        let parent = (!r.parent.is_empty()).then_some(r.parent.as_str());
        if parent == Some(code) && !code.is_empty() {
            problems.push(unit_problem(r.row, Fault::ParentIsSelf));
        }
        if let (Some(level), true) = (level, problems.len() == before) {
            units_in.push(UnitIn {
                row: r.row,
                code,
                name: &r.name,
                level,
                parent,
            });
        }
    }
    let in_file: HashSet<&str> = file.units.iter().map(|u| u.code.as_str()).collect();
    // A unit the file may name: one of its own rows, or an existing one
    // in the scope.
    let known = |code: &str| in_file.contains(code) || by_id.get(code).is_some_and(|u| visible(u));

    // ---- units against each other and the database ----
    let mut bad_units: HashSet<&str> = HashSet::new();
    for u in &units_in {
        let mut fault = None;
        let existing_parent = by_id.get(u.code).map(|e| e.parent_id.as_deref());
        if scope.is_some() && scope == Some(u.code) {
            if existing_parent != Some(u.parent) {
                fault = Some(Fault::MovesScopeTop {
                    code: u.code.to_owned(),
                });
            }
        } else {
            match u.parent {
                None if u.level != "county" => fault = Some(Fault::NoParent),
                None => {
                    if let Some(s) = scope {
                        fault = Some(Fault::OutsideScope {
                            code: u.code.to_owned(),
                            scope: s.to_owned(),
                        });
                    }
                }
                Some(p) if !known(p) => {
                    fault = Some(Fault::UnknownParent { code: p.to_owned() });
                }
                Some(_) => {}
            }
        }
        if let Some(f) = fault {
            problems.push(unit_problem(u.row, f));
            bad_units.insert(u.code);
        }
    }
    // The tree after the import has no loop.
    let mut parent_of: HashMap<&str, Option<&str>> = existing
        .units
        .iter()
        .map(|u| (u.id.as_str(), u.parent_id.as_deref()))
        .collect();
    for u in &units_in {
        parent_of.insert(u.code, u.parent);
    }
    for u in units_in.iter().filter(|u| !bad_units.contains(u.code)) {
        let mut at = u.parent;
        let mut steps = 0;
        while let Some(p) = at {
            if p == u.code {
                problems.push(unit_problem(
                    u.row,
                    Fault::Cycle {
                        code: u.code.to_owned(),
                    },
                ));
                break;
            }
            steps += 1;
            if steps > parent_of.len() {
                break;
            }
            at = parent_of.get(p).copied().flatten();
        }
    }
    let units: Vec<UnitStep> = units_in
        .iter()
        .map(|u| {
            let action = match by_id.get(u.code) {
                None => Action::Create,
                Some(e) => {
                    let changes: Vec<Change> = [
                        Change::of(Field::Name, &e.name, u.name),
                        Change::of(Field::Level, &e.level, u.level),
                        Change::of(
                            Field::Parent,
                            e.parent_id.as_deref().unwrap_or_default(),
                            u.parent.unwrap_or_default(),
                        ),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    if changes.is_empty() {
                        Action::Unchanged
                    } else {
                        Action::Change(changes)
                    }
                }
            };
            UnitStep {
                row: u.row,
                id: u.code.to_owned(),
                name: u.name.to_owned(),
                level: u.level.to_owned(),
                parent: u.parent.map(str::to_owned),
                action,
            }
        })
        .collect();

    // ---- people ----
    let by_login: HashMap<&str, &User> = existing
        .users
        .iter()
        .map(|u| (u.login.as_str(), u))
        .collect();
    // A person is the importer's only if both their unit and the unit
    // they oversee are within the importer's scope: else the file could
    // make an admin of someone who oversees more than the importer does.
    let unit_visible = |id: &str| by_id.get(id).is_some_and(|un| visible(un));
    let user_visible =
        |u: &User| unit_visible(&u.unit_id) && u.scope_unit_id.as_deref().is_none_or(unit_visible);
    let mut taken_ids: HashSet<String> = existing.users.iter().map(|u| u.id.clone()).collect();
    let mut first_login: HashMap<String, u32> = HashMap::new();
    let mut people = Vec::new();
    for r in &file.people {
        let before = problems.len();
        let mut push = |f: Fault| problems.push(person_problem(r.row, f));
        let login = if r.login.is_empty() {
            push(Fault::Empty {
                column: "登录名"
            });
            None
        } else {
            match LoginName::parse(&r.login) {
                Ok(l) => Some(l.to_string()),
                Err(e) => {
                    push(Fault::BadLogin {
                        login: r.login.clone(),
                        reason: e.to_string(),
                    });
                    None
                }
            }
        };
        let mut current = None;
        if let Some(login) = &login {
            if let Some(first) = first_login.get(login) {
                push(Fault::DuplicateLogin {
                    login: login.clone(),
                    first_row: *first,
                });
            } else {
                first_login.insert(login.clone(), r.row);
            }
            match by_login.get(login.as_str()) {
                Some(u) if !user_visible(u) => push(Fault::LoginTaken {
                    login: login.clone(),
                }),
                found => current = found.copied(),
            }
        }
        if r.name.is_empty() {
            push(Fault::Empty { column: "姓名" });
        } else if let Some(f) = text(&r.name, "姓名", MAX_PERSON_NAME, false) {
            push(f);
        }
        if r.unit.is_empty() {
            push(Fault::Empty {
                column: "单位编码"
            });
        } else if !known(&r.unit) {
            push(Fault::UnknownUnit {
                code: r.unit.clone(),
            });
        }
        let role = if r.role.is_empty() {
            push(Fault::Empty { column: "角色" });
            None
        } else {
            let role = parse_role(&r.role);
            if role.is_none() {
                push(Fault::BadRole {
                    value: r.role.clone(),
                });
            }
            role
        };
        if let Some(f) = r
            .post
            .as_deref()
            .and_then(|p| text(p, "职务", MAX_POST, false))
        {
            push(f);
        }
        if let Some(phone) = r.phone.as_deref() {
            if let Some(f) = text(phone, "电话", MAX_PHONE, false) {
                push(f);
            } else if !crate::admin::valid_phone(phone) {
                push(Fault::BadPhone {
                    value: phone.to_owned(),
                });
            }
        }
        if let Some(f) = r
            .duties
            .as_deref()
            .and_then(|d| text(d, "职责", MAX_DUTIES, true))
        {
            push(f);
        }
        let explicit_scope = r.scope.as_deref().filter(|s| !s.is_empty());
        if let Some(s) = explicit_scope {
            if role.is_some_and(|r| !crate::admin::needs_scope(r)) {
                push(Fault::ScopeForCadre);
            } else if !known(s) {
                push(Fault::UnknownScope { code: s.to_owned() });
            }
        }
        let (Some(login), Some(role), true) = (login, role, problems.len() == before) else {
            continue;
        };
        // Whom they oversee: as the file says; else as before if they
        // stay in their unit; else their unit. A cadre oversees nothing.
        let scope_unit = match (explicit_scope, role) {
            (Some(s), _) => Some(s.to_owned()),
            (None, r) if !crate::admin::needs_scope(r) => None,
            (None, _) => match current {
                Some(u) if u.unit_id == r.unit && u.scope_unit_id.is_some() => {
                    u.scope_unit_id.clone()
                }
                _ => Some(r.unit.clone()),
            },
        };
        let kept = |file: &Option<String>, now: Option<&str>| match file {
            Some(v) => v.clone(),
            None => now.unwrap_or_default().to_owned(),
        };
        let post = kept(&r.post, current.map(|u| u.post.as_str()));
        let phone = kept(&r.phone, current.map(|u| u.phone.as_str()));
        let duties = kept(&r.duties, current.map(|u| u.duties.as_str()));
        let (id, action) = match current {
            None => {
                let id = new_user_id(&login, &taken_ids);
                taken_ids.insert(id.clone());
                (id, Action::Create)
            }
            Some(u) => {
                let changes: Vec<Change> = [
                    Change::of(Field::Name, &u.name, &r.name),
                    Change::of(Field::Unit, &u.unit_id, &r.unit),
                    Change::of(Field::Role, u.role.as_str(), role.as_str()),
                    Change::of(Field::Post, &u.post, &post),
                    Change::of(Field::Phone, &u.phone, &phone),
                    Change::of(Field::Duties, &u.duties, &duties),
                    Change::of(
                        Field::Scope,
                        u.scope_unit_id.as_deref().unwrap_or_default(),
                        scope_unit.as_deref().unwrap_or_default(),
                    ),
                ]
                .into_iter()
                .flatten()
                .collect();
                let action = if changes.is_empty() {
                    Action::Unchanged
                } else {
                    Action::Change(changes)
                };
                (u.id.clone(), action)
            }
        };
        people.push(PersonStep {
            row: r.row,
            id,
            login,
            name: r.name.clone(),
            unit: r.unit.clone(),
            role,
            post,
            phone,
            duties,
            scope: scope_unit,
            action,
        });
    }
    if problems.is_empty() {
        Ok(Plan { units, people })
    } else {
        // The units' rows first, each sheet in row order.
        problems.sort_by_key(|p| (p.sheet != Some(UNITS_SHEET), p.row));
        Err(cap(problems))
    }
}

/// [`plan`] against the database as it is now.
pub async fn plan_against(
    store: &Store,
    file: &RosterFile,
    scope: Option<&str>,
) -> Result<Plan, RosterError> {
    let existing = Existing {
        units: store.units().await?,
        users: store.users().await?,
    };
    plan(file, &existing, scope).map_err(RosterError::Refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::{PersonRow, UnitRow};

    fn unit(id: &str, parent: Option<&str>, path: &str, level: &str) -> Unit {
        Unit {
            id: id.into(),
            parent_id: parent.map(Into::into),
            name: format!("{id}名"),
            level: level.into(),
            path: path.into(),
        }
    }

    fn county() -> Existing {
        Existing {
            units: vec![
                unit("c1", None, "/c1/", "county"),
                unit("t1", Some("c1"), "/c1/t1/", "township"),
                unit("c2", None, "/c2/", "county"),
            ],
            users: vec![User {
                id: "u1".into(),
                login: "u1".into(),
                name: "张三".into(),
                phone: String::new(),
                post: "驻村干部".into(),
                duties: String::new(),
                unit_id: "t1".into(),
                role: Role::Cadre,
                scope_unit_id: None,
                disabled: false,
            }],
        }
    }

    fn unit_row(row: u32, code: &str, name: &str, level: &str, parent: &str) -> UnitRow {
        UnitRow {
            row,
            code: code.into(),
            name: name.into(),
            level: level.into(),
            parent: parent.into(),
        }
    }

    fn person(row: u32, login: &str, name: &str, unit: &str, role: &str) -> PersonRow {
        PersonRow {
            row,
            login: login.into(),
            name: name.into(),
            unit: unit.into(),
            role: role.into(),
            post: None,
            phone: None,
            duties: None,
            scope: None,
        }
    }

    #[test]
    fn new_units_may_come_before_their_parents_and_people_keep_what_the_file_leaves_out() {
        let file = RosterFile {
            units: vec![
                unit_row(2, "v9", "新村", "村", "t9"),
                unit_row(3, "t9", "新镇", "乡镇", "c1"),
                unit_row(4, "t1", "t1名", "township", "c1"),
            ],
            people: vec![
                person(2, "u1", "张三", "v9", "干部"),
                person(3, "李四@xx", "李四", "t9", "领导"),
            ],
        };
        let p = plan(&file, &county(), None).unwrap();
        assert_eq!(p.units[0].action, Action::Create);
        assert_eq!(p.units[2].action, Action::Unchanged);
        let Action::Change(ch) = &p.people[0].action else {
            panic!("{:?}", p.people[0])
        };
        assert_eq!(ch.len(), 1, "only the unit: the post stays {ch:?}");
        assert_eq!(p.people[0].post, "驻村干部");
        assert_eq!(p.people[1].scope.as_deref(), Some("t9"));
        assert!(UserId::parse(&p.people[1].id).is_ok(), "{}", p.people[1].id);
    }

    #[test]
    fn every_bad_row_is_named() {
        let file = RosterFile {
            units: vec![
                unit_row(2, "a", "甲", "村", "b"),
                unit_row(3, "b", "乙", "村", "a"),
                unit_row(4, "x y", "丙", "省", ""),
                unit_row(5, "t1", "重复", "乡镇", "c1"),
                unit_row(6, "t1", "重复", "乡镇", "c1"),
            ],
            people: vec![
                person(2, "p1", "", "t1", "干部"),
                person(3, "p1", "某", "t8", "组长"),
            ],
        };
        let problems = plan(&file, &county(), None).unwrap_err();
        let at: Vec<(Option<&str>, Option<u32>)> =
            problems.iter().map(|p| (p.sheet, p.row)).collect();
        for want in [
            (Some(UNITS_SHEET), Some(2)),
            (Some(UNITS_SHEET), Some(3)),
            (Some(UNITS_SHEET), Some(4)),
            (Some(UNITS_SHEET), Some(6)),
            (Some(PEOPLE_SHEET), Some(2)),
            (Some(PEOPLE_SHEET), Some(3)),
        ] {
            assert!(at.contains(&want), "{want:?} in {problems:#?}");
        }
        assert!(problems
            .iter()
            .any(|p| matches!(p.fault, Fault::DuplicateLogin { first_row: 2, .. })));
    }

    #[test]
    fn a_scoped_admin_cannot_reach_outside_the_scope() {
        let file = RosterFile {
            units: vec![unit_row(2, "t1", "石门镇", "乡镇", "c2")],
            people: vec![
                person(2, "p9", "某", "c1", "干部"),
                person(3, "u1", "张三", "c2", "干部"),
            ],
        };
        let problems = plan(&file, &county(), Some("c2")).unwrap_err();
        let faults: Vec<&Fault> = problems.iter().map(|p| &p.fault).collect();
        assert!(matches!(faults[0], Fault::CodeTaken { .. }), "{faults:?}");
        assert!(matches!(faults[1], Fault::UnknownUnit { .. }), "{faults:?}");
        assert!(matches!(faults[2], Fault::LoginTaken { .. }), "{faults:?}");
        assert_eq!(faults.len(), 3, "{faults:?}");
    }

    #[test]
    fn a_person_overseeing_more_than_the_importer_is_not_theirs_to_change() {
        // l1 works in t1 but oversees the whole county c1; an admin of t1
        // may not touch l1 (e.g. make them an admin over c1).
        let mut existing = county();
        existing.users.push(User {
            id: "l1".into(),
            login: "l1".into(),
            name: "李四".into(),
            phone: String::new(),
            post: String::new(),
            duties: String::new(),
            unit_id: "t1".into(),
            role: Role::Leader,
            scope_unit_id: Some("c1".into()),
            disabled: false,
        });
        let file = RosterFile {
            units: Vec::new(),
            people: vec![person(2, "l1", "李四", "t1", "管理员")],
        };
        let problems = plan(&file, &existing, Some("t1")).unwrap_err();
        assert!(
            matches!(problems[0].fault, Fault::LoginTaken { .. }),
            "{problems:?}"
        );
        // The county's admin may.
        assert!(plan(&file, &existing, Some("c1")).is_ok());
    }
}
