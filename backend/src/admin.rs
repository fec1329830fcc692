//! Administration used by `jishi admin`: units, users, passwords, devices.
//! Each operation validates its input and names what is wrong.

use sync_core::{Role, UserId};

use crate::auth;
use crate::login_name::LoginName;
use crate::storage::{NewUser, Store, Unit, User};

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
    if matches!(role, Role::Leader | Role::Supervisor | Role::Admin) && spec.scope.is_none() {
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
