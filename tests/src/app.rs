//! A real server in this process on a loopback port (SQLite in a temporary
//! folder, or a fresh PostgreSQL database when `JISHI_TEST_POSTGRES_URL` is
//! set), and [`on_both_databases!`](crate::on_both_databases) to run one
//! test body on each.

use std::time::Duration;

use backend::admin::{self, UserSpec};
use backend::config::Secret;
use backend::{AppState, Application, Config};
use reqwest::StatusCode;
use serde_json::Value;
use sync_core::session::{ClientStore, DocProblem, SyncStats};
use tokio::sync::oneshot;

use crate::county;
use crate::phone::{self, Session};
use crate::upload;
use crate::users::UserBuilder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Run a test body (`async fn body(db: Db)`) on SQLite, and on PostgreSQL
/// when it is configured (else the PostgreSQL variant shows as ignored:
/// the calling crate's build script sets `postgres_tests`, as
/// `tests/build.rs` does).
#[macro_export]
macro_rules! on_both_databases {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(postgres_tests), ignore = "JISHI_TEST_POSTGRES_URL unset")]
            async fn postgres() {
                super::$body($crate::Db::Postgres).await;
            }
        }
    };
}

/// A new, empty database on the PostgreSQL server of
/// `JISHI_TEST_POSTGRES_URL`; its URL.
pub async fn fresh_postgres_url() -> String {
    let admin_url = std::env::var("JISHI_TEST_POSTGRES_URL").expect("JISHI_TEST_POSTGRES_URL");
    let name = format!("jishi_test_{}", sync_core::ItemId::random().as_str());
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
    format!("{base}/{name}")
}

/// The server, on a port it bound itself (port 0: nothing can take it
/// between a pick and the bind).
pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    config: Config,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(db: Db) -> TestApp {
        Self::spawn_with(db, |_| {}).await
    }

    /// Spawn with a changed configuration.
    pub async fn spawn_with(db: Db, change: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            login_per_minute: 1_000,
            // Publications are made by the tests, not by the Monday task
            // (which would run at once on a Monday).
            auto_publish: false,
            ..Config::default()
        };
        if db == Db::Postgres {
            config.database_url = Some(Secret::new(fresh_postgres_url().await));
        }
        change(&mut config);
        Self::start(config, dir).await
    }

    /// Start a server on `config` (its data folder inside `dir`).
    pub async fn start(config: Config, dir: tempfile::TempDir) -> TestApp {
        let app = Application::build(config.clone())
            .await
            .expect("server starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        let config = Config {
            listen: format!("127.0.0.1:{}", base.rsplit(':').next().unwrap())
                .parse()
                .unwrap(),
            ..config
        };
        TestApp {
            base,
            state,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            dir,
            config,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Run one SQL statement on this server's database over a connection of
    /// its own (to set up states the API cannot make, such as rows written
    /// by an older version). Returns the rows affected.
    pub async fn execute_sql(&self, sql: &str) -> u64 {
        macro_rules! run_on {
            ($pool:expr) => {{
                let pool = $pool;
                let n = sqlx::query(sql)
                    .execute(&pool)
                    .await
                    .unwrap()
                    .rows_affected();
                pool.close().await;
                n
            }};
        }
        match &self.config.database_url {
            Some(url) => run_on!(sqlx::PgPool::connect(url.expose()).await.unwrap()),
            None => {
                let path = self.config.data_dir.join("jishi.db");
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                run_on!(sqlx::SqlitePool::connect_with(options).await.unwrap())
            }
        }
    }

    /// A second instance on the same database and configuration but its
    /// own data folder (several instances on several machines behind a
    /// balancer). Tokens are shared only when `jwt_secret` is set.
    pub async fn sibling(&self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let database_url = self.config.database_url.clone().or_else(|| {
            let file = self.config.data_dir.join("jishi.db");
            Some(Secret::new(format!("sqlite://{}", file.display())))
        });
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            database_url,
            ..self.config.clone()
        };
        Self::start(config, dir).await
    }

    /// Stop the server (requests in flight finish) and start it again on
    /// the same data and port.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Self::start(self.config.clone(), dir).await
    }

    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// The seed county ([`county`]: c1 > t1 > v1, cadre u1 in v1,
    /// supervisor s1 over c1) and beside it a second township t2 with
    /// cadre u2, and leader l1 over t1.
    pub async fn seed(&self) {
        let s = &self.state.store;
        county::seed(s).await;
        admin::create_unit(s, "t2", Some(county::COUNTY), "白沙镇", "township")
            .await
            .unwrap();
        self.add_user(UserBuilder::cadre("u2").unit("t2").build())
            .await;
        self.add_user(
            UserBuilder::leader("l1")
                .unit(county::TOWNSHIP)
                .scope(county::TOWNSHIP)
                .build(),
        )
        .await;
    }

    /// Beside the seed county, a second one nobody of the first oversees:
    /// county c2 (红河县) > township t3 (红河镇), cadre u3 in t3.
    pub async fn seed_other_county(&self) {
        let s = &self.state.store;
        admin::create_unit(s, "c2", None, "红河县", "county")
            .await
            .unwrap();
        admin::create_unit(s, "t3", Some("c2"), "红河镇", "township")
            .await
            .unwrap();
        self.add_user(UserBuilder::cadre("u3").unit("t3").build())
            .await;
    }

    /// Create one more user (see [`UserBuilder`]).
    pub async fn add_user(&self, user: UserSpec) {
        county::add_user(&self.state.store, user).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Log in with the test password ([`phone::login`]).
    pub async fn login(&self, login: &str, device: &str, actors: &[String]) -> Session {
        phone::login(&self.http, &self.base, login, device, actors).await
    }

    /// A web session of `login` (the test password): a client that does
    /// not follow redirects (a form's 303 is the answer to check), and the
    /// session cookie to send.
    pub async fn web_session(&self, login: &str) -> (reqwest::Client, String) {
        let web = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = web
            .post(self.url("/web/login"))
            .form(&[
                ("login", login),
                ("password", crate::PASSWORD),
                ("next", "/web/"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "web login {login}");
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        (web, cookie)
    }

    /// Whether the server answers a new connection. A fresh client without
    /// a pool: a pooled connection the server has just closed (after a 413
    /// it does not read the rest of the body) would fail the request
    /// without saying anything about the server.
    pub async fn healthy(&self) -> bool {
        let Ok(client) = reqwest::Client::builder().pool_max_idle_per_host(0).build() else {
            return false;
        };
        match client.get(self.url("/healthz")).send().await {
            Ok(r) if r.status().is_success() => true,
            Ok(r) => {
                eprintln!(
                    "healthz: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                );
                false
            }
            Err(e) => {
                eprintln!("healthz: {e:?}");
                false
            }
        }
    }

    /// One whole sync of `client` over HTTP ([`phone::sync_session`]); any
    /// failure fails the test. A session that used its round trips without
    /// settling is followed by another, as the phone library does (its
    /// sync returns `complete: false` and the next one goes on); at most
    /// three.
    pub async fn sync(
        &self,
        client: &mut impl ClientStore,
        token: &str,
    ) -> (SyncStats, Vec<DocProblem>) {
        let unsettled = sync_core::CoreError::Unsettled {
            rounds: sync_core::session::MAX_ROUNDS,
        }
        .to_string();
        for _ in 0..3 {
            match phone::sync_session(&self.http, &self.base, client, token).await {
                Ok(done) => return (done.stats, done.problems),
                Err(e) if e.to_string().contains(&unsettled) => {
                    eprintln!("a sync session did not settle; syncing again");
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("three sync sessions did not settle")
    }

    // ---- photos ----------------------------------------------------------

    /// What the server holds of photo `sha`: (offset, complete).
    pub async fn held(&self, token: &str, sha: &str) -> (u64, bool) {
        upload::held(&self.http, &self.base, token, sha)
            .await
            .unwrap()
    }

    /// One chunk of photo `sha` (`total` bytes), at `offset`.
    pub async fn patch(
        &self,
        token: &str,
        sha: &str,
        offset: u64,
        total: u64,
        chunk: &[u8],
    ) -> reqwest::Response {
        upload::patch(&self.http, &self.base, token, sha, offset, total, chunk)
            .await
            .unwrap()
    }

    /// The answer to a PATCH that declares `declared` body bytes and sends
    /// none: status line and headers.
    pub fn patch_head_only(
        &self,
        token: &str,
        sha: &str,
        offset: u64,
        total: u64,
        declared: usize,
    ) -> String {
        let addr = self.base.trim_start_matches("http://");
        upload::patch_head_only(addr, token, sha, offset, total, declared)
    }

    /// A PATCH whose connection is cut after `sent` bytes of `body`.
    pub fn cut_patch(
        &self,
        token: &str,
        sha: &str,
        offset: u64,
        total: u64,
        body: &[u8],
        sent: usize,
    ) {
        let addr = self.base.trim_start_matches("http://");
        upload::cut_patch(addr, token, sha, offset, total, body, sent);
    }

    /// Upload from wherever the server is, in chunks of 64 KiB; the final
    /// status and body.
    pub async fn upload(&self, token: &str, bytes: &[u8]) -> (StatusCode, Value) {
        let (status, body) = upload::upload(&self.http, &self.base, token, bytes, 64 * 1024)
            .await
            .unwrap();
        (StatusCode::from_u16(status).unwrap(), body)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
