//! What the process-level tests share: `jishi` run as a child process with
//! only the test's settings, the seed county (`jishi_tests::county`)
//! written through `jishi admin`, and the server process's memory. Logins
//! and sync over HTTP are `jishi_tests::phone`'s.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use backend::admin::UserSpec;
use jishi_tests::{county, UserBuilder};

pub const SECRET: &str = "process-test-signing-secret-0123456789abcdef0123456789abcdef";

/// `jishi` with only this test's settings.
pub fn jishi(data: &Path, database_url: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jishi"));
    for (k, _) in std::env::vars() {
        if k.starts_with("JISHI_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("JISHI_JWT_SECRET", SECRET)
        .env("JISHI_AUTO_PUBLISH", "false")
        .env("JISHI_LOGIN_PER_MINUTE", "1000")
        .env("JISHI_LOG", "warn")
        .arg("--data-dir")
        .arg(data);
    if let Some(url) = database_url {
        cmd.arg("--database-url").arg(url);
    }
    cmd
}

/// `jishi admin` with `args`; fails the test unless it succeeds.
pub fn admin(data: &Path, database_url: Option<&str>, args: &[&str]) {
    admin_with_password(data, database_url, args, county::PASSWORD);
}

fn admin_with_password(data: &Path, database_url: Option<&str>, args: &[&str], password: &str) {
    let out = jishi(data, database_url)
        .env("JISHI_NEW_PASSWORD", password)
        .arg("admin")
        .args(args)
        .output()
        .expect("run jishi admin");
    assert!(
        out.status.success(),
        "jishi admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `jishi admin create-user` for `user`.
pub fn create_user(data: &Path, db: Option<&str>, user: &UserSpec) {
    let mut args = vec![
        "create-user",
        "--id",
        &user.id,
        "--login",
        &user.login,
        "--name",
        &user.name,
        "--unit",
        &user.unit,
        "--role",
        &user.role,
    ];
    if let Some(scope) = &user.scope {
        args.extend(["--scope", scope]);
    }
    admin_with_password(data, db, &args, &user.password);
}

/// The seed county (`jishi_tests::county`: c1 > t1 > v1, cadre u1 in v1,
/// supervisor s1 over c1) and a second cadre u2 in v1, through `jishi
/// admin`.
pub fn seed_county(data: &Path, db: Option<&str>) {
    for (id, parent, name, level) in county::UNITS {
        let mut args = vec!["create-unit", "--id", id, "--name", name, "--level", level];
        if let Some(parent) = parent {
            args.extend(["--parent", parent]);
        }
        admin(data, db, &args);
    }
    let second = UserBuilder::cadre("u2").unit(county::VILLAGE).build();
    for user in county::users().iter().chain([&second]) {
        create_user(data, db, user);
    }
}

/// `jishi serve` as a child process.
pub struct Server {
    pub data: PathBuf,
    pub database_url: Option<String>,
    /// The port the server listens on: 0 until its first start, when the
    /// server picks a free one itself (no other test can take it between
    /// a pick and a bind) and says which; later starts reuse it.
    pub port: u16,
    /// Extra environment for the server.
    pub env: Vec<(String, String)>,
    pub child: Option<Child>,
}

impl Server {
    pub fn new(data: PathBuf, database_url: Option<String>) -> Self {
        Self {
            data,
            database_url,
            port: 0,
            env: Vec::new(),
            child: None,
        }
    }

    /// Start `jishi serve` and wait until it says it is serving.
    pub fn start(&mut self) {
        let mut child = jishi(&self.data, self.database_url.as_deref())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn jishi serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .expect("read the server's output");
            assert!(n > 0, "jishi serve exited before serving");
            if let Some(rest) = line.strip_prefix("Jishi is serving on http://") {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                let port = addr.rsplit(':').next().and_then(|p| p.parse().ok());
                self.port = port.expect("the address jishi serve printed");
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        self.child = Some(child);
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL the server");
            child.wait().expect("reap the server");
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// A line of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
    pub fn status_kib(&self, field: &str) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Resident memory now, MiB.
    pub fn rss_mib(&self) -> f64 {
        self.status_kib("VmRSS") as f64 / 1024.0
    }

    /// Peak resident memory since the start, MiB.
    pub fn peak_mib(&self) -> f64 {
        self.status_kib("VmHWM") as f64 / 1024.0
    }

    /// CPU time the server has used so far (user and system), seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // The fields after the command name (which may hold spaces): state
        // is the third field, utime the 14th, stime the 15th.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // Fields 14 and 15, counted from 1 with the pid and name first.
        (ticks(11) + ticks(12)) as f64 / 100.0
    }

    /// Reset the peak to the current resident memory (Linux: writing 5
    /// to `clear_refs`), so the next peak belongs to the next phase.
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
