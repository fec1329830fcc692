//! 一牌一卡 in print: for a unit, one document with a door plate per person
//! (A4, or A5) followed by contact cards of 90 × 54 mm, ten to an A4 sheet
//! (two columns of five) with crop marks at every cut. Each plate and card
//! carries the QR code of the person's public card.

use askama::Template;

use super::CardView;
use crate::publications::qr;

/// Contact cards on a sheet: columns × rows.
pub const CARD_COLUMNS: usize = 2;
pub const CARD_ROWS: usize = 5;
/// A contact card's size (mm) and the sheet's (A4).
const CARD_W: f64 = 90.0;
const CARD_H: f64 = 54.0;
const SHEET_W: f64 = 210.0;
const SHEET_H: f64 = 297.0;
/// How long a crop mark is, and its gap from the card's edge (mm).
const MARK_LEN: f64 = 5.0;
const MARK_GAP: f64 = 1.5;
const MARK_WIDTH: f64 = 0.2;

/// The door plate's paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlateSize {
    A4,
    A5,
}

impl PlateSize {
    pub fn parse(s: Option<&str>) -> Option<Self> {
        match s.map(str::trim) {
            None | Some("") | Some("a4") | Some("A4") => Some(PlateSize::A4),
            Some("a5") | Some("A5") => Some(PlateSize::A5),
            _ => None,
        }
    }
}

/// One person as printed.
pub struct Printed {
    pub card_id: String,
    pub name: String,
    pub post: String,
    pub unit_name: String,
    pub duties: Vec<String>,
    pub phone: String,
    pub has_photo: bool,
    pub supervision: Vec<super::Supervision>,
    pub qr_svg: String,
}

/// A contact card's place on its sheet (mm from the top left).
pub struct Placed<'a> {
    pub left: String,
    pub top: String,
    pub p: &'a Printed,
}

#[derive(Template)]
#[template(path = "cards_print.html")]
struct PrintPage<'a> {
    unit_name: &'a str,
    plate_size: &'static str,
    plate_w: u32,
    plate_h: u32,
    plate_pad: u32,
    plate_band_pt: u32,
    plate_photo_w: u32,
    plate_photo_h: u32,
    plate_name_pt: u32,
    plate_post_pt: u32,
    plate_text_pt: u32,
    plate_qr: u32,
    plates: &'a [Printed],
    sheets: Vec<Vec<Placed<'a>>>,
    /// (left, top, width, height) of every crop mark, mm.
    marks: Vec<(String, String, String, String)>,
}

fn mm(v: f64) -> String {
    format!("{v:.1}")
}

/// The left and top margins that centre the cards on the sheet.
fn margins() -> (f64, f64) {
    (
        (SHEET_W - CARD_W * CARD_COLUMNS as f64) / 2.0,
        (SHEET_H - CARD_H * CARD_ROWS as f64) / 2.0,
    )
}

/// The crop marks of a sheet: short lines outside the cards' block at
/// every column and row edge, on all four sides.
fn crop_marks() -> Vec<(String, String, String, String)> {
    let (mx, my) = margins();
    let block_w = CARD_W * CARD_COLUMNS as f64;
    let block_h = CARD_H * CARD_ROWS as f64;
    let mut out = Vec::new();
    for c in 0..=CARD_COLUMNS {
        let x = mx + CARD_W * c as f64 - MARK_WIDTH / 2.0;
        for y in [my - MARK_GAP - MARK_LEN, my + block_h + MARK_GAP] {
            out.push((mm(x), mm(y), mm(MARK_WIDTH), mm(MARK_LEN)));
        }
    }
    for r in 0..=CARD_ROWS {
        let y = my + CARD_H * r as f64 - MARK_WIDTH / 2.0;
        for x in [mx - MARK_GAP - MARK_LEN, mx + block_w + MARK_GAP] {
            out.push((mm(x), mm(y), mm(MARK_LEN), mm(MARK_WIDTH)));
        }
    }
    out
}

/// Each person printed, with the QR code of their card at `origin`.
pub fn printed(cards: &[CardView], origin: Option<&str>) -> Vec<Printed> {
    cards
        .iter()
        .map(|c| Printed {
            card_id: c.card_id.clone(),
            name: c.name.clone(),
            post: c.post.clone(),
            unit_name: c.unit_name.clone(),
            duties: c.duties.clone(),
            phone: c.phone.clone(),
            has_photo: c.has_photo,
            supervision: c.supervision.clone(),
            qr_svg: origin
                .and_then(|o| {
                    qr::svg_labelled(&format!("{o}/c/{}", c.card_id), "亮身份卡片网址的二维码")
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// The print of a unit's plates and cards.
pub fn render(
    unit_name: &str,
    people: &[Printed],
    size: PlateSize,
) -> Result<String, askama::Error> {
    let (mx, my) = margins();
    let sheets = people
        .chunks(CARD_COLUMNS * CARD_ROWS)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .map(|(i, p)| Placed {
                    left: mm(mx + CARD_W * (i % CARD_COLUMNS) as f64),
                    top: mm(my + CARD_H * (i / CARD_COLUMNS) as f64),
                    p,
                })
                .collect()
        })
        .collect();
    let a4 = size == PlateSize::A4;
    PrintPage {
        unit_name,
        plate_size: if a4 { "A4" } else { "A5" },
        plate_w: if a4 { 210 } else { 148 },
        plate_h: if a4 { 297 } else { 210 },
        plate_pad: if a4 { 18 } else { 12 },
        plate_band_pt: if a4 { 26 } else { 18 },
        plate_photo_w: if a4 { 60 } else { 40 },
        plate_photo_h: if a4 { 80 } else { 53 },
        plate_name_pt: if a4 { 40 } else { 28 },
        plate_post_pt: if a4 { 22 } else { 15 },
        plate_text_pt: if a4 { 15 } else { 11 },
        plate_qr: if a4 { 40 } else { 30 },
        plates: people,
        sheets,
        marks: crop_marks(),
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_cards_fit_an_a4_sheet_with_marks_outside_them() {
        let (mx, my) = margins();
        assert!((mx - 15.0).abs() < 1e-9 && (my - 13.5).abs() < 1e-9);
        let marks = crop_marks();
        // Three column edges and six row edges, on both sides.
        assert_eq!(marks.len(), 2 * (CARD_COLUMNS + 1) + 2 * (CARD_ROWS + 1));
        for (l, t, w, h) in &marks {
            let (l, t, w, h): (f64, f64, f64, f64) = (
                l.parse().unwrap(),
                t.parse().unwrap(),
                w.parse().unwrap(),
                h.parse().unwrap(),
            );
            assert!(l >= 0.0 && t >= 0.0 && l + w <= SHEET_W && t + h <= SHEET_H);
            // Outside the block of cards: never over a card.
            let over = l < mx + 180.0 && l + w > mx && t < my + 270.0 && t + h > my;
            assert!(!over, "a mark over the cards at {l},{t}");
        }
    }

    #[test]
    fn plate_sizes_parse() {
        assert_eq!(PlateSize::parse(None), Some(PlateSize::A4));
        assert_eq!(PlateSize::parse(Some("a5")), Some(PlateSize::A5));
        assert_eq!(PlateSize::parse(Some("letter")), None);
    }
}
