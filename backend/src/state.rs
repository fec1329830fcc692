//! The state every request and job shares: the store, the configuration,
//! the keys, the metrics, the photo store and the limits on work in flight.
//! Below the routes, the web pages and the jobs; it imports none of them.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::auth::Keys;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::photos::work::{ImageBudget, PhotoLimits, IMAGE_BYTES_IN_MEMORY};
use crate::photos::{upload, BlobStore};
use crate::storage::Store;

#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub keys: Arc<Keys>,
    pub metrics: Arc<Metrics>,
    /// Bounds the Automerge work running at once on blocking threads.
    pub sync_slots: Arc<tokio::sync::Semaphore>,
    /// Sync requests worked on at once (`max_sync_requests`); a request
    /// that finds none free is answered 503 (`routes::sync`).
    pub sync_admission: Arc<tokio::sync::Semaphore>,
    pub blobs: BlobStore,
    pub photo_limits: PhotoLimits,
    /// Bytes of image work (checking and cleaning photos) in memory at once.
    pub image_budget: ImageBudget,
    pub uploads: Arc<upload::UploadsInProgress>,
    /// Sync request bodies held in memory at once.
    pub sync_bytes: crate::limits::budget::ByteBudget,
    /// Photo chunk bodies held in memory at once.
    pub upload_bytes: crate::limits::budget::ByteBudget,
    /// One sync at a time per device.
    pub device_gate: crate::limits::fairness::DeviceGate,
    /// This process, among the instances on one database (job leases).
    pub instance: String,
    /// Set when the server stops: long-lived responses (event streams) end.
    pub stopping: Arc<tokio::sync::watch::Sender<bool>>,
    /// Event streams open at once.
    pub event_streams: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data folder {}; pick another with --data-dir",
                config.data_dir.display()
            )
        })?;
        let store = Store::open(
            config.database_url.as_ref().map(|s| s.expose()),
            &config.data_dir,
        )
        .await
        .context("cannot open the database (check --database-url / JISHI_DATABASE_URL)")?;
        let secret = match &config.jwt_secret {
            Some(s) => s.expose().as_bytes().to_vec(),
            None => signing_key(&config.data_dir)?,
        };
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Ok(Self {
            store,
            keys: Arc::new(Keys::from_secret(&secret)),
            metrics: Arc::new(Metrics::new()),
            sync_slots: Arc::new(tokio::sync::Semaphore::new(workers * 2)),
            sync_admission: Arc::new(tokio::sync::Semaphore::new(config.max_sync_requests.max(1))),
            blobs: blob_store(&config)?,
            photo_limits: PhotoLimits::default(),
            image_budget: ImageBudget::new(IMAGE_BYTES_IN_MEMORY),
            uploads: Arc::default(),
            sync_bytes: crate::limits::budget::ByteBudget::new(config.max_sync_inflight_bytes),
            upload_bytes: crate::limits::budget::ByteBudget::new(upload::UPLOAD_BYTES_IN_MEMORY),
            device_gate: Default::default(),
            instance: sync_core::ItemId::random().as_str().to_owned(),
            stopping: Arc::new(tokio::sync::watch::channel(false).0),
            event_streams: Arc::new(tokio::sync::Semaphore::new(crate::events::MAX_STREAMS)),
            config: Arc::new(config),
        })
    }
}

/// Where photos live under `config`: the S3 bucket, or `blobs/` and
/// `uploads/` in the data folder.
pub fn blob_store(config: &Config) -> anyhow::Result<BlobStore> {
    Ok(match config.s3()? {
        Some(s3) => BlobStore::s3(&s3)
            .with_context(|| format!("cannot use the S3 bucket {:?} for photos", s3.bucket))?,
        None => BlobStore::local(
            config.data_dir.join("blobs"),
            config.data_dir.join("uploads"),
        ),
    })
}

/// The signing key kept in the data folder, made on first start.
fn signing_key(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = dir.join("jwt.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return hex::decode(text.trim()).with_context(|| {
            format!(
                "{} is not a hex key; delete it to make a new one",
                path.display()
            )
        });
    }
    let mut key = [0u8; 32];
    rand::fill(&mut key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(hex::encode(key).as_bytes())?;
    file.sync_all()?;
    Ok(key.to_vec())
}
