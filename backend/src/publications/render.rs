//! A publication as the article people read (`templates/publication.html`):
//! the public page, and the supervisors' preview with its bar on top.

use std::collections::BTreeSet;

use askama::Template;
use chrono::DateTime;

use super::content::Publication;
use super::notice::NoticeFrame;
use super::week::{zh_day, IsoWeek};

#[derive(Template)]
#[template(path = "publication.html")]
struct Page<'a> {
    p: &'a Publication,
    published: String,
    week_range: String,
    photo_base: &'a str,
    amended: &'a BTreeSet<String>,
    frame: &'a NoticeFrame,
    /// The bar above the article in the supervisors' preview.
    preview: Option<&'a PreviewBar>,
}

/// What the supervisors' preview shows above the article.
#[derive(Debug, Default)]
pub struct PreviewBar {
    pub note: String,
    pub back_url: String,
    /// Where the publish form posts, while it is not published.
    pub publish_action: Option<String>,
    pub public_url: Option<String>,
    pub amendments_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the publication's week {0:?} does not parse")]
    Week(String),
    #[error("the page template failed: {0}")]
    Template(#[from] askama::Error),
}

/// The article's HTML: the public page, and the supervisors' preview (with
/// its own photo route and a banner). `amended`: the days edited since.
pub fn article(
    p: &Publication,
    frame: &NoticeFrame,
    photo_base: &str,
    amended: &BTreeSet<String>,
    preview: Option<&PreviewBar>,
) -> Result<String, RenderError> {
    let w = IsoWeek::parse(&p.week).map_err(|_| RenderError::Week(p.week.clone()))?;
    let published = DateTime::from_timestamp_millis(p.published_at)
        .map(|t| {
            t.with_timezone(&crate::china::OFFSET)
                .format("%Y年%-m月%-d日")
                .to_string()
        })
        .unwrap_or_default();
    Ok(Page {
        p,
        published,
        week_range: format!(
            "{}至{}（第{}周）",
            zh_day(w.monday()),
            zh_day(w.sunday()),
            w.week()
        ),
        photo_base,
        amended,
        frame,
        preview,
    }
    .render()?)
}
