//! The seed county every harness starts from: county c1 (青山县) >
//! township t1 (石门镇) > village v1 (青山村); cadre u1 in v1, supervisor
//! s1 over c1; everyone's password [`PASSWORD`]. Written here once: the
//! in-process harnesses seed it through `backend::admin` ([`seed`]), the
//! process tests through `jishi admin` from [`UNITS`] and [`users`].

use backend::admin::{self, UserSpec};
use backend::storage::Store;

use crate::users::UserBuilder;

/// Every seeded user's password.
pub const PASSWORD: &str = "correct-horse-9";

pub const COUNTY: &str = "c1";
pub const TOWNSHIP: &str = "t1";
pub const VILLAGE: &str = "v1";
/// The cadre, in the village.
pub const CADRE: &str = "u1";
/// The supervisor, over the county.
pub const SUPERVISOR: &str = "s1";

/// A unit: id, parent, name, level.
pub type Unit = (
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
);

/// The units, parents first.
pub const UNITS: [Unit; 3] = [
    (COUNTY, None, "青山县", "county"),
    (TOWNSHIP, Some(COUNTY), "石门镇", "township"),
    (VILLAGE, Some(TOWNSHIP), "青山村", "village"),
];

/// The users: the cadre and the supervisor.
pub fn users() -> Vec<UserSpec> {
    vec![
        UserBuilder::cadre(CADRE).unit(VILLAGE).build(),
        UserBuilder::supervisor(SUPERVISOR)
            .unit(COUNTY)
            .scope(COUNTY)
            .build(),
    ]
}

/// Write the county into `store`.
pub async fn seed(store: &Store) {
    for (id, parent, name, level) in UNITS {
        admin::create_unit(store, id, parent, name, level)
            .await
            .unwrap();
    }
    for user in users() {
        add_user(store, user).await;
    }
}

/// Create one more user (see [`UserBuilder`]).
pub async fn add_user(store: &Store, user: UserSpec) {
    let id = user.id.clone();
    admin::create_user(store, user)
        .await
        .unwrap_or_else(|e| panic!("create user {id}: {e}"));
}
