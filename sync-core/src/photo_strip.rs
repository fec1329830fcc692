//! The structure of a JPEG or PNG file, walked without decoding a pixel or
//! inflating a byte: where the image data is, what its header declares, the
//! EXIF orientation, and the same file with every metadata block removed.
//!
//! [`layout`] reads a file's segments (JPEG) or chunks (PNG) and keeps only
//! what the picture needs: for a JPEG the tables, frame and scans, a plain
//! JFIF header (no thumbnail) and Adobe's colour-transform marker; for a PNG
//! `IHDR`, `PLTE`, `tRNS`, `IDAT` and `IEND`. EXIF (with GPS and camera
//! model), XMP, ICC profiles, comments, text chunks, embedded thumbnails and
//! bytes after the end of the image are dropped: [`Layout::stripped`] is the
//! file without them, byte for byte the same image data. A compressed PNG
//! metadata chunk (`iCCP`, `zTXt`, compressed `iTXt`) larger than
//! [`MAX_COMPRESSED_METADATA`] is refused before anything inflates it (a few
//! hundred kilobytes of such a chunk inflate to hundreds of MiB); smaller
//! ones are dropped uninflated. The walk allocates only its list of kept
//! ranges and never panics; whether the image data itself is sound is for
//! the decoder to say.

use std::borrow::Cow;
use std::ops::Range;

use image::metadata::Orientation;

/// The largest compressed metadata chunk of a PNG accepted (and dropped).
/// Real ICC profiles and text chunks are a few kilobytes; DEFLATE inflates
/// at most about 1,032 times, so anything refused here could have reached
/// 66 MiB and more.
pub const MAX_COMPRESSED_METADATA: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
}

impl ImageKind {
    /// The format a file's first bytes announce.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageKind::Jpeg)
        } else if bytes.starts_with(PNG_SIGNATURE) {
            Some(ImageKind::Png)
        } else {
            None
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
        }
    }
}

/// Why a file's structure is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripError {
    #[error("not a JPEG or PNG image")]
    NotAnImage,
    #[error("the file is cut short: {0}")]
    Truncated(&'static str),
    #[error("the file is malformed: {0}")]
    Malformed(String),
    #[error("a compressed {chunk} metadata chunk of {bytes} bytes (at most {MAX_COMPRESSED_METADATA} are accepted)")]
    MetadataTooLarge { chunk: String, bytes: usize },
}

/// A file's structure; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub kind: ImageKind,
    /// As the header declares them, before any orientation is applied.
    pub width: u32,
    pub height: u32,
    /// Samples per pixel once decoded to 8 bits: 1 (grey), 2 (grey and
    /// alpha), 3 (colour) or 4 (colour and alpha).
    pub channels: u8,
    /// A progressive JPEG (its decoder keeps every coefficient in memory).
    pub progressive: bool,
    /// From the EXIF (a JPEG's first `Exif` segment, a PNG's `eXIf`);
    /// `NoTransforms` when there is none or it is not valid.
    pub orientation: Orientation,
    /// The byte ranges of the file that the stripped file keeps, in order.
    kept: Vec<Range<usize>>,
    /// Where a JPEG's entropy-coded segments end (the `FF` of the restart
    /// or other marker that ends each), in the file's offsets.
    segment_ends: Vec<usize>,
    len: usize,
}

impl Layout {
    /// Whether stripping removes anything.
    pub fn has_metadata(&self) -> bool {
        self.kept.len() != 1 || self.kept[0] != (0..self.len)
    }

    /// `bytes` (the file this layout was read from) without its metadata;
    /// borrowed when there is none.
    pub fn stripped<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        debug_assert_eq!(bytes.len(), self.len);
        if !self.has_metadata() {
            return Cow::Borrowed(bytes);
        }
        let mut out = Vec::with_capacity(self.kept.iter().map(|r| r.len()).sum());
        for r in &self.kept {
            out.extend_from_slice(&bytes[r.clone()]);
        }
        Cow::Owned(out)
    }

    /// Bytes of the stripped file.
    pub fn stripped_len(&self) -> usize {
        self.kept.iter().map(|r| r.len()).sum()
    }

    /// Bytes of [`Layout::guarded`].
    pub fn guarded_len(&self) -> usize {
        self.stripped_len() + self.segment_ends.len() * SCAN_GUARD.len()
    }

    /// The stripped JPEG with [`SCAN_GUARD`] at the end of every
    /// entropy-coded segment, for a decoder to read. A decoder that reaches
    /// a segment's end before its last block (the scan was cut, and an end
    /// marker written after the cut) reads on as if zero bits followed and
    /// fills the rest with grey; here it reads sixteen bits set instead,
    /// which no Huffman code is, and fails. A whole scan is decoded before
    /// its guard, which the decoder only skips.
    pub fn guarded(&self, bytes: &[u8]) -> Vec<u8> {
        debug_assert_eq!(bytes.len(), self.len);
        let mut out =
            Vec::with_capacity(self.stripped_len() + self.segment_ends.len() * SCAN_GUARD.len());
        let mut ends = self.segment_ends.iter().peekable();
        for r in &self.kept {
            let mut from = r.start;
            while let Some(&&end) = ends.peek() {
                if end > r.end || end < from {
                    break;
                }
                out.extend_from_slice(&bytes[from..end]);
                out.extend_from_slice(SCAN_GUARD);
                from = end;
                ends.next();
            }
            out.extend_from_slice(&bytes[from..r.end]);
        }
        out
    }
}

/// Set bits as entropy-coded data (`FF` is written `FF 00` there): longer
/// than any Huffman code, and not one.
pub const SCAN_GUARD: &[u8] = &[
    0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00,
];

/// Walk a JPEG or PNG file; see the module docs.
pub fn layout(bytes: &[u8]) -> Result<Layout, StripError> {
    match ImageKind::sniff(bytes) {
        Some(ImageKind::Jpeg) => jpeg(bytes, false),
        Some(ImageKind::Png) => png(bytes),
        None => Err(StripError::NotAnImage),
    }
}

/// What a file's header declares, read only as far as the header (a JPEG's
/// frame header, a PNG's `IHDR`): enough to refuse a picture too large
/// before the rest of the file is looked at.
pub fn header(bytes: &[u8]) -> Result<(ImageKind, u32, u32), StripError> {
    match ImageKind::sniff(bytes) {
        Some(ImageKind::Jpeg) => jpeg(bytes, true).map(|l| (l.kind, l.width, l.height)),
        Some(ImageKind::Png) => {
            let at = PNG_SIGNATURE.len();
            let len = be32(bytes, at).ok_or(StripError::Truncated("no IHDR"))?;
            if bytes.get(at + 4..at + 8) != Some(b"IHDR") {
                return Err(StripError::Malformed("the first chunk is not IHDR".into()));
            }
            let data = bytes
                .get(at + 8..at + 8 + len.min(64) as usize)
                .ok_or(StripError::Truncated("no IHDR"))?;
            let (w, h, _, _) = ihdr(data)?;
            Ok((ImageKind::Png, w, h))
        }
        None => Err(StripError::NotAnImage),
    }
}

/// Ranges to keep, merging neighbours.
#[derive(Default)]
struct Keep(Vec<Range<usize>>);

impl Keep {
    fn push(&mut self, r: Range<usize>) {
        match self.0.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => self.0.push(r),
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The orientation in a TIFF structure (EXIF without its `Exif\0\0`).
fn tiff_orientation(tiff: &[u8]) -> Orientation {
    Orientation::from_exif_chunk(tiff).unwrap_or(Orientation::NoTransforms)
}

// ---- JPEG -----------------------------------------------------------------

/// The segments of a JPEG, from SOI to EOI. A marker is `FF` (fill bytes
/// `FF` may precede it) and a code; every code but SOI, EOI, TEM and RSTn is
/// followed by a length that counts itself. After SOS come entropy-coded
/// bytes, where `FF` is followed by `00` (a stuffed byte), a restart marker
/// or fill; the next other marker ends them.
/// With `until_frame`, the walk stops at the frame header (the layout then
/// holds only the header's values).
fn jpeg(b: &[u8], until_frame: bool) -> Result<Layout, StripError> {
    let mut keep = Keep::default();
    keep.push(0..2);
    let mut segment_ends = Vec::new();
    let mut scans = 0;
    let mut first_scan_end = None;
    let mut frame: Option<(u32, u32, u8, bool)> = None;
    let mut orientation = None;
    let mut i = 2;
    loop {
        if b.get(i) != Some(&0xFF) {
            return match b.get(i) {
                None => Err(StripError::Truncated("no end-of-image marker")),
                Some(_) => Err(StripError::Malformed(format!(
                    "no marker where one belongs (byte {i})"
                ))),
            };
        }
        while b.get(i + 1) == Some(&0xFF) {
            i += 1; // fill
        }
        let start = i;
        let Some(&marker) = b.get(i + 1) else {
            return Err(StripError::Truncated("no end-of-image marker"));
        };
        i += 2;
        match marker {
            0xD9 => {
                keep.push(start..i);
                break;
            }
            0x01 | 0xD0..=0xD7 => keep.push(start..i),
            0x00 | 0xD8 => {
                return Err(StripError::Malformed(format!(
                    "marker FF{marker:02X} at byte {start}"
                )))
            }
            _ => {
                let len = be16(b, i).ok_or(StripError::Truncated("a segment is cut"))?;
                if len < 2 {
                    return Err(StripError::Malformed(format!(
                        "a segment length of {len} at byte {start}"
                    )));
                }
                let end = i + usize::from(len);
                let data = b
                    .get(i + 2..end)
                    .ok_or(StripError::Truncated("a segment is cut"))?;
                i = end;
                match marker {
                    0xE0 if plain_jfif(data) => keep.push(start..end),
                    0xEE if data.len() == 12 && data.starts_with(b"Adobe") => keep.push(start..end),
                    0xE1 => {
                        if let (None, Some(tiff)) = (orientation, data.strip_prefix(b"Exif\0\0")) {
                            orientation = Some(tiff_orientation(tiff));
                        }
                    }
                    0xE0..=0xEF | 0xFE => {}
                    _ => {
                        if is_sof(marker) && frame.is_none() {
                            frame = Some(sof(data, marker)?);
                            if until_frame {
                                break;
                            }
                        }
                        keep.push(start..end);
                        if marker == 0xDA {
                            let scan_start = i;
                            i = entropy_end(b, i, &mut segment_ends)?;
                            keep.push(scan_start..i);
                            scans += 1;
                            if scans == 1 && segment_ends.last() == Some(&i) {
                                first_scan_end = Some(i);
                            }
                        }
                    }
                }
            }
        }
    }
    let (width, height, channels, progressive) =
        frame.ok_or_else(|| StripError::Malformed("no frame header".into()))?;
    if scans > 1 {
        // With more scans to come, the decoder needs to have read the
        // marker after the first scan by the time the scan is decoded: no
        // guard there (a cut inside the first scan leaves it the only one,
        // and guarded).
        segment_ends.retain(|&e| Some(e) != first_scan_end);
    }
    Ok(Layout {
        kind: ImageKind::Jpeg,
        width,
        height,
        channels,
        progressive,
        orientation: orientation.unwrap_or(Orientation::NoTransforms),
        kept: keep.0,
        segment_ends,
        len: b.len(),
    })
}

/// A JFIF APP0 without a thumbnail: "JFIF\0", version, units, densities,
/// and a thumbnail of 0 x 0.
fn plain_jfif(data: &[u8]) -> bool {
    data.len() == 14 && data.starts_with(b"JFIF\0") && data[12] == 0 && data[13] == 0
}

/// Start-of-frame markers: C0–CF but DHT (C4), JPG (C8) and DAC (CC).
fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// Width, height, components and whether progressive, from a frame header:
/// precision, height (2), width (2), component count.
fn sof(data: &[u8], marker: u8) -> Result<(u32, u32, u8, bool), StripError> {
    let bad = || StripError::Malformed("a short frame header".into());
    let height = be16(data, 1).ok_or_else(bad)?;
    let width = be16(data, 3).ok_or_else(bad)?;
    let components = *data.get(5).ok_or_else(bad)?;
    if width == 0 || height == 0 {
        return Err(StripError::Malformed(format!(
            "a frame of {width}x{height} pixels"
        )));
    }
    let channels = match components {
        1 => 1,
        3 | 4 => 3,
        n => return Err(StripError::Malformed(format!("{n} colour components"))),
    };
    let progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
    Ok((u32::from(width), u32::from(height), channels, progressive))
}

/// Where the entropy-coded bytes starting at `i` end: at the `FF` of the
/// next marker that is not a stuffed byte, a restart marker or fill. The
/// end of each segment (before each restart marker, and the last) is added
/// to `ends`.
fn entropy_end(b: &[u8], mut i: usize, ends: &mut Vec<usize>) -> Result<usize, StripError> {
    let mut segment_open = true;
    loop {
        match b.get(i..i + 2) {
            None => return Err(StripError::Truncated("the scan data has no end")),
            Some([0xFF, 0x00]) => {
                segment_open = true;
                i += 2;
            }
            Some([0xFF, 0xFF]) => i += 1,
            Some([0xFF, 0xD0..=0xD7]) => {
                if segment_open {
                    ends.push(i);
                }
                segment_open = false;
                i += 2;
            }
            Some([0xFF, _]) => {
                // Guarded even when empty: a scan that ends with a restart
                // marker has lost its next intervals.
                ends.push(i);
                return Ok(i);
            }
            Some(_) => {
                segment_open = true;
                i += 1;
            }
        }
    }
}

// ---- PNG ------------------------------------------------------------------

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The chunks of a PNG: length (4, at most 2^31 - 1), type (4 letters),
/// data, CRC (4). `IHDR` comes first, `IEND` last.
fn png(b: &[u8]) -> Result<Layout, StripError> {
    let mut keep = Keep::default();
    keep.push(0..PNG_SIGNATURE.len());
    let mut header: Option<(u32, u32, u8, u8)> = None;
    let mut has_trns = false;
    let mut orientation = None;
    let mut i = PNG_SIGNATURE.len();
    loop {
        let len = be32(b, i).ok_or(StripError::Truncated("no IEND chunk"))?;
        if len > 0x7FFF_FFFF {
            return Err(StripError::Malformed(format!("a chunk of {len} bytes")));
        }
        let kind: [u8; 4] = b
            .get(i + 4..i + 8)
            .ok_or(StripError::Truncated("no IEND chunk"))?
            .try_into()
            .map_err(|_| StripError::Truncated("no IEND chunk"))?;
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(StripError::Malformed(format!("a chunk type {kind:?}")));
        }
        let data_at = i + 8;
        let end = data_at
            .checked_add(len as usize)
            .and_then(|e| e.checked_add(4))
            .filter(|&e| e <= b.len())
            .ok_or(StripError::Truncated("a chunk is cut"))?;
        let data = &b[data_at..end - 4];
        let name = String::from_utf8_lossy(&kind).into_owned();
        if header.is_none() && &kind != b"IHDR" {
            return Err(StripError::Malformed("the first chunk is not IHDR".into()));
        }
        match &kind {
            b"IHDR" => {
                if header.is_some() {
                    return Err(StripError::Malformed("a second IHDR".into()));
                }
                header = Some(ihdr(data)?);
                keep.push(i..end);
            }
            b"PLTE" | b"IDAT" => keep.push(i..end),
            b"tRNS" => {
                has_trns = true;
                keep.push(i..end);
            }
            b"IEND" => {
                keep.push(i..end);
                break;
            }
            b"iCCP" | b"zTXt" if data.len() > MAX_COMPRESSED_METADATA => {
                return Err(StripError::MetadataTooLarge {
                    chunk: name,
                    bytes: data.len(),
                })
            }
            b"iTXt" if data.len() > MAX_COMPRESSED_METADATA && itxt_compressed(data) => {
                return Err(StripError::MetadataTooLarge {
                    chunk: name,
                    bytes: data.len(),
                })
            }
            b"eXIf" if orientation.is_none() => orientation = Some(tiff_orientation(data)),
            _ if kind[0].is_ascii_uppercase() => {
                return Err(StripError::Malformed(format!(
                    "an unknown critical chunk {name}"
                )))
            }
            _ => {} // any other ancillary chunk: dropped
        }
        i = end;
    }
    let (width, height, color_type, _depth) = header.ok_or(StripError::Truncated("no IHDR"))?;
    let channels = match (color_type, has_trns) {
        (0, false) => 1,
        (0, true) | (4, _) => 2,
        (2 | 3, false) => 3,
        (2 | 3, true) | (6, _) => 4,
        (t, _) => return Err(StripError::Malformed(format!("colour type {t}"))),
    };
    Ok(Layout {
        kind: ImageKind::Png,
        width,
        height,
        channels,
        progressive: false,
        orientation: orientation.unwrap_or(Orientation::NoTransforms),
        kept: keep.0,
        segment_ends: Vec::new(),
        len: b.len(),
    })
}

/// Width, height, colour type and bit depth.
fn ihdr(data: &[u8]) -> Result<(u32, u32, u8, u8), StripError> {
    if data.len() != 13 {
        return Err(StripError::Malformed(format!(
            "an IHDR of {} bytes",
            data.len()
        )));
    }
    let width = be32(data, 0).unwrap_or(0);
    let height = be32(data, 4).unwrap_or(0);
    if width == 0 || height == 0 || width > 0x7FFF_FFFF || height > 0x7FFF_FFFF {
        return Err(StripError::Malformed(format!(
            "an image of {width}x{height} pixels"
        )));
    }
    Ok((width, height, data[9], data[8]))
}

/// iTXt: keyword, NUL, compression flag, ...
fn itxt_compressed(data: &[u8]) -> bool {
    match data.iter().position(|&c| c == 0) {
        Some(nul) => data.get(nul + 1).is_none_or(|&flag| flag != 0),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend(kind);
        c.extend(data);
        c.extend([0; 4]); // the CRC is the decoder's business
        c
    }

    fn tiny_png(extra: &[Vec<u8>]) -> Vec<u8> {
        let mut ihdr = Vec::new();
        ihdr.extend(3u32.to_be_bytes());
        ihdr.extend(2u32.to_be_bytes());
        ihdr.extend([8, 6, 0, 0, 0]);
        let mut p = PNG_SIGNATURE.to_vec();
        p.extend(png_chunk(b"IHDR", &ihdr));
        for e in extra {
            p.extend(e);
        }
        p.extend(png_chunk(b"IDAT", b"pixels"));
        p.extend(png_chunk(b"IEND", b""));
        p
    }

    #[test]
    fn png_metadata_is_dropped_and_big_compressed_chunks_refused() {
        let clean = tiny_png(&[]);
        let l = layout(&clean).unwrap();
        assert_eq!((l.width, l.height, l.channels), (3, 2, 4));
        assert!(!l.has_metadata());
        assert!(matches!(l.stripped(&clean), Cow::Borrowed(_)));

        let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
        tiff.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
        let noisy = tiny_png(&[
            png_chunk(b"tEXt", b"Comment\0hello"),
            png_chunk(b"eXIf", &tiff),
            png_chunk(b"iCCP", &[b'p', 0, 0, 1, 2, 3]),
        ]);
        let mut trailing = noisy.clone();
        trailing.extend(b"after the end");
        let l = layout(&trailing).unwrap();
        assert!(l.has_metadata());
        assert_eq!(l.orientation, Orientation::Rotate90);
        assert_eq!(l.stripped(&trailing).as_ref(), clean.as_slice());

        let bomb = tiny_png(&[png_chunk(b"iCCP", &vec![0; MAX_COMPRESSED_METADATA + 1])]);
        assert!(matches!(
            layout(&bomb),
            Err(StripError::MetadataTooLarge { chunk, .. }) if chunk == "iCCP"
        ));
        let mut itxt = b"XML:com.adobe.xmp\0\x01\0\0\0".to_vec();
        itxt.resize(MAX_COMPRESSED_METADATA + 10, b'x');
        assert!(layout(&tiny_png(&[png_chunk(b"iTXt", &itxt)])).is_err());
        // Uncompressed, it is only dropped.
        itxt[18] = 0;
        assert!(layout(&tiny_png(&[png_chunk(b"iTXt", &itxt)])).is_ok());
        assert!(matches!(
            layout(&clean[..clean.len() - 12]),
            Err(StripError::Truncated(_))
        ));
        assert!(layout(&tiny_png(&[png_chunk(b"QUUX", b"")])).is_err());
    }

    #[test]
    fn jpeg_end_is_found_through_the_segments() {
        // SOI, an APP1 holding a fake EOI, a frame, SOS with stuffed and
        // restart bytes.
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x04, 0xFF, 0xD9];
        j.extend([0xFF, 0xC0, 0, 11, 8, 0, 2, 0, 3, 1, 1, 0x11, 0]);
        j.extend([
            0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56,
        ]);
        assert!(matches!(layout(&j), Err(StripError::Truncated(_))));
        j.extend([0xFF, 0xD9]);
        let l = layout(&j).unwrap();
        assert_eq!((l.width, l.height, l.channels), (3, 2, 1));
        j.extend(b"trailer");
        let stripped = layout(&j).unwrap().stripped(&j).into_owned();
        assert_eq!(&stripped[..2], &[0xFF, 0xD8]);
        assert_eq!(&stripped[2..4], &[0xFF, 0xC0], "APP1 dropped");
        assert!(stripped.ends_with(&[0x56, 0xFF, 0xD9]), "trailer dropped");
        assert!(layout(&[0xFF, 0xD8, 0xFF]).is_err());
        assert!(layout(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00]).is_err());
    }

    #[test]
    fn scans_are_guarded_at_each_segment_end_but_the_first_of_several() {
        let sof = [0xFF, 0xC2, 0, 11, 8, 0, 2, 0, 3, 1, 1, 0x11, 0];
        let sos = [0xFF, 0xDA, 0x00, 0x03, 0x01];
        let mut j = vec![0xFF, 0xD8];
        j.extend(sof);
        // First scan: data, a restart marker, more data.
        j.extend(sos);
        j.extend([0x11, 0xFF, 0xD0, 0x22]);
        // Second scan: data, then the end.
        j.extend(sos);
        j.extend([0x33, 0xFF, 0xD9]);
        let l = layout(&j).unwrap();
        let g = l.guarded(&j);
        let mut want = vec![0xFF, 0xD8];
        want.extend(sof);
        want.extend(sos);
        want.extend([0x11]);
        want.extend(SCAN_GUARD);
        want.extend([0xFF, 0xD0, 0x22]); // no guard: the first scan's end
        want.extend(sos);
        want.extend([0x33]);
        want.extend(SCAN_GUARD);
        want.extend([0xFF, 0xD9]);
        assert_eq!(g, want);
        assert_eq!(g.len(), l.guarded_len());
    }
}
