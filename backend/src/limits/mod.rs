//! The limits on what callers may make the server hold or do at once:
//! bytes of request bodies in memory ([`budget`]), one sync at a time per
//! device ([`fairness`]), login attempts per account and address
//! ([`login`]). (The sync's admission, 503 when `max_sync_requests` run,
//! is a semaphore in the state taken by `routes/sync.rs`; what a sync
//! message may make Automerge hold is `sync_core::document::admit`.)

pub mod budget;
pub mod fairness;
pub mod login;
