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
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::{ImageError, RgbImage};
use reqwest::StatusCode;
use sync_core::upload::{Upload, UploadRequest, UploadResponse, UploadState};
use sync_core::validate::PhotoHash;

use crate::run::{http_failure, retry_after_ms, spread_ms, transport_failure, Failure};

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
            .map(|v| field_photo(width, height, v as u64).map(Arc::new))
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

/// A field photo after `prepare_photo`: sky, a hillside of terraces, a
/// path, and sensor grain, so that it compresses like a photo and not like
/// a drawing.
fn field_photo(width: u32, height: u32, seed: u64) -> Result<Vec<u8>, ImageError> {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut grain = move || {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        (rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 59) as f32 - 16.0
    };
    let phase = seed as f32 * 0.7;
    let image = RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let horizon = 0.35 + 0.08 * (fx * 6.0 + phase).sin();
        let rgb = if fy < horizon {
            [120.0 + 80.0 * fy, 160.0 + 60.0 * fy, 230.0 - 30.0 * fy]
        } else {
            let terrace = ((fy - horizon) * 40.0 + (fx * 9.0 + phase).sin()).sin();
            let path = ((fx - 0.5 - 0.2 * fy).abs() < 0.02) as u8 as f32;
            [
                60.0 + 30.0 * terrace + 120.0 * path,
                110.0 + 40.0 * terrace + 90.0 * path,
                50.0 + 15.0 * terrace + 60.0 * path,
            ]
        };
        let n = grain() * 0.5;
        image::Rgb(rgb.map(|c| (c + n).clamp(0.0, 255.0) as u8))
    });
    let mut jpeg = Vec::new();
    image.write_with_encoder(JpegEncoder::new_with_quality(&mut jpeg, 80))?;
    Ok(jpeg)
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
    let endpoint = format!("{url}/api/v1/blobs/{}", photo.hash.as_str());
    let mut upload = Upload::new(photo.hash.clone(), photo.len(), chunk);
    let mut busy = 0;
    while let Some(request) = upload.next() {
        let builder = match request {
            UploadRequest::Head => http.head(&endpoint),
            UploadRequest::Patch { offset, len } => http
                .patch(&endpoint)
                .header("upload-offset", offset)
                .header("upload-length", photo.len())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/offset+octet-stream",
                )
                .body(photo.bytes(offset, offset + len)),
        };
        let sent = Instant::now();
        let response = builder.bearer_auth(token).send().await;
        let answer = match response {
            Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE && busy < MAX_BUSY => {
                busy += 1;
                out.busy += 1;
                let wait = retry_after_ms(r.headers());
                let spread = spread_ms(phone, busy, wait);
                tokio::time::sleep(Duration::from_millis(wait + spread)).await;
                continue;
            }
            Ok(r) => classify(r).await,
            Err(e) => Err(transport_failure("photo", e)),
        };
        out.latencies_us.push(sent.elapsed().as_micros() as u64);
        let response = match answer {
            Ok(response) => response,
            Err(failure) => {
                out.problems
                    .push((format!("{} (retried)", failure.0), failure.1));
                UploadResponse::Failed
            }
        };
        upload.handle(response);
        if upload.failures() >= MAX_FAILURES {
            out.problems.push((
                "photo: given up after failures in a row".into(),
                photo.hash.to_string(),
            ));
            return false;
        }
        // No backoff sleeps: the figures are of the server, and a failure
        // is reported either way.
    }
    match upload.state() {
        UploadState::Done => true,
        UploadState::Failed { reason } => {
            out.problems
                .push(("photo: refused".into(), format!("{}: {reason}", photo.hash)));
            false
        }
        _ => false,
    }
}

/// The server's answer as the upload state machine takes it; `Err` for an
/// answer worth retrying (5xx, 429, 401).
async fn classify(r: reqwest::Response) -> Result<UploadResponse, Failure> {
    let status = r.status();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let offset = header("upload-offset");
    let complete = header("upload-complete") == Some(1);
    match (status.as_u16(), offset) {
        (200..=299, Some(offset)) => Ok(UploadResponse::Offset { offset, complete }),
        (409, Some(offset)) => Ok(UploadResponse::OffsetMismatch { offset }),
        (400..=499, _) if status != StatusCode::TOO_MANY_REQUESTS && status.as_u16() != 401 => {
            let (kind, message) = http_failure("photo", r).await;
            Ok(UploadResponse::Refused {
                code: kind,
                message,
            })
        }
        _ => Err(http_failure("photo", r).await),
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
