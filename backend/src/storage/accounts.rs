//! Units, users, devices with their Automerge actors, and refresh tokens.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;
use sync_core::{Role, UserId};

use super::{now_ms, on_pool, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub level: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: String,
    pub login: String,
    pub name: String,
    pub phone: String,
    pub post: String,
    pub duties: String,
    pub unit_id: String,
    pub role: Role,
    pub scope_unit_id: Option<String>,
    pub disabled: bool,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub login: String,
    pub name: String,
    pub phone: String,
    pub post: String,
    pub duties: String,
    pub unit_id: String,
    pub role: Role,
    pub scope_unit_id: Option<String>,
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub family_id: String,
    pub device_id: String,
    pub user_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A unit as a roster import writes it (its path follows from the tree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFields {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub level: String,
}

/// What a roster import changes of an existing user: everything but the
/// login, the password and whether the account is disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub post: String,
    pub duties: String,
    pub unit_id: String,
    pub role: Role,
    pub scope_unit_id: Option<String>,
}

/// A whole roster import, written in one transaction
/// ([`Store::apply_roster`]).
#[derive(Debug, Clone, Default)]
pub struct RosterWrite {
    /// New units, each after its parent when that is new too.
    pub new_units: Vec<UnitFields>,
    pub changed_units: Vec<UnitFields>,
    pub new_users: Vec<NewUser>,
    pub changed_users: Vec<UserProfile>,
}

const INSERT_UNIT: &str =
    "INSERT INTO units (id, parent_id, name, level, path, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
const INSERT_USER: &str =
    "INSERT INTO users (id, login, name, phone, post, duties, unit_id, role, scope_unit_id, password_hash, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// Every unit's path from the parents (`/root/…/id/`), or the id of a unit
/// whose parents loop or are missing.
fn unit_paths(parents: &[(String, Option<String>)]) -> Result<HashMap<String, String>, String> {
    let parent_of: HashMap<&str, Option<&str>> = parents
        .iter()
        .map(|(id, p)| (id.as_str(), p.as_deref()))
        .collect();
    let mut paths: HashMap<String, String> = HashMap::with_capacity(parents.len());
    for (id, _) in parents {
        // Up to a unit whose path is known, or the root.
        let mut chain = vec![id.as_str()];
        let mut prefix = String::from("/");
        loop {
            let at = chain[chain.len() - 1];
            if chain.len() > parent_of.len() + 1 {
                return Err(id.clone());
            }
            match parent_of.get(at) {
                None => return Err(at.to_owned()),
                Some(None) => break,
                Some(Some(p)) => match paths.get(*p) {
                    Some(path) => {
                        prefix = path.clone();
                        break;
                    }
                    None => chain.push(p),
                },
            }
        }
        for unit in chain.iter().rev() {
            prefix = format!("{prefix}{unit}/");
            paths.insert((*unit).to_owned(), prefix.clone());
        }
    }
    Ok(paths)
}

/// The deepest a unit may sit (a county's tree is five or six levels): a
/// path stays far under what PostgreSQL indexes (2,704 bytes a key).
pub const MAX_UNIT_DEPTH: usize = 16;

/// How many units a path names (`/c1/t1/` is 2).
fn depth(path: &str) -> usize {
    path.split('/').filter(|s| !s.is_empty()).count()
}

/// The unit tree is changed by one transaction at a time across every
/// instance (paths are computed from the whole tree): on PostgreSQL an
/// advisory lock (SQLite's `BEGIN IMMEDIATE` already serialises writers).
async fn lock_unit_tree<'c, DB: sqlx::Database>(
    tx: &mut sqlx::Transaction<'c, DB>,
) -> Result<(), sqlx::Error>
where
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    if DB::NAME == "PostgreSQL" {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('jishi-unit-tree', 0))")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Unit ids: 1–64 of `A-Z a-z 0-9 -` (they appear inside paths).
pub fn valid_unit_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

const USER_COLUMNS: &str =
    "id, login, name, phone, post, duties, unit_id, role, scope_unit_id, disabled";

/// `USER_COLUMNS` of the table aliased `alias` in a join.
fn user_columns_of(alias: &str) -> String {
    USER_COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn user_from_row<R: Row>(r: &R) -> Result<User, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    bool: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        login: r.try_get("login")?,
        name: r.try_get("name")?,
        phone: r.try_get("phone")?,
        post: r.try_get("post")?,
        duties: r.try_get("duties")?,
        unit_id: r.try_get("unit_id")?,
        role: Role::parse(&role).map_err(|e| sqlx::Error::Decode(e.to_string().into()))?,
        scope_unit_id: r.try_get("scope_unit_id")?,
        disabled: r.try_get("disabled")?,
    })
}

fn unit_from_row<R: Row>(r: &R) -> Result<Unit, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Unit {
        id: r.try_get("id")?,
        parent_id: r.try_get("parent_id")?,
        name: r.try_get("name")?,
        level: r.try_get("level")?,
        path: r.try_get("path")?,
    })
}

fn refresh_from_row<R: Row>(r: &R) -> Result<RefreshToken, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(RefreshToken {
        token_hash: r.try_get("token_hash")?,
        family_id: r.try_get("family_id")?,
        device_id: r.try_get("device_id")?,
        user_id: r.try_get("user_id")?,
        issued_at: r.try_get("issued_at")?,
        expires_at: r.try_get("expires_at")?,
        used_at: r.try_get("used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

impl Store {
    // ---- units ----------------------------------------------------------

    pub async fn create_unit(
        &self,
        id: &str,
        parent_id: Option<&str>,
        name: &str,
        level: &str,
    ) -> Result<Unit, StoreError> {
        if !valid_unit_id(id) {
            return Err(StoreError::Conflict(format!(
                "unit id {id:?} must be 1 to 64 characters of A-Z a-z 0-9 -"
            )));
        }
        let _writer = self.writer().await;
        // The parent's path is read in the transaction that inserts, under
        // the tree's lock: a roster import moving the parent meanwhile
        // cannot leave this unit under its old path.
        let path: Result<Result<String, StoreError>, sqlx::Error> = on_pool!(self.pool(), p => {
            async {
                let mut tx = p.begin_with(self.pool().begin_statement()).await?;
                lock_unit_tree(&mut tx).await?;
                let path = match parent_id {
                    Some(parent) => {
                        let found: Option<String> =
                            sqlx::query_scalar("SELECT path FROM units WHERE id = $1")
                                .bind(parent).fetch_optional(&mut *tx).await?;
                        match found {
                            Some(p) => format!("{p}{id}/"),
                            None => return Ok(Err(StoreError::NotFound("parent unit"))),
                        }
                    }
                    None => format!("/{id}/"),
                };
                if depth(&path) > MAX_UNIT_DEPTH {
                    return Ok(Err(StoreError::Conflict(format!(
                        "unit {id} would be {} levels deep; at most {MAX_UNIT_DEPTH}",
                        depth(&path)
                    ))));
                }
                sqlx::query(INSERT_UNIT)
                    .bind(id).bind(parent_id).bind(name).bind(level).bind(&path).bind(now_ms())
                    .execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(Ok(path))
            }.await
        });
        let path = path??;
        Ok(Unit {
            id: id.to_owned(),
            parent_id: parent_id.map(str::to_owned),
            name: name.to_owned(),
            level: level.to_owned(),
            path,
        })
    }

    /// `unit_id` and the units above it, nearest first (at most 64: a
    /// broken parent link ends the chain rather than a loop).
    pub async fn unit_chain(&self, unit_id: &str) -> Result<Vec<Unit>, StoreError> {
        let mut chain = Vec::new();
        let mut at = Some(unit_id.to_owned());
        while let Some(id) = at.filter(|_| chain.len() < 64) {
            let Some(u) = self.unit(&id).await? else {
                break;
            };
            at = u.parent_id.clone();
            chain.push(u);
        }
        Ok(chain)
    }

    pub async fn unit(&self, id: &str) -> Result<Option<Unit>, StoreError> {
        let row = on_pool!(self.pool(), p => sqlx::query(
            "SELECT id, parent_id, name, level, path FROM units WHERE id = $1")
            .bind(id).fetch_optional(p).await?.map(|r| unit_from_row(&r)).transpose())?;
        Ok(row)
    }

    pub async fn units(&self) -> Result<Vec<Unit>, StoreError> {
        let rows = on_pool!(self.pool(), p => sqlx::query(
            "SELECT id, parent_id, name, level, path FROM units ORDER BY path")
            .fetch_all(p).await?.iter().map(unit_from_row).collect::<Result<Vec<_>, _>>())?;
        Ok(rows)
    }

    /// Is `unit_id` inside the subtree of `scope_unit_id` (or equal to it)?
    pub async fn unit_in_scope(
        &self,
        unit_id: &str,
        scope_unit_id: &str,
    ) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM units u, units s
             WHERE u.id = $1 AND s.id = $2 AND substr(u.path, 1, length(s.path)) = s.path")
            .bind(unit_id).bind(scope_unit_id).fetch_one(p).await)?;
        Ok(n > 0)
    }

    // ---- users ----------------------------------------------------------

    pub async fn create_user(&self, u: &NewUser) -> Result<(), StoreError> {
        let r = on_pool!(self.pool(), p => sqlx::query(INSERT_USER)
            .bind(u.id.as_str()).bind(&u.login).bind(&u.name).bind(&u.phone).bind(&u.post)
            .bind(&u.duties).bind(&u.unit_id).bind(u.role.as_str()).bind(&u.scope_unit_id)
            .bind(&u.password_hash).bind(now_ms())
            .execute(p).await.map(|_| ()));
        match r {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = StoreError::from(e);
                Err(if e.violates_unique("users", "id") {
                    StoreError::Conflict(format!("user {} already exists", u.id))
                } else if e.violates_unique("users", "login") {
                    StoreError::Conflict(format!(
                        "login {} is taken by another user; choose another",
                        u.login
                    ))
                } else if e.is_constraint() {
                    StoreError::Conflict(format!(
                        "user {} breaks a rule of the schema (unit {} must exist): {e}",
                        u.id, u.unit_id
                    ))
                } else {
                    e
                })
            }
        }
    }

    /// Write a roster import ([`RosterWrite`]) in one transaction: all of
    /// it or, on any failure, nothing. New units are inserted, changed ones
    /// updated, then every path that the new tree moves is rewritten (a
    /// unit moved under another unit takes its subtree along). Passwords
    /// and disabled accounts are never touched. A unit or login created by
    /// someone else meanwhile is a conflict.
    pub async fn apply_roster(&self, w: &RosterWrite) -> Result<(), StoreError> {
        let now = now_ms();
        let _writer = self.writer().await;
        let outcome: Result<Result<(), String>, sqlx::Error> = on_pool!(self.pool(), p => {
            async {
                let mut tx = p.begin_with(self.pool().begin_statement()).await?;
                lock_unit_tree(&mut tx).await?;
                // Inserted under a path of their own (`/id/`: unique, as
                // ids are), set right with the others below.
                for u in &w.new_units {
                    sqlx::query(INSERT_UNIT)
                        .bind(&u.id).bind(&u.parent_id).bind(&u.name).bind(&u.level)
                        .bind(format!("/{}/", u.id)).bind(now)
                        .execute(&mut *tx).await?;
                }
                for u in &w.changed_units {
                    sqlx::query("UPDATE units SET parent_id = $2, name = $3, level = $4 WHERE id = $1")
                        .bind(&u.id).bind(&u.parent_id).bind(&u.name).bind(&u.level)
                        .execute(&mut *tx).await?;
                }
                if !w.new_units.is_empty() || !w.changed_units.is_empty() {
                    let rows = sqlx::query("SELECT id, parent_id, path FROM units")
                        .fetch_all(&mut *tx).await?;
                    let mut parents = Vec::with_capacity(rows.len());
                    let mut old = HashMap::with_capacity(rows.len());
                    for r in &rows {
                        let id: String = r.try_get("id")?;
                        parents.push((id.clone(), r.try_get::<Option<String>, _>("parent_id")?));
                        old.insert(id, r.try_get::<String, _>("path")?);
                    }
                    let paths = match unit_paths(&parents) {
                        Ok(p) => p,
                        Err(unit) => return Ok(Err(format!(
                            "the units above {unit} would loop or are missing; nothing was imported"
                        ))),
                    };
                    if let Some((unit, path)) = paths.iter().find(|(_, p)| depth(p) > MAX_UNIT_DEPTH) {
                        return Ok(Err(format!(
                            "unit {unit} would be {} levels deep (at most {MAX_UNIT_DEPTH}); \
                             nothing was imported",
                            depth(path)
                        )));
                    }
                    // Each path ends with its own id: no two are ever equal,
                    // whatever order they are rewritten in.
                    for (id, path) in &paths {
                        if old.get(id) != Some(path) {
                            sqlx::query("UPDATE units SET path = $2 WHERE id = $1")
                                .bind(id).bind(path).execute(&mut *tx).await?;
                        }
                    }
                }
                for u in &w.new_users {
                    sqlx::query(INSERT_USER)
                        .bind(u.id.as_str()).bind(&u.login).bind(&u.name).bind(&u.phone).bind(&u.post)
                        .bind(&u.duties).bind(&u.unit_id).bind(u.role.as_str()).bind(&u.scope_unit_id)
                        .bind(&u.password_hash).bind(now)
                        .execute(&mut *tx).await?;
                }
                for u in &w.changed_users {
                    sqlx::query(
                        "UPDATE users SET name = $2, phone = $3, post = $4, duties = $5, unit_id = $6,
                         role = $7, scope_unit_id = $8 WHERE id = $1")
                        .bind(&u.id).bind(&u.name).bind(&u.phone).bind(&u.post).bind(&u.duties)
                        .bind(&u.unit_id).bind(u.role.as_str()).bind(&u.scope_unit_id)
                        .execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(Ok(()))
            }.await
        });
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(StoreError::Conflict(why)),
            Err(e) => {
                let e = StoreError::from(e);
                Err(if e.is_constraint() {
                    StoreError::Conflict(format!(
                        "a unit or login of the roster was created or removed by someone else \
                         while importing; nothing was imported; preview the roster again ({e})"
                    ))
                } else {
                    e
                })
            }
        }
    }

    /// The user and password hash for a login name.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<(User, String)>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE login = $1");
        let row = on_pool!(self.pool(), p => sqlx::query(&sql).bind(login).fetch_optional(p).await?
            .map(|r| Ok::<_, sqlx::Error>((user_from_row(&r)?, r.try_get::<String, _>("password_hash")?)))
            .transpose())?;
        Ok(row)
    }

    pub async fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = on_pool!(self.pool(), p => sqlx::query(&sql).bind(id).fetch_optional(p).await?
            .map(|r| user_from_row(&r)).transpose())?;
        Ok(row)
    }

    /// `user_id` if `device_id` is one of their devices and not revoked,
    /// in one statement (every authenticated request asks this; a
    /// disabled user is returned as such, for the caller to refuse).
    pub async fn user_on_device(
        &self,
        user_id: &str,
        device_id: &str,
    ) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "SELECT {} FROM users u JOIN devices d ON d.user_id = u.id
             WHERE d.id = $1 AND u.id = $2 AND d.revoked_at IS NULL",
            user_columns_of("u")
        );
        let row = on_pool!(self.pool(), p => sqlx::query(&sql).bind(device_id).bind(user_id).fetch_optional(p).await?
            .map(|r| user_from_row(&r)).transpose())?;
        Ok(row)
    }

    /// `user_id` if `device_id` is one of their devices, not revoked, and
    /// `session_id` a live session of that device: in one statement (every
    /// API request asks this, the sync path included).
    pub async fn user_on_session(
        &self,
        user_id: &str,
        device_id: &str,
        session_id: &str,
    ) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "SELECT {} FROM users u JOIN devices d ON d.user_id = u.id
             JOIN sessions s ON s.device_id = d.id AND s.user_id = u.id
             WHERE d.id = $1 AND u.id = $2 AND s.id = $3
               AND d.revoked_at IS NULL AND s.revoked_at IS NULL",
            user_columns_of("u")
        );
        let row = on_pool!(self.pool(), p => sqlx::query(&sql).bind(device_id).bind(user_id).bind(session_id)
            .fetch_optional(p).await?.map(|r| user_from_row(&r)).transpose())?;
        Ok(row)
    }

    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY unit_id, id");
        let rows = on_pool!(self.pool(), p => sqlx::query(&sql).fetch_all(p).await?
            .iter().map(user_from_row).collect::<Result<Vec<_>, _>>())?;
        Ok(rows)
    }

    /// Users whose unit lies in the subtree of `unit_id`.
    pub async fn users_under(&self, unit_id: &str) -> Result<Vec<User>, StoreError> {
        let sql = format!(
            "SELECT {} FROM users u JOIN units un ON un.id = u.unit_id, units s
             WHERE s.id = $1 AND substr(un.path, 1, length(s.path)) = s.path ORDER BY un.path, u.id",
            user_columns_of("u")
        );
        let rows = on_pool!(self.pool(), p => sqlx::query(&sql).bind(unit_id).fetch_all(p).await?
            .iter().map(user_from_row).collect::<Result<Vec<_>, _>>())?;
        Ok(rows)
    }

    pub async fn set_password(&self, user_id: &str, hash: &str) -> Result<(), StoreError> {
        let n = on_pool!(self.pool(), p => sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user_id).bind(hash).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    /// Disable a user: tokens stop working at once, refresh families are
    /// revoked.
    pub async fn disable_user(&self, user_id: &str) -> Result<(), StoreError> {
        let now = now_ms();
        let _writer = self.writer().await;
        on_pool!(self.pool(), p => {
            let mut tx = p.begin_with(self.pool().begin_statement()).await?;
            let n = sqlx::query("UPDATE users SET disabled = TRUE WHERE id = $1")
                .bind(user_id).execute(&mut *tx).await?.rows_affected();
            sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(user_id).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        })
        .map_err(StoreError::from)
        .and_then(|n| if n == 0 { Err(StoreError::NotFound("user")) } else { Ok(()) })
    }

    // ---- devices and actors ----------------------------------------------

    /// Register (or re-register) a device of `user_id` with its actors. A
    /// device id or actor that belongs to someone else, or a revoked device,
    /// is a conflict.
    pub async fn register_device(
        &self,
        device_id: &str,
        user_id: &str,
        name: &str,
        actors: &[String],
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let _writer = self.writer().await;
        let outcome: Result<Result<(), (&'static str, String)>, sqlx::Error> = on_pool!(self.pool(), p => {
            async {
                let mut tx = p.begin_with(self.pool().begin_statement()).await?;
                let existing = sqlx::query("SELECT user_id, revoked_at FROM devices WHERE id = $1")
                    .bind(device_id).fetch_optional(&mut *tx).await?;
                if let Some(row) = existing {
                    let owner: String = row.try_get("user_id")?;
                    let revoked: Option<i64> = row.try_get("revoked_at")?;
                    if owner != user_id {
                        return Ok(Err(("device_taken", format!("device {device_id} belongs to another user; use a new device id"))));
                    }
                    if revoked.is_some() {
                        return Ok(Err(("device_revoked", format!("device {device_id} was revoked; use a new device id"))));
                    }
                    sqlx::query("UPDATE devices SET name = $2, last_seen_at = $3 WHERE id = $1")
                        .bind(device_id).bind(name).bind(now).execute(&mut *tx).await?;
                } else {
                    sqlx::query("INSERT INTO devices (id, user_id, name, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $4)")
                        .bind(device_id).bind(user_id).bind(name).bind(now).execute(&mut *tx).await?;
                }
                for actor in actors {
                    let owner: Option<String> = sqlx::query_scalar("SELECT device_id FROM device_actors WHERE actor = $1")
                        .bind(actor).fetch_optional(&mut *tx).await?;
                    match owner {
                        Some(d) if d != device_id => {
                            return Ok(Err(("actor_taken", format!("actor {actor} is registered to another device"))));
                        }
                        Some(_) => {}
                        None => {
                            sqlx::query("INSERT INTO device_actors (actor, device_id, created_at) VALUES ($1, $2, $3)")
                                .bind(actor).bind(device_id).bind(now).execute(&mut *tx).await?;
                        }
                    }
                }
                tx.commit().await?;
                Ok(Ok(()))
            }.await
        });
        outcome?.map_err(|(code, message)| StoreError::Refused { code, message })
    }

    /// Check the value a phone presents at login or refresh against the
    /// last ones handed to its device (`migrations/*/0012_device_checks.sql`),
    /// and hand out `next` (hashed) for the next time. `presented`: the
    /// hash of what the phone sent, `None` if it sent nothing.
    ///
    /// The pending value becomes confirmed when it is presented; the
    /// confirmed one is taken again as long as no newer one was presented
    /// (a reply lost on the way), so one phone is never refused. Two copies
    /// of one folder present values that diverge: the second one to move on
    /// is refused with `device_copied` (recorded as a security event).
    pub async fn check_device(
        &self,
        device_id: &str,
        presented: Option<&str>,
        next: &str,
    ) -> Result<(), StoreError> {
        let _writer = self.writer().await;
        let outcome: Result<bool, sqlx::Error> = on_pool!(self.pool(), p => {
            async {
                let mut tx = p.begin_with(self.pool().begin_statement()).await?;
                let Some(row) = sqlx::query("SELECT check_confirmed, check_pending FROM devices WHERE id = $1")
                    .bind(device_id).fetch_optional(&mut *tx).await? else {
                    return Ok(true);
                };
                let confirmed: Option<String> = row.try_get("check_confirmed")?;
                let pending: Option<String> = row.try_get("check_pending")?;
                let new_confirmed = match (presented, &confirmed, &pending) {
                    (Some(p), _, Some(pend)) if p == pend => Some(p.to_owned()),
                    (Some(p), Some(conf), _) if p == conf => confirmed.clone(),
                    // Never confirmed: an older app, or the first login.
                    (_, None, _) => None,
                    _ => return Ok(false),
                };
                sqlx::query("UPDATE devices SET check_confirmed = $2, check_pending = $3 WHERE id = $1")
                    .bind(device_id).bind(new_confirmed).bind(next).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }.await
        });
        if outcome? {
            return Ok(());
        }
        Err(StoreError::Refused {
            code: "device_copied",
            message: format!(
                "this is an older copy of device {device_id} (restored from a backup or cloned to \
                 another phone); register it as a new device: log in with a new device id and \
                 new actors"
            ),
        })
    }

    pub async fn device(&self, id: &str) -> Result<Option<Device>, StoreError> {
        let row = on_pool!(self.pool(), p => sqlx::query(
            "SELECT id, user_id, name, created_at, revoked_at FROM devices WHERE id = $1")
            .bind(id).fetch_optional(p).await?
            .map(|r| Ok::<_, sqlx::Error>(Device {
                id: r.try_get("id")?, user_id: r.try_get("user_id")?, name: r.try_get("name")?,
                created_at: r.try_get("created_at")?, revoked_at: r.try_get("revoked_at")?,
            })).transpose())?;
        Ok(row)
    }

    pub async fn devices(&self) -> Result<Vec<Device>, StoreError> {
        let rows = on_pool!(self.pool(), p => sqlx::query(
            "SELECT id, user_id, name, created_at, revoked_at FROM devices ORDER BY user_id, created_at")
            .fetch_all(p).await?.into_iter()
            .map(|r| Ok::<_, sqlx::Error>(Device {
                id: r.try_get("id")?, user_id: r.try_get("user_id")?, name: r.try_get("name")?,
                created_at: r.try_get("created_at")?, revoked_at: r.try_get("revoked_at")?,
            })).collect::<Result<Vec<_>, _>>())?;
        Ok(rows)
    }

    /// Revoke a device: its tokens and refresh families stop working at once.
    pub async fn revoke_device(&self, id: &str) -> Result<(), StoreError> {
        let now = now_ms();
        let _writer = self.writer().await;
        let n = on_pool!(self.pool(), p => {
            let mut tx = p.begin_with(self.pool().begin_statement()).await?;
            let n = sqlx::query("UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id).bind(now).execute(&mut *tx).await?.rows_affected();
            sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL")
                .bind(id).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        })?;
        if n == 0 {
            return match self.device(id).await? {
                Some(_) => Ok(()),
                None => Err(StoreError::NotFound("device")),
            };
        }
        Ok(())
    }

    /// End a user's sessions: their web-page devices are revoked (a web
    /// session is one device), and every session and refresh token is (the
    /// access tokens stop at once); phones keep their device and log in
    /// again.
    pub async fn end_sessions(&self, user_id: &str) -> Result<(), StoreError> {
        let now = now_ms();
        let _writer = self.writer().await;
        on_pool!(self.pool(), p => {
            let mut tx = p.begin_with(self.pool().begin_statement()).await?;
            sqlx::query("UPDATE devices SET revoked_at = $2 WHERE user_id = $1 AND id LIKE 'web-%' AND name = '网页' AND revoked_at IS NULL")
                .bind(user_id).bind(now).execute(&mut *tx).await?;
            sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(user_id).bind(now).execute(&mut *tx).await?;
            sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(user_id).bind(now).execute(&mut *tx).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// The actors registered to a device (hex).
    /// Register one more Automerge actor (hex, fresh and random) to a
    /// device: a server-side write for a client that registered none.
    pub async fn add_device_actor(&self, device_id: &str, actor: &str) -> Result<(), StoreError> {
        on_pool!(self.pool(), p => sqlx::query(
            "INSERT INTO device_actors (actor, device_id, created_at) VALUES ($1, $2, $3)")
            .bind(actor).bind(device_id).bind(now_ms()).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn device_actors(&self, device_id: &str) -> Result<Vec<String>, StoreError> {
        let rows = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT actor FROM device_actors WHERE device_id = $1 ORDER BY actor")
            .bind(device_id).fetch_all(p).await)?;
        Ok(rows)
    }

    // ---- refresh tokens --------------------------------------------------

    /// Store a refresh token; `new_session` starts its family's session
    /// (a login) in the same transaction.
    pub async fn insert_refresh(
        &self,
        t: &RefreshToken,
        new_session: bool,
    ) -> Result<(), StoreError> {
        let insert = "INSERT INTO refresh_tokens (token_hash, family_id, device_id, user_id, issued_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)";
        if !new_session {
            on_pool!(self.pool(), p => sqlx::query(insert)
                .bind(&t.token_hash).bind(&t.family_id).bind(&t.device_id).bind(&t.user_id)
                .bind(t.issued_at).bind(t.expires_at).execute(p).await.map(|_| ()))?;
            return Ok(());
        }
        let _writer = self.writer().await;
        on_pool!(self.pool(), p => {
            let mut tx = p.begin_with(self.pool().begin_statement()).await?;
            sqlx::query("INSERT INTO sessions (id, user_id, device_id, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&t.family_id).bind(&t.user_id).bind(&t.device_id).bind(t.issued_at)
                .execute(&mut *tx).await?;
            sqlx::query(insert)
                .bind(&t.token_hash).bind(&t.family_id).bind(&t.device_id).bind(&t.user_id)
                .bind(t.issued_at).bind(t.expires_at).execute(&mut *tx).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    pub async fn refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshToken>, StoreError> {
        let row = on_pool!(self.pool(), p => sqlx::query(
            "SELECT token_hash, family_id, device_id, user_id, issued_at, expires_at, used_at, revoked_at
             FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash).fetch_optional(p).await?.map(|r| refresh_from_row(&r)).transpose())?;
        Ok(row)
    }

    /// Mark a refresh token used; true only for the one caller that did.
    pub async fn use_refresh(&self, token_hash: &str, now: i64) -> Result<bool, StoreError> {
        let n = on_pool!(self.pool(), p => sqlx::query(
            "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL")
            .bind(token_hash).bind(now).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Revoke every token of a family except, optionally, one. Without an
    /// exception the session ends: its access tokens stop working at once.
    pub async fn revoke_family(
        &self,
        family_id: &str,
        except: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let _writer = self.writer().await;
        on_pool!(self.pool(), p => {
            let mut tx = p.begin_with(self.pool().begin_statement()).await?;
            if except.is_none() {
                sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(family_id).bind(now).execute(&mut *tx).await?;
            }
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $2
                 WHERE family_id = $1 AND revoked_at IS NULL AND token_hash <> COALESCE($3, '')")
                .bind(family_id).bind(now).bind(except).execute(&mut *tx).await?;
            tx.commit().await
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::unit_paths;

    fn tree(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        pairs
            .iter()
            .map(|(id, p)| ((*id).to_owned(), p.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn paths_follow_the_parents_in_any_order() {
        let paths = unit_paths(&tree(&[
            ("v1", Some("t1")),
            ("t1", Some("c1")),
            ("c1", None),
            ("t2", Some("c1")),
        ]))
        .unwrap();
        assert_eq!(paths["v1"], "/c1/t1/v1/");
        assert_eq!(paths["t2"], "/c1/t2/");
        assert_eq!(paths["c1"], "/c1/");
    }

    #[test]
    fn a_loop_or_a_missing_parent_is_named() {
        assert!(unit_paths(&tree(&[("a", Some("b")), ("b", Some("a"))])).is_err());
        assert_eq!(
            unit_paths(&tree(&[("a", Some("x"))])).unwrap_err(),
            "x".to_owned()
        );
    }
}
