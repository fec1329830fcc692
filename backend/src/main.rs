//! `jishi`: run the server, migrate, administer.

use std::path::PathBuf;

use anyhow::Context;
use backend::admin::{self, UserSpec};
use backend::storage::Store;
use backend::{Application, Config};
use clap::{Args, Parser, Subcommand};

/// jemalloc instead of glibc's malloc: under the Monday load glibc's
/// allocator was 14% of the server's CPU, with its arena locks contended
/// between the async workers, the merge threads and SQLite's threads
/// (BENCHMARKS.md, issue 7, fifth round). mimalloc saved as much CPU but
/// took the peak memory of that run from 64 to 166 MiB; jemalloc to 90.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "jishi",
    version,
    about = "Jishi (纪实): offline-first work records for village and township officials"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes. Each also reads `JISHI_*` (see README).
#[derive(Args)]
struct Common {
    /// TOML config file.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data folder: SQLite database, blobs, signing key [default: ./jishi-data].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// `postgres://…` for PostgreSQL; default is SQLite in the data folder.
    #[arg(long, global = true)]
    database_url: Option<String>,
}

// Parsed once at start; the size of the admin variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Units, users, passwords, devices.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// A demo anyone can run: a county with about 50 cadres, two weeks of
    /// work synced from simulated phones, the publications and reviews;
    /// then serves them and prints the URLs and logins [data folder
    /// default: ./jishi-demo].
    Demo {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// How many cadres (besides the township leaders and the supervisor).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=2000))]
        cadres: u16,
        /// Remove a previous demo from the data folder and make a new one.
        #[arg(long)]
        reset: bool,
    },
    /// Copy the database, the photos and the signing key into a new folder,
    /// consistently, while the server keeps serving (SQLite: a copy as of
    /// one commit; PostgreSQL: `pg_dump`, which must be installed).
    Backup {
        /// A new or empty folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into an empty data folder (or an empty PostgreSQL
    /// database with --database-url). Phones that synced after the backup
    /// send what it lacks at their next sync.
    Restore {
        /// The folder `jishi backup` made.
        #[arg(long)]
        from: PathBuf,
    },
    /// Make the weekly publications (周公示) of a week; a publication that
    /// exists already is kept as it is.
    PublishWeek {
        /// ISO week, e.g. 2026-W47.
        #[arg(long)]
        week: String,
        /// One unit; every township and department when omitted.
        #[arg(long)]
        unit: Option<String>,
    },
    /// Make the month's notices: `--part start`, the commitments (月初晒承诺,
    /// due on the month's first workday), or `--part end`, the month-end
    /// notice with the 销号 and the review results (due after the review
    /// deadline); a notice that exists already is kept as it is.
    PublishMonth {
        /// The month, e.g. 2026-11.
        #[arg(long)]
        month: String,
        /// `start` or `end`.
        #[arg(long)]
        part: String,
        /// One unit; every township and department when omitted.
        #[arg(long)]
        unit: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a unit (county, township, department, village, office).
    CreateUnit {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        level: String,
        #[arg(long)]
        parent: Option<String>,
    },
    /// Create a user. The password comes from JISHI_NEW_PASSWORD or --password.
    CreateUser {
        #[arg(long)]
        id: String,
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        unit: String,
        /// cadre, leader, supervisor or admin.
        #[arg(long)]
        role: String,
        /// For leaders, supervisors and admins: the unit subtree they oversee.
        #[arg(long)]
        scope: Option<String>,
        #[arg(long, default_value = "")]
        phone: String,
        /// 岗位
        #[arg(long, default_value = "")]
        post: String,
        /// 职责
        #[arg(long, default_value = "")]
        duties: String,
        #[arg(long, env = "JISHI_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Set a new password.
    ResetPassword {
        #[arg(long)]
        user: String,
        #[arg(long, env = "JISHI_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Revoke a device: its tokens stop working at once.
    RevokeDevice {
        #[arg(long)]
        device: String,
    },
    /// Disable a user: every device loses access at once.
    DisableUser {
        #[arg(long)]
        user: String,
    },
    /// Name who reviews a user's month instead of the unit tree's choice.
    SetReviewer {
        #[arg(long)]
        user: String,
        #[arg(long)]
        reviewer: String,
    },
    /// Put users in the group they are ranked in each month (e.g. 驻村干部
    /// apart from 机关干部); an empty --group returns them to the group of
    /// their role (班子成员 or 一般干部).
    SetRankGroup {
        /// One or more user ids, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        users: Vec<String>,
        #[arg(long)]
        group: String,
    },
    /// Set how a unit signs its notices (落款, phones, 公示期). A field not
    /// given is kept; an empty one is cleared (the unit above's applies).
    SetUnitNotice {
        #[arg(long)]
        unit: String,
        /// The issuing body, e.g. 中共石门镇委员会.
        #[arg(long)]
        issuer: Option<String>,
        /// Where the public calls the unit.
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        address: Option<String>,
        /// e.g. 县纪委监委.
        #[arg(long)]
        supervision_office: Option<String>,
        /// 监督电话, e.g. 0736-12388.
        #[arg(long)]
        supervision_phone: Option<String>,
        /// 公示期 in days (0 clears it: the unit above's, or 7).
        #[arg(long)]
        display_days: Option<i64>,
        /// Who publishes the weekly notice: `auto` (on Monday, by itself),
        /// `leader` (when a leader of the unit approves it in the web
        /// pages), `inherit` (the unit above's; automatic if none).
        #[arg(long)]
        approval: Option<String>,
    },
    ListUnits,
    ListUsers,
    ListDevices,
    /// Import the county roster from an .xlsx (sheets 单位 and 人员, see
    /// `import-template`): units by code and people by login are created
    /// or changed as the file says; nothing else is touched, nobody's
    /// password is changed. Prints what it will do first; a file with any
    /// bad row is refused whole. New people's initial passwords are printed
    /// once.
    Import {
        /// The roster workbook.
        #[arg(long)]
        xlsx: PathBuf,
        /// Only show what importing would do.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the roster template (.xlsx) that `import` reads.
    ImportTemplate {
        /// A new file.
        #[arg(long)]
        out: PathBuf,
    },
    /// The posts' 权力清单 (powers) and 责任清单 (responsibilities): save a
    /// new version, or show the lists in force.
    #[command(subcommand)]
    PostList(PostListCommand),
    /// The county calendar: holidays (放假) and make-up working days
    /// (调休上班) that every count of working days uses (督办 时限,
    /// the weekly filing rate, the month's first workday).
    #[command(subcommand)]
    Calendar(CalendarCommand),
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Set the days from --from to --to (one day without --to) to a kind:
    /// `holiday` (a day off), `workday` (a weekend day worked), or
    /// `normal` (back to what the weekday says). Every change is kept.
    Set {
        /// The first day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// The last day (inclusive); a change covers at most 31 days.
        #[arg(long, default_value = "")]
        to: String,
        /// The county (a top unit's id); may be left out when there is one.
        #[arg(long)]
        county: Option<String>,
        /// holiday, workday or normal.
        #[arg(long)]
        kind: String,
        /// What the days are, e.g. 国庆节 or 国庆节调休 (not for normal).
        #[arg(long, default_value = "")]
        name: String,
        /// The admin making the change (a user id), recorded as who made it.
        #[arg(long)]
        by: Option<String>,
    },
    /// Show the holidays and make-up working days of a year, and the
    /// latest changes.
    Show {
        /// The year (this year if left out).
        #[arg(long)]
        year: Option<i32>,
        /// The county (a top unit's id); may be left out when there is one.
        #[arg(long)]
        county: Option<String>,
    },
}

#[derive(Subcommand)]
enum PostListCommand {
    /// Save a new version of a post's list from a text file (UTF-8), one
    /// entry per line: `事项｜依据｜说明` (title｜basis｜detail), the fields
    /// separated by the full-width bar ｜, the ASCII bar | or a tab (cells
    /// copied from a spreadsheet); basis and detail may be left out. Blank
    /// lines are skipped, a leading number (`1.`, `2、`) is dropped. Each
    /// save is a new version (1, 2, 3 …); earlier ones are kept. An empty
    /// file withdraws the list and needs --note with the reason.
    Set {
        /// The unit's code (id).
        #[arg(long)]
        unit: String,
        /// The post (职务), as the unit's people's 职务 says it, e.g. 党委书记.
        #[arg(long)]
        post: String,
        /// `power` (权力清单) or `duty` (责任清单).
        #[arg(long)]
        kind: String,
        /// The entries, one per line; `-` reads standard input.
        #[arg(long)]
        file: PathBuf,
        /// Why this version (shown in its history).
        #[arg(long, default_value = "")]
        note: String,
        /// The admin saving it (a user id), recorded as who saved it.
        #[arg(long)]
        by: Option<String>,
    },
    /// Show the lists in force of a unit (of one post with --post): each
    /// with its version and date, entries as `set` reads them.
    Show {
        #[arg(long)]
        unit: String,
        #[arg(long)]
        post: Option<String>,
    },
}

fn load_config(common: &Common, listen: Option<std::net::SocketAddr>) -> anyhow::Result<Config> {
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("JISHI_"))
        .collect();
    for name in Config::unknown_variables(env.clone()) {
        eprintln!(
            "jishi: warning: {name} is not a setting of this server and is ignored; \
             the settings are listed in README.md (Configuration)"
        );
    }
    let mut config = Config::load(common.config.as_deref(), env)?;
    if let Some(dir) = &common.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(url) = &common.database_url {
        config.database_url = Some(backend::config::Secret::new(url.clone()));
    }
    if let Some(listen) = listen {
        config.listen = listen;
    }
    Ok(config)
}

fn init_tracing(json: bool, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("JISHI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data folder {}",
            config.data_dir.display()
        )
    })?;
    Store::open(
        config.database_url.as_ref().map(|s| s.expose()),
        &config.data_dir,
    )
    .await
    .context("cannot open the database (check --database-url / JISHI_DATABASE_URL)")
}

/// Rust's allocations go to jemalloc (`GLOBAL` above); glibc's malloc still
/// serves the C code linked in (SQLite's page cache and statements). glibc
/// raises its mmap threshold after the first large block is freed, so later
/// large blocks come from per-thread heaps and are kept after they are
/// freed (before jemalloc, a flood of logins, argon2's 19 MiB each, left the
/// server hundreds of MiB larger). A fixed threshold returns every block of
/// 1 MiB or more to the system when it is freed, and at most four arenas
/// are kept.
fn bound_the_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

fn main() -> anyhow::Result<()> {
    bound_the_allocator();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { listen } => {
            let config = load_config(&cli.common, listen)?;
            init_tracing(config.log_json, "info,sqlx=warn");
            let app = Application::build(config).await?;
            let addr = app.local_addr()?;
            tracing::info!(%addr, database = app.state().store.dialect(), "jishi is serving");
            println!("Jishi is serving on http://{addr} (health: http://{addr}/healthz)");
            app.run_until_stopped(shutdown_signal()).await?;
        }
        Command::Demo {
            listen,
            cadres,
            reset,
        } => {
            let mut config = load_config(&cli.common, listen)?;
            // Not the server's own folder: a demo never mixes with real data.
            if cli.common.data_dir.is_none() && config.data_dir == Config::default().data_dir {
                config.data_dir = PathBuf::from("jishi-demo");
            }
            // Quiet logs: the demo prints its own progress.
            init_tracing(config.log_json, "warn");
            #[cfg(feature = "demo")]
            backend::demo::cli::run(config, usize::from(cadres), reset, shutdown_signal()).await?;
            #[cfg(not(feature = "demo"))]
            {
                let _ = (config, cadres, reset);
                anyhow::bail!(
                    "this jishi was built without the demo (a server build: \
                     --no-default-features); build it with the demo: \
                     cargo run --release -p backend -- demo"
                );
            }
        }
        Command::Migrate => {
            let config = load_config(&cli.common, None)?;
            let store = open_store(&config).await?;
            println!("migrations applied ({})", store.dialect());
        }
        // Needs no database.
        Command::Admin(AdminCommand::ImportTemplate { out }) => write_roster_template(&out)?,
        Command::Admin(cmd) => {
            let config = load_config(&cli.common, None)?;
            let store = open_store(&config).await?;
            admin_command(&store, cmd).await?;
        }
        Command::Backup { out } => {
            let config = load_config(&cli.common, None)?;
            let store = open_store(&config).await?;
            let blobs = backend::state::blob_store(&config)?;
            let manifest =
                backend::backup::backup(&config, &store, &blobs, &out, &mut print_progress)
                    .await
                    .with_context(|| format!("backing up into {}", out.display()))?;
            println!(
                "backup of {} documents, {} changes, {} users and {} photos in {}",
                manifest.counts.documents,
                manifest.counts.changes,
                manifest.counts.users,
                manifest.photos,
                out.display()
            );
        }
        Command::Restore { from } => {
            let config = load_config(&cli.common, None)?;
            let restored = backend::backup::restore(&config, &from, &mut print_progress)
                .await
                .with_context(|| format!("restoring {}", from.display()))?;
            let made = chrono::DateTime::from_timestamp_millis(restored.manifest.made_at_ms)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default();
            println!(
                "restored {} documents and {} photos made at {made}; start the server, and phones send what they wrote after that at their next sync",
                restored.manifest.counts.documents, restored.manifest.photos
            );
        }
        Command::PublishWeek { week, unit } => {
            let week = backend::publications::week::IsoWeek::parse(&week)
                .context("--week is an ISO week, e.g. 2026-W47")?;
            publish_cli(&cli.common, backend::publications::Period::Week(week), unit).await?;
        }
        Command::PublishMonth { month, part, unit } => {
            let key = backend::publications::monthly::MonthKey::parse(&format!("{month}-{part}"))
                .with_context(|| {
                    format!(
                        "--month {month:?} --part {part:?}: the month is YYYY-MM (2026-11), the part start (晒承诺) or end (月底公示)"
                    )
                })?;
            publish_cli(&cli.common, backend::publications::Period::Month(key), unit).await?;
        }
    }
    Ok(())
}

/// `publish-week` and `publish-month`: the notices of `period` of one
/// unit or every publishing one, one line of progress each.
async fn publish_cli(
    common: &Common,
    period: backend::publications::Period,
    unit: Option<String>,
) -> anyhow::Result<()> {
    let state = backend::state::AppState::new(load_config(common, None)?).await?;
    let units = match unit {
        Some(u) => vec![u],
        None => state.store.publishing_units().await?,
    };
    // Due by each unit's county calendar; checked for all before any is made.
    for unit in &units {
        let calendar = backend::calendar::Calendar::of_unit(&state.store, unit).await?;
        let due = period.due_ms(&state.config, &calendar);
        if backend::storage::now_ms() < due {
            let at = backend::china::at_ms(due)
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
            anyhow::bail!(
                "{period} is not due until {at} (China time) for {unit}: a week is published from the Monday after it at the publish hour, a month's commitments from its first workday (by the county calendar), its month-end notice after the review deadline"
            );
        }
    }
    let total = units.len();
    for (i, unit) in units.iter().enumerate() {
        use backend::publications::Published;
        let done = backend::publications::publish_unless_approval(&state, unit, period)
            .await
            .with_context(|| format!("publishing {unit} for {period}"))?;
        let (what, title) = match done {
            Published::Done(row, true) => ("made", row.title),
            Published::Done(row, false) => ("already published, kept", row.title),
            Published::AwaitsApproval => (
                "not published: a leader of the unit approves it in the web pages \
                 (set-unit-notice --approval)",
                String::new(),
            ),
            Published::Empty => (
                "not published: no cadre of the unit made a plan that month",
                String::new(),
            ),
        };
        eprintln!("[{}/{total}] {unit} {period}: {what} {title}", i + 1);
    }
    println!("{total} notice(s) for {period}; pages at /p/{{unit}}/{period}");
    Ok(())
}

/// `jishi admin import-template`: never over an existing file.
fn write_roster_template(out: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    let bytes = backend::roster::template()?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .with_context(|| {
            format!(
                "cannot create {} (an existing file is never overwritten; choose a new name)",
                out.display()
            )
        })?;
    f.write_all(&bytes)
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote the roster template {}: fill in the sheets 单位 and 人员 (the sheet 说明 explains \
         the columns), then run `jishi admin import --xlsx {}`",
        out.display(),
        out.display()
    );
    Ok(())
}

/// Print a refused roster's problems and fail.
fn refuse_roster(problems: &[backend::roster::RowProblem]) -> anyhow::Result<()> {
    for p in problems {
        eprintln!("  {}", p.en());
    }
    anyhow::bail!(
        "the roster was refused ({} problem(s) above); nothing was imported; correct those rows and import again",
        problems.len()
    )
}

/// One line per unit or person that the import creates or changes.
fn print_roster_plan(plan: &backend::roster::Plan) {
    use backend::roster::{Action, PEOPLE_SHEET, UNITS_SHEET};
    let changes = |a: &Action| match a {
        Action::Change(c) => c
            .iter()
            .map(|c| {
                let v = |s: &str| {
                    if s.is_empty() {
                        "(none)".to_owned()
                    } else {
                        s.to_owned()
                    }
                };
                format!("{} {} -> {}", c.field.en(), v(&c.from), v(&c.to))
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    for u in &plan.units {
        let place = format!("[{UNITS_SHEET} row {}]", u.row);
        match &u.action {
            Action::Create => println!(
                "  + unit {} {} ({}{})  {place}",
                u.id,
                u.name,
                u.level,
                u.parent
                    .as_ref()
                    .map(|p| format!(", under {p}"))
                    .unwrap_or_default()
            ),
            a @ Action::Change(_) => {
                println!("  ~ unit {} {}: {}  {place}", u.id, u.name, changes(a))
            }
            Action::Unchanged => {}
        }
    }
    for p in &plan.people {
        let place = format!("[{PEOPLE_SHEET} row {}]", p.row);
        match &p.action {
            Action::Create => println!(
                "  + person {} {} ({}, {})  {place}",
                p.login,
                p.name,
                p.role.as_str(),
                p.unit
            ),
            a @ Action::Change(_) => {
                println!("  ~ person {} {}: {}  {place}", p.login, p.name, changes(a))
            }
            Action::Unchanged => {}
        }
    }
    let (u, p) = (plan.unit_counts(), plan.people_counts());
    println!(
        "units: {} to create, {} to change, {} unchanged; people: {} to create, {} to change, {} unchanged",
        u.create, u.change, u.unchanged, p.create, p.change, p.unchanged
    );
}

/// `jishi admin import`.
async fn import_roster(store: &Store, path: &std::path::Path, dry_run: bool) -> anyhow::Result<()> {
    use backend::roster::{self, Progress, RosterError};
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    eprintln!("reading {}…", path.display());
    let file = match tokio::task::spawn_blocking(move || roster::read(&bytes)).await? {
        Ok(file) => file,
        Err(problems) => return refuse_roster(&problems),
    };
    eprintln!(
        "{} unit row(s), {} person row(s); comparing with the database…",
        file.units.len(),
        file.people.len()
    );
    let plan = match roster::plan_against(store, &file, None).await {
        Ok(plan) => plan,
        Err(RosterError::Refused(problems)) => return refuse_roster(&problems),
        Err(e) => return Err(e.into()),
    };
    print_roster_plan(&plan);
    if plan.changes_nothing() {
        println!("nothing to import: every unit and person of the file is already as it says");
        return Ok(());
    }
    if dry_run {
        println!("dry run: nothing was written; run again without --dry-run to import");
        return Ok(());
    }
    let mut progress = |p: Progress| match p {
        Progress::Hashing { done: 0, total } => {
            eprintln!("making initial passwords for {total} new account(s)…")
        }
        Progress::Hashing { done, total } if done == total || done % 20 == 0 => {
            eprintln!("initial passwords: {done}/{total}")
        }
        Progress::Hashing { .. } => {}
        Progress::Writing => eprintln!("writing…"),
    };
    let applied = roster::apply(store, &plan, &mut progress).await?;
    println!(
        "imported: {} unit(s) created, {} changed; {} person(s) created, {} changed",
        applied.units_created,
        applied.units_changed,
        applied.people_created,
        applied.people_changed
    );
    if !applied.accounts.is_empty() {
        println!(
            "\nInitial passwords of the new accounts, shown only this once (hand each to its \
             owner; `jishi admin reset-password` sets a new one):"
        );
        println!("login\tname\tunit\tpassword");
        for a in &applied.accounts {
            println!("{}\t{}\t{}\t{}", a.login, a.name, a.unit, a.password);
        }
    }
    Ok(())
}

/// The county a calendar command is for: `--county`, a top unit; or the
/// only top unit there is.
async fn the_county(store: &Store, county: Option<String>) -> anyhow::Result<String> {
    let mut tops: Vec<String> = store
        .units()
        .await?
        .into_iter()
        .filter(|u| u.parent_id.is_none())
        .map(|u| u.id)
        .collect();
    match county {
        Some(c) if tops.contains(&c) => Ok(c),
        Some(c) => anyhow::bail!(
            "--county {c} is not a county (a top unit): the top units are {}",
            tops.join(", ")
        ),
        None if tops.len() == 1 => Ok(tops.swap_remove(0)),
        None if tops.is_empty() => {
            anyhow::bail!(
                "there is no unit yet: create the county first (`jishi admin create-unit`)"
            )
        }
        None => anyhow::bail!(
            "there are several counties ({}): name one with --county",
            tops.join(", ")
        ),
    }
}

/// `jishi admin calendar set | show`.
async fn calendar_command(store: &Store, cmd: CalendarCommand) -> anyhow::Result<()> {
    use backend::calendar::{self, Change, Keeper};
    use chrono::Datelike;
    match cmd {
        CalendarCommand::Set {
            from,
            to,
            county,
            kind,
            name,
            by,
        } => {
            let county = the_county(store, county).await?;
            let change = Change::parse(&from, &to, &kind, &name).context("nothing was changed")?;
            if let Some(by) = &by {
                if store.user(by).await?.is_none() {
                    anyhow::bail!("--by: no user {by}; see `jishi admin list-users`");
                }
            }
            let keeper = Keeper {
                user_id: by.as_deref().unwrap_or(""),
                via: "cli",
            };
            calendar::apply(store, &county, &change, keeper)
                .await
                .context("nothing was changed")?;
            let days = (change.to - change.from).num_days() + 1;
            println!(
                "{} to {} ({days} day{}): {}{}",
                change.from,
                change.to,
                if days == 1 { "" } else { "s" },
                change.setting.as_str(),
                if change.name.is_empty() || change.setting == calendar::Setting::Normal {
                    String::new()
                } else {
                    format!(" ({})", change.name)
                }
            );
        }
        CalendarCommand::Show { year, county } => {
            let county = the_county(store, county).await?;
            let year = year.unwrap_or_else(|| backend::policy::local_today().year());
            let prefix = format!("{year}-");
            let mut any = false;
            for r in store.calendar_days(&county).await? {
                if !r.day.starts_with(&prefix) {
                    continue;
                }
                let weekday = chrono::NaiveDate::parse_from_str(&r.day, "%Y-%m-%d")
                    .map(|d| d.format("%a").to_string())
                    .unwrap_or_default();
                println!("{}\t{weekday}\t{}\t{}", r.day, r.kind, r.name);
                any = true;
            }
            if !any {
                println!(
                    "{year}: no holiday or make-up working day; every Monday to Friday is a \
                     working day. Add them with `jishi admin calendar set`"
                );
            }
            let changes = store.calendar_changes(&county, 10).await?;
            if !changes.is_empty() {
                println!("# latest changes");
                for c in changes {
                    let when = backend::china::at_ms(c.set_at)
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default();
                    let by = if c.set_by.is_empty() { "-" } else { &c.set_by };
                    println!("{when}\t{by}\t{}\t{}", c.via, calendar::change_line(&c));
                }
            }
        }
    }
    Ok(())
}

/// `jishi admin post-list set | show`.
async fn post_list_command(store: &Store, cmd: PostListCommand) -> anyhow::Result<()> {
    use backend::post_lists::{self, ListKind, PostName, SaveRequest, Saver};
    match cmd {
        PostListCommand::Set {
            unit,
            post,
            kind,
            file,
            note,
            by,
        } => {
            let post = PostName::parse(&post).context("--post")?;
            let kind = ListKind::parse(&kind).context("--kind")?;
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
            } else {
                std::fs::read_to_string(&file).with_context(|| {
                    format!("cannot read {} (a UTF-8 text file)", file.display())
                })?
            };
            let entries = post_lists::parse_entries(&text)
                .with_context(|| format!("{}: nothing was saved", file.display()))?;
            if let Some(by) = &by {
                if store.user(by).await?.is_none() {
                    anyhow::bail!("--by: no user {by}; see `jishi admin list-users`");
                }
            }
            let req = SaveRequest {
                unit_id: &unit,
                post: &post,
                kind,
                entries: &entries,
                note: &note,
                based_on: None,
            };
            let saved = post_lists::save(store, &req, Saver::Cli(by.as_deref()))
                .await
                .with_context(|| {
                    format!("{unit} {} {}: nothing was saved", post.as_str(), kind.zh())
                })?;
            if saved.withdrawn() {
                println!(
                    "{unit} {} {}: withdrawn as version {}",
                    saved.post,
                    kind.zh(),
                    saved.version
                );
            } else {
                println!(
                    "{unit} {} {}: saved as version {} with {} entr{}",
                    saved.post,
                    kind.zh(),
                    saved.version,
                    saved.entries.len(),
                    if saved.entries.len() == 1 { "y" } else { "ies" }
                );
            }
        }
        PostListCommand::Show { unit, post } => {
            if store.unit(&unit).await?.is_none() {
                anyhow::bail!("no unit {unit}; see `jishi admin list-units`");
            }
            let post = post
                .map(|p| PostName::parse(&p))
                .transpose()
                .context("--post")?;
            let mut lists = post_lists::unit_lists(store, &unit).await?;
            if let Some(post) = &post {
                lists.retain(|l| l.post == post.as_str());
            }
            if lists.is_empty() {
                println!("{unit}: no list in force; save one with `jishi admin post-list set`");
            }
            for l in &lists {
                println!(
                    "# {unit} {} {} ({}) version {}, {}{}",
                    l.post,
                    l.kind.zh(),
                    l.kind.as_str(),
                    l.version,
                    l.saved_on(),
                    if l.note.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", l.note)
                    }
                );
                print!("{}", post_lists::entries_text(&l.entries));
            }
        }
    }
    Ok(())
}

fn print_progress(p: backend::backup::Progress) {
    use backend::backup::Progress;
    match p {
        Progress::Database => eprintln!("copying the database…"),
        Progress::Photos { done, total } => eprintln!("photos: {done}/{total}"),
        Progress::Verifying { done, total } => {
            eprintln!("checking the backup: {done}/{total} files")
        }
    }
}

async fn admin_command(store: &Store, cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::CreateUnit {
            id,
            name,
            level,
            parent,
        } => {
            let unit = admin::create_unit(store, &id, parent.as_deref(), &name, &level).await?;
            println!("created unit {} ({}) at {}", unit.id, unit.name, unit.path);
        }
        AdminCommand::CreateUser {
            id,
            login,
            name,
            unit,
            role,
            scope,
            phone,
            post,
            duties,
            password,
        } => {
            let user = admin::create_user(
                store,
                UserSpec {
                    id,
                    login,
                    name,
                    phone,
                    post,
                    duties,
                    unit,
                    role,
                    scope,
                    password,
                },
            )
            .await?;
            println!(
                "created user {} ({}, {})",
                user.id,
                user.name,
                user.role.as_str()
            );
        }
        AdminCommand::ResetPassword { user, password } => {
            admin::reset_password(store, &user, password).await?;
            println!("password of {user} reset");
        }
        AdminCommand::RevokeDevice { device } => {
            store.revoke_device(&device).await?;
            println!("device {device} revoked");
        }
        AdminCommand::DisableUser { user } => {
            store.disable_user(&user).await?;
            println!("user {user} disabled");
        }
        AdminCommand::SetReviewer { user, reviewer } => {
            for id in [&user, &reviewer] {
                if store.user(id).await?.is_none() {
                    anyhow::bail!("no user {id}; see `jishi admin list-users`");
                }
            }
            store.set_reviewer_override(&user, &reviewer).await?;
            println!("{reviewer} now reviews {user}");
        }
        AdminCommand::SetRankGroup { users, group } => {
            let group = admin::rank_group(&group)?;
            for (i, id) in users.iter().enumerate() {
                if store.user(id).await?.is_none() {
                    anyhow::bail!("no user {id}; see `jishi admin list-users`");
                }
                store.set_rank_group(id, group.as_deref()).await?;
                eprintln!("[{}/{}] {id}", i + 1, users.len());
            }
            match group {
                Some(g) => println!("{} user(s) now ranked in {g}", users.len()),
                None => println!("{} user(s) now ranked by role", users.len()),
            }
        }
        AdminCommand::SetUnitNotice {
            unit,
            issuer,
            phone,
            address,
            supervision_office,
            supervision_phone,
            display_days,
            approval,
        } => {
            let own = admin::set_notice_settings(
                store,
                &unit,
                admin::NoticeUpdate {
                    issuer,
                    phone,
                    address,
                    supervision_office,
                    supervision_phone,
                    display_days,
                    approval,
                },
            )
            .await?;
            println!("{unit} signs its notices with: {own:?} (empty: from the unit above)");
        }
        AdminCommand::Import { xlsx, dry_run } => import_roster(store, &xlsx, dry_run).await?,
        AdminCommand::PostList(cmd) => post_list_command(store, cmd).await?,
        AdminCommand::Calendar(cmd) => calendar_command(store, cmd).await?,
        AdminCommand::ImportTemplate { out } => write_roster_template(&out)?,
        AdminCommand::ListUnits => {
            for u in store.units().await? {
                let depth = u.path.matches('/').count().saturating_sub(2);
                println!("{}{}\t{}\t{}", "  ".repeat(depth), u.id, u.level, u.name);
            }
        }
        AdminCommand::ListUsers => {
            for u in store.users().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}{}",
                    u.id,
                    u.login,
                    u.name,
                    u.unit_id,
                    u.role.as_str(),
                    if u.disabled { "\tdisabled" } else { "" }
                );
            }
        }
        AdminCommand::ListDevices => {
            for d in store.devices().await? {
                println!(
                    "{}\t{}\t{}{}",
                    d.id,
                    d.user_id,
                    d.name,
                    if d.revoked_at.is_some() {
                        "\trevoked"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    Ok(())
}
