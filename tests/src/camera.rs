//! Files as cameras, galleries and hostile clients make them, built here
//! byte by byte: JPEGs with EXIF (camera make and model, orientation, a GPS
//! position), XMP, comments and trailers; PNGs with transparency and text,
//! EXIF and ICC chunks; scans cut or damaged behind a whole structure; and
//! PNG metadata chunks that inflate to hundreds of MiB. Also what the tests
//! assert about a file: its JPEG segments or PNG chunks, walked here
//! independently of the server's code.

use std::io::Write;

use image::{ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};
use jishi_world::exif::{self, Exif};

pub const CAMERA_MAKE: &str = "JishiOptics";
pub const CAMERA_MODEL: &str = "FieldCam GPS-7";
pub const XMP_MARK: &[u8] = b"http://ns.adobe.com/xap/1.0/";
pub const COMMENT: &[u8] = b"taken at the village office, phone 13812345678";
pub const TRAILER: &[u8] = b"SAMSUNG trailer: original capture data";

// ---- EXIF ------------------------------------------------------------------

/// EXIF as a phone camera writes it (little-endian TIFF, by
/// `jishi_world::exif`): IFD0 with make, model and orientation, and a GPS
/// IFD with the position (27°10'30.50"N, 109°12'45.25"E).
pub fn camera_exif(orientation: u16) -> Vec<u8> {
    let mut camera = Exif::camera(CAMERA_MAKE, CAMERA_MODEL, orientation);
    camera.exif.clear();
    camera.tiff()
}

/// The position's latitude as EXIF stores it, to look for in a file.
pub fn gps_bytes() -> Vec<u8> {
    exif::latitude().bytes()
}

// ---- JPEG ------------------------------------------------------------------

pub fn segment(marker: u8, data: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend(((data.len() + 2) as u16).to_be_bytes());
    s.extend(data);
    s
}

pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    out
}

/// `jpeg` as a phone camera leaves it: EXIF (make, model, `orientation`,
/// GPS), XMP naming the model and the position, a comment, and a trailer
/// after the end of the image.
pub fn camera_jpeg(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend(camera_exif(orientation));
    let mut xmp = XMP_MARK.to_vec();
    xmp.push(0);
    xmp.extend(
        format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><tiff:Model>{CAMERA_MODEL}</tiff:Model>\
             <exif:GPSLatitude>27,10.508N</exif:GPSLatitude></x:xmpmeta>"
        )
        .as_bytes(),
    );
    let mut out = jpeg[..2].to_vec();
    out.extend(segment(0xE1, &exif));
    out.extend(segment(0xE1, &xmp));
    out.extend(segment(0xFE, COMMENT));
    out.extend(&jpeg[2..]);
    out.extend(TRAILER);
    out
}

/// The marker codes of a JPEG's segments up to its first scan, and whether
/// the file ends right after its end-of-image marker.
pub fn jpeg_markers(jpeg: &[u8]) -> (Vec<u8>, bool) {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "not a JPEG");
    let mut markers = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() {
        assert_eq!(jpeg[i], 0xFF, "a marker at {i}");
        let marker = jpeg[i + 1];
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        i += 2 + usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
    }
    (markers, jpeg.ends_with(&[0xFF, 0xD9]))
}

/// The upright picture: red top-left, green top-right, blue bottom-left,
/// white bottom-right.
pub fn quadrants(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb(match (x < w / 2, y < h / 2) {
            (true, true) => [255, 0, 0],
            (false, true) => [0, 255, 0],
            (true, false) => [0, 0, 255],
            (false, false) => [255, 255, 255],
        })
    })
}

/// The colour name of a pixel of [`quadrants`] after JPEG compression.
pub fn colour(p: Rgb<u8>) -> &'static str {
    match p.0 {
        [r, g, b] if r > 180 && g > 180 && b > 180 => "white",
        [r, g, b] if r > 180 && g < 90 && b < 90 => "red",
        [r, g, b] if g > 180 && r < 90 && b < 90 => "green",
        [r, g, b] if b > 180 && r < 90 && g < 90 => "blue",
        [r, g, b] if r > 180 && b > 180 && g < 90 => "magenta",
        _ => "other",
    }
}

/// Where the last scan of a JPEG starts.
fn last_scan(jpeg: &[u8]) -> usize {
    jpeg.windows(2).rposition(|w| w == [0xFF, 0xDA]).unwrap()
}

/// The scan cut in the middle and an end-of-image marker written after
/// the cut: the structure is whole, the scan data is not (a lenient
/// decoder fills the rest with grey).
pub fn scan_cut_then_ended(jpeg: &[u8]) -> Vec<u8> {
    let at = last_scan(jpeg) + (jpeg.len() - last_scan(jpeg)) / 2;
    let mut out = jpeg[..at].to_vec();
    out.extend([0xFF, 0xD9]);
    out
}

/// Sixty-four bits set in the middle of the scan: no Huffman code.
pub fn scan_not_huffman(jpeg: &[u8]) -> Vec<u8> {
    let at = last_scan(jpeg) + (jpeg.len() - last_scan(jpeg)) / 2;
    let mut out = jpeg.to_vec();
    // Not right after an FF, which would make the first pair a marker.
    let at = if out[at - 1] == 0xFF { at + 1 } else { at };
    for i in 0..8 {
        out[at + 2 * i] = 0xFF;
        out[at + 2 * i + 1] = 0x00;
    }
    out
}

// ---- PNG -------------------------------------------------------------------

/// The CRC-32 of a PNG chunk (over its type and data).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut body = kind.to_vec();
    body.extend(data);
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend(&body);
    out.extend(crc32(&body).to_be_bytes());
    out
}

pub fn encode_png(img: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgba8,
        )
        .unwrap();
    out
}

/// `png` with `chunks` after its IHDR.
pub fn with_chunks(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    let after_ihdr = 8 + 25;
    let mut out = png[..after_ihdr].to_vec();
    for c in chunks {
        out.extend(c);
    }
    out.extend(&png[after_ihdr..]);
    out
}

/// A screenshot: the left half opaque blue, the right half fully
/// transparent, its hidden colour magenta (what a thumbnail that drops the
/// alpha shows).
pub fn transparent_png(w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            Rgba([0, 0, 255, 255])
        } else {
            Rgba([255, 0, 255, 0])
        }
    })
}

/// A PNG from a gallery: text with the position, EXIF (with GPS and the
/// camera), a small ICC profile.
pub fn png_with_metadata(img: &RgbaImage) -> Vec<u8> {
    let mut iccp = b"Display P3\0\0".to_vec();
    iccp.extend(zlib(&[7u8; 600]));
    with_chunks(
        &encode_png(img),
        &[
            png_chunk(b"iCCP", &iccp),
            png_chunk(
                b"tEXt",
                format!("Comment\0{CAMERA_MODEL} 27.175N").as_bytes(),
            ),
            png_chunk(b"eXIf", &camera_exif(1)),
        ],
    )
}

/// zlib of `bytes`.
pub fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(bytes).unwrap();
    z.finish().unwrap()
}

/// A zlib stream that inflates to `n` zero bytes (about a thousandth of
/// `n` long).
pub fn zlib_zeros(n: usize) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![0u8; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(block.len());
        z.write_all(&block[..k]).unwrap();
        left -= k;
    }
    z.finish().unwrap()
}

/// A small PNG carrying a metadata chunk (`iCCP` or `zTXt`) that inflates
/// to `inflated` bytes; `seed` makes each file different.
pub fn png_metadata_bomb(kind: &[u8; 4], inflated: usize, seed: u8) -> Vec<u8> {
    let img = RgbaImage::from_pixel(16, 16, Rgba([seed, 80, 90, 255]));
    let mut data = match kind {
        b"iCCP" => b"icc\0\0".to_vec(),
        _ => b"Comment\0\0".to_vec(),
    };
    data.extend(zlib_zeros(inflated));
    with_chunks(&encode_png(&img), &[png_chunk(kind, &data)])
}

/// The chunk types of a PNG, in order.
pub fn png_chunks(png: &[u8]) -> Vec<String> {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let mut out = Vec::new();
    let mut i = 8;
    while i + 8 <= png.len() {
        let len = u32::from_be_bytes(png[i..i + 4].try_into().unwrap()) as usize;
        out.push(String::from_utf8_lossy(&png[i + 4..i + 8]).into_owned());
        i += 12 + len;
    }
    out
}
