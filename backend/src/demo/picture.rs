//! Camera-like photos for the demo: a coloured gradient with a sun and a
//! field, different for every seed, cheap and deterministic.

use anyhow::Context;

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 900;

/// A `WIDTH`x`HEIGHT` JPEG for `seed`.
pub fn jpeg(seed: u64) -> anyhow::Result<Vec<u8>> {
    let hue = (seed % 360) as f32;
    let sky_top = hsv(hue, 0.55, 0.95);
    let sky_low = hsv((hue + 40.0) % 360.0, 0.25, 1.0);
    let field = hsv((hue + 120.0) % 360.0, 0.6, 0.55);
    let sun = [250.0, 220.0, 120.0];
    let horizon = HEIGHT / 2 + (seed % 7) as u32 * 30;
    let (cx, cy) = (
        200.0 + (seed.wrapping_mul(37) % 800) as f32,
        120.0 + (seed.wrapping_mul(11) % 200) as f32,
    );
    let r2 = (50.0 + (seed % 5) as f32 * 15.0).powi(2);
    let img = image::RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        let c = if (xf - cx).powi(2) + (yf - cy).powi(2) < r2 {
            sun
        } else if y < horizon {
            mix(sky_top, sky_low, yf / horizon as f32)
        } else {
            // Furrows: stripes across the field.
            let stripe = if ((x + 2 * y) / 24) % 2 == 0 {
                1.0
            } else {
                0.85
            };
            field.map(|v| v * stripe)
        };
        image::Rgb(c.map(|v| v.clamp(0.0, 255.0) as u8))
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .context("cannot encode a demo photo")?;
    Ok(out)
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t)
}

fn hsv(h: f32, s: f32, v: f32) -> [f32; 3] {
    let c = v * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [r, g, b].map(|u| (u + m) * 255.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn photos_differ_by_seed_and_decode() {
        let (a, b) = (super::jpeg(1).unwrap(), super::jpeg(2).unwrap());
        assert_ne!(a, b);
        let img = image::load_from_memory(&a).unwrap();
        assert_eq!((img.width(), img.height()), (super::WIDTH, super::HEIGHT));
    }
}
