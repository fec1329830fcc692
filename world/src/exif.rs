//! A camera's EXIF, written byte by byte (little-endian TIFF), the way
//! phones write it: IFD0 (make, model, orientation) pointing to an Exif IFD
//! (capture time and offset) and a GPS IFD (the position). Written here
//! independently of the readers under test (`kamadak-exif` on the phone,
//! the server's segment walker).

/// A value of a TIFF entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Short(u16),
    Long(u32),
    Ascii(String),
    Rational(Vec<(u32, u32)>),
}

impl Value {
    pub fn ascii(s: &str) -> Self {
        Value::Ascii(s.to_owned())
    }

    /// (type, count, bytes)
    fn encode(&self) -> (u16, u32, Vec<u8>) {
        match self {
            Value::Short(v) => (3, 1, v.to_le_bytes().to_vec()),
            Value::Long(v) => (4, 1, v.to_le_bytes().to_vec()),
            Value::Ascii(s) => {
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                (2, b.len() as u32, b)
            }
            Value::Rational(rs) => {
                let b = rs
                    .iter()
                    .flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()].concat())
                    .collect();
                (5, rs.len() as u32, b)
            }
        }
    }

    /// The bytes the value is stored as (to look for in a file).
    pub fn bytes(&self) -> Vec<u8> {
        self.encode().2
    }
}

/// Tags of the entries cameras write.
pub mod tag {
    pub const MAKE: u16 = 0x010F;
    pub const MODEL: u16 = 0x0110;
    pub const ORIENTATION: u16 = 0x0112;
    pub const EXIF_IFD: u16 = 0x8769;
    pub const GPS_IFD: u16 = 0x8825;
    pub const DATE_TIME_ORIGINAL: u16 = 0x9003;
    pub const OFFSET_TIME_ORIGINAL: u16 = 0x9011;
    pub const SUBSEC_TIME_ORIGINAL: u16 = 0x9291;
    pub const GPS_LATITUDE_REF: u16 = 0x0001;
    pub const GPS_LATITUDE: u16 = 0x0002;
    pub const GPS_LONGITUDE_REF: u16 = 0x0003;
    pub const GPS_LONGITUDE: u16 = 0x0004;
    pub const GPS_H_POSITIONING_ERROR: u16 = 0x001F;
}

/// The three IFDs of a camera's EXIF; the pointers from IFD0 to the other
/// two are added when they have entries.
#[derive(Debug, Clone, Default)]
pub struct Exif {
    pub ifd0: Vec<(u16, Value)>,
    pub exif: Vec<(u16, Value)>,
    pub gps: Vec<(u16, Value)>,
}

/// Bytes of an IFD with its long values.
fn ifd_len(entries: &[(u16, Value)]) -> u32 {
    let data: usize = entries
        .iter()
        .map(|(_, v)| v.encode().2.len())
        .filter(|&n| n > 4)
        .map(|n| n + n % 2)
        .sum();
    (2 + 12 * entries.len() + 4 + data) as u32
}

/// One IFD placed at `at` (offset from the TIFF header), its long values
/// right after it.
fn ifd(entries: &[(u16, Value)], at: u32) -> Vec<u8> {
    let mut head = (entries.len() as u16).to_le_bytes().to_vec();
    let mut data = Vec::new();
    let data_at = at + 2 + 12 * entries.len() as u32 + 4;
    for (tag, v) in entries {
        let (ty, count, mut bytes) = v.encode();
        head.extend(tag.to_le_bytes());
        head.extend(ty.to_le_bytes());
        head.extend(count.to_le_bytes());
        if bytes.len() <= 4 {
            bytes.resize(4, 0);
            head.extend(bytes);
        } else {
            head.extend((data_at + data.len() as u32).to_le_bytes());
            if bytes.len() % 2 == 1 {
                bytes.push(0);
            }
            data.extend(bytes);
        }
    }
    head.extend(0u32.to_le_bytes());
    head.extend(data);
    head
}

impl Exif {
    /// IFD0 with only an orientation.
    pub fn oriented(orientation: u16) -> Self {
        Exif {
            ifd0: vec![(tag::ORIENTATION, Value::Short(orientation))],
            ..Exif::default()
        }
    }

    /// What a phone camera writes: make, model, `orientation`, the capture
    /// time in UTC+8 and a position (27°10'30.50"N, 109°12'45.25"E).
    pub fn camera(make: &str, model: &str, orientation: u16) -> Self {
        Exif {
            ifd0: vec![
                (tag::MAKE, Value::ascii(make)),
                (tag::MODEL, Value::ascii(model)),
                (tag::ORIENTATION, Value::Short(orientation)),
            ],
            exif: vec![
                (tag::DATE_TIME_ORIGINAL, Value::ascii("2026:11:02 09:30:15")),
                (tag::OFFSET_TIME_ORIGINAL, Value::ascii("+08:00")),
            ],
            gps: vec![
                (tag::GPS_LATITUDE_REF, Value::ascii("N")),
                (tag::GPS_LATITUDE, latitude()),
                (tag::GPS_LONGITUDE_REF, Value::ascii("E")),
                (tag::GPS_LONGITUDE, longitude()),
            ],
        }
    }

    /// The TIFF bytes (what follows `Exif\0\0` in an APP1 segment).
    pub fn tiff(&self) -> Vec<u8> {
        let mut ifd0 = self.ifd0.clone();
        let pointers = usize::from(!self.exif.is_empty()) + usize::from(!self.gps.is_empty());
        // The pointers' values do not change IFD0's length.
        let ifd0_len = ifd_len(&ifd0) + 12 * pointers as u32;
        let exif_at = 8 + ifd0_len;
        let gps_at = exif_at
            + if self.exif.is_empty() {
                0
            } else {
                ifd_len(&self.exif)
            };
        if !self.exif.is_empty() {
            ifd0.push((tag::EXIF_IFD, Value::Long(exif_at)));
        }
        if !self.gps.is_empty() {
            ifd0.push((tag::GPS_IFD, Value::Long(gps_at)));
        }
        let mut out = b"II".to_vec();
        out.extend(42u16.to_le_bytes());
        out.extend(8u32.to_le_bytes());
        out.extend(ifd(&ifd0, 8));
        if !self.exif.is_empty() {
            out.extend(ifd(&self.exif, exif_at));
        }
        if !self.gps.is_empty() {
            out.extend(ifd(&self.gps, gps_at));
        }
        out
    }
}

/// The latitude of [`Exif::camera`] (27°10'30.50"N), as EXIF stores it.
pub fn latitude() -> Value {
    Value::Rational(vec![(27, 1), (10, 1), (3050, 100)])
}

/// The longitude of [`Exif::camera`] (109°12'45.25"E).
pub fn longitude() -> Value {
    Value::Rational(vec![(109, 1), (12, 1), (4525, 100)])
}

/// An APP1 segment holding `tiff`.
pub fn app1(tiff: &[u8]) -> Vec<u8> {
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend(((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend(b"Exif\0\0");
    app1.extend(tiff);
    app1
}

/// `jpeg` with an APP1 Exif segment right after SOI, as cameras write it.
pub fn with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let mut out = jpeg.get(..2).unwrap_or_default().to_vec();
    out.extend(app1(tiff));
    out.extend(jpeg.get(2..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phones_reader_reads_a_camera_exif_back() {
        let jpeg = crate::picture::field_jpeg(64, 48, 1, 80).unwrap();
        let file = with_exif(&jpeg, &Exif::camera("JishiOptics", "FieldCam", 6).tiff());
        let p = sync_core::photo::prepare_photo(&file, &Default::default()).unwrap();
        // Orientation 6: the stored 64x48 is shown turned, 48x64.
        assert_eq!((p.width, p.height), (48, 64));
        // 2026-11-02 09:30:15 +08:00.
        assert_eq!(p.captured_at, Some(1_793_583_015_000));
        let at = p.location.unwrap();
        assert!((at.lat - (27.0 + 10.0 / 60.0 + 30.5 / 3600.0)).abs() < 1e-6);
        assert!((at.lon - (109.0 + 12.0 / 60.0 + 45.25 / 3600.0)).abs() < 1e-6);
        // Only an orientation: no pointers, no time.
        let file = with_exif(&jpeg, &Exif::oriented(3).tiff());
        let p = sync_core::photo::prepare_photo(&file, &Default::default()).unwrap();
        assert_eq!(((p.width, p.height), p.captured_at), ((64, 48), None));
    }
}
