//! `jishi-load county`: the whole county's Monday (issue 7, goal 5). Seeds
//! a county of N cadres (default 25,000) in townships and villages into a
//! fresh store, writes each cadre's week (the same generator as `run`: 7
//! diaries and 7 night logs) and stores it through the server's own sync
//! commit (`Store::commit_sync`: documents, change log, read models), then
//! makes every township's weekly publication the way the Monday task does
//! (`publications::publish_week`, one unit after another) and times that.
//!
//! The documents do not travel over HTTP here: `run` measures sync; this
//! measures the publications over a county-sized database. Every cadre
//! shares one password hash (argon2 once, not 25,000 times). Progress goes
//! to stderr once a second.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use backend::publications::{publish_week, week::IsoWeek};
use backend::storage::{AcceptedDoc, NewUser, Store, SyncCommit};
use sync_core::memory::MemoryReplica;
use sync_core::{Actor, Role};
use tokio::sync::mpsc;

use crate::process;
use crate::seed::{cadre_login, cadre_user};
use crate::week::{write_cadre_week, WeekShape};

#[derive(Debug, Clone)]
pub struct CountyOptions {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub cadres: usize,
    pub townships: usize,
    pub villages_per_township: usize,
    pub shape: WeekShape,
}

/// What the run measured.
#[derive(Debug, Clone)]
pub struct CountyReport {
    pub dialect: &'static str,
    pub units: usize,
    pub cadres: usize,
    pub documents: u64,
    pub seed_seconds: f64,
    pub publish_seconds: f64,
    /// Seconds per unit's publication, sorted.
    pub per_unit: Vec<f64>,
    pub publication_bytes: u64,
    pub peak_rss: Option<u64>,
    pub cpu_seconds_publishing: Option<f64>,
}

impl CountyReport {
    fn quantile(&self, q: f64) -> f64 {
        if self.per_unit.is_empty() {
            return 0.0;
        }
        let i = ((self.per_unit.len() - 1) as f64 * q).round() as usize;
        self.per_unit[i]
    }

    pub fn text(&self) -> String {
        let mib = |b: Option<u64>| {
            b.map(|b| format!("{:.0} MiB", b as f64 / 1048576.0))
                .unwrap_or_else(|| "n/a".into())
        };
        format!(
            "county ({}): {} cadres, {} documents, {} publishing units\n\
             seeding (users, weeks written and committed): {:.1} s\n\
             weekly publications of every unit: {:.2} s (goal: under 60 s)\n\
             one unit's publication: p50 {:.3} s, p95 {:.3} s, max {:.3} s\n\
             publications stored: {:.1} MiB of JSON\n\
             CPU while publishing: {}\n\
             peak RSS of this process (store and publisher in one): {}\n",
            self.dialect,
            self.cadres,
            self.documents,
            self.units,
            self.seed_seconds,
            self.publish_seconds,
            self.quantile(0.5),
            self.quantile(0.95),
            self.quantile(1.0),
            self.publication_bytes as f64 / 1048576.0,
            self.cpu_seconds_publishing
                .map(|s| format!("{s:.1} s"))
                .unwrap_or_else(|| "n/a".into()),
            mib(self.peak_rss),
        )
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "database": self.dialect,
            "units": self.units,
            "cadres": self.cadres,
            "documents": self.documents,
            "seed_seconds": self.seed_seconds,
            "publish_seconds": self.publish_seconds,
            "unit_seconds_p50": self.quantile(0.5),
            "unit_seconds_p95": self.quantile(0.95),
            "unit_seconds_max": self.quantile(1.0),
            "publication_bytes": self.publication_bytes,
            "cpu_seconds_publishing": self.cpu_seconds_publishing,
            "peak_rss_bytes": self.peak_rss,
            "host": process::host(),
        })
    }
}

/// Cadre `i`'s week as the commit the server would store for it.
fn cadre_commit(i: usize, shape: WeekShape) -> anyhow::Result<SyncCommit> {
    let user = cadre_user(i)?;
    let mut phone = MemoryReplica::new(Actor::random());
    write_cadre_week(&mut phone, &user, i, shape)?;
    let mut commit = SyncCommit::default();
    for id in phone.doc_ids() {
        let Some(mut doc) = phone.document(&id)? else {
            continue;
        };
        commit.docs.push(AcceptedDoc::new_document(&mut doc)?);
    }
    Ok(commit)
}

pub async fn county(o: CountyOptions) -> anyhow::Result<CountyReport> {
    std::fs::create_dir_all(&o.data_dir)
        .with_context(|| format!("cannot create {}", o.data_dir.display()))?;
    let store = Store::open(o.database_url.as_deref(), &o.data_dir)
        .await
        .context("cannot open the database")?;
    if store.document_count().await? > 0 {
        anyhow::bail!(
            "{} already holds documents: give `county` a fresh data folder (or database)",
            o.data_dir.display()
        );
    }
    let started = Instant::now();

    // Units: the county, its townships (which publish), their villages.
    backend::admin::create_unit(&store, "c1", None, "青山县", "county").await?;
    let mut villages = Vec::new();
    for t in 0..o.townships.max(1) {
        let township = format!("t{:03}", t + 1);
        let name = format!("第{}镇", t + 1);
        backend::admin::create_unit(&store, &township, Some("c1"), &name, "township").await?;
        for v in 0..o.villages_per_township.max(1) {
            let village = format!("{township}-v{:02}", v + 1);
            let name = jishi_world::county::village_name(villages.len());
            backend::admin::create_unit(&store, &village, Some(&township), &name, "village")
                .await?;
            villages.push(village);
        }
    }

    // One argon2 hash for everyone: the password is the same anyway.
    let password_hash = backend::auth::hash_password("county-load-password".into())
        .await
        .map_err(|e| anyhow::anyhow!("hashing the password: {e:?}"))?;

    // Weeks are written on every core; one task commits them in order.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let (tx, mut rx) = mpsc::channel::<anyhow::Result<(usize, SyncCommit)>>(workers * 4);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..workers {
        let tx = tx.clone();
        let next = next.clone();
        let (cadres, shape) = (o.cadres, o.shape);
        tokio::task::spawn_blocking(move || loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if i >= cadres {
                break;
            }
            let item = cadre_commit(i, shape).map(|c| (i, c));
            if tx.blocking_send(item).is_err() {
                break;
            }
        });
    }
    drop(tx);

    let mut committed = 0usize;
    let mut documents = 0u64;
    let mut last = Instant::now();
    while let Some(item) = rx.recv().await {
        let (i, commit) = item.context("writing a cadre's week")?;
        let user = cadre_user(i)?;
        store
            .create_user(&NewUser {
                id: user.clone(),
                login: cadre_login(i),
                name: jishi_world::content::person_name(i),
                phone: String::new(),
                post: "驻村干部".into(),
                duties: "联系村组、入户走访、四夜工作".into(),
                unit_id: villages[i % villages.len()].clone(),
                role: Role::Cadre,
                scope_unit_id: None,
                password_hash: password_hash.clone(),
            })
            .await?;
        let device = format!("phone-{}", cadre_login(i));
        store
            .register_device(&device, user.as_str(), "load phone", &[])
            .await?;
        let count = commit.docs.len() as u64;
        store.commit_sync(user.as_str(), &device, commit).await?;
        committed += 1;
        documents += count;
        if last.elapsed() >= Duration::from_secs(1) {
            last = Instant::now();
            let s = started.elapsed().as_secs_f64();
            eprintln!(
                "[county {s:>6.1}s] cadres {committed}/{} committed, {documents} documents ({:.0} docs/s)",
                o.cadres,
                documents as f64 / s
            );
        }
    }
    if committed != o.cadres {
        anyhow::bail!("only {committed} of {} cadres were written", o.cadres);
    }
    let seed_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "seeded {} cadres and {documents} documents in {seed_seconds:.1} s; making the publications",
        o.cadres
    );

    // The week the documents are in; the Monday task makes last week's.
    let week = IsoWeek::of(o.shape.first_day);
    let units = store.publishing_units().await?;
    let me = std::process::id();
    let cpu_before = process::cpu_seconds(me);
    let publishing = Instant::now();
    let mut per_unit = Vec::with_capacity(units.len());
    let mut publication_bytes = 0u64;
    for (n, unit) in units.iter().enumerate() {
        let one = Instant::now();
        let (row, made) =
            publish_week(&store, unit, week, &backend::calendar::Calendar::weekdays())
                .await
                .with_context(|| format!("publishing {unit} {week}"))?;
        anyhow::ensure!(made, "{unit}'s publication of {week} existed already");
        per_unit.push(one.elapsed().as_secs_f64());
        publication_bytes += row.content.len() as u64;
        if last.elapsed() >= Duration::from_secs(1) {
            last = Instant::now();
            eprintln!(
                "[publish {:>6.1}s] units {}/{}",
                publishing.elapsed().as_secs_f64(),
                n + 1,
                units.len()
            );
        }
    }
    let publish_seconds = publishing.elapsed().as_secs_f64();
    let cpu_seconds_publishing = match (cpu_before, process::cpu_seconds(me)) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    per_unit.sort_by(f64::total_cmp);
    let dialect = store.dialect();
    store.close().await;
    Ok(CountyReport {
        dialect,
        units: units.len(),
        cadres: o.cadres,
        documents,
        seed_seconds,
        publish_seconds,
        per_unit,
        publication_bytes,
        peak_rss: process::peak_rss(me),
        cpu_seconds_publishing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small county end to end: every cadre's 14 documents are stored,
    /// every township publishes, and its publication covers its cadres'
    /// whole week (7 days filed, 8 entries a day, one night activity).
    fn small(dir: &std::path::Path, cadres: usize, townships: usize) -> CountyOptions {
        CountyOptions {
            data_dir: dir.to_path_buf(),
            database_url: None,
            cadres,
            townships,
            villages_per_township: 2,
            shape: WeekShape {
                first_day: chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
                days: 7,
                entries_per_diary: 8,
            },
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_county_is_seeded_and_every_township_publishes() {
        let dir = tempfile::tempdir().unwrap();
        let report = county(small(dir.path(), 6, 3)).await.unwrap();
        assert_eq!(report.documents, 6 * 14);
        assert_eq!(report.units, 3);
        assert_eq!(report.per_unit.len(), 3);
        assert!(report
            .text()
            .contains("6 cadres, 84 documents, 3 publishing units"));

        let store = Store::open(None, dir.path()).await.unwrap();
        for unit in ["t001", "t002", "t003"] {
            let row = store.publication(unit, "2026-W47").await.unwrap().unwrap();
            let p = backend::publications::parse(&row).unwrap();
            assert_eq!(p.totals.cadres, 2, "{unit}: two cadres, one per village");
            assert_eq!(p.totals.records_filed, 2 * 7);
            assert_eq!(p.totals.entries, 2 * 7 * 8);
            assert_eq!(p.totals.night_activities, 2 * 7);
            assert_eq!(p.totals.missing_days, 0);
        }
        store.close().await;

        // A second run on the same store is refused, not mixed in.
        let again = county(small(dir.path(), 1, 1)).await;
        assert!(again.unwrap_err().to_string().contains("fresh data folder"));
    }
}
