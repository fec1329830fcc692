//! A real server on port 0 (SQLite in a temporary folder, or a fresh
//! PostgreSQL database when `JISHI_TEST_POSTGRES_URL` is set) and phone
//! clients that sync with it over HTTP.

use std::time::Duration;

use backend::admin::{self, UserSpec};
use backend::config::Secret;
use backend::{AppState, Application, Config};
use serde_json::{json, Value};
use sync_core::protocol::Batch;
use sync_core::session::{ClientSession, ClientStore, DocProblem, SyncStats};
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct-horse-9";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Run a test body on SQLite, and on PostgreSQL when it is configured
/// (else the PostgreSQL variant shows as ignored; `tests/build.rs`).
#[macro_export]
macro_rules! on_both_databases {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::harness::Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(postgres_tests), ignore = "JISHI_TEST_POSTGRES_URL unset")]
            async fn postgres() {
                super::$body($crate::harness::Db::Postgres).await;
            }
        }
    };
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    config: Config,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

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

    /// A county with two townships; a village under the first. Users: cadres
    /// u1 (village v1) and u2 (township t2), leader l1 over t1, supervisor s1
    /// over the county.
    pub async fn seed(&self) {
        let s = &self.state.store;
        admin::create_unit(s, "c1", None, "青山县", "county")
            .await
            .unwrap();
        admin::create_unit(s, "t1", Some("c1"), "石门镇", "township")
            .await
            .unwrap();
        admin::create_unit(s, "t2", Some("c1"), "白沙镇", "township")
            .await
            .unwrap();
        admin::create_unit(s, "v1", Some("t1"), "青山村", "village")
            .await
            .unwrap();
        for (id, unit, role, scope) in [
            ("u1", "v1", "cadre", None),
            ("u2", "t2", "cadre", None),
            ("l1", "t1", "leader", Some("t1")),
            ("s1", "c1", "supervisor", Some("c1")),
        ] {
            self.add_user(id, unit, role, scope).await;
        }
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

    pub async fn login(&self, login: &str, device: &str, actors: &[String]) -> Session {
        let (status, body) = self
            .post_json(
                "/api/v1/auth/login",
                &json!({"login": login, "password": PASSWORD, "device_id": device, "device_name": "测试手机", "actors": actors}),
            )
            .await;
        assert_eq!(status, 200, "login {login}: {body}");
        Session {
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        }
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

    /// One whole sync session of `client` over HTTP.
    pub async fn sync(
        &self,
        client: &mut impl ClientStore,
        token: &str,
    ) -> (SyncStats, Vec<DocProblem>) {
        let mut session = ClientSession::new(client).unwrap();
        while let Some(request) = session.next_request(client).unwrap() {
            let up = request.encode();
            let r = self
                .http
                .post(self.url("/api/v1/sync"))
                .bearer_auth(token)
                .header("content-type", "application/vnd.jishi.sync-batch")
                .body(up.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200, "sync answered {}", r.status());
            let down = r.bytes().await.unwrap();
            session.record_bytes(up.len(), down.len());
            session
                .handle_reply(client, Batch::decode(&down).unwrap())
                .unwrap();
        }
        (session.stats().clone(), session.problems().to_vec())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub access: String,
    pub refresh: String,
}

// ---- more people ---------------------------------------------------------

impl TestApp {
    /// A user whose login is `id`, named `用户{id}`, with the test password.
    pub async fn add_user(&self, id: &str, unit: &str, role: &str, scope: Option<&str>) {
        admin::create_user(
            &self.state.store,
            UserSpec {
                id: id.into(),
                login: id.into(),
                name: format!("用户{id}"),
                phone: String::new(),
                post: String::new(),
                duties: String::new(),
                unit: unit.into(),
                role: role.into(),
                scope: scope.map(str::to_owned),
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap();
    }
}
