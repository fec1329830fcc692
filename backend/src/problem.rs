//! What went wrong in the application layer, as the edges need to know it.
//!
//! Domain modules keep their own error enums (`AccessError`,
//! `ReviewError`, `PhotoError`, …) and say, through [`IntoProblem`], which
//! kind of failure each variant is. The JSON API (`ApiError`) and the web
//! pages (`WebError`) are made from a [`Problem`] at the edge: a domain
//! error never carries an HTTP error inside it, and a new domain error
//! reaches both edges by one line ([`edge_error!`]).

use crate::storage::StoreError;

/// A failure, independent of how it is shown.
#[derive(Debug)]
pub enum Problem {
    /// The thing does not exist, or is outside the caller's scope (the
    /// same answer for both, so a scope reveals nothing).
    NotFound,
    /// The request is wrong: `code` for programs, `message` for people.
    Invalid {
        code: &'static str,
        message: String,
    },
    Forbidden(String),
    /// Who is asking cannot be established (log in again).
    Unauthorized(String),
    /// The state changed under the request, or forbids it now; `code` for
    /// programs (`conflict` unless a more precise one is known).
    Conflict {
        code: &'static str,
        message: String,
    },
    /// A limit of the caller's own: try again after `retry_after_secs`.
    Limited {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    Internal(anyhow::Error),
}

/// A domain error's kind.
pub trait IntoProblem {
    fn into_problem(self) -> Problem;
}

impl IntoProblem for StoreError {
    fn into_problem(self) -> Problem {
        match self {
            StoreError::NotFound(_) => Problem::NotFound,
            StoreError::Conflict(message) => Problem::Conflict {
                code: "conflict",
                message,
            },
            StoreError::Refused { code, message } => Problem::Conflict { code, message },
            StoreError::Stale(doc) => Problem::Conflict {
                code: "conflict",
                message: format!(
                    "document {doc} kept changing while this request merged into it; send it again"
                ),
            },
            other => Problem::Internal(other.into()),
        }
    }
}

/// `ApiError` and `WebError` from a domain error, through its [`Problem`].
#[macro_export]
macro_rules! edge_error {
    ($($t:ty),+ $(,)?) => {$(
        impl From<$t> for $crate::error::ApiError {
            fn from(e: $t) -> Self {
                $crate::problem::IntoProblem::into_problem(e).into()
            }
        }
        impl From<$t> for $crate::web::WebError {
            fn from(e: $t) -> Self {
                $crate::problem::IntoProblem::into_problem(e).into()
            }
        }
    )+};
}

edge_error!(StoreError);
