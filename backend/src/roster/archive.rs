//! Bounds on a workbook before calamine opens it. An `.xlsx` is a zip of
//! XML parts: a few kilobytes can unpack to gigabytes, claim billions of
//! shared strings (calamine reserves room for them up front), or place two
//! cells at opposite corners of a sheet (calamine builds the whole grid
//! between them). A failed allocation aborts the process, so each part is
//! unpacked here under a limit, and the counts and cell positions it
//! declares are checked, before anything is allocated on their word.

use std::io::{Cursor, Read};

use super::Fault;

/// Parts in one workbook.
pub const MAX_PARTS: usize = 256;
/// Bytes of one part, unpacked.
pub const MAX_PART_BYTES: u64 = 32 << 20;
/// Bytes of every part together, unpacked.
pub const MAX_TOTAL_BYTES: u64 = 64 << 20;
/// Any `count`/`uniqueCount` a part declares (shared strings, styles).
pub const MAX_DECLARED_COUNT: u64 = 500_000;
/// The farthest row and column a cell may sit at.
pub const MAX_ROW: u64 = 25_000;
pub const MAX_COLUMN: u64 = 64;

fn too_large(what: String) -> Fault {
    Fault::TooLarge(what)
}

/// The numbers after each `count="` in `xml` (also `uniqueCount="`).
fn declared_counts(xml: &[u8]) -> impl Iterator<Item = Option<u64>> + '_ {
    let needle = b"ount=\"";
    xml.windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(move |(i, _)| {
            let digits = &xml[i + needle.len()..];
            let end = digits.iter().position(|b| !b.is_ascii_digit())?;
            std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
        })
}

/// Every cell or row reference (`r="B7"`, `r="7"`) in a sheet: (column,
/// row), the column 0 for a row's own reference.
fn references(xml: &[u8]) -> impl Iterator<Item = Option<(u64, u64)>> + '_ {
    let needle = b" r=\"";
    xml.windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(move |(i, _)| {
            let rest = &xml[i + needle.len()..];
            let end = rest.iter().position(|b| *b == b'"')?;
            let r = &rest[..end.min(16)];
            let letters = r.iter().take_while(|b| b.is_ascii_uppercase()).count();
            let column = r[..letters].iter().try_fold(0u64, |c, b| {
                c.checked_mul(26)?.checked_add(u64::from(b - b'A' + 1))
            })?;
            let row: u64 = std::str::from_utf8(&r[letters..]).ok()?.parse().ok()?;
            Some((column, row))
        })
}

/// Is `bytes` a workbook within the limits above? The fault when not.
pub fn check(bytes: &[u8]) -> Result<(), Fault> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| Fault::NotXlsx(e.to_string()))?;
    if zip.len() > MAX_PARTS {
        return Err(too_large(format!(
            "{} parts; at most {MAX_PARTS}",
            zip.len()
        )));
    }
    let mut total = 0u64;
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(|e| Fault::NotXlsx(e.to_string()))?;
        let name = part
            .name()
            .map_err(|e| Fault::NotXlsx(e.to_string()))?
            .into_owned();
        let mut xml = Vec::new();
        part.take(MAX_PART_BYTES + 1)
            .read_to_end(&mut xml)
            .map_err(|e| Fault::NotXlsx(format!("{name}: {e}")))?;
        let size = xml.len() as u64;
        if size > MAX_PART_BYTES {
            return Err(too_large(format!(
                "{name} unpacks to more than {} MiB",
                MAX_PART_BYTES >> 20
            )));
        }
        total += size;
        if total > MAX_TOTAL_BYTES {
            return Err(too_large(format!(
                "the parts unpack to more than {} MiB",
                MAX_TOTAL_BYTES >> 20
            )));
        }
        if !name.ends_with(".xml") {
            continue;
        }
        if declared_counts(&xml).any(|n| n.is_none_or(|n| n > MAX_DECLARED_COUNT)) {
            return Err(too_large(format!(
                "{name} declares more than {MAX_DECLARED_COUNT} items"
            )));
        }
        if name.starts_with("xl/worksheets/")
            && references(&xml).any(|r| r.is_none_or(|(c, r)| c > MAX_COLUMN || r > MAX_ROW))
        {
            return Err(too_large(format!(
                "{name} has a cell past row {MAX_ROW} or column {MAX_COLUMN}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(parts: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in parts {
            w.start_file(*name, opts).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn refused(bytes: &[u8]) -> String {
        match check(bytes) {
            Err(Fault::TooLarge(why)) => why,
            other => panic!("not refused as too large: {other:?}"),
        }
    }

    #[test]
    fn the_template_passes() {
        check(&super::super::template::template().unwrap()).unwrap();
    }

    #[test]
    fn a_compressed_bomb_is_refused_before_it_is_unpacked_whole() {
        let bomb = zip_of(&[("xl/worksheets/sheet1.xml", vec![b' '; 40 << 20])]);
        assert!(bomb.len() < 200_000, "{} bytes", bomb.len());
        assert!(refused(&bomb).contains("more than 32 MiB"));
    }

    #[test]
    fn billions_of_shared_strings_are_refused() {
        let xml = br#"<sst xmlns="x" count="1" uniqueCount="100000000000"><si><t>a</t></si></sst>"#;
        let why = refused(&zip_of(&[("xl/sharedStrings.xml", xml.to_vec())]));
        assert!(why.contains("sharedStrings"), "{why}");
    }

    #[test]
    fn cells_at_opposite_corners_are_refused() {
        let xml = br#"<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>"#;
        let why = refused(&zip_of(&[("xl/worksheets/sheet1.xml", xml.to_vec())]));
        assert!(why.contains("past row"), "{why}");
        let near = br#"<worksheet><sheetData><row r="3"><c r="K3"><v>1</v></c></row></sheetData></worksheet>"#;
        check(&zip_of(&[("xl/worksheets/sheet1.xml", near.to_vec())])).unwrap();
    }
}
