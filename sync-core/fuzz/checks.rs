//! What the fuzz targets `upload_headers`, `photo_check` and `photo_prepare`
//! assert about one input. The targets include this file with `#[path]`, and
//! so does `sync-core/tests/it/corpus.rs`, which replays the committed corpus
//! through exactly these checks. A check panics when an invariant breaks and
//! otherwise returns what the code under test decided, so that the corpus
//! test can also require seeds to be accepted and bad inputs refused.
#![allow(dead_code)] // each fuzz target uses one check

use image::ImageFormat;
use sync_core::photo::{prepare_photo, PhotoError, PhotoOptions};
use sync_core::photo_check::{check_and_clean, Cleaning, PhotoCheckError, PhotoLimits, THUMB_EDGE};
use sync_core::photo_strip;
use sync_core::upload::{check_patch, PatchRefusal, PatchStep, UploadHeader};
use sync_core::validate::PhotoHash;

// ---- upload_headers ------------------------------------------------------

/// One `PATCH` as the server sees it. Bytes of a fuzz input, in order: flags
/// (bit 0: `Upload-Offset` present, bit 1: `Upload-Length` present), the
/// chunk length (u32 LE), what the server holds (u64 LE), the size limit
/// (u64 LE), the length `n` of the offset value (u8), `n` bytes of offset
/// value, and the rest as the length value. Missing bytes read as zeros, so
/// every input is a `PATCH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchInput {
    pub offset: Option<Vec<u8>>,
    pub length: Option<Vec<u8>>,
    pub chunk_len: u32,
    pub staged: u64,
    pub max_bytes: u64,
}

impl PatchInput {
    pub fn decode(bytes: &[u8]) -> Self {
        let mut fixed = [0u8; 22];
        let head = bytes.len().min(fixed.len());
        fixed[..head].copy_from_slice(&bytes[..head]);
        let rest = &bytes[head..];
        let n = usize::from(fixed[21]).min(rest.len());
        let (offset, length) = rest.split_at(n);
        Self {
            offset: (fixed[0] & 1 != 0).then(|| offset.to_vec()),
            length: (fixed[0] & 2 != 0).then(|| length.to_vec()),
            chunk_len: u32::from_le_bytes(fixed[1..5].try_into().unwrap()),
            staged: u64::from_le_bytes(fixed[5..13].try_into().unwrap()),
            max_bytes: u64::from_le_bytes(fixed[13..21].try_into().unwrap()),
        }
    }

    /// The bytes that decode to `self` (an offset value of at most 255 bytes).
    pub fn encode(&self) -> Vec<u8> {
        let offset = self.offset.as_deref().unwrap_or_default();
        let flags = u8::from(self.offset.is_some()) | u8::from(self.length.is_some()) << 1;
        let mut out = vec![flags];
        out.extend(self.chunk_len.to_le_bytes());
        out.extend(self.staged.to_le_bytes());
        out.extend(self.max_bytes.to_le_bytes());
        out.push(u8::try_from(offset.len()).expect("an offset value of at most 255 bytes"));
        out.extend(offset);
        out.extend(self.length.as_deref().unwrap_or_default());
        out
    }
}

/// `check_patch` on the decoded input must give exactly what the protocol
/// says, worked out here independently: the first failing check in the
/// server's order, or an append that starts at what the server holds, stays
/// within `Upload-Length` and the limit, and completes exactly at the end.
pub fn upload_headers(bytes: &[u8]) -> Result<PatchStep, PatchRefusal> {
    let input = PatchInput::decode(bytes);
    let got = check_patch(
        input.offset.as_deref(),
        input.length.as_deref(),
        input.chunk_len as usize,
        input.staged,
        input.max_bytes,
    );
    let want = (|| {
        let offset =
            number(input.offset.as_deref()).ok_or(PatchRefusal::BadHeader(UploadHeader::Offset))?;
        let length =
            number(input.length.as_deref()).ok_or(PatchRefusal::BadHeader(UploadHeader::Length))?;
        if length > input.max_bytes {
            return Err(PatchRefusal::TooLarge {
                length,
                max_bytes: input.max_bytes,
            });
        }
        if length == 0 {
            return Err(PatchRefusal::ZeroLength);
        }
        if offset != input.staged {
            return Err(PatchRefusal::OffsetConflict { held: input.staged });
        }
        let end = u128::from(offset) + u128::from(input.chunk_len);
        if end > u128::from(length) {
            return Err(PatchRefusal::ChunkPastLength);
        }
        Ok(PatchStep {
            offset,
            end: end as u64,
            length,
            completes: end == u128::from(length),
        })
    })();
    assert_eq!(got, want, "{input:?}");
    if let Ok(step) = got {
        assert_eq!(step.offset, input.staged);
        assert!(step.offset <= step.end && step.end <= step.length);
        assert!(0 < step.length && step.length <= input.max_bytes);
        assert_eq!(step.completes, step.end == step.length);
    }
    got
}

/// A header value as HTTP clients send a whole number: spaces or tabs
/// around, at most one `+`, then decimal digits that fit in 64 bits.
fn number(value: Option<&[u8]>) -> Option<u64> {
    let mut v = value?;
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    if let [b'+', rest @ ..] = v {
        v = rest;
    }
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

// ---- photo_check and photo_prepare ---------------------------------------

/// The server's limits in `photo_check`: small, so that an input declaring
/// the most it may (1 megapixel, a side of 4,096) still decodes in a few
/// milliseconds and the run spends its time on parsing, not on pixels. The
/// limit checks are the same code whatever the numbers.
pub const CHECK_LIMITS: PhotoLimits = PhotoLimits {
    max_bytes: 1 << 20,
    max_pixels: 1 << 20,
    max_side: 4096,
};

/// The phone's options in `photo_prepare`, small for the same reason: at
/// most 1 megapixel in, a long edge of 64 px out.
pub fn prepare_options() -> PhotoOptions {
    PhotoOptions {
        max_long_edge: 64,
        max_input_pixels: 1 << 20,
        max_input_bytes: 1 << 20,
        ..PhotoOptions::default()
    }
}

/// `check_and_clean` under [`CHECK_LIMITS`]: no panic escapes, and a photo
/// it accepts has dimensions within the limits, a thumbnail that decodes as
/// a JPEG with its long edge at most [`THUMB_EDGE`], and a stored file with
/// no metadata that the check accepts again as it is, at the same size
/// (cleaning twice changes nothing).
pub fn photo_check(bytes: &[u8]) -> Result<(u32, u32), PhotoCheckError> {
    let limits = CHECK_LIMITS;
    let checked = check_and_clean(bytes.to_vec(), &limits)?;
    let (w, h) = (checked.width, checked.height);
    assert!(bytes.len() as u64 <= limits.max_bytes);
    assert!(w > 0 && h > 0, "accepted a {w}x{h} image");
    assert!(w <= limits.max_side && h <= limits.max_side, "{w}x{h}");
    assert!(u64::from(w) * u64::from(h) <= limits.max_pixels, "{w}x{h}");
    let thumb = image::load_from_memory_with_format(&checked.thumbnail, ImageFormat::Jpeg)
        .expect("the thumbnail decodes");
    let (tw, th) = (thumb.width(), thumb.height());
    assert!(
        tw > 0 && th > 0 && tw.max(th) <= THUMB_EDGE,
        "thumbnail {tw}x{th}"
    );
    match checked.cleaning {
        Cleaning::AsUploaded => assert_eq!(checked.stored, bytes, "stored as uploaded"),
        Cleaning::Stripped | Cleaning::Reencoded => assert_ne!(checked.stored, bytes),
    }
    let layout = photo_strip::layout(&checked.stored).expect("the stored file's structure");
    assert!(!layout.has_metadata(), "metadata kept");
    let again = check_and_clean(checked.stored.clone(), &limits).expect("the stored file passes");
    assert_eq!(again.cleaning, Cleaning::AsUploaded, "cleaned twice");
    assert_eq!((again.width, again.height), (w, h));
    Ok((w, h))
}

/// `prepare_photo` under [`prepare_options`]: no panic escapes, and a photo
/// it prepares is a JPEG of the size it reports, within the long edge,
/// named by its hash, without EXIF, and accepted by the server's check.
pub fn photo_prepare(bytes: &[u8]) -> Result<(u32, u32), PhotoError> {
    let options = prepare_options();
    let p = prepare_photo(bytes, &options)?;
    let (w, h) = (p.width, p.height);
    assert!(
        w > 0 && h > 0 && w.max(h) <= options.max_long_edge,
        "{w}x{h}"
    );
    assert_eq!(p.hash, PhotoHash::of_bytes(&p.jpeg));
    let img = image::load_from_memory_with_format(&p.jpeg, ImageFormat::Jpeg)
        .expect("the prepared photo decodes");
    assert_eq!((img.width(), img.height()), (w, h));
    assert!(!p.jpeg.windows(6).any(|x| x == b"Exif\0\0"), "EXIF kept");
    if let Some(location) = p.location {
        assert_eq!(location.validate(), Ok(()), "{location:?}");
    }
    let checked = check_and_clean(p.jpeg.clone(), &CHECK_LIMITS).expect("the server accepts it");
    assert_eq!((checked.width, checked.height), (w, h));
    assert_eq!(
        checked.cleaning,
        Cleaning::AsUploaded,
        "the server keeps it as it is"
    );
    Ok((w, h))
}
