//! The simulated camera: field photos (sky, a hillside of terraces, a
//! path) with sensor grain, so that they compress like photos and not like
//! drawings; different for every seed, deterministic.

use image::codecs::jpeg::JpegEncoder;
use image::{ImageError, RgbImage};

use crate::Rng;

/// The demo phones' camera size (4:3).
pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 900;

/// A `width`x`height` field photo for `seed`.
pub fn field(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut rng = Rng::new(seed);
    let phase = (seed % 1000) as f32 * 0.7;
    let tint = (seed % 7) as f32 * 6.0;
    RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let horizon = 0.35 + 0.08 * (fx * 6.0 + phase).sin();
        let rgb = if fy < horizon {
            [
                120.0 + 80.0 * fy,
                160.0 + 60.0 * fy,
                230.0 - 30.0 * fy - tint,
            ]
        } else {
            let terrace = ((fy - horizon) * 40.0 + (fx * 9.0 + phase).sin()).sin();
            let path = ((fx - 0.5 - 0.2 * fy).abs() < 0.02) as u8 as f32;
            [
                60.0 + 30.0 * terrace + 120.0 * path + tint,
                110.0 + 40.0 * terrace + 90.0 * path,
                50.0 + 15.0 * terrace + 60.0 * path,
            ]
        };
        // Grain of -8 to +7.5 levels.
        let n = ((rng.next_u64() >> 59) as f32 - 16.0) * 0.5;
        image::Rgb(rgb.map(|c| (c + n).clamp(0.0, 255.0) as u8))
    })
}

/// [`field`] as a JPEG of `quality`.
pub fn field_jpeg(width: u32, height: u32, seed: u64, quality: u8) -> Result<Vec<u8>, ImageError> {
    let mut jpeg = Vec::new();
    field(width, height, seed)
        .write_with_encoder(JpegEncoder::new_with_quality(&mut jpeg, quality))?;
    Ok(jpeg)
}

/// A demo phone's camera photo: `WIDTH`x`HEIGHT` at quality 85.
pub fn jpeg(seed: u64) -> Result<Vec<u8>, ImageError> {
    field_jpeg(WIDTH, HEIGHT, seed, 85)
}

#[cfg(test)]
mod tests {
    #[test]
    fn photos_differ_by_seed_and_decode() {
        let (a, b) = (super::jpeg(1).unwrap(), super::jpeg(2).unwrap());
        assert_ne!(a, b);
        assert_eq!(a, super::jpeg(1).unwrap(), "the same seed, the same photo");
        let img = image::load_from_memory(&a).unwrap();
        assert_eq!((img.width(), img.height()), (super::WIDTH, super::HEIGHT));
    }
}
