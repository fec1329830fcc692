//! The Jishi server: accounts and devices, storage on SQLite or PostgreSQL,
//! the sync endpoint with write authorization, and the read API.

pub mod admin;
pub mod app;
pub mod auth;
pub mod backup;
pub mod blobs;
pub mod budget;
pub mod client_addr;
pub mod config;
pub mod demo;
pub mod error;
pub mod fairness;
pub mod invisible;
pub mod login_limits;
pub mod login_name;
pub mod metrics;
pub mod photos;
pub mod policy;
pub mod publications;
pub mod reviews;
pub mod routes;
pub mod security_headers;
pub mod serve;
pub mod storage;
pub mod sync;
pub mod web;

pub use app::{router, AppState, Application};
pub use config::Config;
