//! The blob store: where photo files live.
//!
//! One interface, a local folder by default. A write is durable when it
//! returns: the bytes go to a temporary file that is synced, renamed into
//! place, and the folder synced. Keys are relative paths such as
//! `photos/ab/ab12…ef.jpg`.

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub enum BlobStore {
    Local(LocalBlobs),
}

#[derive(Debug, Clone)]
pub struct LocalBlobs {
    root: PathBuf,
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

fn bad_key(key: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("bad blob key {key:?}"),
    )
}

/// Write `bytes` at `path` durably: temp file, fsync, rename, fsync folder.
pub fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| bad_key(&path.display().to_string()))?;
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

impl BlobStore {
    pub fn local(root: impl Into<PathBuf>) -> Self {
        BlobStore::Local(LocalBlobs { root: root.into() })
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        match self {
            BlobStore::Local(l) => {
                if !valid_key(key) {
                    return Err(bad_key(key));
                }
                let path = l.root.join(key);
                tokio::task::spawn_blocking(move || write_durably(&path, &bytes))
                    .await
                    .map_err(std::io::Error::other)?
            }
        }
    }

    pub async fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>> {
        match self {
            BlobStore::Local(l) => {
                if !valid_key(key) {
                    return Err(bad_key(key));
                }
                match tokio::fs::read(l.root.join(key)).await {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }

    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match self {
            BlobStore::Local(l) => {
                if !valid_key(key) {
                    return Err(bad_key(key));
                }
                match tokio::fs::remove_file(l.root.join(key)).await {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                }
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

    #[tokio::test]
    async fn put_get_delete_and_bad_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::local(dir.path());
        let key = photo_key(&"ab".repeat(32));
        store.put(&key, b"jpeg".to_vec()).await.unwrap();
        assert_eq!(
            store.get(&key).await.unwrap().as_deref(),
            Some(&b"jpeg"[..])
        );
        store.delete(&key).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), None);
        for bad in ["../x", "/etc/passwd", "a//b", "a/../b", "", "a b"] {
            assert!(store.put(bad, vec![]).await.is_err(), "{bad}");
        }
    }
}
