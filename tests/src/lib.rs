//! What the tests of every crate share: a real server on a loopback port
//! ([`TestApp`] in process, [`BlockingApp`] on a thread of its own for the
//! phone API's blocking client), the seed county ([`county`]), users
//! ([`UserBuilder`]), a phone's login, sync and photo upload over HTTP
//! ([`phone`], [`upload`]), photos as cameras, galleries and hostile
//! clients make them ([`photo`], [`camera`]), and county rosters as Excel
//! workbooks ([`roster`]). The end-to-end scenarios
//! themselves are in `tests/it`.

// Test support: a failed unwrap here is a failed test, said where it
// happened.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: an unwrap is the calling test's assertion"
)]

pub mod app;
pub mod blocking;
pub mod camera;
pub mod county;
pub mod phone;
pub mod photo;
pub mod roster;
pub mod upload;
pub mod users;

pub use app::{fresh_postgres_url, Db, TestApp};
pub use blocking::BlockingApp;
pub use county::PASSWORD;
pub use phone::Session;
pub use users::UserBuilder;
