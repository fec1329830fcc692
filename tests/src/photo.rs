//! Photos as a phone's camera takes them, for the tests that upload them:
//! noisy content (so that they do not compress to nothing), different for
//! each seed, and their names (the SHA-256 of the bytes).

use std::path::Path;

use image::RgbImage;
use sha2::{Digest, Sha256};

/// A camera-like picture of `w`x`h`, different for each `seed`.
pub fn noisy(w: u32, h: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ seed.wrapping_mul(31);
        image::Rgb([(v % 251) as u8, (v / 7 % 253) as u8, (v / 13 % 241) as u8])
    })
}

/// [`noisy`] as a JPEG (quality 85).
pub fn jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&noisy(w, h, seed))
        .unwrap();
    out
}

/// [`noisy`] saved as a JPEG file `dir/name`, as a camera app leaves it;
/// its path.
pub fn camera_file(dir: &Path, name: &str, w: u32, h: u32, seed: u32) -> String {
    let path = dir.join(name);
    noisy(w, h, seed).save(&path).unwrap();
    path.display().to_string()
}

/// A photo's name: the SHA-256 of its bytes, in lower-case hex.
pub fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
