//! The public's pages of a case (`templates/cases/`): the form a card's or
//! a notice's QR link opens, the page that gives the tracking code, and
//! the page that follows a case with it. Chinese, for a phone's screen.

use askama::Template;

use super::{PublicCase, ANSWER_WORKDAYS, MAX_CONTENT_CHARS, MAX_NAME_CHARS, MIN_CONTENT_CHARS};

/// What the form shows (again, as filled, after a refusal).
#[derive(Debug, Clone, Default)]
pub struct FormView {
    /// Whom the case concerns, as the page names it.
    pub target: String,
    pub card: String,
    pub unit: String,
    pub kind: String,
    pub content: String,
    pub name: String,
    pub phone: String,
    /// Why the last post was refused.
    pub message: Option<String>,
    pub challenge: String,
    pub bits: u32,
}

#[derive(Template)]
#[template(path = "cases/form.html")]
struct FormPage<'a> {
    target: &'a str,
    card: &'a str,
    unit: &'a str,
    kind: &'a str,
    content: &'a str,
    name: &'a str,
    phone: &'a str,
    message: Option<&'a str>,
    challenge: &'a str,
    bits: u32,
    min_chars: usize,
    max_chars: usize,
    max_name: usize,
    workdays: u32,
}

pub fn form(v: &FormView) -> Result<String, askama::Error> {
    FormPage {
        target: &v.target,
        card: &v.card,
        unit: &v.unit,
        kind: &v.kind,
        content: &v.content,
        name: &v.name,
        phone: &v.phone,
        message: v.message.as_deref(),
        challenge: &v.challenge,
        bits: v.bits,
        min_chars: MIN_CONTENT_CHARS,
        max_chars: MAX_CONTENT_CHARS,
        max_name: MAX_NAME_CHARS,
        workdays: ANSWER_WORKDAYS,
    }
    .render()
}

#[derive(Template)]
#[template(path = "cases/filed.html")]
struct FiledPage<'a> {
    kind_zh: &'a str,
    code: &'a str,
    due: &'a str,
}

pub fn filed(kind_zh: &str, code: &str, due: &str) -> Result<String, askama::Error> {
    FiledPage { kind_zh, code, due }.render()
}

#[derive(Template)]
#[template(path = "cases/lookup.html")]
struct LookupPage<'a> {
    case: Option<&'a PublicCase>,
    message: Option<&'a str>,
    filed: String,
    closed: String,
}

fn when(ms: i64) -> String {
    crate::china::at_ms(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

pub fn lookup(case: Option<&PublicCase>, message: Option<&str>) -> Result<String, askama::Error> {
    LookupPage {
        case,
        message,
        filed: case.map(|c| when(c.filed_at)).unwrap_or_default(),
        closed: case.and_then(|c| c.closed_at).map(when).unwrap_or_default(),
    }
    .render()
}
