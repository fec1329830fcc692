//! The Jishi server: accounts and devices, storage on SQLite or PostgreSQL,
//! the sync endpoint with write authorization, and the read API.

pub mod access;
pub mod admin;
pub mod app;
pub mod auth;
pub mod backup;
pub mod calendar;
pub mod cards;
pub mod cases;
pub mod china;
pub mod client_addr;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
pub mod events;
pub mod invisible;
pub mod items;
pub mod jobs;
pub mod limits;
pub mod login_name;
pub mod metrics;
pub mod photos;
pub mod policy;
pub mod post_lists;
pub mod problem;
pub mod publications;
pub mod records;
pub mod reviews;
pub mod roster;
pub mod routes;
pub mod security_headers;
pub mod serve;
pub mod state;
pub mod storage;
pub mod sync;
pub mod web;

pub use app::{router, Application};
pub use config::Config;
pub use state::AppState;
