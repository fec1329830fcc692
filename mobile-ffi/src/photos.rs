//! Showing photos: a local file for any photo a record refers to. The
//! phone's own photos are in `photos/` of the data folder (written when
//! attached); photos of other devices and other cadres (a leader reviewing,
//! the same cadre's second phone) are downloaded from the server into
//! `photo-cache/` (the full photo checked against its SHA-256, which is its
//! name) and kept until `prune_photos` makes room.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sync_core::validate::PhotoHash;

use crate::cancel::{off_thread, Cancel, CancelToken};
use crate::client::{call_cancel, from_http, JishiClient};
use crate::error::{in_field, JishiError};
use crate::http::HttpError;

/// The most a downloaded photo may be (the server keeps uploads far
/// smaller).
const MAX_PHOTO_BYTES: u64 = 32 << 20;

/// Which file of a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PhotoSize {
    /// The photo as uploaded (long edge at most 1,600 px).
    Full,
    /// The server's thumbnail (long edge 320 px), for lists. The phone's
    /// own photos have no separate thumbnail: their full file is given.
    Thumbnail,
}

/// A photo the platform decoded for the library.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DecodedPhoto {
    /// The photo as JPEG (quality 90 or more), upright.
    pub jpeg: Vec<u8>,
    /// When it was taken, from the platform's metadata API (a JPEG made
    /// by the platform may carry no EXIF).
    pub captured_at_ms: Option<i64>,
    /// Where it was taken.
    pub location: Option<crate::types::GeoPoint>,
}

/// The platform could not decode a photo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum DecodeError {
    #[error("cannot decode: {detail}")]
    Unsupported { detail: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for DecodeError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        DecodeError::Unsupported { detail: e.reason }
    }
}

/// The platform's image decoder, for photos the library does not decode
/// itself: HEIC/HEIF (every iPhone's default, and many Android cameras'):
/// Android's `ImageDecoder`, iOS's `CGImageSource`. Registered with
/// `set_photo_decoder`; called on a library thread.
#[uniffi::export(with_foreign)]
pub trait PhotoDecoder: Send + Sync {
    /// `bytes` as JPEG, at most `max_long_edge` px on the long side (the
    /// library makes it smaller still if needed), with the capture time
    /// and place read from the photo's metadata.
    fn to_jpeg(&self, bytes: Vec<u8>, max_long_edge: u32) -> Result<DecodedPhoto, DecodeError>;
}

/// What `prune_photos` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct PhotoPrune {
    pub files_removed: u32,
    pub bytes_freed: u64,
}

impl PhotoSize {
    fn folder(self) -> &'static str {
        match self {
            PhotoSize::Full => "full",
            PhotoSize::Thumbnail => "thumbnail",
        }
    }
}

/// The phone's own file of a photo (attached here).
pub(crate) fn own_file(dir: &Path, hash: &str) -> PathBuf {
    dir.join("photos").join(format!("{hash}.jpg"))
}

fn cached_file(dir: &Path, hash: &str, size: PhotoSize) -> PathBuf {
    dir.join("photo-cache")
        .join(size.folder())
        .join(format!("{hash}.jpg"))
}

/// A file to show for `hash` already on the phone, if any.
pub(crate) fn local_file(dir: &Path, hash: &str, size: PhotoSize) -> Option<PathBuf> {
    [own_file(dir, hash), cached_file(dir, hash, size)]
        .into_iter()
        .find(|p| p.is_file())
}

fn storage(path: &Path, e: std::io::Error) -> JishiError {
    let detail = format!("{}: {e}", path.display());
    if e.raw_os_error() == Some(28) {
        JishiError::StorageFull { detail }
    } else {
        JishiError::Storage { detail }
    }
}

/// Write `bytes` to `file` whole or not at all.
fn write_whole(file: &Path, bytes: &[u8]) -> Result<(), JishiError> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| storage(dir, e))?;
    let tmp = file.with_extension("part");
    let mut f = std::fs::File::create(&tmp).map_err(|e| storage(&tmp, e))?;
    f.write_all(bytes).map_err(|e| storage(&tmp, e))?;
    f.sync_all().map_err(|e| storage(&tmp, e))?;
    std::fs::rename(&tmp, file).map_err(|e| storage(file, e))
}

/// Files of a folder with their size and last use (modification time).
fn files_in(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            m.is_file().then(|| {
                (
                    e.path(),
                    m.len(),
                    m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                )
            })
        })
        .collect()
}

impl JishiClient {
    fn photo_file_now(
        &self,
        cancel: &Arc<Cancel>,
        hash: &str,
        size: PhotoSize,
    ) -> Result<String, JishiError> {
        let hash = PhotoHash::parse(hash).map_err(in_field("hash"))?;
        if let Some(found) = local_file(&self.dir, hash.as_str(), size) {
            // Last use, for pruning the cache.
            if let Ok(f) = std::fs::File::options().append(true).open(&found) {
                let _ = f.set_modified(SystemTime::now());
            }
            return Ok(found.display().to_string());
        }
        let mut token = self.access_token(cancel, false)?;
        let thumbnail = size == PhotoSize::Thumbnail;
        let mut answer =
            self.server
                .photo(cancel, &token, hash.as_str(), thumbnail, MAX_PHOTO_BYTES);
        if matches!(answer, Err(HttpError::Status { status: 401, .. })) {
            token = self.access_token(cancel, true)?;
            answer = self
                .server
                .photo(cancel, &token, hash.as_str(), thumbnail, MAX_PHOTO_BYTES);
        }
        let bytes = match answer {
            Ok(b) => b,
            Err(HttpError::Status {
                status: 404,
                message,
                ..
            }) => {
                return Err(JishiError::invalid_as(
                    "hash",
                    "not_on_server",
                    format!(
                    "the photo is not on the server yet (its phone has not uploaded it): {message}"
                ),
                ))
            }
            Err(e) => return Err(from_http(e)),
        };
        let intact = if thumbnail {
            bytes.starts_with(&[0xFF, 0xD8])
        } else {
            PhotoHash::of_bytes(&bytes) == hash
        };
        if !intact {
            return Err(JishiError::Offline {
                detail: format!("photo {hash} arrived damaged; try again"),
            });
        }
        let file = cached_file(&self.dir, hash.as_str(), size);
        write_whole(&file, &bytes)?;
        Ok(file.display().to_string())
    }

    fn prune_now(
        &self,
        cache_max_bytes: u64,
        drop_uploaded_after_days: Option<u32>,
    ) -> Result<PhotoPrune, JishiError> {
        let mut pruned = PhotoPrune::default();
        let mut remove = |path: &Path, len: u64| {
            if std::fs::remove_file(path).is_ok() {
                pruned.files_removed += 1;
                pruned.bytes_freed += len;
            }
        };
        // The phone's own files: those no outbox row names (orphans of a
        // failed attach), and uploaded ones past the given age (the server
        // has them; `photo_file` downloads them again when shown).
        let outbox = self.replica().outbox()?;
        let now = SystemTime::now();
        for (path, len, modified) in files_in(&self.dir.join("photos")) {
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let row = outbox.iter().find(|p| p.sha256 == name);
            let old = |days: u32| {
                now.duration_since(modified).unwrap_or_default()
                    >= Duration::from_secs(u64::from(days) * 86_400)
            };
            let drop = match row {
                None => path.extension().is_some_and(|e| e == "jpg" || e == "part"),
                Some(p) => p.state == "done" && drop_uploaded_after_days.is_some_and(old),
            };
            if drop {
                remove(&path, len);
            }
        }
        // The cache: least recently used first, down to the limit.
        let mut cached: Vec<_> = ["full", "thumbnail"]
            .iter()
            .flat_map(|f| files_in(&self.dir.join("photo-cache").join(f)))
            .collect();
        cached.sort_by_key(|(_, _, used)| *used);
        let mut total: u64 = cached.iter().map(|(_, len, _)| len).sum();
        for (path, len, _) in cached {
            if total <= cache_max_bytes {
                break;
            }
            remove(&path, len);
            total = total.saturating_sub(len);
        }
        Ok(pruned)
    }
}

#[uniffi::export]
impl JishiClient {
    /// A local file (a path) to show the photo `hash` of any record on
    /// this phone: the phone's own file when it took the photo, else
    /// downloaded from the server once and kept in the photo cache. Fails
    /// with `Validation(code = "not_on_server")` while the phone that took
    /// it has not uploaded it yet, and `Offline` without a network.
    #[uniffi::method(default(cancel = None))]
    pub async fn photo_file(
        self: Arc<Self>,
        hash: String,
        size: PhotoSize,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<String, JishiError> {
        let stop = call_cancel(cancel.as_deref());
        let c = stop.clone();
        off_thread(stop, move || self.photo_file_now(&c, &hash, size)).await
    }

    /// Make room: remove the phone's own photo files that no record needs
    /// (left by an attach that failed) and, with `drop_uploaded_after_days`,
    /// its uploaded photos older than that (shown again by download), then
    /// the least recently shown downloaded photos until the cache holds at
    /// most `cache_max_bytes`. Photos waiting to upload are never removed.
    pub fn prune_photos(
        &self,
        cache_max_bytes: u64,
        drop_uploaded_after_days: Option<u32>,
    ) -> Result<PhotoPrune, JishiError> {
        crate::error::guard(|| self.prune_now(cache_max_bytes, drop_uploaded_after_days))
    }
}
