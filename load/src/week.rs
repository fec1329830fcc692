//! One cadre's week written offline, through the same typed edits the app
//! makes: each day a diary of several entries (about 150 characters of
//! Chinese each, so about 4 KB of text with the day summary) and a night log
//! with one night activity and where the cadre stayed. Sentences, places,
//! people and numbers come from the simulated county (`jishi_world`: texts
//! fit for the season of the week, one seeded generator), so the text
//! differs from cadre to cadre (verbatim repeats would flatter compression)
//! while a run stays repeatable.

use chrono::NaiveDate;
use sync_core::document::{ActivityFields, Category, EntryFields, PhotoRef, TextTarget};
use sync_core::memory::MemoryReplica;
use sync_core::validate::{Location, TimeOfDay};
use sync_core::{CoreError, DocId, Edit, EditContext, ItemId, Role, UserId};

use jishi_world::content::{self, Where};
use jishi_world::county::village_name;
use jishi_world::Rng;

use crate::photos::{Album, PhotoFile};

/// Characters an entry's text reaches at least.
const ENTRY_CHARS: usize = 150;

/// The kinds of daytime work a load cadre writes.
const CATEGORIES: &[Category] = &[
    Category::Visit,
    Category::Meeting,
    Category::Mediation,
    Category::Project,
    Category::Duty,
];

/// The villages cadre `index` writes about (three neighbouring ones).
fn villages_of(index: usize) -> Vec<String> {
    (0..3).map(|k| village_name(index % 64 + k)).collect()
}

/// What a week looks like.
#[derive(Debug, Clone, Copy)]
pub struct WeekShape {
    pub first_day: NaiveDate,
    pub days: usize,
    pub entries_per_diary: usize,
}

/// What writing a week produced, for the report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    pub docs: u64,
    pub diaries: u64,
    /// UTF-8 bytes of text typed into the diaries.
    pub diary_text_bytes: u64,
    /// Saved (compressed Automerge) bytes of all documents.
    pub saved_bytes: u64,
    pub diary_saved_bytes: u64,
}

/// Write cadre `index`'s week (0-based, as `seed` numbers them) into
/// `replica`: the seed comes from the index, so `run` and `export` write
/// the same text for the same cadre.
pub fn write_cadre_week(
    replica: &mut MemoryReplica,
    user: &UserId,
    index: usize,
    shape: WeekShape,
) -> Result<Written, CoreError> {
    write_week(replica, user, shape, 0x5eed_0000 + index as u64, None).map(|(w, _)| w)
}

/// The photos a phone takes in its week.
#[derive(Clone, Copy)]
pub struct Camera<'a> {
    pub album: &'a Album,
    pub per_week: usize,
}

/// [`write_cadre_week`], and `camera.per_week` photos attached to the
/// diaries' entries: photo `k` to day `k % days`, entry `k / days`
/// (wrapping), so that they spread over the week. The same text as without
/// photos; the photos to upload are returned.
pub fn write_cadre_week_with_photos(
    replica: &mut MemoryReplica,
    user: &UserId,
    index: usize,
    shape: WeekShape,
    camera: Camera<'_>,
) -> Result<(Written, Vec<PhotoFile>), CoreError> {
    write_week(
        replica,
        user,
        shape,
        0x5eed_0000 + index as u64,
        Some((index, camera)),
    )
}

/// Write `shape` into `replica` as `user` would, offline; with a camera,
/// cadre `index`'s photos too.
fn write_week(
    replica: &mut MemoryReplica,
    user: &UserId,
    shape: WeekShape,
    seed: u64,
    camera: Option<(usize, Camera<'_>)>,
) -> Result<(Written, Vec<PhotoFile>), CoreError> {
    let mut dice = Rng::new(seed);
    let villages = villages_of(seed as usize);
    let mut written = Written::default();
    let mut photos = Vec::new();
    let days = shape.days.max(1);
    let entries = shape.entries_per_diary.max(1);
    for d in 0..shape.days {
        let date = shape.first_day + chrono::Days::new(d as u64);
        let at = Where {
            villages: &villages,
            day: date,
        };
        // Phone clocks: the evening of that day.
        let day_ms = date
            .and_hms_opt(21, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or(0);
        let ctx = EditContext {
            user: user.clone(),
            role: Role::Cadre,
            now_ms: day_ms,
        };

        let diary = DocId::diary(user, date);
        for n in 0..shape.entries_per_diary {
            let category = *dice.pick(CATEGORIES);
            let households = 1 + dice.below(8) as u32;
            let text = content::long_entry_text(&mut dice, category, households, &at, ENTRY_CHARS);
            written.diary_text_bytes += text.len() as u64;
            let minutes = 8 * 60 + (n as u16) * 75 + dice.below(20) as u16;
            let fields = EntryFields {
                time: time(minutes)?,
                category,
                place: at.village_group(&mut dice),
                text,
                households,
                location: Some(Location {
                    lat: 27.0 + dice.below(10_000) as f64 / 10_000.0,
                    lon: 109.0 + dice.below(10_000) as f64 / 10_000.0,
                    accuracy_m: 5.0 + dice.below(30) as f64,
                }),
            };
            let id = ItemId::random();
            let edit = Edit::AddEntry {
                id: id.clone(),
                fields,
            };
            replica.edit(&diary, &edit, &ctx)?;
            if let Some((index, camera)) = camera {
                // Photos k with k % days == d and (k / days) % entries == n.
                let taken = (d..camera.per_week)
                    .step_by(days)
                    .filter(|k| (k / days) % entries == n);
                for k in taken {
                    let photo = camera.album.photo(index, k);
                    let edit = Edit::AttachPhoto {
                        item: id.clone(),
                        photo: PhotoRef {
                            hash: photo.hash.clone(),
                            captured_at: Some(day_ms - 3_600_000),
                            location: None,
                        },
                    };
                    replica.edit(&diary, &edit, &ctx)?;
                    photos.push(photo);
                }
            }
        }
        // A full day's summary: two of the day's lines.
        let summary = format!(
            "今日小结：{}{}",
            content::day_summary(&mut dice, &at),
            content::day_summary(&mut dice, &at)
        );
        written.diary_text_bytes += summary.len() as u64;
        replica.edit(
            &diary,
            &Edit::SetText {
                target: TextTarget::Summary,
                text: summary,
            },
            &ctx,
        )?;

        let night = DocId::night(user, date);
        let kind = *dice.pick(content::NIGHT_KINDS);
        let (issues, help) = content::night_story(&mut dice, kind, &at);
        let start = 19 * 60 + 30 + dice.below(30) as u16;
        let activity = Edit::AddActivity {
            id: ItemId::random(),
            fields: ActivityFields {
                kind,
                start: time(start)?,
                end: Some(time(start + 60 + dice.below(60) as u16)?),
                place: at.village_group(&mut dice),
                households: 2 + dice.below(6) as u32,
                issues,
                help,
            },
        };
        replica.edit(&night, &activity, &ctx)?;
        let stay = Edit::SetOvernight {
            stayed: true,
            place: Some(format!(
                "{}村委会",
                at.village(&mut dice).trim_end_matches('村')
            )),
        };
        replica.edit(&night, &stay, &ctx)?;

        for (id, is_diary) in [(&diary, true), (&night, false)] {
            let bytes = replica
                .document(id)?
                .map(|mut doc| doc.save().len() as u64)
                .unwrap_or(0);
            written.docs += 1;
            written.saved_bytes += bytes;
            if is_diary {
                written.diaries += 1;
                written.diary_saved_bytes += bytes;
            }
        }
    }
    Ok((written, photos))
}

fn time(minutes: u16) -> Result<TimeOfDay, CoreError> {
    TimeOfDay::from_hm(minutes / 60 % 24, minutes % 60).map_err(CoreError::from)
}

impl std::ops::AddAssign for Written {
    fn add_assign(&mut self, o: Written) {
        self.docs += o.docs;
        self.diaries += o.diaries;
        self.diary_text_bytes += o.diary_text_bytes;
        self.saved_bytes += o.saved_bytes;
        self.diary_saved_bytes += o.diary_saved_bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::session::ClientStore;
    use sync_core::{Actor, Record};

    #[test]
    fn a_week_is_fourteen_documents_of_about_four_kilobytes_of_diary_text() {
        let mut replica = MemoryReplica::new(Actor::random());
        let user = UserId::parse("cadre00001").unwrap();
        let shape = WeekShape {
            first_day: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
            days: 7,
            entries_per_diary: 8,
        };
        let (w, photos) = write_week(&mut replica, &user, shape, 1, None).unwrap();
        assert!(photos.is_empty());
        assert_eq!(w.docs, 14);
        assert_eq!(replica.pending().unwrap().len(), 14);
        let bytes_per_diary = w.diary_text_bytes / w.diaries;
        assert!(
            (3_500..5_500).contains(&bytes_per_diary),
            "{bytes_per_diary}"
        );
    }

    #[test]
    fn photos_spread_over_the_week_attached_to_diary_entries() {
        let mut replica = MemoryReplica::new(Actor::random());
        let user = UserId::parse("cadre00002").unwrap();
        let shape = WeekShape {
            first_day: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
            days: 7,
            entries_per_diary: 2,
        };
        let album = Album::new(64, 2).unwrap();
        let camera = Camera {
            album: &album,
            per_week: 16,
        };
        let (w, photos) =
            write_cadre_week_with_photos(&mut replica, &user, 1, shape, camera).unwrap();
        assert_eq!(w.docs, 14);
        assert_eq!(photos.len(), 16);
        let mut hashes: Vec<String> = photos.iter().map(|p| p.hash.to_string()).collect();
        hashes.sort();
        hashes.dedup();
        assert_eq!(hashes.len(), 16, "every photo is its own file");
        let mut attached = Vec::new();
        for d in 0..7 {
            let id = DocId::diary(&user, shape.first_day + chrono::Days::new(d));
            let Record::Diary(diary) = replica.document(&id).unwrap().unwrap().read() else {
                panic!("{id} is not a diary");
            };
            let on_day: Vec<String> = diary
                .entries
                .iter()
                .flat_map(|e| e.photos.iter().map(|p| p.hash.clone()))
                .collect();
            // 16 photos over 7 days: days 0 and 1 have three, the rest two.
            assert_eq!(on_day.len(), if d < 2 { 3 } else { 2 }, "day {d}");
            attached.extend(on_day);
        }
        attached.sort();
        assert_eq!(attached, hashes);
    }
}
