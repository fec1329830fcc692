//! Integration tests of sync-core: real Automerge bytes, real SQLite files.

mod common;
mod convergence;
mod corpus;
mod fixtures;
mod new_ops;
mod oracle;
mod photo;
mod policy;
mod replica;
mod sim;
mod sync;
