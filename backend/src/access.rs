//! Who may read what: an account's read scope (its own documents, or the
//! subtree of the unit it oversees) and whether a document's owner is in
//! it. Used by the sync, the read API, the web pages, the event streams and
//! the photos: outside the scope is answered as "not found".

use sync_core::Role;

use crate::problem::{IntoProblem, Problem};
use crate::storage::{ReadScope, Store, StoreError, User};

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The unit an account oversees is gone: it reads nothing.
    #[error("the unit {0} this account oversees does not exist")]
    ScopeUnitMissing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoProblem for AccessError {
    fn into_problem(self) -> Problem {
        match self {
            AccessError::ScopeUnitMissing(_) => Problem::NotFound,
            AccessError::Store(e) => e.into_problem(),
        }
    }
}

crate::edge_error!(AccessError);

/// Whose documents `user` may read.
pub async fn read_scope(store: &Store, user: &User) -> Result<ReadScope, AccessError> {
    match (user.role, &user.scope_unit_id) {
        (Role::Cadre, _) | (_, None) => Ok(ReadScope::Own {
            user_id: user.id.clone(),
        }),
        (_, Some(unit)) => {
            let unit = store
                .unit(unit)
                .await?
                .ok_or_else(|| AccessError::ScopeUnitMissing(unit.clone()))?;
            Ok(ReadScope::Subtree {
                user_id: user.id.clone(),
                scope_path: unit.path,
            })
        }
    }
}

/// May a caller with `scope` read the document `id`? A record kept by its
/// owner: if the caller may read the owner's ([`may_read`]). An assigned
/// document (an item): if the caller is named on it, or may read its
/// responsible person's; one the server does not hold is nobody's (a
/// device cannot open an item by syncing it).
pub async fn may_read_doc(
    store: &Store,
    scope: &ReadScope,
    id: &sync_core::DocId,
) -> Result<bool, StoreError> {
    if let Some(owner) = id.owner() {
        return may_read(store, scope, owner.as_str()).await;
    }
    let user = scope.user_id();
    let doc = id.to_string();
    let Some(owner) = store.document_owner(&doc).await? else {
        return Ok(false);
    };
    if owner.is_empty() {
        return Ok(false);
    }
    if store.is_participant(&doc, user).await? {
        return Ok(true);
    }
    may_read(store, scope, &owner).await
}

/// May a caller with `scope` read documents of `owner`?
pub async fn may_read(store: &Store, scope: &ReadScope, owner: &str) -> Result<bool, StoreError> {
    match scope {
        ReadScope::Own { user_id } => Ok(user_id == owner),
        ReadScope::Subtree {
            user_id,
            scope_path,
        } => {
            if user_id == owner {
                return Ok(true);
            }
            let Some(u) = store.user(owner).await? else {
                return Ok(false);
            };
            let Some(unit) = store.unit(&u.unit_id).await? else {
                return Ok(false);
            };
            Ok(unit.path.starts_with(scope_path.as_str()))
        }
    }
}
