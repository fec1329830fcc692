//! `jishi-load seed`: a county, its townships and villages, and N cadres
//! sharing one password, written straight into the server's store before the
//! server starts. Users go through `backend::admin::create_user`, the path
//! of `jishi admin create-user`, so they are validated and hashed the same
//! way; the hashing (argon2, deliberately slow) runs a few at a time. A
//! supervisor over the county (`sup00001`) watches for `run --watch`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use backend::admin::{self, UserSpec};
use backend::storage::Store;
use jishi_world::content::person_name;
use jishi_world::county::village_name;
use sync_core::validate::ValidationError;
use sync_core::UserId;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The login and id of cadre `i` (0-based): `cadre00001`, …
pub fn cadre_login(i: usize) -> String {
    format!("cadre{:05}", i + 1)
}

/// The user id of cadre `i` (0-based), the same as its login.
pub fn cadre_user(i: usize) -> Result<UserId, ValidationError> {
    UserId::parse(&cadre_login(i))
}

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub cadres: usize,
    pub townships: usize,
    pub villages_per_township: usize,
    pub password: String,
}

pub async fn seed(o: SeedOptions) -> anyhow::Result<()> {
    std::fs::create_dir_all(&o.data_dir)
        .with_context(|| format!("cannot create {}", o.data_dir.display()))?;
    let store = Store::open(o.database_url.as_deref(), &o.data_dir)
        .await
        .context("cannot open the database")?;
    let started = Instant::now();

    admin::create_unit(&store, "c1", None, "青山县", "county").await?;
    let mut villages = Vec::new();
    for t in 0..o.townships.max(1) {
        let township = format!("t{:02}", t + 1);
        admin::create_unit(
            &store,
            &township,
            Some("c1"),
            &format!("第{}镇", t + 1),
            "township",
        )
        .await?;
        for v in 0..o.villages_per_township.max(1) {
            let village = format!("{township}-v{:02}", v + 1);
            let name = village_name(villages.len());
            admin::create_unit(&store, &village, Some(&township), &name, "village").await?;
            villages.push(village);
        }
    }

    // Hashing is CPU-bound on blocking threads: more in flight than cores
    // would only queue.
    let parallel = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let slots = Arc::new(Semaphore::new(parallel));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for i in 0..o.cadres {
        let store = store.clone();
        let slots = slots.clone();
        let done = done.clone();
        let login = cadre_login(i);
        let spec = UserSpec {
            id: login.clone(),
            login,
            name: person_name(i),
            phone: String::new(),
            post: "驻村干部".into(),
            duties: "联系村组、入户走访、四夜工作".into(),
            unit: villages[i % villages.len()].clone(),
            role: "cadre".into(),
            scope: None,
            password: o.password.clone(),
        };
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await?;
            admin::create_user(&store, spec).await?;
            done.fetch_add(1, Ordering::Relaxed);
            Ok::<_, anyhow::Error>(())
        });
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tokio::select! {
            next = tasks.join_next() => match next {
                Some(result) => result.context("seeding task panicked")??,
                None => break,
            },
            _ = tick.tick() => eprintln!(
                "[seed {:>5.1}s] users {}/{}",
                started.elapsed().as_secs_f64(),
                done.load(Ordering::Relaxed),
                o.cadres
            ),
        }
    }
    // The county's supervisor: `run --watch` holds its event stream open.
    admin::create_user(
        &store,
        UserSpec {
            id: crate::live::WATCHER_LOGIN.into(),
            login: crate::live::WATCHER_LOGIN.into(),
            name: "县督查员".into(),
            phone: String::new(),
            post: "县委督查室".into(),
            duties: "督查全县干部纪实".into(),
            unit: "c1".into(),
            role: "supervisor".into(),
            scope: Some("c1".into()),
            password: o.password.clone(),
        },
    )
    .await?;
    store.close().await;
    eprintln!(
        "seeded 1 county, {} townships, {} villages, {} cadres in {:.1}s ({})",
        o.townships.max(1),
        villages.len(),
        o.cadres,
        started.elapsed().as_secs_f64(),
        store.dialect()
    );
    Ok(())
}
