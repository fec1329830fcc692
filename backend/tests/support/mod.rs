//! What the process-level tests share: `jishi` run as a child process with
//! only the test's settings, a small county seeded through `jishi admin`,
//! logins over HTTP, and the server process's memory.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const PASSWORD: &str = "process-test-password";
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

pub fn admin(data: &Path, database_url: Option<&str>, args: &[&str]) {
    let out = jishi(data, database_url)
        .env("JISHI_NEW_PASSWORD", PASSWORD)
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

/// County c1, township t1, cadres u1 and u2 in t1, supervisor s1 over c1.
pub fn seed_county(data: &Path, db: Option<&str>) {
    admin(
        data,
        db,
        &[
            "create-unit",
            "--id",
            "c1",
            "--name",
            "青山县",
            "--level",
            "county",
        ],
    );
    admin(
        data,
        db,
        &[
            "create-unit",
            "--id",
            "t1",
            "--name",
            "石门镇",
            "--level",
            "township",
            "--parent",
            "c1",
        ],
    );
    for u in ["u1", "u2"] {
        admin(
            data,
            db,
            &[
                "create-user",
                "--id",
                u,
                "--login",
                u,
                "--name",
                u,
                "--unit",
                "t1",
                "--role",
                "cadre",
            ],
        );
    }
    admin(
        data,
        db,
        &[
            "create-user",
            "--id",
            "s1",
            "--login",
            "s1",
            "--name",
            "s1",
            "--unit",
            "c1",
            "--role",
            "supervisor",
            "--scope",
            "c1",
        ],
    );
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

/// Log in over HTTP; the access token.
pub async fn login(
    http: &reqwest::Client,
    base: &str,
    login: &str,
    device: &str,
    actor: &str,
) -> String {
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({
            "login": login, "password": PASSWORD, "device_id": device,
            "device_name": "test", "actors": [actor],
        }))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200, "login {login}");
    let v: serde_json::Value = r.json().await.expect("login JSON");
    v["access_token"].as_str().expect("access token").to_owned()
}

/// A fresh PostgreSQL database when `JISHI_TEST_POSTGRES_URL` is set.
pub async fn fresh_postgres(prefix: &str) -> Option<String> {
    let admin_url = std::env::var("JISHI_TEST_POSTGRES_URL").ok()?;
    let name = format!("{prefix}_{}", sync_core::ItemId::random().as_str());
    let pool = sqlx::PgPool::connect(&admin_url)
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .expect("create database");
    pool.close().await;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or(admin_url);
    Some(format!("{base}/{name}"))
}

/// One whole sync session of `replica` with the server at `base`; any
/// network or server failure, or a refused document, is an error.
pub async fn sync_session(
    http: &reqwest::Client,
    base: &str,
    replica: &mut impl sync_core::session::ClientStore,
    token: &str,
) -> Result<(), String> {
    use sync_core::protocol::Batch;
    use sync_core::session::ClientSession;
    let mut session = ClientSession::new(replica).map_err(|e| e.to_string())?;
    while let Some(request) = session.next_request(replica).map_err(|e| e.to_string())? {
        let r = http
            .post(format!("{base}/api/v1/sync"))
            .bearer_auth(token)
            .header("content-type", "application/vnd.jishi.sync-batch")
            .body(request.encode())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if r.status() != 200 {
            return Err(format!("sync answered {}", r.status()));
        }
        let down = r.bytes().await.map_err(|e| e.to_string())?;
        let batch = Batch::decode(&down).map_err(|e| e.to_string())?;
        session
            .handle_reply(replica, batch)
            .map_err(|e| e.to_string())?;
    }
    match session.problems() {
        [] => Ok(()),
        problems => Err(format!("{problems:?}")),
    }
}

/// The entry texts of document `doc` on the server, as `token` reads them.
pub async fn server_entries(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    doc: &sync_core::DocId,
) -> std::collections::BTreeSet<String> {
    let r = http
        .get(format!("{base}/api/v1/documents/{doc}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("read a document");
    if r.status() == 404 {
        return Default::default();
    }
    assert_eq!(r.status(), 200, "reading {doc}");
    let v: serde_json::Value = r.json().await.expect("document JSON");
    v["entries"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["text"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
