//! End-to-end tests: a real `jishi` server on a port, real SQLite and
//! PostgreSQL, phones with real replicas syncing over HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

mod auth;
mod authz;
mod backup;
mod badnet;
mod calendar;
mod cards;
mod cases;
mod crashpoints;
mod demo;
mod events;
mod group_commit;
mod hardening;
mod items;
mod photos;
mod post_lists;
mod publications;
mod records;
mod reviews;
mod roster;
mod s3;
mod scaleout;
mod sync;
mod tokens;
mod web;
