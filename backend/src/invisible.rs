//! Characters that render as nothing, or as nothing more than the character
//! before them: format characters (zero-width spaces and joiners, direction
//! marks and overrides, the byte-order mark, soft hyphen, tags), combining
//! marks, variation selectors and the Hangul fillers. A login or a number
//! can hide them without changing how it looks, so the login rules refuse
//! them and the masking of public numbers reads through them.

/// Is `c` invisible, or only a mark on the character before it?
pub fn is_invisible(c: char) -> bool {
    is_format(c)
        || unicode_normalization::char::is_combining_mark(c)
        || matches!(c,
            '\u{FE00}'..='\u{FE0F}'          // variation selectors
            | '\u{E0100}'..='\u{E01EF}'      // variation selectors supplement
            | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
            | '\u{2800}'                     // braille blank
        )
}

/// Unicode general category Cf (format), as of Unicode 15.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{0600}'..='\u{0605}'
        | '\u{061C}'
        | '\u{06DD}'
        | '\u{070F}'
        | '\u{0890}'..='\u{0891}'
        | '\u{08E2}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}'
        | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}'
        | '\u{E0020}'..='\u{E007F}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_invisible_and_letters_are_not() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{202E}',
            '\u{2066}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{2060}',
            '\u{0301}',
            '\u{FE0F}',
            '\u{3164}',
            '\u{E0041}',
        ] {
            assert!(is_invisible(c), "{:?}", c.escape_unicode().to_string());
        }
        for c in ['a', 'Z', '1', '张', ' ', '-', '\u{3000}', 'а'] {
            assert!(!is_invisible(c), "{c:?}");
        }
    }
}
