//! A real server on a thread and runtime of its own, for clients that
//! block (the phone API of `mobile-ffi`): the test's own thread is free to
//! make blocking calls while the server answers them.

use std::future::Future;
use std::path::PathBuf;

use backend::{AppState, Application, Config};

use crate::county;

pub struct BlockingApp {
    /// `http://127.0.0.1:{port}`, the port the server bound itself.
    pub url: String,
    pub data: PathBuf,
    /// The running server's state (its semaphores and counters).
    pub state: AppState,
    runtime: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl BlockingApp {
    /// A server on a new temporary folder, holding the seed county
    /// ([`county::seed`]).
    pub fn seeded(change: impl FnOnce(&mut Config) + Send + 'static) -> BlockingApp {
        let dir = tempfile::tempdir().unwrap();
        let mut app = Self::start_on(dir.path().join("data"), change);
        app._dir = Some(dir);
        app.block_on(county::seed(&app.state.store));
        app
    }

    /// A server on the data folder `data` (kept when the server stops).
    pub fn start_on(
        data: PathBuf,
        change: impl FnOnce(&mut Config) + Send + 'static,
    ) -> BlockingApp {
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let data_dir = data.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let handle = rt.handle().clone();
            rt.block_on(async move {
                let mut config = Config {
                    listen: "127.0.0.1:0".parse().unwrap(),
                    data_dir,
                    login_per_minute: 1_000,
                    ..Config::default()
                };
                change(&mut config);
                let app = Application::build(config).await.unwrap();
                started_tx
                    .send((app.port(), app.state().clone(), handle))
                    .unwrap();
                app.run_until_stopped(async move {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
            });
        });
        let (port, state, runtime) = started_rx.recv().expect("the server starts");
        BlockingApp {
            url: format!("http://127.0.0.1:{port}"),
            data,
            state,
            runtime,
            stop: Some(stop_tx),
            thread: Some(thread),
            _dir: None,
        }
    }

    /// Run `work` (seeding, a look at the store) on the server's runtime,
    /// from the test's thread.
    pub fn block_on<F: Future>(&self, work: F) -> F::Output {
        self.runtime.block_on(work)
    }

    /// Stop the server (requests in flight finish) and wait for its thread.
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for BlockingApp {
    fn drop(&mut self) {
        self.stop();
    }
}
