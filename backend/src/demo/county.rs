//! The demo county's units and people (planned by `jishi_world::county`)
//! created in the store through `admin::create_unit` /
//! `admin::create_user`, the path of `jishi admin`.

use std::sync::Arc;

use anyhow::Context;
use jishi_world::county::{County, Person, COUNTY_ID, COUNTY_NAME};
use sync_core::Role;
use tokio::task::JoinSet;

use crate::admin::{self, UserSpec};
use crate::storage::Store;

/// Create `county`'s units and users in `store`; `on_user` after each user.
pub async fn create(
    store: &Store,
    county: &County,
    password: &str,
    on_user: impl Fn(usize, usize),
) -> anyhow::Result<()> {
    let unit = |id: &str, parent: Option<&str>, name: &str, level: &str| {
        let (id, parent, name, level) = (
            id.to_owned(),
            parent.map(str::to_owned),
            name.to_owned(),
            level.to_owned(),
        );
        async move {
            admin::create_unit(store, &id, parent.as_deref(), &name, &level)
                .await
                .with_context(|| format!("creating the unit {id} ({name})"))
        }
    };
    unit(COUNTY_ID, None, COUNTY_NAME, "county").await?;
    // How the notices are signed: the county's supervision office for
    // every township, each township its own issuer and phone.
    admin::set_notice_settings(
        store,
        COUNTY_ID,
        admin::NoticeUpdate {
            supervision_office: Some(format!("{COUNTY_NAME}纪委监委")),
            supervision_phone: Some("0736-12388".into()),
            ..Default::default()
        },
    )
    .await
    .context("setting the county's notice settings")?;
    for (i, t) in county.townships.iter().enumerate() {
        unit(&t.id, Some(COUNTY_ID), &t.name, "township").await?;
        admin::set_notice_settings(
            store,
            &t.id,
            admin::NoticeUpdate {
                issuer: Some(format!("中共{}委员会", t.name)),
                phone: Some(format!("0736-72{:05}", 10_000 + i)),
                address: Some(format!("{}人民政府一楼党政办", t.name)),
                ..Default::default()
            },
        )
        .await
        .with_context(|| format!("setting {}'s notice settings", t.id))?;
        for (v, name) in &t.villages {
            unit(v, Some(&t.id), name, "village").await?;
        }
    }
    // Password hashing is slow on purpose: hash several at once (the
    // server limits it to the number of cores).
    let people: Vec<Person> = std::iter::once(&county.supervisor)
        .chain(&county.leaders)
        .chain(&county.cadres)
        .cloned()
        .collect();
    let total = people.len();
    let password: Arc<str> = password.into();
    let mut tasks = JoinSet::new();
    for p in people {
        let (store, password) = (store.clone(), password.clone());
        tasks.spawn(async move {
            let scope =
                matches!(p.role, Role::Leader | Role::Supervisor).then(|| p.unit_id.clone());
            let spec = UserSpec {
                id: p.id.clone(),
                login: p.login.clone(),
                name: p.name.clone(),
                phone: String::new(),
                post: p.post.clone(),
                duties: String::new(),
                unit: p.unit_id.clone(),
                role: p.role.as_str().to_owned(),
                scope,
                password: password.to_string(),
            };
            admin::create_user(&store, spec)
                .await
                .with_context(|| format!("creating the user {} ({})", p.id, p.name))
        });
    }
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        joined.context("a user-creating task failed")??;
        done += 1;
        on_user(done, total);
    }
    Ok(())
}
