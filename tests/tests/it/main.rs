//! End-to-end tests: a real `jishi` server on a port, real SQLite and
//! PostgreSQL, phones with real replicas syncing over HTTP.

mod auth;
mod authz;
mod backup;
mod badnet;
mod crashpoints;
mod demo;
mod events;
mod group_commit;
mod hardening;
mod harness;
mod photos;
mod publications;
mod records;
mod reviews;
mod s3;
mod scaleout;
mod sync;
mod tokens;
mod web;
