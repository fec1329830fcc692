//! `jishi-load`: the server sync benchmark of issue 3. `seed` fills a
//! database with a county, townships, villages and N cadres before the
//! server starts; `run` drives a running `jishi serve` the way N phones
//! would after a week offline, and reports documents per second, round
//! trips, bytes per document, sync request latency and the server's memory.
//! `load/run-bench.sh` runs both against SQLite and PostgreSQL. `export`
//! writes the documents `run` syncs to files, for the JS automerge-repo peer
//! in `load/peer/` (issue 7). `county` times the weekly publications of a
//! whole county (25,000 cadres) stored through the server's sync commit.

mod ceiling;
mod county;
mod export;
mod live;
mod photos;
mod process;
mod report;
mod run;
mod seed;
mod week;

use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::county::CountyOptions;
use crate::export::ExportOptions;
use crate::run::RunOptions;
use crate::seed::SeedOptions;
use crate::week::WeekShape;

#[derive(Parser)]
#[command(
    name = "jishi-load",
    about = "Load generator for the Jishi sync server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create units and N cadres in a fresh database (before `jishi serve`).
    Seed {
        /// The server's data folder (SQLite database unless --database-url).
        #[arg(long)]
        data_dir: PathBuf,
        /// `postgres://…` for PostgreSQL.
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 1000)]
        cadres: usize,
        #[arg(long, default_value_t = 10)]
        townships: usize,
        #[arg(long, default_value_t = 10)]
        villages_per_township: usize,
        /// The password every seeded cadre gets.
        #[arg(long, env = "JISHI_LOAD_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Log N cadres in, write a week offline on each phone, sync them all.
    Run {
        /// The server, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        /// Name of this run in the report (e.g. the database).
        #[arg(long, default_value = "run")]
        label: String,
        /// Cadres to drive: cadre00001 … as `seed` made them.
        #[arg(long, default_value_t = 1000)]
        cadres: usize,
        #[arg(long, env = "JISHI_LOAD_PASSWORD", hide_env_values = true)]
        password: String,
        /// Phones syncing at once.
        #[arg(long, default_value_t = 200)]
        concurrency: usize,
        /// Logins at once. Each costs the server an argon2 check holding
        /// 19 MiB; more at once than it has cores only queues them, and
        /// inflates its memory (see BENCHMARKS.md).
        #[arg(long, default_value_t = 2)]
        login_concurrency: usize,
        #[command(flatten)]
        week: WeekArgs,
        /// The server's process id, to report its memory and CPU.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Also write the report as JSON to this file (`-` for stdout).
        #[arg(long)]
        json: Option<PathBuf>,
        /// A supervisor (`sup00001`, made by `seed`) watches the whole
        /// county's event stream during the sync; report how soon after
        /// each phone's acknowledgement it heard of each document.
        #[arg(long)]
        watch: bool,
        /// Make each phone's first request inside the timed sync phase, on
        /// the load tool's share of the cores (by default phones prepare it
        /// before the clock starts, as real phones do on their own CPUs).
        #[arg(long)]
        unprepared: bool,
        /// Photos each phone takes in its week (attached to its diary
        /// entries) and uploads after its documents, one at a time through
        /// the resumable upload. The phones hold them in memory.
        #[arg(long, default_value_t = 0)]
        photos: usize,
        /// Long edge of those photos in pixels (the app's is 1,600).
        #[arg(long, default_value_t = 1600)]
        photo_edge: u32,
        /// Bytes per upload request (the app sends 64 KiB).
        #[arg(long, default_value_t = sync_core::upload::DEFAULT_CHUNK)]
        photo_chunk: u64,
    },
    /// Seed a whole county (N cadres, each with a week stored through the
    /// server's sync commit) into a fresh store, then time the weekly
    /// publications of every township.
    County {
        /// A fresh data folder (SQLite database unless --database-url).
        #[arg(long)]
        data_dir: PathBuf,
        /// `postgres://…` for PostgreSQL (an empty database).
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 25_000)]
        cadres: usize,
        #[arg(long, default_value_t = 110)]
        townships: usize,
        #[arg(long, default_value_t = 3)]
        villages_per_township: usize,
        #[command(flatten)]
        week: WeekArgs,
        /// Also write the report as JSON to this file (`-` for stdout).
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Write the documents `run` would sync for cadres 1..N as Automerge
    /// saved bytes, one file per document, for another sync stack.
    Export {
        /// Output folder: OUT/manifest.json, OUT/cadre00001/*.automerge, …
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1000)]
        cadres: usize,
        #[command(flatten)]
        week: WeekArgs,
    },
}

/// What a week offline looks like: the same flags for `run` and `export`.
#[derive(Args)]
struct WeekArgs {
    /// Days written offline.
    #[arg(long, default_value_t = 7)]
    days: usize,
    /// Entries in each day's diary.
    #[arg(long, default_value_t = 8)]
    entries: usize,
    /// The first day written.
    #[arg(long, default_value = "2026-11-16")]
    first_day: NaiveDate,
}

impl WeekArgs {
    fn shape(&self) -> WeekShape {
        WeekShape {
            first_day: self.first_day,
            days: self.days,
            entries_per_diary: self.entries,
        }
    }
}

/// The server's allocator (see backend's `main.rs`): the phones' share of
/// the machine's cores in a run is smaller with it, as the server's is.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Seed {
            data_dir,
            database_url,
            cadres,
            townships,
            villages_per_township,
            password,
        } => {
            seed::seed(SeedOptions {
                data_dir,
                database_url,
                cadres,
                townships,
                villages_per_township,
                password,
            })
            .await
        }
        Command::Run {
            url,
            label,
            cadres,
            password,
            concurrency,
            login_concurrency,
            week,
            server_pid,
            json,
            watch,
            unprepared,
            photos,
            photo_edge,
            photo_chunk,
        } => {
            let report = run::run(RunOptions {
                url,
                label,
                cadres,
                password,
                concurrency,
                login_concurrency,
                shape: week.shape(),
                server_pid,
                watch,
                unprepared,
                photos,
                photo_edge,
                photo_chunk,
            })
            .await?;
            print!("{}", report.text());
            write_json(json, &report.json())
        }
        Command::County {
            data_dir,
            database_url,
            cadres,
            townships,
            villages_per_township,
            week,
            json,
        } => {
            let report = county::county(CountyOptions {
                data_dir,
                database_url,
                cadres,
                townships,
                villages_per_township,
                shape: week.shape(),
            })
            .await?;
            print!("{}", report.text());
            write_json(json, &report.json())
        }
        Command::Export { out, cadres, week } => export::export(ExportOptions {
            out,
            cadres,
            shape: week.shape(),
        }),
    }
}

/// Write a report's JSON to `path` (`-`: stdout), if asked for.
fn write_json(path: Option<PathBuf>, json: &serde_json::Value) -> anyhow::Result<()> {
    let Some(path) = path else {
        return Ok(());
    };
    let text = serde_json::to_string_pretty(json)?;
    if path.as_os_str() == "-" {
        println!("{text}");
    } else {
        std::fs::write(&path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
