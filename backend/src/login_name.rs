//! Login names: one rule for creating an account (`jishi admin
//! create-user`) and for logging in, so that a login cannot imitate
//! another and a login typed in another width still matches. A login is
//! normalized (Unicode NFKC: full-width letters and digits become ASCII;
//! surrounding spaces are trimmed) and then refused if what remains could
//! hide or imitate: control or invisible characters (zero-width space,
//! direction overrides …), whitespace inside, characters other than
//! letters, ASCII digits and `. _ - @`, or letters of Latin, Greek and
//! Cyrillic mixed (`аdmin` with a Cyrillic `а`).

use unicode_normalization::UnicodeNormalization;

use crate::invisible::is_invisible;

/// Longest login, in characters.
pub const MAX_CHARS: usize = 64;

/// A normalized login that passed the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginName(String);

/// Why a login is refused; each names the login and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginNameError {
    #[error("the login {login:?} is empty once normalized; choose a login of letters and digits")]
    Empty { login: String },
    #[error("the login {login:?} is longer than {MAX_CHARS} characters; choose a shorter one")]
    TooLong { login: String },
    #[error(
        "the login {login:?} contains the control or invisible character {code} (it can make one login look like another); type the login again without it"
    )]
    Invisible { login: String, code: String },
    #[error(
        "the login {login:?} contains a space inside it; use a login without spaces (`.`, `_` or `-` may join words)"
    )]
    Whitespace { login: String },
    #[error(
        "the login {login:?} contains {ch:?} ({code}); a login may hold letters, the digits 0-9 and . _ - @ only"
    )]
    Character {
        login: String,
        ch: char,
        code: String,
    },
    #[error(
        "the login {login:?} mixes {scripts} letters (one can imitate the other, as Cyrillic а imitates Latin a); write it in one script"
    )]
    MixedScripts { login: String, scripts: String },
}

/// The scripts whose letters imitate each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Script {
    Latin,
    Greek,
    Cyrillic,
    Other,
}

fn script(c: char) -> Script {
    match c {
        'a'..='z' | 'A'..='Z' => Script::Latin,
        '\u{00C0}'..='\u{024F}'
        | '\u{1E00}'..='\u{1EFF}'
        | '\u{2C60}'..='\u{2C7F}'
        | '\u{A720}'..='\u{A7FF}'
        | '\u{AB30}'..='\u{AB6F}' => Script::Latin,
        '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}' => Script::Greek,
        '\u{0400}'..='\u{052F}'
        | '\u{1C80}'..='\u{1C8F}'
        | '\u{2DE0}'..='\u{2DFF}'
        | '\u{A640}'..='\u{A69F}' => Script::Cyrillic,
        _ => Script::Other,
    }
}

fn code(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

impl LoginName {
    /// Normalize `raw` and check it.
    pub fn parse(raw: &str) -> Result<LoginName, LoginNameError> {
        let normalized: String = raw.nfkc().collect();
        let login = normalized.trim();
        let shown = || login.to_owned();
        if login.is_empty() {
            return Err(LoginNameError::Empty {
                login: raw.to_owned(),
            });
        }
        if login.chars().count() > MAX_CHARS {
            return Err(LoginNameError::TooLong { login: shown() });
        }
        let mut scripts = std::collections::BTreeSet::new();
        for c in login.chars() {
            if c.is_control() || is_invisible(c) {
                return Err(LoginNameError::Invisible {
                    login: shown(),
                    code: code(c),
                });
            }
            if c.is_whitespace() {
                return Err(LoginNameError::Whitespace { login: shown() });
            }
            let allowed = c.is_ascii_digit()
                || matches!(c, '.' | '_' | '-' | '@')
                || (c.is_alphabetic() && !c.is_numeric());
            if !allowed {
                return Err(LoginNameError::Character {
                    login: shown(),
                    ch: c,
                    code: code(c),
                });
            }
            if c.is_alphabetic() {
                scripts.insert(script(c));
            }
        }
        let imitating: Vec<&str> = scripts
            .iter()
            .filter_map(|s| match s {
                Script::Latin => Some("Latin"),
                Script::Greek => Some("Greek"),
                Script::Cyrillic => Some("Cyrillic"),
                Script::Other => None,
            })
            .collect();
        if imitating.len() > 1 {
            return Err(LoginNameError::MixedScripts {
                login: shown(),
                scripts: imitating.join(" and "),
            });
        }
        Ok(LoginName(login.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LoginName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_normalized() {
        for (typed, stored) in [
            ("cadre01", "cadre01"),
            ("  cadre01 ", "cadre01"),
            ("cadre01\u{3000}", "cadre01"),
            ("ｃａｄｒｅ０１", "cadre01"),
            ("Leader-Shimen", "Leader-Shimen"),
            ("zhang.san@qingshan", "zhang.san@qingshan"),
            ("张三", "张三"),
            ("zhang张三01", "zhang张三01"),
            ("li_si", "li_si"),
            ("ﬁeld", "field"),
            // A combining accent composes with its letter: a letter of its own.
            ("jose\u{0301}", "jos\u{e9}"),
        ] {
            assert_eq!(
                LoginName::parse(typed).map(|l| l.to_string()),
                Ok(stored.to_owned()),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn look_alike_logins_are_refused_naming_the_login_and_the_fix() {
        for (typed, kind, says) in [
            ("", "empty", "empty"),
            ("   ", "empty", "empty"),
            ("cadre\u{200B}01", "invisible", "U+200B"),
            ("cadre01\u{200D}", "invisible", "U+200D"),
            ("\u{202E}10erdac", "invisible", "U+202E"),
            ("admin\u{2066}", "invisible", "U+2066"),
            ("cadre\u{0}01", "invisible", "U+0000"),
            ("cadre\t01", "invisible", "U+0009"),
            ("adm\u{0336}in", "invisible", "U+0336"),
            ("cadre 01", "space", "space"),
            ("cadre\u{3000}01", "space", "space"),
            ("аdmin", "mixed", "Latin and Cyrillic"),
            ("pаypal", "mixed", "Latin and Cyrillic"),
            ("αdmin", "mixed", "Latin and Greek"),
            ("cadre/01", "character", "U+002F"),
            ("cadre01😀", "character", "U+1F600"),
            ("cadre٠١", "character", "U+0660"),
        ] {
            let e = LoginName::parse(typed).expect_err(typed);
            let kind_ok = match kind {
                "empty" => matches!(e, LoginNameError::Empty { .. }),
                "invisible" => matches!(e, LoginNameError::Invisible { .. }),
                "space" => matches!(e, LoginNameError::Whitespace { .. }),
                "mixed" => matches!(e, LoginNameError::MixedScripts { .. }),
                _ => matches!(e, LoginNameError::Character { .. }),
            };
            assert!(kind_ok, "{typed:?}: {e:?}");
            let message = e.to_string();
            assert!(message.contains(says), "{typed:?}: {message}");
            assert!(message.contains("the login"), "{message}");
        }
        assert!(matches!(
            LoginName::parse(&"a".repeat(65)),
            Err(LoginNameError::TooLong { .. })
        ));
        // The message shows invisible characters escaped.
        let e = LoginName::parse("ab\u{200B}c").unwrap_err().to_string();
        assert!(e.contains("\\u{200b}"), "{e}");
    }
}
