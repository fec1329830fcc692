//! samod (the Rust automerge-repo) as a sync server for the peer benchmark
//! of issue 7: the same shape as ../server.mjs. One `Repo` with samod's
//! filesystem storage (the nodefs layout) on a folder, accepting websocket
//! connections on a loopback port, announcing nothing (clients sync what
//! they hold; the server stores and answers).
//!
//!   jishi-peer-samod PORT DIR
//!
//! Also on the same port: `GET /healthz`, and `POST /flush`, which (samod
//! has no flush) only counts the documents with at least one chunk in the
//! storage folder at that moment: `{"documents": N}`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use samod::{AcceptorHandle, PeerId, Repo, ShareConfig};

#[derive(Clone)]
struct Server {
    acceptor: AcceptorHandle,
    data: PathBuf,
}

/// Documents with at least one stored chunk: nodefs keeps a document under
/// `DIR/<2 chars>/<rest of id>/<kind>/<file>`.
fn documents_on_disk(data: &Path) -> usize {
    let dirs = |p: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(p)
            .map(|it| {
                it.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default()
    };
    let has_file = |doc: &Path| {
        dirs(doc).iter().any(|kind| {
            std::fs::read_dir(kind)
                .map(|mut it| it.next().is_some())
                .unwrap_or(false)
        })
    };
    dirs(data)
        .iter()
        .flat_map(|prefix| dirs(prefix))
        .filter(|doc| has_file(doc))
        .count()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(data)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: jishi-peer-samod PORT DIR");
    };
    let data = PathBuf::from(data);
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let repo = Repo::build_tokio()
        .with_storage(samod::storage::TokioFilesystemStorage::new(&data))
        .with_peer_id(PeerId::from("storage-server-samod"))
        .with_share_policy(ShareConfig::read_write().with_announce(false))
        .load()
        .await;
    let addr = format!("127.0.0.1:{port}");
    let acceptor = repo.make_acceptor(url::Url::parse(&format!("ws://{addr}"))?)?;
    let app = Router::new()
        .route(
            "/",
            get(|ws: WebSocketUpgrade, State(s): State<Server>| async move {
                ws.on_upgrade(move |socket| async move {
                    // The repo drives the connection from here on.
                    if let Err(e) = s.acceptor.accept_axum(socket, None) {
                        eprintln!("cannot accept a websocket: {e:?}");
                    }
                })
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/flush",
            post(|State(s): State<Server>| async move {
                let data = s.data.clone();
                let n = tokio::task::spawn_blocking(move || documents_on_disk(&data))
                    .await
                    .unwrap_or(0);
                axum::Json(serde_json::json!({ "documents": n }))
            }),
        )
        .with_state(Server {
            acceptor,
            data: data.clone(),
        });
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    eprintln!("samod sync server on {addr}, storage {}", data.display());
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await?;
    repo.stop().await;
    Ok(())
}
