//! Administration used by `jishi admin`: units, users, passwords, devices.
//! Each operation validates its input and names what is wrong. A whole
//! roster from a spreadsheet is `roster`'s, on the rules kept here.

use sync_core::{Role, UserId};

use crate::auth;
use crate::login_name::LoginName;
use crate::storage::{NewUser, NoticeSettings, Store, Unit, User};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] crate::storage::StoreError),
    #[error("password hashing failed")]
    Hash,
}

pub const LEVELS: &[&str] = &["county", "township", "department", "village", "office"];

pub async fn create_unit(
    store: &Store,
    id: &str,
    parent: Option<&str>,
    name: &str,
    level: &str,
) -> Result<Unit, AdminError> {
    if !LEVELS.contains(&level) {
        return Err(AdminError::Invalid(format!(
            "level must be one of {}",
            LEVELS.join(", ")
        )));
    }
    if name.trim().is_empty() {
        return Err(AdminError::Invalid("a unit needs a name".into()));
    }
    Ok(store.create_unit(id, parent, name, level).await?)
}

/// Changes to a unit's notice settings: `Some` sets a field (an empty
/// text clears it, so the unit above's applies), `None` keeps it.
#[derive(Debug, Clone, Default)]
pub struct NoticeUpdate {
    pub issuer: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub supervision_office: Option<String>,
    pub supervision_phone: Option<String>,
    /// 0 clears it.
    pub display_days: Option<i64>,
    /// `auto`, `leader`, or `inherit` (clears it).
    pub approval: Option<String>,
}

/// The longest rank group name, in characters.
const MAX_RANK_GROUP: usize = 20;

/// A rank group as given on the command line: `None` for empty (the
/// group of the role).
pub fn rank_group(group: &str) -> Result<Option<String>, AdminError> {
    let g = group.trim();
    if g.is_empty() {
        return Ok(None);
    }
    if g.chars().count() > MAX_RANK_GROUP || g.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(AdminError::Invalid(format!(
            "--group must be one word of at most {MAX_RANK_GROUP} characters, without spaces, e.g. 驻村干部"
        )));
    }
    if [crate::reviews::results::HEADS_GROUP, "班子成员", "一般干部"].contains(&g) {
        return Err(AdminError::Invalid(format!(
            "--group {g} is a group by role already; give an empty --group to rank by role"
        )));
    }
    Ok(Some(g.to_owned()))
}

/// The longest text of a notice setting.
const MAX_NOTICE_TEXT: usize = 100;

/// Change how `unit_id` signs its notices; returns its own settings now.
pub async fn set_notice_settings(
    store: &Store,
    unit_id: &str,
    update: NoticeUpdate,
) -> Result<NoticeSettings, AdminError> {
    if store.unit(unit_id).await?.is_none() {
        return Err(AdminError::Invalid(format!(
            "no unit {unit_id}; see `jishi admin list-units`"
        )));
    }
    let mut s = store
        .own_notice_settings(unit_id)
        .await?
        .unwrap_or_default();
    for (field, value, target) in [
        ("issuer", update.issuer, &mut s.issuer),
        ("phone", update.phone, &mut s.phone),
        ("address", update.address, &mut s.address),
        (
            "supervision-office",
            update.supervision_office,
            &mut s.supervision_office,
        ),
        (
            "supervision-phone",
            update.supervision_phone,
            &mut s.supervision_phone,
        ),
    ] {
        let Some(value) = value else { continue };
        let value = value.trim().to_owned();
        if value.chars().count() > MAX_NOTICE_TEXT || value.chars().any(char::is_control) {
            return Err(AdminError::Invalid(format!(
                "--{field} must be one line of at most {MAX_NOTICE_TEXT} characters"
            )));
        }
        let phone_like = field.ends_with("phone");
        if phone_like && !valid_phone(&value) {
            return Err(AdminError::Invalid(format!(
                "--{field} takes digits, spaces and - + ( ) only, e.g. 0736-12388"
            )));
        }
        *target = value;
    }
    match update.display_days {
        Some(0) => s.display_days = None,
        Some(d) if (1..=365).contains(&d) => s.display_days = Some(d),
        Some(d) => {
            return Err(AdminError::Invalid(format!(
                "--display-days must be 1 to 365 (0 clears it), not {d}"
            )))
        }
        None => {}
    }
    match update.approval.as_deref().map(str::trim) {
        None => {}
        Some("inherit") => s.approval = None,
        Some(mode) => {
            s.approval = Some(crate::storage::Approval::parse(mode).ok_or_else(|| {
                AdminError::Invalid(format!(
                    "--approval is auto (published on Monday by itself), leader (published \
                     when a leader of the unit approves it) or inherit, not {mode:?}"
                ))
            })?)
        }
    }
    store.set_notice_settings(unit_id, &s).await?;
    Ok(s)
}

/// A phone number as people write it: digits, spaces, `-+()` and 转
/// (an extension), or empty.
pub fn valid_phone(phone: &str) -> bool {
    phone
        .chars()
        .all(|c| c.is_ascii_digit() || " -+()转".contains(c))
}

/// Leaders, supervisors and admins oversee a unit's subtree (their scope);
/// cadres oversee nothing.
pub fn needs_scope(role: Role) -> bool {
    matches!(role, Role::Leader | Role::Supervisor | Role::Admin)
}

#[derive(Debug, Clone)]
pub struct UserSpec {
    pub id: String,
    pub login: String,
    pub name: String,
    pub phone: String,
    pub post: String,
    pub duties: String,
    pub unit: String,
    pub role: String,
    pub scope: Option<String>,
    pub password: String,
}

pub fn check_password(password: &str) -> Result<(), AdminError> {
    if password.chars().count() < 8 {
        return Err(AdminError::Invalid(
            "a password needs at least 8 characters".into(),
        ));
    }
    Ok(())
}

pub async fn create_user(store: &Store, spec: UserSpec) -> Result<User, AdminError> {
    let id = UserId::parse(&spec.id).map_err(|e| AdminError::Invalid(e.to_string()))?;
    // Stored normalized; logging in normalizes what is typed the same way.
    let login = LoginName::parse(&spec.login).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let role = Role::parse(&spec.role).map_err(|e| AdminError::Invalid(e.to_string()))?;
    check_password(&spec.password)?;
    if needs_scope(role) && spec.scope.is_none() {
        return Err(AdminError::Invalid(format!(
            "a {} needs --scope UNIT: the unit subtree they oversee",
            role.as_str()
        )));
    }
    if store.unit(&spec.unit).await?.is_none() {
        return Err(AdminError::Invalid(format!(
            "unit {} does not exist; create it first",
            spec.unit
        )));
    }
    if let Some(scope) = &spec.scope {
        if store.unit(scope).await?.is_none() {
            return Err(AdminError::Invalid(format!(
                "scope unit {scope} does not exist"
            )));
        }
    }
    let password_hash = auth::hash_password(spec.password)
        .await
        .map_err(|_| AdminError::Hash)?;
    store
        .create_user(&NewUser {
            id: id.clone(),
            login: login.to_string(),
            name: spec.name,
            phone: spec.phone,
            post: spec.post,
            duties: spec.duties,
            unit_id: spec.unit,
            role,
            scope_unit_id: spec.scope,
            password_hash,
        })
        .await?;
    store
        .user(id.as_str())
        .await?
        .ok_or(AdminError::Invalid("user vanished".into()))
}

pub async fn reset_password(store: &Store, user: &str, password: String) -> Result<(), AdminError> {
    check_password(&password)?;
    let hash = auth::hash_password(password)
        .await
        .map_err(|_| AdminError::Hash)?;
    store.set_password(user, &hash).await?;
    // A new password ends the sessions: web sessions at once, phones at
    // their next refresh (they log in again and keep what is unsynced).
    Ok(store.end_sessions(user).await?)
}

#[cfg(test)]
mod rank_group_tests {
    use super::rank_group;

    #[test]
    fn a_rank_group_is_one_short_line_or_empty() {
        assert_eq!(
            rank_group(" 驻村干部 ").unwrap().as_deref(),
            Some("驻村干部")
        );
        assert_eq!(
            rank_group("  ").unwrap(),
            None,
            "empty: back to the role's group"
        );
        assert!(rank_group(&"组".repeat(21)).is_err());
        assert!(rank_group("驻村\n干部").is_err());
        assert!(
            rank_group("驻村 干部").is_err(),
            "a space breaks the township prefix"
        );
        assert!(rank_group("班子成员").is_err(), "a group by role");
    }
}
