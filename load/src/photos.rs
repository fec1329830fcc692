//! Photos in `jishi-load run --photos N` (issue 7, item 1): each phone takes
//! N photos during its week, attached to its diary entries as the app
//! attaches them (`Edit::AttachPhoto`, the photo named by its SHA-256), and
//! after its documents are synced uploads them one at a time through the
//! resumable upload (`HEAD` / `PATCH /api/v1/blobs/{sha256}`, see
//! `docs/photo-upload.md`), driven by the same `sync_core::upload::Upload`
//! the app's upload loop uses.
//!
//! The photos are what `sync_core::photo::prepare_photo` leaves: a JPEG of
//! 1,600 px on the long edge at quality 80, with camera-like grain. Making a
//! JPEG for each of thousands of photos would cost the load tool more CPU
//! than the server spends on them, on the same cores; so an [`Album`] holds
//! a few such JPEGs and every photo taken is one of them with its own
//! comment segment (`FF FE`) after the start marker: a different file and
//! SHA-256 for each photo, which the server checks, decodes and thumbnails
//! in full like any other.

use std::sync::Arc;
use std::time::Instant;

use image::ImageError;
use jishi_world::http::{self as phone_http, Busy, UploadError};
use jishi_world::picture;
use sync_core::validate::PhotoHash;

use crate::run::{failure, Failure};

/// Network failures in a row after which a photo is left for the next run
/// (the app leaves it in its outbox).
const MAX_FAILURES: u32 = 5;
/// Busy answers waited out per photo.
const MAX_BUSY: u64 = 30;

/// A few prepared-size JPEGs every photo is made from.
pub struct Album {
    bases: Vec<Arc<Vec<u8>>>,
}

impl Album {
    /// `variants` different photos, `long_edge` pixels wide, 4:3.
    pub fn new(long_edge: u32, variants: usize) -> Result<Self, ImageError> {
        let width = long_edge.max(16);
        let height = (width * 3 / 4).max(12);
        let bases = (0..variants.max(1))
            .map(|v| picture::field_jpeg(width, height, v as u64, 80).map(Arc::new))
            .collect::<Result<_, _>>()?;
        Ok(Self { bases })
    }

    /// Cadre `cadre`'s `n`th photo of the run.
    pub fn photo(&self, cadre: usize, n: usize) -> PhotoFile {
        let base = self.bases[(cadre + n) % self.bases.len()].clone();
        let text = format!("jishi-load cadre {cadre} photo {n}");
        // COM segment: marker, then a length that counts itself.
        let mut segment = vec![0xFF, 0xFE];
        segment.extend(u16::try_from(text.len() + 2).unwrap_or(2).to_be_bytes());
        segment.extend(text.as_bytes());
        let mut file = PhotoFile {
            hash: PhotoHash::of_bytes(&[]),
            base,
            segment,
        };
        file.hash = PhotoHash::of_bytes(&file.bytes(0, file.len()));
        file
    }
}

/// One photo on a phone: an album JPEG with its own comment segment after
/// the start marker, assembled when a chunk of it is sent.
#[derive(Clone)]
pub struct PhotoFile {
    pub hash: PhotoHash,
    base: Arc<Vec<u8>>,
    segment: Vec<u8>,
}

impl PhotoFile {
    pub fn len(&self) -> u64 {
        (self.base.len() + self.segment.len()) as u64
    }

    /// Bytes `start..end` of the file (clamped to its length).
    pub fn bytes(&self, start: u64, end: u64) -> Vec<u8> {
        let (soi, rest) = self.base.split_at(2.min(self.base.len()));
        let whole = soi.iter().chain(&self.segment).chain(rest);
        let end = end.min(self.len());
        whole
            .skip(start as usize)
            .take(end.saturating_sub(start) as usize)
            .copied()
            .collect()
    }
}

/// What uploading one phone's photos did.
#[derive(Default)]
pub struct UploadOutcome {
    /// Photos the server holds at the end.
    pub uploaded: u64,
    pub bytes: u64,
    /// Microseconds of each upload request, send to last byte of the reply
    /// (busy answers not counted).
    pub latencies_us: Vec<u64>,
    pub busy: u64,
    /// Photos refused or given up on, and failed attempts that were retried.
    pub problems: Vec<Failure>,
    /// When the last photo was done.
    pub done_at: Option<Instant>,
}

/// Upload `photos` one after another, as the app does after a sync.
pub async fn upload_all(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    phone: usize,
    photos: &[PhotoFile],
    chunk: u64,
) -> UploadOutcome {
    let mut out = UploadOutcome::default();
    for photo in photos {
        if upload_one(http, url, token, phone, photo, chunk, &mut out).await {
            out.uploaded += 1;
            out.bytes += photo.len();
        }
    }
    out.done_at = Some(Instant::now());
    out
}

/// One photo through the resumable upload; whether the server holds it.
async fn upload_one(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    phone: usize,
    photo: &PhotoFile,
    chunk: u64,
    out: &mut UploadOutcome,
) -> bool {
    let bytes = |start: u64, end: u64| Some(photo.bytes(start, end));
    let file = phone_http::PhotoFile {
        hash: &photo.hash,
        len: photo.len(),
        bytes: &bytes,
    };
    let mut busy = Busy::new(phone as u64, MAX_BUSY);
    // No backoff sleeps between failures: the figures are of the server,
    // and a failure is reported either way.
    let (uploaded, result) = phone_http::upload_photo(
        http,
        url,
        token,
        &file,
        chunk,
        MAX_FAILURES,
        &mut busy,
        |_| Ok(()),
    )
    .await;
    out.busy += busy.answers;
    out.latencies_us.extend(uploaded.latencies_us);
    for e in uploaded.retried {
        let (kind, message) = failure(e);
        out.problems.push((format!("{kind} (retried)"), message));
    }
    match result {
        Ok(()) => true,
        Err(e @ UploadError::GaveUp { .. }) => {
            out.problems.push((
                "photo: given up after failures in a row".into(),
                e.to_string(),
            ));
            false
        }
        Err(e) => {
            out.problems.push(("photo: refused".into(), e.to_string()));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_photo_is_its_own_jpeg_that_the_server_check_accepts() {
        let album = Album::new(400, 2).unwrap();
        let a = album.photo(1, 0);
        let b = album.photo(1, 2);
        assert_eq!(a.base, b.base, "same album photo");
        assert_ne!(a.hash, b.hash, "but another file");
        let whole = a.bytes(0, a.len());
        assert_eq!(whole.len() as u64, a.len());
        assert_eq!(PhotoHash::of_bytes(&whole), a.hash);
        // Chunks put back together are the file.
        let mut joined = a.bytes(0, 100);
        joined.extend(a.bytes(100, 7_000));
        joined.extend(a.bytes(7_000, a.len() + 10));
        assert_eq!(joined, whole);
        let checked = sync_core::photo_check::check_and_clean(
            whole,
            &sync_core::photo_check::PhotoLimits::default(),
        )
        .unwrap();
        assert_eq!((checked.width, checked.height), (400, 300));
    }
}
