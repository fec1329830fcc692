//! Personal numbers on public pages: a mainland mobile number (with or
//! without `+86` / `0086` / `86`) or an 18-character identity number is
//! masked however it was written: ASCII, full-width or other compatibility
//! digits (１３８…, 𝟏𝟑𝟖…), split by spaces, hyphens, dots or brackets
//! (`138-1234-5678`, `139 1234 5678`, `(+86) 138 …`), or with invisible
//! characters (zero-width space, direction marks, combining marks) between
//! its digits. Other numbers are kept as written: a number is a run of whole
//! digit groups, so an 11-digit household number or a 12-digit run keeps
//! its digits. Applied to every text field of a publication when it is made
//! and again when it is served, so nothing stored before these rules, or
//! written around them, reaches a public page unmasked.

use unicode_normalization::UnicodeNormalization;

use crate::invisible::is_invisible;
use crate::publications::content::Publication;

/// Separators that may stand between the digit groups of one number, at
/// most this many in a row (`138 - 1234`).
const MAX_SEPARATORS: usize = 3;
/// The longest number looked for: an identity number.
const ID_LEN: usize = 18;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Digit(u8),
    /// `X`, the check character that may end an identity number.
    CheckX,
    Plus,
    Separator,
    Invisible,
    Other,
}

fn classify(c: char) -> Kind {
    if c.is_ascii() {
        return match c {
            '0'..='9' => Kind::Digit(c as u8 - b'0'),
            'X' | 'x' => Kind::CheckX,
            '+' => Kind::Plus,
            ' ' | '\t' | '-' | '.' | '(' | ')' | '_' | '/' => Kind::Separator,
            _ => Kind::Other,
        };
    }
    if is_invisible(c) {
        return Kind::Invisible;
    }
    match c {
        '\u{00A0}'
        | '\u{1680}'
        | '\u{2000}'..='\u{200A}'
        | '\u{202F}'
        | '\u{205F}'
        | '\u{3000}'
        | '\u{00B7}'
        | '\u{2010}'..='\u{2015}'
        | '\u{2027}'
        | '\u{2212}'
        | '\u{30FB}'
        | '\u{FE58}'
        | '\u{FE63}'
        | '\u{FF08}'
        | '\u{FF09}'
        | '\u{FF0D}'
        | '\u{FF0E}'
        | '\u{FF0F}'
        | '\u{FF3F}'
        | '\u{FF65}' => Kind::Separator,
        '\u{FF0B}' | '\u{FE62}' | '\u{207A}' | '\u{208A}' => Kind::Plus,
        '\u{FF38}' | '\u{FF58}' => Kind::CheckX,
        // Only a numeric character can be a compatibility form of a digit
        // (full-width, mathematical, circled, superscript …).
        _ if c.is_numeric() => {
            let mut n = std::iter::once(c).nfkc();
            match (n.next(), n.next()) {
                (Some(d @ '0'..='9'), None) => Kind::Digit(d as u8 - b'0'),
                _ => Kind::Other,
            }
        }
        _ => Kind::Other,
    }
}

/// A maximal run of digits, perhaps ended by an `X`.
#[derive(Debug)]
struct Group {
    /// Character indices: the first digit, and past the last character.
    start: usize,
    end: usize,
    digits: Vec<u8>,
    ends_with_x: bool,
}

fn groups(kinds: &[Kind]) -> Vec<Group> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < kinds.len() {
        if !matches!(kinds[i], Kind::Digit(_)) {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = Vec::new();
        while let Some(Kind::Digit(d)) = kinds.get(i) {
            digits.push(*d);
            i += 1;
        }
        let ends_with_x = kinds.get(i) == Some(&Kind::CheckX)
            && !matches!(kinds.get(i + 1), Some(Kind::Digit(_)));
        if ends_with_x {
            i += 1;
        }
        out.push(Group {
            start,
            end: i,
            digits,
            ends_with_x,
        });
    }
    out
}

/// Whether only separators and invisible characters (at most
/// `MAX_SEPARATORS` separators) stand between two groups.
fn joined(kinds: &[Kind], left: &Group, right: &Group) -> bool {
    if left.ends_with_x {
        return false;
    }
    let between = &kinds[left.end..right.start];
    between
        .iter()
        .all(|k| matches!(k, Kind::Separator | Kind::Invisible))
        && between.iter().filter(|k| **k == Kind::Separator).count() <= MAX_SEPARATORS
}

/// What a run of digits (`None` for the check `X`) is.
#[derive(Debug, PartialEq, Eq)]
enum Number {
    /// A mobile number: its 11 digits, and whether a country code came
    /// before it.
    Mobile {
        digits: Vec<u8>,
        coded: bool,
    },
    Identity(Vec<Option<u8>>),
}

fn is_mobile(d: &[Option<u8>]) -> bool {
    d.len() == 11 && d[0] == Some(1) && matches!(d[1], Some(3..=9)) && d.iter().all(Option::is_some)
}

fn recognise(d: &[Option<u8>]) -> Option<Number> {
    let mobile = |rest: &[Option<u8>], coded: bool| {
        is_mobile(rest).then(|| Number::Mobile {
            digits: rest.iter().flatten().copied().collect(),
            coded,
        })
    };
    match d.len() {
        11 => mobile(d, false),
        13 if d[..2] == [Some(8), Some(6)] => mobile(&d[2..], true),
        15 if d[..4] == [Some(0), Some(0), Some(8), Some(6)] => mobile(&d[4..], true),
        ID_LEN if d[..ID_LEN - 1].iter().all(Option::is_some) && matches!(d[0], Some(1..=9)) => {
            Some(Number::Identity(d.to_vec()))
        }
        _ => None,
    }
}

fn masked(n: &Number) -> String {
    let digit = |d: &Option<u8>| d.map_or('X', |d| char::from(b'0' + d));
    match n {
        Number::Mobile { digits, coded } => {
            let d: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            let code = if *coded { "+86 " } else { "" };
            format!("{code}{}****{}", &d[..3], &d[7..])
        }
        Number::Identity(d) => {
            let head: String = d[..3].iter().map(digit).collect();
            let tail: String = d[ID_LEN - 4..].iter().map(digit).collect();
            format!("{head}{}{tail}", "*".repeat(ID_LEN - 7))
        }
    }
}

/// `text` with every mobile and identity number masked (`138****5678`,
/// `110***********123X`).
pub fn mask_numbers(text: &str) -> String {
    // Most text has no digit of any kind.
    if !text.chars().any(|c| c.is_numeric()) {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    let kinds: Vec<Kind> = chars.iter().map(|c| classify(*c)).collect();
    let groups = groups(&kinds);
    // (start, end, replacement) in character indices, in order.
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    let mut i = 0;
    while i < groups.len() {
        // Runs of whole groups from `i`, joined by separators only.
        let mut digits: Vec<Option<u8>> = Vec::new();
        let mut runs = Vec::new();
        let mut j = i;
        loop {
            let g = &groups[j];
            digits.extend(g.digits.iter().map(|d| Some(*d)));
            if g.ends_with_x {
                digits.push(None);
            }
            if digits.len() > ID_LEN {
                break;
            }
            runs.push((j, digits.clone()));
            if j + 1 >= groups.len() || !joined(&kinds, g, &groups[j + 1]) {
                break;
            }
            j += 1;
        }
        let found = runs
            .iter()
            .rev()
            .find_map(|(j, d)| recognise(d).map(|n| (*j, n)));
        match found {
            Some((j, number)) => {
                let mut start = groups[i].start;
                if matches!(number, Number::Mobile { coded: true, .. }) {
                    // A `+` right before the country code goes with it.
                    let mut k = start;
                    while k > 0 && kinds[k - 1] == Kind::Invisible {
                        k -= 1;
                    }
                    if k > 0 && kinds[k - 1] == Kind::Plus {
                        start = k - 1;
                    }
                }
                spans.push((start, groups[j].end, masked(&number)));
                i = j + 1;
            }
            None => i += 1,
        }
    }
    if spans.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, replacement) in spans {
        out.extend(&chars[at..start]);
        out.push_str(&replacement);
        at = end;
    }
    out.extend(&chars[at..]);
    out
}

/// Every text of a publication with its numbers masked: names, places,
/// entry texts and times, summaries, night activities (times, place,
/// issues, help) and overnight places. Dates and photo hashes are the
/// server's own and are kept.
pub fn mask_publication(mut p: Publication) -> Publication {
    let m = |s: &mut String| *s = mask_numbers(s);
    m(&mut p.unit_name);
    m(&mut p.title);
    for c in &mut p.cadres {
        m(&mut c.name);
        m(&mut c.unit_name);
        m(&mut c.post);
        for d in &mut c.days {
            m(&mut d.summary);
            if let Some(place) = &mut d.overnight_place {
                m(place);
            }
            for e in &mut d.entries {
                m(&mut e.time);
                m(&mut e.category);
                m(&mut e.place);
                m(&mut e.text);
            }
            for a in &mut d.night {
                m(&mut a.kind);
                m(&mut a.start);
                if let Some(end) = &mut a.end {
                    m(end);
                }
                m(&mut a.place);
                m(&mut a.issues);
                m(&mut a.help);
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn masks(written: &str, shown: &str) {
        assert_eq!(mask_numbers(written), shown, "{written:?}");
    }

    #[test]
    fn mobile_numbers_are_masked_in_every_form() {
        masks("联系13812345678", "联系138****5678");
        masks("+8613912345678", "+86 139****5678");
        masks("8613912345678", "+86 139****5678");
        masks("008613912345678", "+86 139****5678");
        masks("+86 139 1234 5678", "+86 139****5678");
        masks("(+86) 139-1234-5678", "(+86 139****5678");
        masks("138-1234-5678", "138****5678");
        masks("139 1234 5678", "139****5678");
        masks("139.1234.5678", "139****5678");
        masks("139 - 1234 - 5678", "139****5678");
        masks("１３８１２３４５６７８", "138****5678");
        masks("１３８－１２３４－５６７８", "138****5678");
        masks("＋８６ １３８１２３４５６７８", "+86 138****5678");
        masks("𝟏𝟑𝟖𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖", "138****5678");
        masks("138\u{200B}1234\u{200B}5678", "138****5678");
        masks("1\u{200C}3\u{200D}8\u{2060}1234\u{FEFF}5678", "138****5678");
        masks("138\u{202E}12345678", "138****5678");
        masks("1\u{0301}38 1234 5678", "138****5678");
        masks("138\u{3000}1234\u{3000}5678", "138****5678");
        masks("电话：139 1234 5678。", "电话：139****5678。");
        masks("13812345670", "138****5670");
        // Glued to another number by a separator: the phone is still found.
        masks("共3户 13912345678", "共3户 139****5678");
        masks("3-139-1234-5678", "3-139****5678");
        masks("2026\u{200B}13812345678", "2026\u{200B}138****5678");
        masks("A13812345678B", "A138****5678B");
        masks(
            "两个号码13812345678、13998765432",
            "两个号码138****5678、139****5432",
        );
    }

    #[test]
    fn identity_numbers_are_masked() {
        masks("身份证430102199001011234", "身份证430***********1234");
        masks("43010219900101123X", "430***********123X");
        masks("43010219900101123x。", "430***********123X。");
        masks("４３０１０２１９９００１０１１２３Ｘ", "430***********123X");
        masks("430102 19900101 123X", "430***********123X");
        masks("4301-0219-9001-0112-34", "430***********1234");
        masks("430102\u{200B}199001011234", "430***********1234");
    }

    #[test]
    fn other_numbers_are_kept_as_written() {
        for kept in [
            "户号12345678901",
            "电话0731-1234567",
            "138123456789",
            "走访12户，发放资料30份",
            "2026-11-19 13:00",
            "09:00",
            "住村 1 晚",
            "12812345678",
            "",
        ] {
            masks(kept, kept);
        }
        // A number ending in X is not continued by the next group.
        masks("1381234567X 8", "1381234567X 8");
    }

    #[test]
    fn every_field_of_a_publication_is_masked() {
        use crate::publications::content::*;
        let phone = "１３８ 1234\u{200B}5678";
        let p = Publication {
            unit_id: "t1".into(),
            unit_name: phone.into(),
            week: "2026-W47".into(),
            title: phone.into(),
            published_at: 0,
            totals: Totals::default(),
            cadres: vec![CadreWeek {
                user_id: "u1".into(),
                name: phone.into(),
                unit_name: phone.into(),
                post: phone.into(),
                summary: Default::default(),
                days: vec![DayRecord {
                    date: "2026-11-16".into(),
                    entries: vec![PublicEntry {
                        time: "13812345678".into(),
                        category: phone.into(),
                        place: phone.into(),
                        households: 0,
                        text: phone.into(),
                        photos: vec![],
                    }],
                    night: vec![PublicActivity {
                        kind: phone.into(),
                        start: phone.into(),
                        end: Some(phone.into()),
                        place: phone.into(),
                        households: 0,
                        issues: phone.into(),
                        help: phone.into(),
                        photos: vec![],
                    }],
                    stayed_overnight: true,
                    overnight_place: Some(phone.into()),
                    summary: phone.into(),
                }],
                missing_days: vec![],
            }],
        };
        let json = serde_json::to_string(&mask_publication(p)).unwrap();
        assert!(!json.contains("1234"), "{json}");
        assert_eq!(json.matches("138****5678").count(), 17, "{json}");
    }
}
