//! A publication as the article people read (`templates/publication.html`):
//! the public page, and the supervisors' preview with its bar on top.

use std::collections::BTreeSet;

use askama::Template;
use chrono::DateTime;

use super::content::Publication;
use super::monthly::MonthNotice;
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
    versions: &'a VersionsView,
}

/// The versions of a notice as its page shows them.
#[derive(Debug, Default)]
pub struct VersionsView {
    /// On a version that is not the current one: what replaced it, and a
    /// link to what stands now.
    pub superseded: Option<(String, String)>,
    /// The leader who approved it (审核人); empty when it published itself.
    pub approved_by: String,
    /// Every version, oldest first (shown when there is more than one).
    pub lines: Vec<VersionLine>,
}

/// One line of a notice's version history.
#[derive(Debug, Clone)]
pub struct VersionLine {
    /// `第2版`.
    pub label: String,
    /// 发布, 更正, 撤回.
    pub action: &'static str,
    /// `2026年12月8日 09:30`.
    pub at: String,
    pub by: String,
    pub reason: String,
    /// Where to read it (None: not public, or the page being read).
    pub url: Option<String>,
    /// The version that stands now.
    pub current: bool,
}

/// A withdrawn notice: what is left of it for the public.
#[derive(Template)]
#[template(path = "withdrawn.html")]
struct WithdrawnPage<'a> {
    title: &'a str,
    unit_name: &'a str,
    withdrawal: &'a VersionLine,
    frame: &'a NoticeFrame,
    versions: &'a VersionsView,
    preview: Option<&'a PreviewBar>,
}

/// The page of a withdrawn notice.
pub fn withdrawn(
    title: &str,
    unit_name: &str,
    withdrawal: &VersionLine,
    frame: &NoticeFrame,
    versions: &VersionsView,
    preview: Option<&PreviewBar>,
) -> Result<String, RenderError> {
    Ok(WithdrawnPage {
        title,
        unit_name,
        withdrawal,
        frame,
        versions,
        preview,
    }
    .render()?)
}

/// One notice in a unit's list.
#[derive(Debug, Clone)]
pub struct NoticeLink {
    pub title: String,
    pub url: String,
    pub week: String,
    /// `2026年11月23日`.
    pub published: String,
    /// What its current version did.
    pub action: crate::storage::VersionAction,
}

impl NoticeLink {
    /// 已更正 / 已撤回, or empty.
    pub fn status(&self) -> &'static str {
        match self.action {
            crate::storage::VersionAction::Publish => "",
            crate::storage::VersionAction::Correct => "已更正",
            crate::storage::VersionAction::Withdraw => "已撤回",
        }
    }
}

#[derive(Template)]
#[template(path = "notices.html")]
struct NoticesPage<'a> {
    unit_id: &'a str,
    unit_name: &'a str,
    notices: &'a [NoticeLink],
    frame: &'a NoticeFrame,
    posts: &'a [crate::post_lists::BoardPost],
}

/// `/p/{unit}`: every notice of a unit, newest first, and the posts'
/// 权力清单 and 责任清单 in force.
pub fn notices(
    unit_id: &str,
    unit_name: &str,
    notices: &[NoticeLink],
    frame: &NoticeFrame,
    posts: &[crate::post_lists::BoardPost],
) -> Result<String, RenderError> {
    Ok(NoticesPage {
        unit_id,
        unit_name,
        notices,
        frame,
        posts,
    }
    .render()?)
}

#[derive(Template)]
#[template(path = "card.html")]
struct CardPage<'a> {
    c: &'a crate::cards::CardView,
    qr_svg: String,
}

/// `/c/{card}`: a cadre's card, with the QR code of `url` (its address).
pub fn card(c: &crate::cards::CardView, url: Option<&str>) -> Result<String, RenderError> {
    let qr_svg = url
        .and_then(|u| super::qr::svg_labelled(u, "本人亮身份卡片网址的二维码"))
        .unwrap_or_default();
    Ok(CardPage { c, qr_svg }.render()?)
}

#[derive(Template)]
#[template(path = "cards.html")]
struct CardsPage<'a> {
    unit_name: &'a str,
    unit_id: &'a str,
    cards: &'a [crate::cards::CardView],
}

/// `/p/{unit}/cards`: the cards of a unit's people.
pub fn unit_cards(
    unit_name: &str,
    unit_id: &str,
    cards: &[crate::cards::CardView],
) -> Result<String, RenderError> {
    Ok(CardsPage {
        unit_name,
        unit_id,
        cards,
    }
    .render()?)
}

#[derive(Template)]
#[template(path = "public_error.html")]
struct PublicErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A public page's error, in Chinese, for people who followed a link.
pub fn public_error(title: &str, message: &str) -> Result<String, RenderError> {
    Ok(PublicErrorPage { title, message }.render()?)
}

/// What the supervisors' preview shows above the article.
#[derive(Debug, Default)]
pub struct PreviewBar {
    pub note: String,
    pub back_url: String,
    /// Where the publish form posts, while it is not published.
    pub publish_action: Option<String>,
    /// The digest of the draft shown, when the form is a leader's approval
    /// (审核): he approves what he read.
    pub approve_digest: Option<String>,
    /// Where the correction and withdrawal form posts, once published.
    pub amend_action: Option<String>,
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
    versions: &VersionsView,
) -> Result<String, RenderError> {
    let w = IsoWeek::parse(&p.week).map_err(|_| RenderError::Week(p.week.clone()))?;
    let published = zh_published(p.published_at);
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
        versions,
    }
    .render()?)
}

#[derive(Template)]
#[template(path = "month.html")]
struct MonthPage<'a> {
    n: &'a MonthNotice,
    published: String,
    frame: &'a NoticeFrame,
    preview: Option<&'a PreviewBar>,
    versions: &'a VersionsView,
}

/// A month notice's page (月初晒承诺 or 月底公示): the public page, and
/// the supervisors' preview with its bar.
pub fn month_article(
    n: &MonthNotice,
    frame: &NoticeFrame,
    preview: Option<&PreviewBar>,
    versions: &VersionsView,
) -> Result<String, RenderError> {
    Ok(MonthPage {
        n,
        published: zh_published(n.published_at),
        frame,
        preview,
        versions,
    }
    .render()?)
}

/// `2026年11月23日` of a moment (ms) in China time.
fn zh_published(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&crate::china::OFFSET)
                .format("%Y年%-m月%-d日")
                .to_string()
        })
        .unwrap_or_default()
}

/// `2026年12月8日 09:30` in China time.
pub fn zh_time(ms: i64) -> String {
    crate::china::at_ms(ms)
        .map(|t| t.format("%Y年%-m月%-d日 %H:%M").to_string())
        .unwrap_or_default()
}

impl VersionsView {
    /// The history of `notice` as the page of version `shown` tells it.
    /// `names`: user id → name; `url_of`: where version n is read (None:
    /// not readable here).
    pub fn of(
        notice: &super::versions::Notice,
        shown: i64,
        names: &std::collections::BTreeMap<String, String>,
        url_of: impl Fn(i64) -> Option<String>,
    ) -> VersionsView {
        use crate::storage::VersionAction;
        let current = notice.current().version;
        // An unknown id shows nothing rather than the id.
        let name = |id: &str| names.get(id).cloned().unwrap_or_default();
        let lines: Vec<VersionLine> = notice
            .versions()
            .iter()
            .map(|v| VersionLine {
                label: format!("第{}版", v.version),
                action: match v.action {
                    VersionAction::Publish if v.by_user.is_empty() => "发布",
                    VersionAction::Publish => "审核发布",
                    VersionAction::Correct => "更正",
                    VersionAction::Withdraw => "撤回",
                },
                at: zh_time(v.created_at),
                by: name(&v.by_user),
                reason: v.reason.clone(),
                url: (v.version != shown).then(|| url_of(v.version)).flatten(),
                current: v.version == current,
            })
            .collect();
        let superseded = notice
            .versions()
            .iter()
            .find(|v| v.version > shown)
            .map(|next| {
                let how = match next.action {
                    VersionAction::Withdraw => "撤回",
                    _ => "更正",
                };
                (
                    format!(
                        "此为第{shown}版，已于{}被第{}版{how}，内容以现行版本为准。",
                        zh_time(next.created_at),
                        next.version
                    ),
                    url_of(current).unwrap_or_default(),
                )
            });
        // 审核人 on the version he approved only: a correction is a new
        // snapshot he did not read (its history line names who made it).
        let approved_by = if shown == 1 {
            name(&notice.first().by_user)
        } else {
            String::new()
        };
        VersionsView {
            superseded,
            approved_by,
            lines,
        }
    }
}

/// The withdrawal as its page tells it.
pub fn withdrawal_line(
    v: &crate::storage::VersionRow,
    names: &std::collections::BTreeMap<String, String>,
) -> VersionLine {
    VersionLine {
        label: format!("第{}版", v.version),
        action: "撤回",
        at: zh_time(v.created_at),
        by: names.get(&v.by_user).cloned().unwrap_or_default(),
        reason: v.reason.clone(),
        url: None,
        current: true,
    }
}
