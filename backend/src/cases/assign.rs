//! Who handles a case and who confirms it closed, from the unit tree.
//!
//! The heads of a unit are the leaders and supervisors whose scope is it.
//! - A request (便民诉求) to a person is theirs to handle; the nearest
//!   head above them confirms it.
//! - A complaint (投诉举报) about a person is handled by the nearest head
//!   above them — above their whole scope if they lead a unit, so that
//!   nobody handles, reads or confirms a complaint about themselves — and
//!   confirmed by the nearest supervisor above (the county's 效能办), else
//!   the nearest head above the handler.
//! - A case about a unit (from its notice) is handled by the unit's
//!   nearest head, and confirmed as above.

use std::collections::BTreeMap;

use sync_core::document::item::ItemList;
use sync_core::Role;

use crate::storage::{Unit, User};

/// The two people a case names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain<'a> {
    /// 承办人: records what was done and the answer.
    pub handler: &'a User,
    /// 确认人: confirms it closed (a complaint: founded or not).
    pub confirmer: &'a User,
}

/// The unit tree and its heads.
pub struct Tree<'a> {
    units: BTreeMap<&'a str, &'a Unit>,
    heads: BTreeMap<&'a str, Vec<&'a User>>,
}

impl<'a> Tree<'a> {
    pub fn new(units: &'a [Unit], users: &'a [User]) -> Self {
        let mut heads: BTreeMap<&str, Vec<&User>> = BTreeMap::new();
        for u in users {
            if u.disabled || !matches!(u.role, Role::Leader | Role::Supervisor) {
                continue;
            }
            if let Some(scope) = &u.scope_unit_id {
                heads.entry(scope.as_str()).or_default().push(u);
            }
        }
        Self {
            units: units.iter().map(|u| (u.id.as_str(), u)).collect(),
            heads,
        }
    }

    fn parent(&self, unit: &str) -> Option<&'a str> {
        self.units.get(unit).and_then(|u| u.parent_id.as_deref())
    }

    /// The nearest head from `from` upwards who is none of `except` and
    /// matches `want`.
    fn nearest(
        &self,
        from: Option<&str>,
        except: &[&str],
        want: &dyn Fn(&User) -> bool,
    ) -> Option<&'a User> {
        let mut at = from.map(str::to_owned);
        for _ in 0..64 {
            let id = at?;
            let found = self.heads.get(id.as_str()).and_then(|hs| {
                hs.iter()
                    .copied()
                    .filter(|h| !except.contains(&h.id.as_str()) && want(h))
                    // A leader before a supervisor at one level, then by id.
                    .min_by_key(|h| (h.role != Role::Leader, h.id.as_str()))
            });
            if found.is_some() {
                return found;
            }
            at = self.parent(&id).map(str::to_owned);
        }
        None
    }

    /// Where to look for someone above `user`: above the unit they lead,
    /// else from their own unit.
    fn above(&self, user: &User) -> Option<&'a str> {
        match &user.scope_unit_id {
            Some(scope) => self.parent(scope),
            None => self.units.get(user.unit_id.as_str()).map(|u| u.id.as_str()),
        }
    }

    /// Who handles and confirms a case of `list` about the unit `unit_id`,
    /// and the person `concerns` if it was filed from their card.
    pub fn assign(
        &self,
        list: ItemList,
        unit_id: &str,
        concerns: Option<&'a User>,
    ) -> Option<Chain<'a>> {
        let any = |_: &User| true;
        let handler = match (list, concerns) {
            (ItemList::Request, Some(person)) => person,
            (_, Some(person)) => self.nearest(self.above(person), &[&person.id], &any)?,
            (_, None) => self.nearest(Some(unit_id), &[], &any)?,
        };
        let mut except = vec![handler.id.as_str()];
        if let Some(p) = concerns {
            except.push(p.id.as_str());
        }
        let supervisor = |u: &User| u.role == Role::Supervisor;
        // Above the handler first; else beside them (a county's 效能办
        // beside the county's leader who handles a complaint about a
        // township's head).
        let own = handler
            .scope_unit_id
            .as_deref()
            .unwrap_or(handler.unit_id.as_str());
        let from_above = |want: &dyn Fn(&User) -> bool| {
            self.nearest(self.above(handler), &except, want)
                .or_else(|| self.nearest(Some(own), &except, want))
        };
        let confirmer = match list {
            ItemList::Complaint => from_above(&supervisor).or_else(|| from_above(&any)),
            _ => from_above(&any),
        }?;
        Some(Chain { handler, confirmer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, parent: Option<&str>) -> Unit {
        Unit {
            id: id.into(),
            parent_id: parent.map(Into::into),
            name: id.into(),
            level: "township".into(),
            path: id.into(),
        }
    }

    fn user(id: &str, role: Role, unit: &str, scope: Option<&str>) -> User {
        User {
            id: id.into(),
            login: id.into(),
            name: id.into(),
            phone: String::new(),
            post: String::new(),
            duties: String::new(),
            unit_id: unit.into(),
            role,
            scope_unit_id: scope.map(Into::into),
            disabled: false,
        }
    }

    fn county() -> (Vec<Unit>, Vec<User>) {
        let units = vec![
            unit("c1", None),
            unit("t1", Some("c1")),
            unit("v1", Some("t1")),
        ];
        let users = vec![
            user("u1", Role::Cadre, "v1", None),
            user("l1", Role::Leader, "t1", Some("t1")),
            user("l2", Role::Leader, "t1", Some("t1")),
            user("k1", Role::Leader, "c1", Some("c1")),
            user("s1", Role::Supervisor, "c1", Some("c1")),
        ];
        (units, users)
    }

    fn ids(c: Option<Chain<'_>>) -> Option<(&str, &str)> {
        c.map(|c| (c.handler.id.as_str(), c.confirmer.id.as_str()))
    }

    #[test]
    fn a_request_is_the_persons_and_a_complaint_goes_above_them() {
        let (units, users) = county();
        let t = Tree::new(&units, &users);
        let u1 = &users[0];
        assert_eq!(
            ids(t.assign(ItemList::Request, "v1", Some(u1))),
            Some(("u1", "l1"))
        );
        assert_eq!(
            ids(t.assign(ItemList::Complaint, "v1", Some(u1))),
            Some(("l1", "s1")),
            "the 效能办 confirms a complaint, not the county's leader"
        );
        assert_eq!(
            ids(t.assign(ItemList::Request, "v1", None)),
            Some(("l1", "k1"))
        );
    }

    #[test]
    fn a_complaint_about_a_leader_leaves_their_whole_unit() {
        let (units, users) = county();
        let t = Tree::new(&units, &users);
        let l2 = &users[2];
        // l1 leads the same township: l2 could read what l1 handles.
        assert_eq!(
            ids(t.assign(ItemList::Complaint, "t1", Some(l2))),
            Some(("k1", "s1"))
        );
    }

    #[test]
    fn nobody_above_means_no_chain() {
        let units = vec![unit("c1", None), unit("t1", Some("c1"))];
        let users = vec![
            user("u1", Role::Cadre, "t1", None),
            user("l1", Role::Leader, "t1", Some("t1")),
        ];
        let t = Tree::new(&units, &users);
        assert_eq!(
            ids(t.assign(ItemList::Request, "t1", Some(&users[0]))),
            Some(("u1", "l1"))
        );
        assert_eq!(
            ids(t.assign(ItemList::Complaint, "t1", Some(&users[0]))),
            None
        );
    }
}
