//! The `jishi demo` command: check the data folder, start the real server,
//! populate it through HTTP with progress on the terminal, print the URLs
//! and logins, and serve until stopped. A folder holding a finished demo
//! is served again as it is; one holding anything else is left alone.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::{populate, DemoOptions, DemoSummary, Progress};
use crate::app::Application;
use crate::config::Config;
use crate::storage::Store;

/// The file that marks a data folder as the demo's.
pub const MARKER: &str = "demo.json";
/// The phones' replica files, inside the data folder.
pub const PHONES: &str = "demo-phones";

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    jishi_demo: u32,
    /// Set once the demo is complete.
    summary: Option<DemoSummary>,
}

fn read_marker(path: &Path) -> anyhow::Result<Option<Marker>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not a demo marker this version understands; run `jishi demo --reset` to start again",
                path.display()
            )
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write_marker(path: &Path, marker: &Marker) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(marker)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Remove a previous demo from `dir` (SQLite only; never anything that is
/// not the demo's).
fn reset(config: &Config, dir: &Path) -> anyhow::Result<()> {
    if config.database_url.is_some() {
        bail!(
            "--reset clears the demo's SQLite database in the data folder; with --database-url, drop and recreate that database yourself"
        );
    }
    for name in ["jishi.db", "jishi.db-wal", "jishi.db-shm", MARKER] {
        match std::fs::remove_file(dir.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot remove {name} from {}", dir.display()))
            }
        }
    }
    for name in ["blobs", PHONES] {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// Fail unless the database holds nothing (a new folder, or a database
/// nobody has set up).
async fn ensure_empty(config: &Config) -> anyhow::Result<()> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data folder {}", dir.display()))?;
    let store = Store::open(config.database_url.as_ref().map(|s| s.expose()), dir)
        .await
        .context("cannot open the database (check --database-url / JISHI_DATABASE_URL)")?;
    let units = store.units().await?.len();
    let users = store.users().await?.len();
    store.close().await;
    if units + users > 0 {
        bail!(
            "{} already holds a Jishi database ({units} units, {users} users) that is not a demo; \
             the demo leaves it alone. Run the demo in another folder: `jishi demo --data-dir ./jishi-demo`",
            dir.display()
        );
    }
    Ok(())
}

/// Run `jishi demo` until `shutdown` resolves.
pub async fn run(
    mut config: Config,
    cadres: usize,
    reset_first: bool,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let dir = config.data_dir.clone();
    let marker_path = dir.join(MARKER);
    let mut marker = read_marker(&marker_path);
    if reset_first {
        match marker {
            Ok(Some(_)) => {
                reset(&config, &dir)?;
                eprintln!("removed the previous demo from {}", dir.display());
            }
            // Not a marker this demo wrote: nothing here is removed.
            Err(e) => return Err(e),
            Ok(None) => ensure_empty(&config).await?,
        }
        marker = Ok(None);
    }
    let previous = match marker? {
        Some(Marker {
            summary: Some(s), ..
        }) => Some(s),
        Some(Marker { summary: None, .. }) => bail!(
            "a previous demo in {} did not finish; run `jishi demo --reset` to start again",
            dir.display()
        ),
        None => {
            ensure_empty(&config).await?;
            None
        }
    };

    // The demo makes the publications itself, after the phones synced;
    // the Monday task would make empty ones first. Every phone logs in
    // from this machine.
    config.auto_publish = false;
    let logins = u32::try_from(cadres).unwrap_or(u32::MAX).saturating_add(40);
    config.login_per_minute = config.login_per_minute.max(logins / 10 + 1);
    let app = Application::build(config.clone()).await?;
    let addr = app.local_addr()?;
    let base = base_url(addr);
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    tokio::pin!(shutdown);

    let summary = match previous {
        Some(s) => {
            eprintln!(
                "{} holds the demo made earlier; serving it again (`jishi demo --reset` makes a new one)",
                dir.display()
            );
            s
        }
        None => {
            write_marker(
                &marker_path,
                &Marker {
                    jishi_demo: 1,
                    summary: None,
                },
            )?;
            eprintln!(
                "Making the demo in {}: a county of {cadres} cadres, two weeks of work on their phones…",
                dir.display()
            );
            let opts = DemoOptions::new(cadres, dir.join(PHONES));
            let shown = ProgressLine::new();
            let made = tokio::select! {
                made = populate(&base, &state, &opts, |p| shown.show(p)) => made,
                _ = &mut shutdown => {
                    let _ = stop.send(());
                    let _ = server.await;
                    bail!("stopped before the demo was complete; run `jishi demo --reset` to start again");
                }
            };
            let summary = match made {
                Ok(s) => s,
                Err(e) => {
                    let _ = stop.send(());
                    let _ = server.await;
                    return Err(e.context(format!(
                        "the demo could not be made; `jishi demo --reset --data-dir {}` starts again",
                        dir.display()
                    )));
                }
            };
            write_marker(
                &marker_path,
                &Marker {
                    jishi_demo: 1,
                    summary: Some(summary.clone()),
                },
            )?;
            summary
        }
    };
    print_summary(&summary, &base, &dir);
    shutdown.await;
    let _ = stop.send(());
    server
        .await
        .context("the server task failed")?
        .context("the server stopped with an error")?;
    Ok(())
}

/// The URL to reach `addr` from this machine.
fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        ip if ip.is_ipv6() => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{ip}:{}", addr.port())
}

/// Progress on stderr: one line rewritten in place on a terminal; the
/// start and end of each step (and every tenth phone) otherwise.
struct ProgressLine {
    tty: bool,
}

impl ProgressLine {
    fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, p: Progress) {
        let line = format!(
            "[{}/{}] {} {}/{}",
            p.step, p.steps, p.label, p.done, p.total
        );
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r{line}\x1b[K");
            if p.done == p.total {
                let _ = writeln!(err);
            }
            let _ = err.flush();
        } else if p.done == 0 || p.done == p.total || (p.step == 2 && p.done.is_multiple_of(10)) {
            let _ = writeln!(err, "{line}");
        }
    }
}

fn print_summary(s: &DemoSummary, base: &str, dir: &Path) {
    println!();
    println!(
        "Jishi demo: {}, {} townships, {} villages, {} cadres and {} township leaders; {} to {} ({}).",
        s.county,
        s.townships,
        s.villages,
        s.cadres,
        s.leaders,
        s.first_day,
        s.last_day,
        s.weeks.join(", ")
    );
    println!(
        "  {} days filed, {} work entries, {} night activities (四夜), {} nights stayed in the village, \
         {} photos, {} monthly tasks ({} closed); {} syncs over HTTP. Made in {:.1} s.",
        s.days_filed,
        s.entries,
        s.night_activities,
        s.nights_stayed,
        s.photos,
        s.tasks,
        s.tasks_closed,
        s.syncs,
        s.seconds
    );
    println!();
    println!("Weekly publications (周公示), public, no login:");
    for p in &s.publications {
        println!(
            "  {base}{}  {} {}: {} people, {} entries, {} photos",
            p.path, p.unit_name, p.week, p.cadres, p.entries, p.photos
        );
    }
    println!("The month's notices (月初晒承诺, 月底公示):");
    for n in &s.month_notices {
        println!(
            "  {base}{}  {}: {} commitments",
            n.path, n.title, n.commitments
        );
    }
    println!("亮身份 cards (public: where each cadre is, from the phones; 一牌一卡 to print):");
    let mut boards: Vec<(&str, &str)> = s
        .publications
        .iter()
        .filter_map(|p| Some((p.path.split('/').nth(2)?, p.unit_name.as_str())))
        .collect();
    boards.dedup();
    for (unit, name) in boards {
        println!("  {base}/p/{unit}/cards  {name}  (print: {base}/p/{unit}/cards/print)");
    }
    println!(
        "督办 items: {} ({} being worked, {} awaiting 销号, {} sent back, {} closed): {base}/web/items",
        s.items.total(),
        s.items.open,
        s.items.awaiting,
        s.items.returned,
        s.items.closed
    );
    println!(
        "Cases the public brought: {} ({} received, {} answered awaiting 销号, {} founded, {} unfounded): {base}/web/items; the public form opens from a card's 找我反映问题",
        s.cases.total(),
        s.cases.received,
        s.cases.answered,
        s.cases.founded,
        s.cases.unfounded
    );
    println!();
    println!("Supervisor pages: {base}/web/");
    println!(
        "Monthly reviews (月点评) of {}: {} written by the assigned reviewers; left for you: {}",
        s.review_month,
        s.reviews,
        if s.unreviewed.is_empty() {
            "nobody".to_owned()
        } else {
            s.unreviewed.join("、")
        }
    );
    println!();
    println!("Logins:");
    let width = s.logins.iter().map(|l| l.login.len()).max().unwrap_or(0);
    for l in &s.logins {
        println!(
            "  {:<width$}  password {}  {} — {}",
            l.login, l.password, l.name, l.what
        );
    }
    println!();
    println!(
        "Serving on {base} (data in {}). Ctrl-C stops; `jishi demo --reset` makes a new demo.",
        dir.display()
    );
}
