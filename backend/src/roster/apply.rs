//! Writing a [`Plan`]: a random initial password for each new person
//! (hashed off the async threads, a few at a time, with progress), then
//! the units and people in one transaction ([`Store::apply_roster`]).
//! Unchanged rows write nothing; existing passwords are never touched.

use std::collections::{HashMap, HashSet};

use rand::Rng;
use sync_core::UserId;

use super::plan::{Plan, UnitStep};
use super::RosterError;
use crate::storage::{NewUser, RosterWrite, Store, UnitFields, UserProfile};

/// Letters and digits that cannot be read as one another (no 0 O 1 l I).
const PASSWORD_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const PASSWORD_LEN: usize = 12;

/// Where a long import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Initial passwords hashed so far.
    Hashing { done: usize, total: usize },
    /// Writing the units and people.
    Writing,
}

/// A new account and its initial password, to be handed over once.
#[derive(Clone)]
pub struct NewAccount {
    pub login: String,
    pub name: String,
    pub unit: String,
    pub password: String,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("login", &self.login)
            .field("name", &self.name)
            .field("unit", &self.unit)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// What an import wrote.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub units_created: usize,
    pub units_changed: usize,
    pub people_created: usize,
    pub people_changed: usize,
    /// In the file's order.
    pub accounts: Vec<NewAccount>,
}

fn initial_password() -> String {
    let mut rng = rand::rng();
    (0..PASSWORD_LEN)
        .map(|_| char::from(PASSWORD_ALPHABET[rng.random_range(0..PASSWORD_ALPHABET.len())]))
        .collect()
}

/// The new units, each after its parent when that is new too.
fn parents_first(units: &[UnitStep]) -> Vec<&UnitStep> {
    let new: HashMap<&str, &UnitStep> = units
        .iter()
        .filter(|u| u.action.is_create())
        .map(|u| (u.id.as_str(), u))
        .collect();
    let mut placed: HashSet<&str> = HashSet::new();
    let mut out = Vec::with_capacity(new.len());
    for u in units.iter().filter(|u| u.action.is_create()) {
        // The unplaced new units above it, nearest first.
        let mut chain = Vec::new();
        let mut at = Some(u);
        while let Some(step) = at {
            if placed.contains(step.id.as_str()) || chain.len() > new.len() {
                break;
            }
            chain.push(step);
            at = step.parent.as_deref().and_then(|p| new.get(p).copied());
        }
        for step in chain.into_iter().rev() {
            if placed.insert(step.id.as_str()) {
                out.push(step);
            }
        }
    }
    out
}

/// Apply `plan` (made by [`super::plan`] just before): all of it or
/// nothing. The new accounts' passwords are in the answer, and nowhere
/// else.
pub async fn apply(
    store: &Store,
    plan: &Plan,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Applied, RosterError> {
    let new_people: Vec<_> = plan
        .people
        .iter()
        .filter(|p| p.action.is_create())
        .collect();
    let passwords: Vec<String> = new_people.iter().map(|_| initial_password()).collect();
    // Argon2 is slow on purpose: hashed in parallel, as many at a time as
    // `auth` allows, in the order they finish.
    let total = passwords.len();
    let mut hashes: Vec<Option<String>> = vec![None; total];
    let mut hashing = tokio::task::JoinSet::new();
    for (i, password) in passwords.iter().enumerate() {
        let password = password.clone();
        hashing.spawn(async move { (i, crate::auth::hash_password(password).await) });
    }
    if total > 0 {
        progress(Progress::Hashing { done: 0, total });
    }
    let mut done = 0;
    while let Some(joined) = hashing.join_next().await {
        let (i, hash) = joined.map_err(|_| RosterError::Hash)?;
        hashes[i] = Some(hash.map_err(|_| RosterError::Hash)?);
        done += 1;
        progress(Progress::Hashing { done, total });
    }

    let fields = |u: &UnitStep| UnitFields {
        id: u.id.clone(),
        parent_id: u.parent.clone(),
        name: u.name.clone(),
        level: u.level.clone(),
    };
    let mut write = RosterWrite {
        new_units: parents_first(&plan.units).into_iter().map(fields).collect(),
        changed_units: plan
            .units
            .iter()
            .filter(|u| u.action.is_change())
            .map(fields)
            .collect(),
        ..RosterWrite::default()
    };
    let mut accounts = Vec::with_capacity(total);
    for ((p, password), hash) in new_people.iter().zip(passwords).zip(hashes) {
        // The plan made the id valid.
        let id = UserId::parse(&p.id).map_err(|e| {
            RosterError::Store(crate::storage::StoreError::Conflict(format!(
                "user id {}: {e}",
                p.id
            )))
        })?;
        write.new_users.push(NewUser {
            id,
            login: p.login.clone(),
            name: p.name.clone(),
            phone: p.phone.clone(),
            post: p.post.clone(),
            duties: p.duties.clone(),
            unit_id: p.unit.clone(),
            role: p.role,
            scope_unit_id: p.scope.clone(),
            password_hash: hash.ok_or(RosterError::Hash)?,
        });
        accounts.push(NewAccount {
            login: p.login.clone(),
            name: p.name.clone(),
            unit: p.unit.clone(),
            password,
        });
    }
    for p in plan.people.iter().filter(|p| p.action.is_change()) {
        write.changed_users.push(UserProfile {
            id: p.id.clone(),
            name: p.name.clone(),
            phone: p.phone.clone(),
            post: p.post.clone(),
            duties: p.duties.clone(),
            unit_id: p.unit.clone(),
            role: p.role,
            scope_unit_id: p.scope.clone(),
        });
    }
    let applied = Applied {
        units_created: write.new_units.len(),
        units_changed: write.changed_units.len(),
        people_created: write.new_users.len(),
        people_changed: write.changed_users.len(),
        accounts,
    };
    if plan.changes_nothing() {
        return Ok(applied);
    }
    progress(Progress::Writing);
    store.apply_roster(&write).await?;
    tracing::info!(
        units_created = applied.units_created,
        units_changed = applied.units_changed,
        people_created = applied.people_created,
        people_changed = applied.people_changed,
        "roster imported"
    );
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::Action;

    fn step(id: &str, parent: Option<&str>, action: Action) -> UnitStep {
        UnitStep {
            row: 0,
            id: id.into(),
            name: id.into(),
            level: "village".into(),
            parent: parent.map(Into::into),
            action,
        }
    }

    #[test]
    fn new_units_are_written_after_their_new_parents() {
        let units = [
            step("v1", Some("t9"), Action::Create),
            step("t1", Some("c1"), Action::Unchanged),
            step("t9", Some("c9"), Action::Create),
            step("c9", None, Action::Create),
            step("v2", Some("t1"), Action::Create),
        ];
        let order: Vec<&str> = parents_first(&units)
            .iter()
            .map(|u| u.id.as_str())
            .collect();
        assert_eq!(order, ["c9", "t9", "v1", "v2"]);
    }

    #[test]
    fn initial_passwords_are_long_enough_and_unambiguous() {
        let p = initial_password();
        assert!(crate::admin::check_password(&p).is_ok());
        assert!(!p.contains(['0', 'O', '1', 'l', 'I']));
        assert_ne!(p, initial_password());
    }
}
