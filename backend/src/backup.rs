//! `jishi backup` and `jishi restore`.
//!
//! A backup is a folder:
//!
//! - `jishi.db`: the SQLite database as of one commit, copied while the
//!   server keeps serving (`VACUUM INTO`); or `jishi.pgdump`, made by
//!   `pg_dump --format=custom` (one consistent snapshot) on PostgreSQL;
//! - `blobs/`: every finished photo and thumbnail the database knows, read
//!   through the configured blob store (the data folder or S3), listed after
//!   the database copy so that every photo the copy references is there;
//! - `jwt.key`: the generated signing key, when the server uses one;
//! - `backup.json`: written last, so a folder without it is not a backup:
//!   when it was made, from which database, what it holds, and the size and
//!   SHA-256 of every file, checked before a restore writes anything.
//!
//! A restore goes into an empty target (a data folder without a database,
//! or an empty PostgreSQL database), then renumbers the documents above any
//! cursor a phone may hold and forgets the devices' sync states
//! ([`Store::prepare_restored`]): each phone's next sync brings back what it
//! sent after the backup was made.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::photos::store::{photo_key, thumb_key, write_durably, BlobError, BlobStore};
use crate::storage::{postgres_is_blank, Counts, Store, StoreError};

pub const MANIFEST: &str = "backup.json";
const FORMAT: u32 = 1;
const SQLITE_FILE: &str = "jishi.db";
const PG_FILE: &str = "jishi.pgdump";
const KEY_FILE: &str = "jwt.key";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists and is not empty; back up into a new folder")]
    TargetNotEmpty(PathBuf),
    #[error("{0} holds no {MANIFEST}: not a finished backup (was it cut short?)")]
    NoManifest(PathBuf),
    #[error("{path}: {reason}")]
    Damaged { path: String, reason: String },
    #[error("the restore target already holds data ({0}); restore into a new data folder or an empty database")]
    RestoreTargetInUse(String),
    #[error("the backup was made from {made} and cannot be restored into {target}")]
    WrongDialect { made: String, target: String },
    #[error("{tool} failed: {message}")]
    Tool { tool: &'static str, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("backup.json: {0}")]
    Manifest(#[from] serde_json::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// One file of a backup, relative to its folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// `backup.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// Unix milliseconds when the database copy was taken.
    pub made_at_ms: i64,
    /// `sqlite` or `postgres`.
    pub dialect: String,
    /// Counted in the live database right after the copy (at least what
    /// the copy holds).
    pub counts: Counts,
    pub photos: usize,
    pub files: Vec<FileEntry>,
}

/// Where a long job stands, for the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Database,
    Photos { done: usize, total: usize },
    Verifying { done: usize, total: usize },
}

/// Report progress at most every half second (and always the last step).
struct Throttle<'a> {
    report: &'a mut dyn FnMut(Progress),
    last: Option<Instant>,
}

impl Throttle<'_> {
    fn tick(&mut self, p: Progress, last_step: bool) {
        let due = self
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(500));
        if due || last_step {
            (self.report)(p);
            self.last = Some(Instant::now());
        }
    }
}

fn sha256_file(path: &Path) -> Result<(u64, String), BackupError> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(io(path))?;
        if k == 0 {
            break;
        }
        n += k as u64;
        hasher.update(&buf[..k]);
    }
    Ok((n, hex::encode(hasher.finalize())))
}

fn fsync(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io(path))
}

fn entry(root: &Path, rel: &str) -> Result<FileEntry, BackupError> {
    let (bytes, sha256) = sha256_file(&root.join(rel))?;
    Ok(FileEntry {
        path: rel.to_owned(),
        bytes,
        sha256,
    })
}

fn run_tool(tool: &'static str, args: &[&str]) -> Result<(), BackupError> {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .map_err(|e| BackupError::Tool {
            tool,
            message: format!(
                "cannot run it ({e}); install the PostgreSQL client tools of the server's version"
            ),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BackupError::Tool {
            tool,
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Back up the server of `config` (which may be running) into `out`, a
/// new or empty folder.
pub async fn backup(
    config: &Config,
    store: &Store,
    blobs: &BlobStore,
    out: &Path,
    report: &mut dyn FnMut(Progress),
) -> Result<Manifest, BackupError> {
    if std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(BackupError::TargetNotEmpty(out.to_owned()));
    }
    std::fs::create_dir_all(out).map_err(io(out))?;
    let mut progress = Throttle { report, last: None };
    progress.tick(Progress::Database, true);
    let made_at_ms = crate::storage::now_ms();
    let db_file = match store.dialect() {
        "sqlite" => {
            store.snapshot_sqlite(&out.join(SQLITE_FILE)).await?;
            SQLITE_FILE
        }
        _ => {
            let url = config
                .database_url
                .as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default();
            let file = out.join(PG_FILE);
            let file = file.to_string_lossy().into_owned();
            tokio::task::spawn_blocking(move || {
                run_tool(
                    "pg_dump",
                    &[
                        "--format=custom",
                        "--no-owner",
                        "--no-privileges",
                        &format!("--file={file}"),
                        &format!("--dbname={url}"),
                    ],
                )
            })
            .await
            .map_err(|e| BackupError::Tool {
                tool: "pg_dump",
                message: e.to_string(),
            })??;
            PG_FILE
        }
    };
    fsync(&out.join(db_file))?;
    let counts = store.counts().await?;
    let mut files = vec![entry(out, db_file)?];

    // Photos finished by now: a superset of those the copy references.
    let hashes = store.blob_hashes().await?;
    let total = hashes.len();
    let mut photos = 0;
    for (i, sha) in hashes.iter().enumerate() {
        for key in [photo_key(sha), thumb_key(sha)] {
            // A photo removed by garbage collection since the copy was
            // unreferenced: nothing needs it.
            if let Some(bytes) = blobs.get(&key).await? {
                let rel = format!("blobs/{key}");
                let path = out.join(&rel);
                files.push(FileEntry {
                    path: rel,
                    bytes: bytes.len() as u64,
                    sha256: hex::encode(Sha256::digest(&bytes)),
                });
                tokio::task::spawn_blocking(move || write_durably(&path, &bytes))
                    .await
                    .map_err(std::io::Error::other)
                    .and_then(|r| r)
                    .map_err(io(out))?;
                if key.starts_with("photos/") {
                    photos += 1;
                }
            }
        }
        progress.tick(Progress::Photos { done: i + 1, total }, i + 1 == total);
    }
    let key_path = config.data_dir.join(KEY_FILE);
    if config.jwt_secret.is_none() && key_path.exists() {
        let bytes = std::fs::read(&key_path).map_err(io(&key_path))?;
        write_durably(&out.join(KEY_FILE), &bytes).map_err(io(out))?;
        files.push(entry(out, KEY_FILE)?);
    }
    let manifest = Manifest {
        format: FORMAT,
        made_at_ms,
        dialect: store.dialect().to_owned(),
        counts,
        photos,
        files,
    };
    write_durably(&out.join(MANIFEST), &serde_json::to_vec_pretty(&manifest)?).map_err(io(out))?;
    Ok(manifest)
}

/// Read `backup.json` of `from` and check every file it lists.
pub fn verify(from: &Path, report: &mut dyn FnMut(Progress)) -> Result<Manifest, BackupError> {
    let path = from.join(MANIFEST);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::NoManifest(from.to_owned()))
        }
        Err(e) => return Err(io(&path)(e)),
    };
    let manifest: Manifest = serde_json::from_slice(&text)?;
    if manifest.format != FORMAT {
        return Err(BackupError::Damaged {
            path: path.display().to_string(),
            reason: format!(
                "backup format {} is not {FORMAT}; restore it with the version that made it",
                manifest.format
            ),
        });
    }
    let mut progress = Throttle { report, last: None };
    let total = manifest.files.len();
    for (i, f) in manifest.files.iter().enumerate() {
        let bad = |reason: String| BackupError::Damaged {
            path: from.join(&f.path).display().to_string(),
            reason,
        };
        if f.path.split('/').any(|p| p == ".." || p.is_empty()) || f.path.starts_with('/') {
            return Err(bad("a path outside the backup".into()));
        }
        let (bytes, sha) = sha256_file(&from.join(&f.path))?;
        if bytes != f.bytes || sha != f.sha256 {
            return Err(bad(format!(
                "{bytes} bytes with SHA-256 {sha}, but backup.json says {} bytes with {}",
                f.bytes, f.sha256
            )));
        }
        progress.tick(Progress::Verifying { done: i + 1, total }, i + 1 == total);
    }
    Ok(manifest)
}

/// The SQLite file `config` uses.
fn sqlite_file(config: &Config) -> PathBuf {
    match config.database_url.as_ref().map(|s| s.expose()) {
        Some(url) => {
            let rest = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            PathBuf::from(rest.split('?').next().unwrap_or(rest))
        }
        None => config.data_dir.join(SQLITE_FILE),
    }
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub manifest: Manifest,
    /// The change sequence now starts above this: cursors phones hold from
    /// before are all below it.
    pub sequence_base: i64,
}

/// Restore the backup in `from` into the empty target of `config`.
pub async fn restore(
    config: &Config,
    from: &Path,
    report: &mut dyn FnMut(Progress),
) -> Result<Restored, BackupError> {
    let manifest = verify(from, report)?;
    let postgres = config
        .database_url
        .as_ref()
        .map(|s| s.expose())
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"));
    let target = if postgres.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    if manifest.dialect != target {
        return Err(BackupError::WrongDialect {
            made: manifest.dialect.clone(),
            target: target.to_owned(),
        });
    }
    std::fs::create_dir_all(&config.data_dir).map_err(io(&config.data_dir))?;
    let key_target = config.data_dir.join(KEY_FILE);
    let has_key = manifest.files.iter().any(|f| f.path == KEY_FILE);
    if has_key && config.jwt_secret.is_none() && key_target.exists() {
        return Err(BackupError::RestoreTargetInUse(
            key_target.display().to_string(),
        ));
    }

    // The database: into a side file (SQLite) renamed into place once all is
    // done, or into an empty PostgreSQL database.
    let (store, pending_file) = match postgres {
        Some(url) => {
            if !postgres_is_blank(url).await? {
                return Err(BackupError::RestoreTargetInUse(
                    "the PostgreSQL database has tables".into(),
                ));
            }
            let dump = from.join(PG_FILE).to_string_lossy().into_owned();
            let url = url.to_owned();
            let url2 = url.clone();
            tokio::task::spawn_blocking(move || {
                run_tool(
                    "pg_restore",
                    &[
                        "--no-owner",
                        "--no-privileges",
                        "--exit-on-error",
                        &format!("--dbname={url2}"),
                        &dump,
                    ],
                )
            })
            .await
            .map_err(|e| BackupError::Tool {
                tool: "pg_restore",
                message: e.to_string(),
            })??;
            (Store::open(Some(&url), &config.data_dir).await?, None)
        }
        None => {
            let file = sqlite_file(config);
            for suffix in ["", "-wal"] {
                let p = PathBuf::from(format!("{}{suffix}", file.display()));
                if p.exists() {
                    return Err(BackupError::RestoreTargetInUse(p.display().to_string()));
                }
            }
            let side = PathBuf::from(format!("{}.restoring", file.display()));
            let _ = std::fs::remove_file(&side);
            std::fs::copy(from.join(SQLITE_FILE), &side).map_err(io(&side))?;
            fsync(&side)?;
            let url = format!("sqlite://{}", side.display());
            (
                Store::open(Some(&url), &config.data_dir).await?,
                Some((side, file)),
            )
        }
    };
    // Cursors phones hold are sequence numbers of the lost server, which
    // grew by far less than one a microsecond: start above the clock.
    let sequence_base = crate::storage::now_ms().saturating_mul(1000);
    store.prepare_restored(sequence_base).await?;

    let blobs = crate::state::blob_store(config).map_err(|e| BackupError::Tool {
        tool: "blob store",
        message: format!("{e:#}"),
    })?;
    let mut progress = Throttle { report, last: None };
    let photos: Vec<&FileEntry> = manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with("blobs/"))
        .collect();
    let total = photos.len();
    for (i, f) in photos.iter().enumerate() {
        let path = from.join(&f.path);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        blobs.put(&f.path["blobs/".len()..], bytes).await?;
        progress.tick(Progress::Photos { done: i + 1, total }, i + 1 == total);
    }
    store.close().await;
    if has_key && config.jwt_secret.is_none() {
        let bytes = std::fs::read(from.join(KEY_FILE)).map_err(io(from))?;
        write_durably(&key_target, &bytes).map_err(io(&key_target))?;
    }
    if let Some((side, file)) = pending_file {
        // Closing the pool checkpointed the log; if one is left, it moves
        // with its database (SQLite pairs them by name). The shared-memory
        // index is rebuilt on open.
        let _ = std::fs::remove_file(format!("{}-shm", side.display()));
        let side_wal = PathBuf::from(format!("{}-wal", side.display()));
        if side_wal.exists() {
            let wal = PathBuf::from(format!("{}-wal", file.display()));
            std::fs::rename(&side_wal, &wal).map_err(io(&wal))?;
        }
        std::fs::rename(&side, &file).map_err(io(&file))?;
        if let Some(dir) = file.parent() {
            fsync(dir)?;
        }
    }
    Ok(Restored {
        manifest,
        sequence_base,
    })
}
