//! A notice's versions: the leader's approval (审核) that publishes it, and
//! the corrections (更正) and withdrawals (撤回) that follow. A published
//! version is never changed: each act adds a version with its reason, who
//! and when, and the highest one is what the notice shows.

use sha2::{Digest, Sha256};

use super::{content::Publication, make, store_made, Period, PublishError};
use crate::state::AppState;
use crate::storage::{now_ms, PublicationRow, Store, VersionAction, VersionRow};

/// Every version of one published notice, oldest first.
#[derive(Debug, Clone)]
pub struct Notice {
    /// Version 1 and every later one: never empty (a notice is loaded only
    /// when its first version exists).
    versions: Vec<VersionRow>,
    /// Index of the current version: the last.
    current: usize,
}

impl Notice {
    /// The stored notice of `unit_id` for `week`, if it was published.
    pub async fn load(
        store: &Store,
        unit_id: &str,
        week: &str,
    ) -> Result<Option<Notice>, PublishError> {
        let versions = store.publication_versions(unit_id, week).await?;
        Ok(Notice::new(versions))
    }

    /// None when there is no first version.
    pub fn new(versions: Vec<VersionRow>) -> Option<Notice> {
        let current = versions.len().checked_sub(1)?;
        Some(Notice { versions, current })
    }

    /// What the notice shows now.
    #[allow(clippy::indexing_slicing)] // `current` < len, by `new`.
    pub fn current(&self) -> &VersionRow {
        &self.versions[self.current]
    }

    /// Version 1: the notice as first published.
    #[allow(clippy::indexing_slicing)] // never empty, by `new`.
    pub fn first(&self) -> &VersionRow {
        &self.versions[0]
    }

    pub fn withdrawn(&self) -> bool {
        self.current().action == VersionAction::Withdraw
    }

    pub fn versions(&self) -> &[VersionRow] {
        &self.versions
    }

    pub fn version(&self, n: i64) -> Option<&VersionRow> {
        self.versions.iter().find(|v| v.version == n)
    }

    /// Whether version `n` may be shown to the public: every version of a
    /// notice that stands (the corrected ones marked as such), but none a
    /// later withdrawal took down (a withdrawal takes down what it was made
    /// for, earlier versions included; overseers still read them in the
    /// web pages). The withdrawal itself, its reason and who, is public.
    pub fn public(&self, n: i64) -> bool {
        self.version(n).is_some()
            && !self
                .versions
                .iter()
                .any(|v| v.version > n && v.action == VersionAction::Withdraw)
    }
}

/// The names of the people who approved, corrected or withdrew `notice`.
pub async fn names_of(
    store: &Store,
    notice: &Notice,
) -> Result<std::collections::BTreeMap<String, String>, crate::storage::StoreError> {
    let mut names = std::collections::BTreeMap::new();
    for v in notice.versions() {
        if v.by_user.is_empty() || names.contains_key(&v.by_user) {
            continue;
        }
        if let Some(u) = store.user(&v.by_user).await? {
            names.insert(v.by_user.clone(), u.name);
        }
    }
    Ok(names)
}

/// What a version says.
#[derive(Debug)]
pub enum Shown {
    Week(Publication),
    Month(super::monthly::MonthNotice),
    /// A withdrawal: nothing.
    Withdrawn,
}

/// What version `v` says, read as its kind (by its key).
pub fn shown(v: &VersionRow) -> Result<Shown, PublishError> {
    if v.action == VersionAction::Withdraw {
        return Ok(Shown::Withdrawn);
    }
    Ok(match Period::parse(&v.week) {
        Some(Period::Month(_)) => Shown::Month(serde_json::from_str(&v.content)?),
        _ => Shown::Week(serde_json::from_str(&v.content)?),
    })
}

/// A short fingerprint of a draft: what the notice would say (`content`,
/// made with the moment of making zeroed) and the document heads it was
/// read at. The approval form carries the one the leader read, and the
/// approval is refused if anything moved since (a record, a cadre added or
/// renamed, a 职务): he approves what he saw.
pub fn digest_of<T: serde::Serialize>(
    content: &T,
    heads: &std::collections::BTreeMap<String, Vec<String>>,
) -> String {
    let mut h = Sha256::new();
    if let Ok(json) = serde_json::to_vec(content) {
        h.update(&json);
    }
    h.update([3]);
    for (doc, hs) in heads {
        h.update(doc.as_bytes());
        h.update([0]);
        for head in hs {
            h.update(head.as_bytes());
            h.update([1]);
        }
        h.update([2]);
    }
    hex::encode(&h.finalize()[..12])
}

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error("the notice is not published")]
    NotPublished,
    #[error("the notice is already published")]
    AlreadyPublished,
    #[error("{0}")]
    Reason(&'static str),
    /// The records changed after the leader read the draft.
    #[error("the records changed after the draft was read")]
    Stale,
    /// Someone else corrected or withdrew it at the same moment.
    #[error("someone else changed the notice at the same moment")]
    Raced,
    #[error("the notice is already withdrawn")]
    AlreadyWithdrawn,
    #[error(transparent)]
    Publish(#[from] PublishError),
}

impl From<crate::storage::StoreError> for VersionError {
    fn from(e: crate::storage::StoreError) -> Self {
        VersionError::Publish(e.into())
    }
}

/// The longest reason of a correction or withdrawal, in characters.
pub const MAX_REASON: usize = 200;

/// A reason as stored: trimmed, at least two and at most `MAX_REASON`
/// characters, no control characters but line breaks.
pub fn reason(text: &str) -> Result<String, VersionError> {
    // A browser sends a textarea's line breaks as CRLF: one line break.
    let t = text.trim().replace("\r\n", "\n");
    if t.chars().count() < 2 {
        return Err(VersionError::Reason("请写明原因（至少两个字）。"));
    }
    if t.chars().count() > MAX_REASON {
        return Err(VersionError::Reason("原因不能超过200字。"));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(VersionError::Reason("原因含有不能显示的字符。"));
    }
    Ok(t)
}

/// A leader approves the draft he read (its digest): published now with
/// him as the approver, unless the records moved since (`Stale`: read it
/// again) or it is already published.
pub async fn approve(
    state: &AppState,
    unit_id: &str,
    period: Period,
    approver: &str,
    seen: &str,
) -> Result<PublicationRow, VersionError> {
    let store = &state.store;
    if store
        .publication(unit_id, &period.to_string())
        .await?
        .is_some()
    {
        return Err(VersionError::AlreadyPublished);
    }
    let now = now_ms();
    let made = make(state, unit_id, period, now).await?;
    if made.digest() != seen {
        return Err(VersionError::Stale);
    }
    match store_made(store, unit_id, period, &made, now, Some(approver)).await? {
        (row, true) => Ok(row),
        (_, false) => Err(VersionError::AlreadyPublished),
    }
}

/// What a later version does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amend {
    /// A new snapshot of the records now.
    Correct,
    Withdraw,
}

/// Correct or withdraw a published notice: a new version with `why`, `by`
/// and now. A correction after a withdrawal publishes it again.
pub async fn amend(
    state: &AppState,
    unit_id: &str,
    period: Period,
    what: Amend,
    why: &str,
    by: &str,
) -> Result<VersionRow, VersionError> {
    let why = reason(why)?;
    let store = &state.store;
    let notice = Notice::load(store, unit_id, &period.to_string())
        .await?
        .ok_or(VersionError::NotPublished)?;
    if what == Amend::Withdraw && notice.withdrawn() {
        return Err(VersionError::AlreadyWithdrawn);
    }
    let now = now_ms();
    let (title, content, heads, photos) = match what {
        Amend::Correct => {
            let made = make(state, unit_id, period, now).await?;
            let (content, heads, photos) = made.stored()?;
            (made.title().to_owned(), content, heads, photos)
        }
        Amend::Withdraw => (
            notice.current().title.clone(),
            String::new(),
            "{}".to_owned(),
            Vec::new(),
        ),
    };
    let v = VersionRow {
        unit_id: unit_id.to_owned(),
        week: period.to_string(),
        version: notice.current().version + 1,
        action: match what {
            Amend::Correct => VersionAction::Correct,
            Amend::Withdraw => VersionAction::Withdraw,
        },
        title,
        content,
        heads,
        reason: why,
        by_user: by.to_owned(),
        created_at: now,
    };
    let photos: Vec<&str> = photos.iter().map(String::as_str).collect();
    if !store.insert_version(&v, &photos).await? {
        return Err(VersionError::Raced);
    }
    tracing::info!(unit = unit_id, %period, version = v.version, action = v.action.as_str(), by, "notice amended");
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_digest_follows_the_content_and_every_head() {
        use super::super::content::Publication;
        let mut d = super::super::Draft {
            publication: Publication {
                unit_id: "t1".into(),
                unit_name: "石门镇".into(),
                week: "2026-W47".into(),
                title: "周公示".into(),
                published_at: 1,
                totals: Default::default(),
                cadres: Vec::new(),
            },
            heads: BTreeMap::new(),
        };
        d.heads
            .insert("day:u1:2026-11-16".to_owned(), vec!["aa".to_owned()]);
        let digest = |d: &super::super::Draft| {
            super::super::Made::Week(super::super::Draft {
                publication: d.publication.clone(),
                heads: d.heads.clone(),
            })
            .digest()
        };
        let d1 = digest(&d);
        assert_eq!(d1.len(), 24);
        d.publication.published_at = 2;
        assert_eq!(digest(&d), d1, "the moment of making is not content");
        d.heads.insert("day:u1:2026-11-17".to_owned(), vec![]);
        let d2 = digest(&d);
        assert_ne!(d1, d2, "a new document changes it");
        d.heads
            .insert("day:u1:2026-11-17".to_owned(), vec!["bb".to_owned()]);
        let d3 = digest(&d);
        assert_ne!(d2, d3, "a new head changes it");
        d.publication.title = "周公示（改）".into();
        assert_ne!(digest(&d), d3, "changed content changes it");
    }

    #[test]
    fn a_reason_is_needed_and_bounded() {
        assert!(matches!(reason(" "), Err(VersionError::Reason(_))));
        assert!(matches!(reason("错"), Err(VersionError::Reason(_))));
        assert!(matches!(
            reason(&"字".repeat(201)),
            Err(VersionError::Reason(_))
        ));
        assert!(matches!(reason("a\u{7}b"), Err(VersionError::Reason(_))));
        assert_eq!(reason(" 户数填错\r\n已更正 ").unwrap(), "户数填错\n已更正");
    }
}
