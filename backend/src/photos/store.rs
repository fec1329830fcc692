//! The blob store: where photo files live, finished and half-uploaded.
//!
//! One interface with two backends:
//! - **Local** (the default): a folder. A write is durable when it returns:
//!   the bytes go to a temporary file that is synced, renamed into place, and
//!   the folder synced.
//! - **Object**: S3-compatible storage through the `object_store` crate, for
//!   several server instances. A `PUT` answered 200 is durable by the
//!   store's own guarantee.
//!
//! Keys of finished blobs are relative paths such as `photos/ab/ab12…ef.jpg`.
//! Half-uploaded photos ("staged" uploads, one per device and hash) live in
//! the same backend so that an upload cut on one instance resumes on
//! another: a local file appended to, or one object per chunk named by its
//! offset (`uploads/{device}/{sha}/{offset:020}`), whose contiguous run from
//! 0 is the staged length.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("bad blob key {0:?}")]
    BadKey(String),
    #[error("blob store i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("object store: {0}")]
    Object(#[from] object_store::Error),
    #[error("cannot configure the object store: {0}")]
    Config(String),
}

#[derive(Debug, Clone)]
pub enum BlobStore {
    Local(LocalBlobs),
    Object(ObjectBlobs),
}

#[derive(Debug, Clone)]
pub struct LocalBlobs {
    root: PathBuf,
    staging: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

/// Where an S3-compatible store is and how to sign in to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// Keys are put under this prefix (may be empty).
    pub prefix: String,
    /// `https://…` for a non-AWS service (MinIO, Ceph, OSS…); unset for AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: crate::config::Secret,
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'.' || b == b'-' || b == b'_')
}

fn checked(key: &str) -> Result<&str, BlobError> {
    if valid_key(key) {
        Ok(key)
    } else {
        Err(BlobError::BadKey(key.to_owned()))
    }
}

/// Write `bytes` at `path` durably: temp file, fsync, rename, fsync folder.
pub fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} has no folder", path.display()),
        )
    })?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("blob"),
        sync_core::ItemId::random()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, BlobError> {
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(std::io::Error::other)??)
}

fn not_found_is_none<T>(r: std::io::Result<T>) -> std::io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl LocalBlobs {
    fn staged_file(&self, device: &str, sha: &str) -> Result<PathBuf, BlobError> {
        let rel = checked(&format!("{device}/{sha}.part"))?.to_owned();
        Ok(self.staging.join(rel))
    }
}

impl ObjectBlobs {
    fn path(&self, key: &str) -> Result<ObjectPath, BlobError> {
        let key = checked(key)?;
        Ok(if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        })
    }

    fn staged_dir(&self, device: &str, sha: &str) -> Result<ObjectPath, BlobError> {
        self.path(&format!("uploads/{device}/{sha}"))
    }

    /// The chunks of a staged upload as (offset, size, path), by offset.
    async fn chunks(&self, dir: &ObjectPath) -> Result<Vec<(u64, u64, ObjectPath)>, BlobError> {
        let mut chunks: Vec<(u64, u64, ObjectPath)> = self
            .store
            .list(Some(dir))
            .map_ok(|meta| {
                let offset = meta.location.filename().and_then(|n| n.parse().ok());
                (offset, meta.size, meta.location)
            })
            .try_filter_map(
                |(offset, size, path)| async move { Ok(offset.map(|o| (o, size, path))) },
            )
            .try_collect()
            .await?;
        chunks.sort_by_key(|c| c.0);
        Ok(chunks)
    }

    /// The contiguous run of chunks from offset 0.
    fn contiguous(chunks: &[(u64, u64, ObjectPath)]) -> (u64, usize) {
        let mut end = 0;
        let mut n = 0;
        for (offset, size, _) in chunks {
            if *offset != end {
                break;
            }
            end += size;
            n += 1;
        }
        (end, n)
    }
}

impl BlobStore {
    /// A local folder: finished blobs under `root`, staged uploads under
    /// `staging`.
    pub fn local(root: impl Into<PathBuf>, staging: impl Into<PathBuf>) -> Self {
        BlobStore::Local(LocalBlobs {
            root: root.into(),
            staging: staging.into(),
        })
    }

    /// Any `object_store` implementation, keys under `prefix`.
    pub fn object(store: Arc<dyn ObjectStore>, prefix: &str) -> Self {
        BlobStore::Object(ObjectBlobs {
            store,
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    /// An S3-compatible bucket.
    pub fn s3(s: &S3Settings) -> Result<Self, BlobError> {
        let mut b = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&s.bucket)
            .with_region(&s.region)
            .with_access_key_id(&s.access_key_id)
            .with_secret_access_key(s.secret_access_key.expose());
        if let Some(endpoint) = &s.endpoint {
            b = b
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = b.build().map_err(|e| BlobError::Config(e.to_string()))?;
        Ok(Self::object(Arc::new(store), &s.prefix))
    }

    /// Store a finished blob, durably.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        match self {
            BlobStore::Local(l) => {
                let path = l.root.join(checked(key)?);
                blocking(move || write_durably(&path, &bytes)).await
            }
            BlobStore::Object(o) => {
                o.store.put(&o.path(key)?, PutPayload::from(bytes)).await?;
                Ok(())
            }
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        match self {
            BlobStore::Local(l) => {
                let path = l.root.join(checked(key)?);
                Ok(not_found_is_none(tokio::fs::read(path).await)?)
            }
            BlobStore::Object(o) => match o.store.get(&o.path(key)?).await {
                Ok(r) => Ok(Some(r.bytes().await?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// Remove a blob; removing a missing blob is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self {
            BlobStore::Local(l) => {
                let path = l.root.join(checked(key)?);
                not_found_is_none(tokio::fs::remove_file(path).await)?;
                Ok(())
            }
            BlobStore::Object(o) => match o.store.delete(&o.path(key)?).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// How many bytes of this device's upload of `sha` are held.
    pub async fn staged_len(&self, device: &str, sha: &str) -> Result<u64, BlobError> {
        match self {
            BlobStore::Local(l) => {
                let path = l.staged_file(device, sha)?;
                Ok(not_found_is_none(tokio::fs::metadata(path).await)?.map_or(0, |m| m.len()))
            }
            BlobStore::Object(o) => {
                let chunks = o.chunks(&o.staged_dir(device, sha)?).await?;
                Ok(ObjectBlobs::contiguous(&chunks).0)
            }
        }
    }

    /// Add a chunk at `offset` (the caller checked it equals the staged
    /// length); durable when it returns.
    pub async fn append_staged(
        &self,
        device: &str,
        sha: &str,
        offset: u64,
        chunk: Vec<u8>,
    ) -> Result<(), BlobError> {
        match self {
            BlobStore::Local(l) => {
                let path = l.staged_file(device, sha)?;
                blocking(move || {
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir)?;
                    }
                    let mut f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)?;
                    // A short file means an earlier append was cut: keep
                    // only what the caller counted.
                    f.set_len(offset)?;
                    f.write_all(&chunk)?;
                    f.sync_all()
                })
                .await
            }
            BlobStore::Object(o) => {
                let path = o.path(&format!("uploads/{device}/{sha}/{offset:020}"))?;
                o.store.put(&path, PutPayload::from(chunk)).await?;
                Ok(())
            }
        }
    }

    /// The whole staged upload.
    pub async fn read_staged(&self, device: &str, sha: &str) -> Result<Vec<u8>, BlobError> {
        match self {
            BlobStore::Local(l) => Ok(tokio::fs::read(l.staged_file(device, sha)?).await?),
            BlobStore::Object(o) => {
                let chunks = o.chunks(&o.staged_dir(device, sha)?).await?;
                let (len, n) = ObjectBlobs::contiguous(&chunks);
                let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                for (_, _, path) in &chunks[..n] {
                    out.extend_from_slice(&o.store.get(path).await?.bytes().await?);
                }
                Ok(out)
            }
        }
    }

    /// Forget a staged upload.
    pub async fn discard_staged(&self, device: &str, sha: &str) -> Result<(), BlobError> {
        match self {
            BlobStore::Local(l) => {
                not_found_is_none(tokio::fs::remove_file(l.staged_file(device, sha)?).await)?;
                Ok(())
            }
            BlobStore::Object(o) => {
                for (_, _, path) in o.chunks(&o.staged_dir(device, sha)?).await? {
                    match o.store.delete(&path).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(())
            }
        }
    }

    /// Remove staged uploads untouched for `age`: an app that never came
    /// back. Returns how many pieces were removed.
    pub async fn collect_stale_staged(&self, age: Duration) -> Result<usize, BlobError> {
        let before = SystemTime::now() - age;
        match self {
            BlobStore::Local(l) => {
                let staging = l.staging.clone();
                blocking(move || {
                    let mut removed = 0;
                    let Some(devices) = not_found_is_none(std::fs::read_dir(&staging))? else {
                        return Ok(0);
                    };
                    for device in devices {
                        for file in std::fs::read_dir(device?.path())? {
                            let file = file?;
                            if file.metadata()?.modified()? <= before {
                                not_found_is_none(std::fs::remove_file(file.path()))?;
                                removed += 1;
                            }
                        }
                    }
                    Ok(removed)
                })
                .await
            }
            BlobStore::Object(o) => {
                let before: chrono::DateTime<chrono::Utc> = before.into();
                let root = o.path("uploads")?;
                let stale: Vec<ObjectPath> = o
                    .store
                    .list(Some(&root))
                    .try_filter_map(|m| async move {
                        Ok((m.last_modified <= before).then_some(m.location))
                    })
                    .try_collect()
                    .await?;
                for path in &stale {
                    match o.store.delete(path).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(stale.len())
            }
        }
    }
}

/// The key of a photo's full image.
pub fn photo_key(sha: &str) -> String {
    format!("photos/{}/{sha}.jpg", &sha[..2.min(sha.len())])
}

/// The key of a photo's thumbnail.
pub fn thumb_key(sha: &str) -> String {
    format!("thumbs/{}/{sha}.jpg", &sha[..2.min(sha.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stores(dir: &Path) -> Vec<BlobStore> {
        vec![
            BlobStore::local(dir.join("blobs"), dir.join("uploads")),
            BlobStore::object(Arc::new(object_store::memory::InMemory::new()), "jishi"),
            BlobStore::object(Arc::new(object_store::memory::InMemory::new()), ""),
        ]
    }

    #[tokio::test]
    async fn put_get_delete_and_bad_keys() {
        let dir = tempfile::tempdir().unwrap();
        for store in stores(dir.path()) {
            let key = photo_key(&"ab".repeat(32));
            store.put(&key, b"jpeg".to_vec()).await.unwrap();
            assert_eq!(
                store.get(&key).await.unwrap().as_deref(),
                Some(&b"jpeg"[..])
            );
            store.delete(&key).await.unwrap();
            assert_eq!(store.get(&key).await.unwrap(), None);
            store.delete(&key).await.unwrap();
            for bad in ["../x", "/etc/passwd", "a//b", "a/../b", "", "a b"] {
                assert!(store.put(bad, vec![]).await.is_err(), "{bad}");
                assert!(store.get(bad).await.is_err(), "{bad}");
            }
            assert!(store.staged_len("../d", "x").await.is_err());
        }
    }

    #[tokio::test]
    async fn staged_uploads_grow_read_back_and_are_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let sha = "cd".repeat(32);
        for store in stores(dir.path()) {
            assert_eq!(store.staged_len("dev1", &sha).await.unwrap(), 0);
            store
                .append_staged("dev1", &sha, 0, b"hello ".to_vec())
                .await
                .unwrap();
            store
                .append_staged("dev1", &sha, 6, b"world".to_vec())
                .await
                .unwrap();
            assert_eq!(store.staged_len("dev1", &sha).await.unwrap(), 11);
            // Another device's upload of the same photo is separate.
            assert_eq!(store.staged_len("dev2", &sha).await.unwrap(), 0);
            assert_eq!(
                store.read_staged("dev1", &sha).await.unwrap(),
                b"hello world"
            );
            // A rewrite at an earlier offset (a retried chunk) replaces the tail.
            store
                .append_staged("dev1", &sha, 6, b"there".to_vec())
                .await
                .unwrap();
            assert_eq!(
                store.read_staged("dev1", &sha).await.unwrap(),
                b"hello there"
            );
            store.discard_staged("dev1", &sha).await.unwrap();
            assert_eq!(store.staged_len("dev1", &sha).await.unwrap(), 0);
        }
    }

    #[tokio::test]
    async fn stale_staged_uploads_are_collected() {
        let dir = tempfile::tempdir().unwrap();
        let sha = "ef".repeat(32);
        for store in stores(dir.path()) {
            store
                .append_staged("dev1", &sha, 0, b"part".to_vec())
                .await
                .unwrap();
            assert_eq!(
                store
                    .collect_stale_staged(Duration::from_secs(3600))
                    .await
                    .unwrap(),
                0
            );
            assert_eq!(store.collect_stale_staged(Duration::ZERO).await.unwrap(), 1);
            assert_eq!(store.staged_len("dev1", &sha).await.unwrap(), 0);
        }
    }
}
