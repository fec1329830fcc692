//! The tracking code (查询码) a filer is given: 12 characters of Crockford's
//! base32 (no I, L, O or U, which read as others), shown in groups of four,
//! 60 random bits. The server keeps only its SHA-256: a leaked database
//! does not let anyone follow a case as its filer. Read back forgivingly:
//! lower case, spaces and dashes, and the letters people confuse (O for
//! 0, I and L for 1) are taken.

use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LEN: usize = 12;

/// A fresh code, as shown: `ABCD-EFGH-JKMN`.
pub fn fresh() -> String {
    let mut bytes = [0u8; LEN];
    rand::fill(&mut bytes);
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The code as typed, in its one spelling; `None` if it cannot be one.
pub fn normalize(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(LEN);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\u{3000}' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !ALPHABET.contains(&(c as u8)) || !c.is_ascii() || out.len() >= LEN {
            return None;
        }
        out.push(c);
    }
    (out.len() == LEN).then_some(out)
}

/// What the database keeps of a code (hex SHA-256 of its one spelling).
pub fn hash(normalized: &str) -> String {
    hex::encode(Sha256::digest(
        format!("jishi-case-code:{normalized}").as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_code_reads_back_however_it_is_typed() {
        let code = fresh();
        assert_eq!(code.len(), 14, "{code}");
        let n = normalize(&code).unwrap();
        assert_eq!(normalize(&code.to_lowercase()).as_deref(), Some(n.as_str()));
        assert_eq!(
            normalize(&code.replace('-', " ")).as_deref(),
            Some(n.as_str())
        );
        assert_ne!(fresh(), code);
    }

    #[test]
    fn confusable_letters_are_taken_and_others_refused() {
        assert_eq!(normalize("o1il-2345-6789").as_deref(), Some("011123456789"));
        assert_eq!(normalize("ABCD-EFGH-JKM"), None, "too short");
        assert_eq!(normalize("ABCD-EFGH-JKMNP"), None, "too long");
        assert_eq!(normalize("ABCD-EFGH-JKMU"), None, "U is not in it");
        assert_eq!(normalize("ABCD-EFGH-JKM测"), None);
        assert_ne!(hash("011123456789"), hash("011123456780"));
    }
}
