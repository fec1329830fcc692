//! The server's check of an uploaded photo: what it keeps, and a thumbnail.
//!
//! [`check_and_clean`] takes the bytes a phone uploaded and either refuses
//! them or returns the file to store and a JPEG thumbnail. The server never
//! trusts the phone to have prepared the photo: every metadata block is
//! removed (EXIF with GPS and camera model, XMP, ICC, comments, text
//! chunks, trailers; `photo_strip`), the EXIF orientation is applied to the
//! pixels, and transparency is laid on white in the thumbnail. A photo that
//! is upright already keeps its image data byte for byte (metadata segments
//! are cut out, nothing is re-encoded); one that must be turned is decoded,
//! turned and re-encoded (JPEG quality [`REENCODE_QUALITY`], PNG lossless).
//! Nothing dangerous is decoded: the structure, the dimensions and the
//! metadata sizes are read before any pixel or compressed chunk, and
//! [`plan`] tells from them alone how much memory the check will take, so
//! the server can hold a budget of bytes before it starts; JPEG scan data
//! must decode cleanly (strict mode: no missing or damaged scan is filled
//! with grey). No input makes it panic. It does no I/O; it lives here,
//! beside the phone's [`crate::photo::prepare_photo`], so that both decoders
//! of outside images are fuzzed without the server (`sync-core/fuzz/`).

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageBuffer, ImageEncoder};

use crate::photo_strip::{self, ImageKind, Layout, StripError};

/// Long edge of a thumbnail, in pixels: the size the weekly publication
/// shows, and the only size of a photo that a publication makes public.
pub const THUMB_EDGE: u32 = 320;

/// JPEG quality of a photo the server re-encodes to turn it upright.
pub const REENCODE_QUALITY: u8 = 90;

/// Memory for the thumbnail and the decoders' row buffers, beyond the
/// image itself.
const WORKING_ROOM: u64 = 2 << 20;

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
    #[error("metadata too large: {0}")]
    MetadataTooLarge(String),
    #[error("the image is damaged: {0}")]
    Corrupt(String),
}

impl PhotoCheckError {
    pub fn code(&self) -> &'static str {
        match self {
            PhotoCheckError::NotAnImage => "not_an_image",
            PhotoCheckError::TooLarge(_) => "image_too_large",
            PhotoCheckError::MetadataTooLarge(_) => "metadata_too_large",
            PhotoCheckError::Corrupt(_) => "corrupt_image",
        }
    }
}

impl From<StripError> for PhotoCheckError {
    fn from(e: StripError) -> Self {
        match e {
            StripError::NotAnImage => PhotoCheckError::NotAnImage,
            StripError::MetadataTooLarge { .. } => PhotoCheckError::MetadataTooLarge(e.to_string()),
            StripError::Truncated(_) | StripError::Malformed(_) => {
                PhotoCheckError::Corrupt(e.to_string())
            }
        }
    }
}

/// What the server stores, compared with what was uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleaning {
    /// The upload had no metadata and was upright: stored byte for byte.
    AsUploaded,
    /// Metadata segments or chunks cut out; the image data byte for byte.
    Stripped,
    /// Decoded, turned upright and encoded again.
    Reencoded,
}

impl Cleaning {
    pub fn as_str(self) -> &'static str {
        match self {
            Cleaning::AsUploaded => "as_uploaded",
            Cleaning::Stripped => "stripped",
            Cleaning::Reencoded => "reencoded",
        }
    }
}

/// What checking a photo will take, known before any pixel is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub kind: ImageKind,
    /// As stored in the file (before turning upright).
    pub width: u32,
    pub height: u32,
    pub orientation: Orientation,
    pub cleaning: Cleaning,
    /// Bytes the check holds at its peak, the upload itself included.
    pub memory: u64,
    layout: Layout,
}

/// A checked photo.
#[derive(Debug)]
pub struct Checked {
    /// Upright.
    pub width: u32,
    pub height: u32,
    pub kind: ImageKind,
    /// The file to store and serve: no metadata, upright.
    pub stored: Vec<u8>,
    pub cleaning: Cleaning,
    /// JPEG, long edge at most [`THUMB_EDGE`], transparency on white.
    pub thumbnail: Vec<u8>,
}

/// The structure, the limits and the memory the check will take, from the
/// file's headers alone (nothing decoded or inflated).
pub fn plan(bytes: &[u8], limits: &PhotoLimits) -> Result<Plan, PhotoCheckError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(PhotoCheckError::TooLarge(format!("{} bytes", bytes.len())));
    }
    // The declared size first: a bomb is refused whatever follows it.
    let (_, w, h) = photo_strip::header(bytes)?;
    if w > limits.max_side || h > limits.max_side || u64::from(w) * u64::from(h) > limits.max_pixels
    {
        return Err(PhotoCheckError::TooLarge(format!("{w}x{h} pixels")));
    }
    let layout = photo_strip::layout(bytes)?;
    if (layout.width, layout.height) != (w, h) {
        return Err(PhotoCheckError::Corrupt("two frame headers".into()));
    }
    let cleaning = if layout.orientation != Orientation::NoTransforms {
        Cleaning::Reencoded
    } else if layout.has_metadata() {
        Cleaning::Stripped
    } else {
        Cleaning::AsUploaded
    };
    let memory = memory_needed(bytes.len(), &layout, cleaning);
    Ok(Plan {
        kind: layout.kind,
        width: w,
        height: h,
        orientation: layout.orientation,
        cleaning,
        memory,
        layout,
    })
}

/// The peak of the check: the upload and the copy decoded while the
/// decoder works (a progressive JPEG's decoder also keeps every
/// coefficient, about twice the pixels), then, to re-encode, the pixels,
/// their turned copy and the encoder's output.
fn memory_needed(file: usize, layout: &Layout, cleaning: Cleaning) -> u64 {
    let pixels = u64::from(layout.width) * u64::from(layout.height) * u64::from(layout.channels);
    // A JPEG is decoded from a copy (stripped, its scans guarded); so is a
    // PNG with metadata.
    let stripped = match layout.kind {
        ImageKind::Jpeg => layout.guarded_len() as u64,
        ImageKind::Png if layout.has_metadata() => layout.stripped_len() as u64,
        ImageKind::Png => 0,
    };
    let decoding = file as u64 + stripped + pixels * if layout.progressive { 3 } else { 1 };
    let reencoding = match cleaning {
        Cleaning::Reencoded => {
            let turned = match layout.orientation {
                Orientation::Rotate90
                | Orientation::Rotate270
                | Orientation::Rotate90FlipH
                | Orientation::Rotate270FlipH => pixels,
                _ => 0,
            };
            let output = match layout.kind {
                ImageKind::Jpeg => pixels / 2,
                ImageKind::Png => pixels,
            };
            pixels + turned + output
        }
        _ => 0,
    };
    decoding.max(reencoding) + WORKING_ROOM
}

/// Check `bytes` as a photo, clean it and make its thumbnail; see the
/// module docs.
pub fn check_and_clean(bytes: Vec<u8>, limits: &PhotoLimits) -> Result<Checked, PhotoCheckError> {
    let plan = plan(&bytes, limits)?;
    // The decoders and encoders run on bytes from outside: a bug in any of
    // them must become a refusal, not take the server down.
    catch_unwind(AssertUnwindSafe(move || clean(bytes, plan)))
        .unwrap_or_else(|_| Err(PhotoCheckError::Corrupt("the decoder failed".into())))
}

fn clean(bytes: Vec<u8>, plan: Plan) -> Result<Checked, PhotoCheckError> {
    let mut image = match plan.kind {
        ImageKind::Jpeg => decode(&plan.layout.guarded(&bytes), &plan)?,
        ImageKind::Png => decode(&plan.layout.stripped(&bytes), &plan)?,
    };
    let stored = match plan.cleaning {
        Cleaning::AsUploaded => bytes,
        Cleaning::Stripped => plan.layout.stripped(&bytes).into_owned(),
        Cleaning::Reencoded => {
            drop(bytes);
            image.apply_orientation(plan.orientation);
            encode(&image, plan.kind)?
        }
    };
    let (width, height) = (image.width(), image.height());
    on_white(&mut image);
    let thumbnail = thumbnail(&image)?;
    Ok(Checked {
        width,
        height,
        kind: plan.kind,
        stored,
        cleaning: plan.cleaning,
        thumbnail,
    })
}

fn decode(bytes: &[u8], plan: &Plan) -> Result<DynamicImage, PhotoCheckError> {
    let (w, h, channels) = (plan.width, plan.height, plan.layout.channels);
    let image = match plan.kind {
        ImageKind::Jpeg => {
            use zune_core::bytestream::ZCursor;
            use zune_core::colorspace::ColorSpace;
            use zune_core::options::DecoderOptions;
            let options = DecoderOptions::default()
                .set_strict_mode(true)
                .set_max_width(w as usize)
                .set_max_height(h as usize)
                .jpeg_set_out_colorspace(if channels == 1 {
                    ColorSpace::Luma
                } else {
                    ColorSpace::RGB
                });
            let mut decoder =
                zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
            let pixels = decoder
                .decode()
                .map_err(|e| PhotoCheckError::Corrupt(format!("the scan data: {e}")))?;
            if decoder.dimensions() != Some((w as usize, h as usize)) {
                return Err(PhotoCheckError::Corrupt(
                    "the frame is not the size its header declares".into(),
                ));
            }
            raw(w, h, channels, pixels)
        }
        ImageKind::Png => {
            let mut decoder = png::Decoder::new_with_limits(
                Cursor::new(bytes),
                png::Limits {
                    bytes: usize::try_from(plan.memory).unwrap_or(usize::MAX),
                },
            );
            decoder.set_transformations(png::Transformations::normalize_to_color8());
            let corrupt = |e: png::DecodingError| PhotoCheckError::Corrupt(e.to_string());
            let mut reader = decoder.read_info().map_err(corrupt)?;
            let size = reader
                .output_buffer_size()
                .ok_or_else(|| PhotoCheckError::TooLarge(format!("{w}x{h} pixels")))?;
            let mut pixels = vec![0; size];
            let frame = reader.next_frame(&mut pixels).map_err(corrupt)?;
            reader.finish().map_err(corrupt)?;
            if (frame.width, frame.height) != (w, h) {
                return Err(PhotoCheckError::Corrupt(
                    "the image is not the size its header declares".into(),
                ));
            }
            pixels.truncate(frame.buffer_size());
            let channels = frame.color_type.samples() as u8;
            raw(w, h, channels, pixels)
        }
    };
    image.ok_or_else(|| PhotoCheckError::Corrupt("the decoder gave too few pixels".into()))
}

/// Decoded 8-bit samples as an image, without copying.
fn raw(w: u32, h: u32, channels: u8, pixels: Vec<u8>) -> Option<DynamicImage> {
    Some(match channels {
        1 => DynamicImage::ImageLuma8(ImageBuffer::from_raw(w, h, pixels)?),
        2 => DynamicImage::ImageLumaA8(ImageBuffer::from_raw(w, h, pixels)?),
        3 => DynamicImage::ImageRgb8(ImageBuffer::from_raw(w, h, pixels)?),
        4 => DynamicImage::ImageRgba8(ImageBuffer::from_raw(w, h, pixels)?),
        _ => return None,
    })
}

fn encode(image: &DynamicImage, kind: ImageKind) -> Result<Vec<u8>, PhotoCheckError> {
    let mut out = Vec::new();
    let failed = |e: image::ImageError| PhotoCheckError::Corrupt(format!("encoding: {e}"));
    match kind {
        ImageKind::Jpeg => JpegEncoder::new_with_quality(&mut out, REENCODE_QUALITY)
            .encode_image(image)
            .map_err(failed)?,
        ImageKind::Png => PngEncoder::new(&mut out)
            .write_image(
                image.as_bytes(),
                image.width(),
                image.height(),
                image.color().into(),
            )
            .map_err(failed)?,
    }
    Ok(out)
}

/// Transparency laid on white, in place (a thumbnail is a JPEG: without
/// this, transparent areas show whatever colour their pixels hold).
fn on_white(image: &mut DynamicImage) {
    fn over(c: u8, a: u8) -> u8 {
        let a = u32::from(a);
        ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8
    }
    match image {
        DynamicImage::ImageRgba8(img) => {
            for p in img.pixels_mut() {
                let [r, g, b, a] = p.0;
                p.0 = [over(r, a), over(g, a), over(b, a), 255];
            }
        }
        DynamicImage::ImageLumaA8(img) => {
            for p in img.pixels_mut() {
                let [l, a] = p.0;
                p.0 = [over(l, a), 255];
            }
        }
        _ => {}
    }
}

/// A JPEG of the image with its long edge at most [`THUMB_EDGE`] (never
/// enlarged).
fn thumbnail(image: &DynamicImage) -> Result<Vec<u8>, PhotoCheckError> {
    let (w, h) = (image.width(), image.height());
    let long = w.max(h);
    let small = if long <= THUMB_EDGE {
        image.to_rgb8()
    } else {
        let scale = |side: u32| {
            ((u64::from(side) * u64::from(THUMB_EDGE) + u64::from(long) / 2) / u64::from(long))
                .max(1) as u32
        };
        image.thumbnail_exact(scale(w), scale(h)).to_rgb8()
    };
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&small)
        .map_err(|e| PhotoCheckError::Corrupt(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn a_clean_photo_is_stored_as_uploaded_with_a_thumbnail() {
        let photo = jpeg(1600, 1200);
        let c = check_and_clean(photo.clone(), &PhotoLimits::default()).unwrap();
        assert_eq!((c.width, c.height), (1600, 1200));
        assert_eq!(c.cleaning, Cleaning::AsUploaded);
        assert_eq!(c.stored, photo);
        let t = image::load_from_memory(&c.thumbnail).unwrap();
        assert_eq!((t.width(), t.height()), (320, 240));
    }

    #[test]
    fn bad_inputs_are_refused() {
        let limits = PhotoLimits::default();
        assert_eq!(
            check_and_clean(b"hello".to_vec(), &limits).unwrap_err(),
            PhotoCheckError::NotAnImage
        );
        // 100,000 x 100,000 pixels declared in 66 bytes (written by the
        // corpus test's `write_seeds`).
        let bomb = include_bytes!("../tests/corpus/photo_check/bad-png-bomb");
        assert!(matches!(
            check_and_clean(bomb.to_vec(), &limits),
            Err(PhotoCheckError::TooLarge(_))
        ));
        let good = jpeg(200, 100);
        let truncated = &good[..good.len() / 2];
        assert!(matches!(
            check_and_clean(truncated.to_vec(), &limits),
            Err(PhotoCheckError::Corrupt(_))
        ));
        // The scan cut in the middle, an end-of-image marker after it: the
        // structure is whole, the scan data is not.
        let mut cut = good[..good.len() / 2].to_vec();
        cut.extend([0xFF, 0xD9]);
        assert!(matches!(
            check_and_clean(cut, &limits),
            Err(PhotoCheckError::Corrupt(_))
        ));
    }

    #[test]
    fn the_plan_counts_the_pixels_before_decoding() {
        let p = plan(&jpeg(1600, 1200), &PhotoLimits::default()).unwrap();
        let pixels = 1600 * 1200 * 3;
        assert!(p.memory > pixels && p.memory < 2 * pixels, "{}", p.memory);
    }
}
