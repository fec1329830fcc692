//! 亮身份: every cadre's public card. A card shows who the person is (photo,
//! name, unit, 职务), what to come to them for (the post's 责任清单 in
//! force, else the duties on their account), the work phone they chose to
//! publish, the supervision phones of their unit and of the county, and
//! where they are now: the status they last set on their phone (在岗, 下村
//! with the village, 会议, 出差, 培训, 请假) with its age, never more
//! precise than the village.
//!
//! A card's address is `/c/{card_id}`, a random id made the first time the
//! card is needed: it does not reveal the login. Only cadres and leaders
//! who are not disabled have a public card; any other id answers as one
//! that does not exist.

pub mod print;

use std::collections::HashMap;

use sync_core::document::StatusKind;
use sync_core::Role;

use crate::problem::{IntoProblem, Problem};
use crate::storage::{CardRow, Store, StoreError, User};

/// The longest published phone (digits, `-`, `+`, spaces, parentheses).
pub const MAX_PHONE_CHARS: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error(
        "the phone to publish must be at most {MAX_PHONE_CHARS} digits, spaces, '-', '+' or \
         parentheses, e.g. 0736-1234567 or 138 1234 5678"
    )]
    BadPhone,
    #[error("the photo {0} is not a finished upload of yours: upload it first (PATCH /api/v1/blobs/{{sha}})")]
    NotYourPhoto(String),
    #[error("only cadres and leaders have a public card")]
    NoCard,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoProblem for CardError {
    fn into_problem(self) -> Problem {
        let invalid = |code, e: &CardError| Problem::Invalid {
            code,
            message: e.to_string(),
        };
        match self {
            e @ CardError::BadPhone => invalid("bad_phone", &e),
            e @ CardError::NotYourPhoto(_) => invalid("bad_photo", &e),
            e @ CardError::NoCard => Problem::Forbidden(e.to_string()),
            CardError::Store(e) => e.into_problem(),
        }
    }
}

crate::edge_error!(CardError);

/// Does `user` have a public card?
pub fn is_public(user: &User) -> bool {
    matches!(user.role, Role::Cadre | Role::Leader) && !user.disabled
}

/// A phone to publish, trimmed; empty publishes none.
pub fn check_phone(s: &str) -> Result<String, CardError> {
    let s = s.trim();
    let ok = s.chars().count() <= MAX_PHONE_CHARS
        && s.chars().all(|c| c.is_ascii_digit() || " -+()".contains(c))
        && (s.is_empty() || s.chars().filter(char::is_ascii_digit).count() >= 3);
    if ok {
        Ok(s.to_owned())
    } else {
        Err(CardError::BadPhone)
    }
}

/// What a person publishes on their card.
pub struct CardSettings<'a> {
    pub phone: &'a str,
    /// A finished upload of theirs (hex SHA-256), or none.
    pub photo: Option<&'a str>,
}

/// Set `user`'s card: the phone and photo they publish. The photo must be
/// one they uploaded (an admin's upload for someone else: `set_for`).
pub async fn set_mine(
    store: &Store,
    user: &User,
    settings: CardSettings<'_>,
) -> Result<CardRow, CardError> {
    if !is_public(user) {
        return Err(CardError::NoCard);
    }
    let phone = check_phone(settings.phone)?;
    if let Some(sha) = settings.photo {
        let finished = store.blob(sha).await?.is_some();
        if !finished || !store.is_uploader(sha, &user.id).await? {
            return Err(CardError::NotYourPhoto(sha.to_owned()));
        }
    }
    Ok(store.set_card(&user.id, &phone, settings.photo).await?)
}

/// Where someone is, as a card shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusView {
    /// `on_duty`, `in_village` …
    pub kind: &'static str,
    /// 在岗, 下村 …
    pub label: &'static str,
    /// The village's name with 下村, when it is a village.
    pub village: Option<String>,
    /// When it was set (ms).
    pub set_at: i64,
    /// 「3小时前更新」.
    pub age: String,
}

/// A supervision phone (监督电话) with whose it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Supervision {
    pub office: String,
    pub phone: String,
}

/// A card as the public sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CardView {
    pub card_id: String,
    pub name: String,
    pub unit_id: String,
    pub unit_name: String,
    /// 职务.
    pub post: String,
    /// 下列事项找我办: the post's 责任清单 in force, else the account's
    /// duties (one per line).
    pub duties: Vec<String>,
    /// 「责任清单第 2 版」 when the duties are the post's list.
    pub duties_source: String,
    /// The work phone published ('' none).
    pub phone: String,
    pub has_photo: bool,
    /// The unit's and the county's, without repeats.
    pub supervision: Vec<Supervision>,
    pub status: Option<StatusView>,
}

/// 「刚刚更新」, 「5分钟前更新」, 「3小时前更新」, 「2天前更新」.
pub fn age_zh(now_ms: i64, at_ms: i64) -> String {
    let mins = (now_ms - at_ms).max(0) / 60_000;
    match mins {
        0 => "刚刚更新".to_owned(),
        1..=59 => format!("{mins}分钟前更新"),
        60..=1439 => format!("{}小时前更新", mins / 60),
        _ => format!("{}天前更新", mins / 1440),
    }
}

/// What the cards of one unit share: its name, its supervision phones,
/// its county's path, and the 责任清单 of each post; read once per unit (a
/// unit's page shows many cards).
/// A post's 责任清单 as a card lists it, with its version's words.
type PostDuties = Option<(Vec<String>, String)>;

#[derive(Default)]
pub struct UnitFacts {
    units: HashMap<String, (String, Vec<Supervision>, String)>,
    duties: HashMap<(String, String), PostDuties>,
}

impl UnitFacts {
    async fn unit(
        &mut self,
        store: &Store,
        unit_id: &str,
    ) -> Result<&(String, Vec<Supervision>, String), StoreError> {
        if !self.units.contains_key(unit_id) {
            let chain = store.unit_chain(unit_id).await?;
            let mut supervision: Vec<Supervision> = Vec::new();
            for u in [chain.first(), chain.last()].into_iter().flatten() {
                let s = store.notice_settings(u).await?;
                if s.supervision_phone.is_empty()
                    || supervision.iter().any(|e| e.phone == s.supervision_phone)
                {
                    continue;
                }
                supervision.push(Supervision {
                    office: s.supervision_office,
                    phone: s.supervision_phone,
                });
            }
            let name = chain.first().map(|u| u.name.clone()).unwrap_or_default();
            let county_path = chain.last().map(|u| u.path.clone()).unwrap_or_default();
            self.units
                .insert(unit_id.to_owned(), (name, supervision, county_path));
        }
        Ok(&self.units[unit_id])
    }

    async fn duties(&mut self, store: &Store, unit_id: &str, post: &str) -> PostDuties {
        let key = (unit_id.to_owned(), post.to_owned());
        if !self.duties.contains_key(&key) {
            let list = crate::post_lists::current_for_post(store, unit_id, post)
                .await
                .ok()
                .and_then(|l| l.duty)
                .filter(|l| !l.entries.is_empty())
                .map(|l| {
                    (
                        l.entries.iter().map(|e| e.title.clone()).collect(),
                        format!("责任清单第 {} 版", l.version),
                    )
                });
            self.duties.insert(key.clone(), list);
        }
        self.duties[&key].clone()
    }
}

/// The card of `user` (their card row `card`) at `now_ms`.
pub async fn view(
    store: &Store,
    user: &User,
    card: &CardRow,
    now_ms: i64,
    facts: &mut UnitFacts,
) -> Result<CardView, StoreError> {
    let (duties, duties_source) = match facts.duties(store, &user.unit_id, &user.post).await {
        Some(list) => list,
        None => (
            user.duties
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            String::new(),
        ),
    };
    let (unit_name, supervision, county_path) = facts.unit(store, &user.unit_id).await?.clone();
    let status = match store.status_of(&user.id).await? {
        Some(s) => {
            let kind = StatusKind::parse(&s.kind).ok();
            // A village of the cadre's own county, by name; nothing else.
            let village = if kind == Some(StatusKind::InVillage) && !s.village.is_empty() {
                store
                    .unit(&s.village)
                    .await?
                    .filter(|u| u.level == "village" && u.path.starts_with(&county_path))
                    .map(|u| u.name)
            } else {
                None
            };
            kind.map(|k| StatusView {
                kind: k.as_str(),
                label: k.zh(),
                village,
                set_at: s.set_at,
                age: age_zh(now_ms, s.set_at),
            })
        }
        None => None,
    };
    Ok(CardView {
        card_id: card.card_id.clone(),
        name: user.name.clone(),
        unit_id: user.unit_id.clone(),
        unit_name,
        post: user.post.clone(),
        duties,
        duties_source,
        phone: card.phone.clone(),
        has_photo: card.photo_sha.is_some(),
        supervision,
        status,
    })
}

/// The public card with id `card_id`, if it is one.
pub async fn public_card(
    store: &Store,
    card_id: &str,
    now_ms: i64,
) -> Result<Option<CardView>, StoreError> {
    let valid = card_id.len() == 16 && card_id.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Ok(None);
    }
    let Some(card) = store.card_by_id(card_id).await? else {
        return Ok(None);
    };
    let Some(user) = store.user(&card.user_id).await?.filter(is_public) else {
        return Ok(None);
    };
    Ok(Some(
        view(store, &user, &card, now_ms, &mut UnitFacts::default()).await?,
    ))
}

/// The public cards of the people of `unit` and the units under it; none
/// for a county (a top unit: its cards are listed by township, so that one
/// request of the public's never reads a whole county).
pub async fn unit_cards(
    store: &Store,
    unit: &crate::storage::Unit,
    now_ms: i64,
) -> Result<Option<Vec<CardView>>, StoreError> {
    if unit.parent_id.is_none() {
        return Ok(None);
    }
    let mut facts = UnitFacts::default();
    let mut out = Vec::new();
    for user in store.users_under(&unit.id).await? {
        if !is_public(&user) {
            continue;
        }
        let card = store.card_of(&user.id).await?;
        out.push(view(store, &user, &card, now_ms, &mut facts).await?);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_say_them() {
        let h = 3_600_000;
        assert_eq!(age_zh(10 * h, 10 * h), "刚刚更新");
        assert_eq!(age_zh(10 * h, 10 * h + 5_000), "刚刚更新", "a clock ahead");
        assert_eq!(age_zh(10 * h, 10 * h - 5 * 60_000), "5分钟前更新");
        assert_eq!(age_zh(10 * h, 7 * h), "3小时前更新");
        assert_eq!(age_zh(100 * h, 50 * h), "2天前更新");
    }

    #[test]
    fn published_phones_are_phone_numbers() {
        assert_eq!(check_phone(" 0736-1234567 ").unwrap(), "0736-1234567");
        assert_eq!(check_phone("").unwrap(), "");
        assert_eq!(
            check_phone("+86 138 1234 5678").unwrap(),
            "+86 138 1234 5678"
        );
        for bad in ["call me", "138\u{202E}1234", "1".repeat(21).as_str(), "--"] {
            assert!(check_phone(bad).is_err(), "{bad}");
        }
    }
}
