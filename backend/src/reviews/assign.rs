//! Who reviews whom, from the unit tree: a unit's head (a leader or
//! supervisor whose scope is that unit) reviews the unit's members; the
//! head is reviewed by the head of the nearest unit above with one. An
//! admin's override wins.

use std::collections::BTreeMap;

use sync_core::Role;

use crate::storage::{Unit, User};

/// The unit tree and its people, for assignment.
pub struct Org<'a> {
    units: BTreeMap<&'a str, &'a Unit>,
    /// unit id → its head's user id.
    heads: BTreeMap<&'a str, &'a str>,
}

impl<'a> Org<'a> {
    pub fn new(units: &'a [Unit], users: &'a [User]) -> Self {
        let mut heads = BTreeMap::new();
        for u in users {
            if u.disabled || !matches!(u.role, Role::Leader | Role::Supervisor) {
                continue;
            }
            if let Some(scope) = &u.scope_unit_id {
                heads.entry(scope.as_str()).or_insert(u.id.as_str());
            }
        }
        Self {
            units: units.iter().map(|u| (u.id.as_str(), u)).collect(),
            heads,
        }
    }

    /// The head of the nearest unit, from `unit` upwards, who is not
    /// `except`.
    fn head_from(&self, unit: Option<&str>, except: &str) -> Option<&'a str> {
        let mut at = unit;
        let mut hops = 0;
        while let Some(id) = at {
            if let Some(head) = self.heads.get(id) {
                if *head != except {
                    return Some(head);
                }
            }
            at = self.units.get(id).and_then(|u| u.parent_id.as_deref());
            hops += 1;
            if hops > 64 {
                break;
            }
        }
        None
    }

    /// The reviewer of `user` by the tree (no override).
    pub fn reviewer(&self, user: &User) -> Option<&'a str> {
        // The head of a unit is reviewed from the unit above it.
        if let Some((unit, _)) = self.heads.iter().find(|(_, h)| **h == user.id) {
            let parent = self.units.get(unit).and_then(|u| u.parent_id.as_deref());
            return self.head_from(parent, &user.id);
        }
        self.head_from(Some(&user.unit_id), &user.id)
    }
}
