//! Integration tests of sync-core: real Automerge bytes, real SQLite files.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

mod common;
mod convergence;
mod corpus;
mod fixtures;
mod items;
mod new_ops;
mod oracle;
mod photo;
mod policy;
mod replica;
mod sim;
mod sync;
