//! Limits on login attempts, keyed so that nobody can lock someone else
//! out. Attempts are counted per minute in the database (`storage::attempts`),
//! so the limits hold across instances, and a successful login takes its
//! attempt back:
//!
//! - per account and client address: `login_per_minute`, then 429 — a
//!   password guesser locks out only their own address for that account;
//! - per client address: ten times that, then 429 (many cadres of a
//!   township share an address behind a carrier's NAT; behind a proxy, the
//!   address is the one the trusted proxy saw, see `client_addr`);
//! - per account, from any address: ten times that, after which every
//!   attempt on the account waits `SLOWDOWN` first. It slows a guesser with
//!   many addresses and never refuses: the owner still logs in.

use std::net::IpAddr;
use std::time::Duration;

use crate::problem::{IntoProblem, Problem};
use crate::storage::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LoginLimitError {
    #[error("too many login attempts from this address; wait a minute and try again")]
    TooMany { retry_after_secs: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoProblem for LoginLimitError {
    fn into_problem(self) -> Problem {
        match self {
            LoginLimitError::TooMany { retry_after_secs } => Problem::Limited {
                code: "rate_limited",
                message: self.to_string(),
                retry_after_secs,
            },
            LoginLimitError::Store(e) => e.into_problem(),
        }
    }
}

crate::edge_error!(LoginLimitError);

/// How long an attempt on an account under attack waits.
pub const SLOWDOWN: Duration = Duration::from_secs(2);

/// The limits per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub per_account_and_address: i64,
    pub per_address: i64,
    /// Beyond this, attempts are slowed, not refused.
    pub per_account: i64,
}

impl LoginLimits {
    pub fn new(per_minute: u32) -> Self {
        let n = i64::from(per_minute.max(1));
        Self {
            per_account_and_address: n,
            per_address: n * 10,
            per_account: n * 10,
        }
    }
}

/// An attempt the limits let through; `succeeded` takes it back.
#[derive(Debug)]
#[must_use]
pub struct Admitted {
    keys: Vec<String>,
}

/// Count an attempt on `login` from `client`: refused (429 with
/// `Retry-After`) over the per-address limits, slowed over the account's.
pub async fn admit(
    store: &Store,
    limits: LoginLimits,
    login: &str,
    client: IpAddr,
) -> Result<Admitted, LoginLimitError> {
    let pair = format!("login:pair:{client}:{login}");
    let address = format!("login:address:{client}");
    let account = format!("login:account:{login}");
    let seen = store
        .count_attempts(&[pair.clone(), address.clone()])
        .await?;
    if seen.counts[0] > limits.per_account_and_address || seen.counts[1] > limits.per_address {
        return Err(LoginLimitError::TooMany {
            retry_after_secs: u64::try_from(seen.window_left_ms / 1000 + 1).unwrap_or(60),
        });
    }
    let on_account = store.count_attempts(std::slice::from_ref(&account)).await?;
    if on_account.counts[0] > limits.per_account {
        tracing::warn!(
            attempts = on_account.counts[0],
            "logins to one account from many addresses: slowed"
        );
        tokio::time::sleep(SLOWDOWN).await;
    }
    Ok(Admitted {
        keys: vec![pair, address, account],
    })
}

impl Admitted {
    /// The login succeeded: its attempt counts against nobody.
    pub async fn succeeded(self, store: &Store) -> Result<(), StoreError> {
        store.forget_attempts(&self.keys).await
    }
}
