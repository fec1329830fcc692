//! Photos made in the test as a camera would: JPEGs with a hand-written EXIF
//! (every orientation, capture time, GPS), PNGs, bombs, broken files. The
//! output must be upright, bounded and free of metadata, and queueing it
//! must leave the file, the entry's reference and the outbox row together.

use std::io::Cursor;
use std::time::{Duration, Instant};

use chrono::{FixedOffset, TimeZone, Utc};
use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use sync_core::document::{EntryFields, Record};
use sync_core::photo::{prepare_photo, PhotoError, PhotoOptions, PreparedPhoto};
use sync_core::replica::Replica;
use sync_core::{CoreError, DocId, Edit, ItemId};

pub(crate) use jishi_world::exif::with_exif;
use jishi_world::exif::{tag, Exif, Value};

use crate::common::*;

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];

/// The upright picture: red top-left, green top-right, blue bottom-left,
/// white bottom-right.
pub(crate) fn upright(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb(match (x < w / 2, y < h / 2) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => WHITE,
        })
    })
}

/// What a camera stores for `up` with EXIF `orientation`: pixel (col c,
/// row r) of the stored image is shown at the place the EXIF definition of
/// the orientation gives (0th row / 0th column visual positions), written out
/// here independently of the code under test.
fn as_stored(up: &RgbImage, orientation: u16) -> RgbImage {
    let (w, h) = up.dimensions();
    let (sw, sh) = if orientation <= 4 { (w, h) } else { (h, w) };
    RgbImage::from_fn(sw, sh, |c, r| {
        let (x, y) = match orientation {
            1 => (c, r),
            2 => (w - 1 - c, r),
            3 => (w - 1 - c, h - 1 - r),
            4 => (c, h - 1 - r),
            5 => (r, c),
            6 => (w - 1 - r, c),
            7 => (w - 1 - r, h - 1 - c),
            8 => (r, h - 1 - c),
            _ => unreachable!(),
        };
        *up.get_pixel(x, y)
    })
}

pub(crate) fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)
        .encode_image(img)
        .unwrap();
    out
}

pub(crate) fn encode_png(img: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

// ---- EXIF, as cameras write it (jishi_world::exif) ------------------------

pub(crate) struct Meta {
    datetime: Option<&'static str>,
    subsec: Option<&'static str>,
    offset: Option<&'static str>,
    /// (latitude ref, latitude, longitude ref, longitude, accuracy)
    gps: Option<GpsFix>,
}

pub(crate) struct GpsFix {
    lat_ref: &'static str,
    lat: Vec<(u32, u32)>,
    lon_ref: &'static str,
    lon: Vec<(u32, u32)>,
    accuracy: Option<(u32, u32)>,
}

pub(crate) const NO_META: Meta = Meta {
    datetime: None,
    subsec: None,
    offset: None,
    gps: None,
};

/// TIFF bytes: IFD0 with the orientation and pointers to an Exif IFD (times)
/// and a GPS IFD when given.
pub(crate) fn tiff(orientation: u16, meta: Meta) -> Vec<u8> {
    let mut e = Exif::oriented(orientation);
    let times = [
        (tag::DATE_TIME_ORIGINAL, meta.datetime),
        (tag::OFFSET_TIME_ORIGINAL, meta.offset),
        (tag::SUBSEC_TIME_ORIGINAL, meta.subsec),
    ];
    for (t, v) in times {
        if let Some(v) = v {
            e.exif.push((t, Value::ascii(v)));
        }
    }
    if let Some(g) = meta.gps {
        e.gps.push((tag::GPS_LATITUDE_REF, Value::ascii(g.lat_ref)));
        e.gps.push((tag::GPS_LATITUDE, Value::Rational(g.lat)));
        e.gps
            .push((tag::GPS_LONGITUDE_REF, Value::ascii(g.lon_ref)));
        e.gps.push((tag::GPS_LONGITUDE, Value::Rational(g.lon)));
        if let Some(a) = g.accuracy {
            e.gps
                .push((tag::GPS_H_POSITIONING_ERROR, Value::Rational(vec![a])));
        }
    }
    e.tiff()
}

/// The markers of a JPEG up to its first scan.
fn markers(jpeg: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], [0xFF, 0xD8]);
    let mut i = 2;
    let mut found = Vec::new();
    while i + 4 <= jpeg.len() {
        assert_eq!(jpeg[i], 0xFF, "marker expected at {i}");
        let m = jpeg[i + 1];
        found.push(m);
        if m == 0xDA {
            break;
        }
        i += 2 + usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
    }
    found
}

fn assert_no_metadata(out: &[u8]) {
    let m = markers(out);
    assert!(!m.contains(&0xE1), "APP1 in output: markers {m:x?}");
    assert!(
        exif::Reader::new()
            .read_from_container(&mut Cursor::new(out))
            .is_err(),
        "output carries EXIF"
    );
    assert!(!out.windows(6).any(|w| w == b"Exif\0\0"));
}

fn nearest(p: Rgb<u8>) -> [u8; 3] {
    let d = |c: [u8; 3]| -> i32 {
        (0..3)
            .map(|i| (i32::from(p.0[i]) - i32::from(c[i])).pow(2))
            .sum()
    };
    *[RED, GREEN, BLUE, WHITE]
        .iter()
        .min_by_key(|&&c| d(c))
        .unwrap()
}

/// The prepared photo shows `upright`'s quadrants where they belong.
fn assert_upright(p: &PreparedPhoto, w: u32, h: u32, what: &str) {
    assert_eq!((p.width, p.height), (w, h), "{what}: size");
    let img = image::load_from_memory_with_format(&p.jpeg, ImageFormat::Jpeg)
        .unwrap()
        .to_rgb8();
    assert_eq!(img.dimensions(), (w, h), "{what}: decoded size");
    for (x, y, want, name) in [
        (w / 4, h / 4, RED, "top-left"),
        (3 * w / 4, h / 4, GREEN, "top-right"),
        (w / 4, 3 * h / 4, BLUE, "bottom-left"),
        (3 * w / 4, 3 * h / 4, WHITE, "bottom-right"),
    ] {
        assert_eq!(
            nearest(*img.get_pixel(x, y)),
            want,
            "{what}: {name} quadrant is {:?}",
            img.get_pixel(x, y)
        );
    }
}

fn prepare(input: &[u8]) -> Result<PreparedPhoto, PhotoError> {
    prepare_photo(input, &PhotoOptions::default())
}

#[test]
fn every_exif_orientation_comes_out_upright_and_without_metadata() {
    let up = upright(60, 40);
    for o in 1..=8u16 {
        let stored = as_stored(&up, o);
        assert_eq!(
            stored.dimensions(),
            if o <= 4 { (60, 40) } else { (40, 60) }
        );
        let input = with_exif(&jpeg(&stored), &tiff(o, NO_META));
        // The test's own EXIF must read back as written.
        let read = exif::Reader::new()
            .read_from_container(&mut Cursor::new(&input))
            .unwrap();
        let field = read
            .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .unwrap();
        assert_eq!(field.value.get_uint(0), Some(u32::from(o)));

        let p = prepare(&input).unwrap();
        assert_upright(&p, 60, 40, &format!("orientation {o}"));
        assert_no_metadata(&p.jpeg);
        assert_eq!(p.captured_at, None);
        assert_eq!(p.location, None);
        assert_eq!(p.hash, sync_core::validate::PhotoHash::of_bytes(&p.jpeg));
    }
}

#[test]
fn capture_time_and_gps_come_back_as_values() {
    let up = upright(60, 40);
    let gps = GpsFix {
        lat_ref: "N",
        lat: vec![(27, 1), (10, 1), (305, 10)],
        lon_ref: "E",
        lon: vec![(109, 1), (12, 1), (0, 1)],
        accuracy: Some((12, 1)),
    };
    let meta = Meta {
        datetime: Some("2026:11:02 09:30:15"),
        subsec: Some("250"),
        offset: None,
        gps: Some(gps),
    };
    let input = with_exif(&jpeg(&as_stored(&up, 6)), &tiff(6, meta));
    let p = prepare(&input).unwrap();
    assert_upright(&p, 60, 40, "orientation 6 with GPS");
    assert_no_metadata(&p.jpeg);

    // Camera time is local time of the deployment (+08:00 by default).
    let expected = Utc
        .with_ymd_and_hms(2026, 11, 2, 1, 30, 15)
        .unwrap()
        .timestamp_millis()
        + 250;
    assert_eq!(p.captured_at, Some(expected));
    let loc = p.location.expect("location");
    assert!((loc.lat - (27.0 + 10.0 / 60.0 + 30.5 / 3600.0)).abs() < 1e-9);
    assert!((loc.lon - (109.0 + 12.0 / 60.0)).abs() < 1e-9);
    assert_eq!(loc.accuracy_m, 12.0);
    let r = p.photo_ref();
    assert_eq!(
        (r.hash, r.captured_at, r.location),
        (p.hash.clone(), p.captured_at, p.location)
    );

    // Another deployment's offset shifts the time; the bytes are the same.
    let west = PhotoOptions {
        utc_offset: FixedOffset::east_opt(6 * 3600).unwrap(),
        ..PhotoOptions::default()
    };
    let p6 = prepare_photo(&input, &west).unwrap();
    assert_eq!(p6.captured_at, Some(expected + 2 * 3_600_000));
    assert_eq!(p6.jpeg, p.jpeg);

    // An offset the camera recorded wins; south and west are negative; no
    // positioning error means an accuracy of 0.
    let meta = Meta {
        datetime: Some("2026:11:02 09:30:15"),
        subsec: None,
        offset: Some("+07:00"),
        gps: Some(GpsFix {
            lat_ref: "S",
            lat: vec![(3345, 100)],
            lon_ref: "W",
            lon: vec![(70, 1), (30, 1)],
            accuracy: None,
        }),
    };
    let input = with_exif(&jpeg(&up), &tiff(1, meta));
    let p = prepare(&input).unwrap();
    assert_eq!(p.captured_at, Some(expected - 250 + 3_600_000));
    let loc = p.location.unwrap();
    assert!((loc.lat + 33.45).abs() < 1e-9, "{loc:?}");
    assert!((loc.lon + 70.5).abs() < 1e-9, "{loc:?}");
    assert_eq!(loc.accuracy_m, 0.0);

    // Coordinates out of range are dropped, not passed on.
    let meta = Meta {
        gps: Some(GpsFix {
            lat_ref: "N",
            lat: vec![(95, 1)],
            lon_ref: "E",
            lon: vec![(1, 0)],
            accuracy: None,
        }),
        ..NO_META
    };
    let p = prepare(&with_exif(&jpeg(&up), &tiff(1, meta))).unwrap();
    assert_eq!(p.location, None);
}

#[test]
fn png_is_accepted_and_transparency_becomes_white() {
    let up = upright(60, 40);
    let rgba = RgbaImage::from_fn(60, 40, |x, y| {
        let [r, g, b] = up.get_pixel(x, y).0;
        if x >= 30 && y >= 20 {
            Rgba([0, 0, 0, 0]) // transparent black: must show as white
        } else {
            Rgba([r, g, b, 255])
        }
    });
    let p = prepare(&encode_png(&rgba)).unwrap();
    assert_upright(&p, 60, 40, "png");
    assert_no_metadata(&p.jpeg);
}

#[test]
fn large_photos_are_resized_to_the_long_edge() {
    let up = upright(3000, 2000);
    let p = prepare(&jpeg(&up)).unwrap();
    assert_upright(&p, 1600, 1067, "3000x2000");
    assert!(p.jpeg.len() < 1_000_000, "{} bytes", p.jpeg.len());

    // A portrait photo stored sideways, as phones do: portrait out.
    let portrait = upright(2000, 3000);
    let stored = as_stored(&portrait, 6);
    assert_eq!(stored.dimensions(), (3000, 2000));
    let p = prepare(&with_exif(&jpeg(&stored), &tiff(6, NO_META))).unwrap();
    assert_upright(&p, 1067, 1600, "3000x2000 stored, orientation 6");

    // Small photos are not upscaled.
    let small = PhotoOptions {
        max_long_edge: 4000,
        ..PhotoOptions::default()
    };
    let p = prepare_photo(&jpeg(&up), &small).unwrap();
    assert_eq!((p.width, p.height), (3000, 2000));
}

/// A PNG of only a header (and an empty end): it declares a size it does
/// not have.
pub(crate) fn png_header(width: u32, height: u32, bit_depth: u8, color_type: u8) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend(data);
        out.extend(&crc_input);
        out.extend(crc32(&crc_input).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([bit_depth, color_type, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // A little deflate stream of zeros: far less than the declared size.
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A PNG chunk with its length and CRC.
pub(crate) fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc_input = kind.to_vec();
    crc_input.extend(data);
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend(&crc_input);
    out.extend(crc32(&crc_input).to_be_bytes());
    out
}

/// `png` with `chunks` right after its IHDR.
pub(crate) fn with_png_chunks(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    let after_ihdr = 8 + 25;
    let mut out = png[..after_ihdr].to_vec();
    for c in chunks {
        out.extend(c);
    }
    out.extend(&png[after_ihdr..]);
    out
}

/// A zlib stream of `n` zero bytes: what a metadata bomb holds.
pub(crate) fn zlib_zeros(n: usize) -> Vec<u8> {
    use std::io::Write;
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

/// A camera's metadata around `jpeg`: EXIF with camera model, orientation 1
/// and GPS, XMP, a comment, and bytes after the end.
pub(crate) fn with_camera_metadata(jpeg: &[u8]) -> Vec<u8> {
    let meta = Meta {
        datetime: Some("2026:11:02 09:30:15"),
        subsec: None,
        offset: None,
        gps: Some(GpsFix {
            lat_ref: "N",
            lat: vec![(27, 1), (10, 1), (305, 10)],
            lon_ref: "E",
            lon: vec![(109, 1), (12, 1), (0, 1)],
            accuracy: None,
        }),
    };
    let exif = with_exif(jpeg, &tiff(1, meta));
    let segment = |marker: u8, data: &[u8]| {
        let mut s = vec![0xFF, marker];
        s.extend(((data.len() + 2) as u16).to_be_bytes());
        s.extend(data);
        s
    };
    let mut out = exif[..2].to_vec();
    out.extend(segment(
        0xE1,
        b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><tiff:Model>Field Camera</tiff:Model></x:xmpmeta>",
    ));
    out.extend(segment(0xFE, b"taken at the village office"));
    out.extend(&exif[2..]);
    out.extend(b"camera trailer");
    out
}

fn crc32(data: &[u8]) -> u32 {
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

/// `jpeg` with the size in its frame header replaced.
pub(crate) fn jpeg_declaring(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut out = jpeg.to_vec();
    let sof = out
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline JPEG");
    out[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    out[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    out
}

fn assert_too_large(input: &[u8], options: &PhotoOptions, what: &str) {
    let start = Instant::now();
    let err = prepare_photo(input, options).unwrap_err();
    assert!(
        matches!(err, PhotoError::TooLarge { .. }),
        "{what}: {err:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{what}: refused only after {:?}",
        start.elapsed()
    );
}

#[test]
fn bombs_are_refused_before_decoding() {
    let opts = PhotoOptions::default();
    let bomb = png_header(100_000, 100_000, 8, 2);
    assert!(bomb.len() < 100);
    assert_too_large(&bomb, &opts, "100000x100000 PNG");
    let err = prepare(&bomb).unwrap_err();
    assert_eq!(
        err,
        PhotoError::TooLarge {
            what: "pixel count",
            limit: 8192 * 8192
        }
    );

    let small = jpeg(&upright(60, 40));
    assert_too_large(
        &jpeg_declaring(&small, 65_000, 65_000),
        &opts,
        "65000x65000 JPEG",
    );

    // Under the pixel limit, but 16-bit RGBA needs more memory than the
    // decoder may take: refused by the decoder's limits, not decoded.
    let wide = png_header(7_000, 7_000, 16, 6);
    let err = prepare(&wide).unwrap_err();
    assert!(
        matches!(
            err,
            PhotoError::TooLarge {
                what: "decoder memory in bytes",
                ..
            }
        ),
        "{err:?}"
    );

    // The file size is checked before anything else.
    let tight = PhotoOptions {
        max_input_bytes: 100,
        ..PhotoOptions::default()
    };
    assert_eq!(
        prepare_photo(&small, &tight).unwrap_err(),
        PhotoError::TooLarge {
            what: "file size in bytes",
            limit: 100
        }
    );
}

#[test]
fn truncated_files_are_corrupt() {
    let full = jpeg(&upright(60, 40));
    assert!(prepare(&full).is_ok());
    // Every cut from the first marker on: never accepted, always Corrupt.
    for cut in 3..full.len() {
        match prepare(&full[..cut]) {
            Err(PhotoError::Corrupt(_)) => {}
            other => panic!("JPEG cut at {cut} of {}: {other:?}", full.len()),
        }
    }
    // A PNG cut anywhere before the end of its pixel data. (A PNG missing
    // only its closing chunk still has every pixel, and may pass.)
    let png = encode_png(&RgbaImage::from_fn(60, 40, |x, y| {
        Rgba([x as u8 * 4, y as u8 * 6, 7, 255])
    }));
    let idat = png.windows(4).position(|w| w == b"IDAT").unwrap();
    let idat_len = u32::from_be_bytes(png[idat - 4..idat].try_into().unwrap()) as usize;
    for cut in 8..idat + 4 + idat_len {
        match prepare(&png[..cut]) {
            Err(PhotoError::Corrupt(_)) => {}
            other => panic!("PNG cut at {cut} of {}: {other:?}", png.len()),
        }
    }
}

#[test]
fn other_formats_are_unsupported() {
    let mut heic = vec![0, 0, 0, 0x18];
    heic.extend(b"ftypheic\0\0\0\0mif1heic");
    heic.extend([0; 64]);
    match prepare(&heic) {
        Err(PhotoError::UnsupportedFormat(m)) => assert!(m.contains("HEIC"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut gif = b"GIF89a".to_vec();
    gif.extend([0; 32]);
    assert!(matches!(
        prepare(&gif),
        Err(PhotoError::UnsupportedFormat(_))
    ));
    assert!(matches!(
        prepare(b""),
        Err(PhotoError::UnsupportedFormat(_))
    ));
    assert!(matches!(
        prepare(b"hello, world"),
        Err(PhotoError::UnsupportedFormat(_))
    ));
}

#[test]
fn random_and_damaged_bytes_never_panic() {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for i in 0..300 {
        let len = (next() % 4096) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Some with a real signature, so the decoders get to run.
        match i % 3 {
            1 if len >= 3 => bytes[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]),
            2 if len >= 8 => bytes[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n"),
            _ => {}
        }
        match prepare(&bytes) {
            Err(PhotoError::UnsupportedFormat(_) | PhotoError::Corrupt(_)) => {}
            other => panic!("random input {i}: {other:?}"),
        }
    }
    // Valid files with flipped bytes: any result but a panic.
    let valid = [
        with_exif(&jpeg(&upright(60, 40)), &tiff(6, NO_META)),
        encode_png(&RgbaImage::from_pixel(30, 20, Rgba([9, 8, 7, 128]))),
    ];
    for file in &valid {
        for _ in 0..300 {
            let mut bytes = file.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % bytes.len();
                bytes[at] ^= 1 << (next() % 8);
            }
            let _ = prepare(&bytes);
        }
    }
}

fn with_entry(dir: &std::path::Path, item: &ItemId) -> (Replica, DocId) {
    let mut replica = Replica::open(&dir.join("replica.db")).unwrap();
    let doc = DocId::diary(&user("u1"), day(1));
    let fields: EntryFields = entry_fields(1);
    replica
        .edit(
            &doc,
            &Edit::AddEntry {
                id: item.clone(),
                fields,
            },
            &cadre("u1"),
        )
        .unwrap();
    (replica, doc)
}

#[test]
fn queue_photo_writes_the_file_attaches_and_queues() {
    let dir = tempfile::tempdir().unwrap();
    let item = ItemId::parse("e1").unwrap();
    let (mut replica, doc) = with_entry(dir.path(), &item);
    let meta = Meta {
        datetime: Some("2026:11:02 09:30:15"),
        subsec: None,
        offset: None,
        gps: Some(GpsFix {
            lat_ref: "N",
            lat: vec![(27, 1), (6, 1), (0, 1)],
            lon_ref: "E",
            lon: vec![(109, 1), (12, 1), (0, 1)],
            accuracy: Some((85, 10)),
        }),
    };
    let photo = prepare(&with_exif(&jpeg(&upright(60, 40)), &tiff(3, meta))).unwrap();

    let hash = replica
        .queue_photo(&doc, &item, &photo, &cadre("u1"))
        .unwrap();
    assert_eq!(hash, photo.hash);

    let file = dir.path().join("photos").join(format!("{hash}.jpg"));
    assert_eq!(std::fs::read(&file).unwrap(), photo.jpeg);
    let names: Vec<_> = std::fs::read_dir(dir.path().join("photos"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [format!("{hash}.jpg")], "no temporary file left");

    let Some(Record::Diary(diary)) = replica.record(&doc).unwrap() else {
        panic!("diary expected");
    };
    let photos = &diary.entries[0].photos;
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0].hash, hash.as_str());
    assert_eq!(photos[0].captured_at, photo.captured_at);
    assert!(photos[0].captured_at.is_some());
    assert_eq!(photos[0].location, photo.location);
    assert_eq!(photos[0].location.unwrap().accuracy_m, 8.5);

    let outbox = replica.outbox().unwrap();
    assert_eq!(outbox.len(), 1);
    let row = &outbox[0];
    assert_eq!(row.sha256, hash.as_str());
    assert_eq!(row.doc, doc.to_string());
    assert_eq!(row.item, "e1");
    assert_eq!(row.path, file.display().to_string());
    assert_eq!(row.size, photo.jpeg.len() as u64);
    assert_eq!(row.state, "queued");
    assert_eq!(row.acked_bytes, 0);

    // Queueing the same photo again is harmless: one file, one row.
    replica
        .queue_photo(&doc, &item, &photo, &cadre("u1"))
        .unwrap();
    assert_eq!(replica.outbox().unwrap().len(), 1);

    // Survives reopening.
    drop(replica);
    let mut replica = Replica::open(&dir.path().join("replica.db")).unwrap();
    assert_eq!(replica.outbox().unwrap(), outbox);
    let Some(Record::Diary(diary)) = replica.record(&doc).unwrap() else {
        panic!("diary expected");
    };
    assert_eq!(diary.entries[0].photos[0].hash, hash.as_str());
}

#[test]
fn a_failed_attach_leaves_no_orphan_file_but_keeps_a_queued_one() {
    let dir = tempfile::tempdir().unwrap();
    let item = ItemId::parse("e1").unwrap();
    let (mut replica, doc) = with_entry(dir.path(), &item);
    let missing = ItemId::parse("nope").unwrap();

    // A new photo on an item that does not exist: nothing is left behind.
    let photo = prepare(&jpeg(&upright(60, 40))).unwrap();
    let err = replica
        .queue_photo(&doc, &missing, &photo, &cadre("u1"))
        .unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
    let file = dir
        .path()
        .join("photos")
        .join(format!("{}.jpg", photo.hash));
    assert!(!file.exists());
    assert!(replica.outbox().unwrap().is_empty());

    // The same photo already queued for another item: its file stays.
    replica
        .queue_photo(&doc, &item, &photo, &cadre("u1"))
        .unwrap();
    assert!(replica
        .queue_photo(&doc, &missing, &photo, &cadre("u1"))
        .is_err());
    assert!(file.exists());
    assert_eq!(replica.outbox().unwrap().len(), 1);

    // A photo whose bytes do not match its hash is refused before writing.
    let mut forged = photo.clone();
    forged.jpeg.push(0);
    assert!(matches!(
        replica.queue_photo(&doc, &item, &forged, &cadre("u1")),
        Err(CoreError::Validation(_))
    ));
}
