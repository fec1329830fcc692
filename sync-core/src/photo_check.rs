//! The server's check of an uploaded photo, and its thumbnail.
//!
//! [`check_and_thumbnail`] takes the bytes a phone uploaded and either refuses
//! them or returns the dimensions and a JPEG thumbnail. Nothing dangerous is
//! decoded: the format is sniffed from the bytes, the dimensions are read
//! from the header and checked against [`PhotoLimits`] before any pixel is
//! decoded, and the decoder runs with `image::Limits` set, so a decompression
//! bomb (a tiny file declaring a huge image) is refused, not decoded. No input
//! makes it panic. It does no I/O; the server runs it on a blocking thread, a
//! bounded number at once. It lives here, beside the phone's
//! [`crate::photo::prepare_photo`], so that both decoders of outside images
//! are fuzzed without the server (`sync-core/fuzz/`).

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

/// Long edge of a thumbnail, in pixels.
pub const THUMB_EDGE: u32 = 320;

#[derive(Debug, Clone, Copy)]
pub struct PhotoLimits {
    /// Largest upload accepted (bytes).
    pub max_bytes: u64,
    /// Most pixels an uploaded image may declare.
    pub max_pixels: u64,
    /// Longest side an uploaded image may declare.
    pub max_side: u32,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        Self {
            max_bytes: 20 * 1024 * 1024,
            max_pixels: 40_000_000,
            max_side: 12_000,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhotoCheckError {
    #[error("not a JPEG or PNG image")]
    NotAnImage,
    #[error("image too large: {0}")]
    TooLarge(String),
    #[error("the image is damaged: {0}")]
    Corrupt(String),
}

impl PhotoCheckError {
    pub fn code(&self) -> &'static str {
        match self {
            PhotoCheckError::NotAnImage => "not_an_image",
            PhotoCheckError::TooLarge(_) => "image_too_large",
            PhotoCheckError::Corrupt(_) => "corrupt_image",
        }
    }
}

#[derive(Debug)]
pub struct Checked {
    pub width: u32,
    pub height: u32,
    /// JPEG, long edge at most [`THUMB_EDGE`].
    pub thumbnail: Vec<u8>,
}

/// Check `bytes` as a photo and make its thumbnail.
pub fn check_and_thumbnail(bytes: &[u8], limits: &PhotoLimits) -> Result<Checked, PhotoCheckError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(PhotoCheckError::TooLarge(format!("{} bytes", bytes.len())));
    }
    let format = image::guess_format(bytes).map_err(|_| PhotoCheckError::NotAnImage)?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png) {
        return Err(PhotoCheckError::NotAnImage);
    }
    // A lenient decoder fills a cut-off image with grey; a photo that does
    // not end where its format says it ends is refused instead.
    let tail = &bytes[bytes.len().saturating_sub(64)..];
    let complete = match format {
        ImageFormat::Jpeg => tail.windows(2).any(|w| w == [0xFF, 0xD9]),
        _ => tail.windows(4).any(|w| w == b"IEND"),
    };
    if !complete {
        return Err(PhotoCheckError::Corrupt("the file is cut short".into()));
    }
    let reader = || {
        let mut r = ImageReader::with_format(Cursor::new(bytes), format);
        let mut l = Limits::default();
        l.max_image_width = Some(limits.max_side);
        l.max_image_height = Some(limits.max_side);
        l.max_alloc = Some(limits.max_pixels.saturating_mul(4).saturating_add(16 << 20));
        r.limits(l);
        r
    };
    let (w, h) = reader()
        .into_dimensions()
        .map_err(|e| classify(e, "reading the header"))?;
    if w > limits.max_side || h > limits.max_side || u64::from(w) * u64::from(h) > limits.max_pixels
    {
        return Err(PhotoCheckError::TooLarge(format!("{w}x{h} pixels")));
    }
    let decoded = std::panic::catch_unwind(|| reader().decode())
        .map_err(|_| PhotoCheckError::Corrupt("the decoder failed".into()))?
        .map_err(|e| classify(e, "decoding"))?;
    let thumb = decoded.thumbnail(THUMB_EDGE, THUMB_EDGE).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&thumb)
        .map_err(|e| PhotoCheckError::Corrupt(e.to_string()))?;
    Ok(Checked {
        width: w,
        height: h,
        thumbnail: out,
    })
}

fn classify(e: image::ImageError, when: &str) -> PhotoCheckError {
    match e {
        image::ImageError::Limits(l) => PhotoCheckError::TooLarge(format!("{when}: {l}")),
        image::ImageError::Unsupported(_) => PhotoCheckError::NotAnImage,
        other => PhotoCheckError::Corrupt(format!("{when}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn a_photo_gets_a_thumbnail() {
        let c = check_and_thumbnail(&jpeg(1600, 1200), &PhotoLimits::default()).unwrap();
        assert_eq!((c.width, c.height), (1600, 1200));
        let t = image::load_from_memory(&c.thumbnail).unwrap();
        assert_eq!((t.width(), t.height()), (320, 240));
    }

    #[test]
    fn bad_inputs_are_refused() {
        let limits = PhotoLimits::default();
        assert_eq!(
            check_and_thumbnail(b"hello", &limits).unwrap_err(),
            PhotoCheckError::NotAnImage
        );
        // 100,000 x 100,000 pixels declared in 66 bytes (written by the
        // corpus test's `write_seeds`).
        let bomb = include_bytes!("../tests/corpus/photo_check/bad-png-bomb");
        assert!(matches!(
            check_and_thumbnail(bomb, &limits),
            Err(PhotoCheckError::TooLarge(_))
        ));
        let good = jpeg(200, 100);
        let truncated = &good[..good.len() / 2];
        assert!(matches!(
            check_and_thumbnail(truncated, &limits),
            Err(PhotoCheckError::Corrupt(_))
        ));
    }
}
