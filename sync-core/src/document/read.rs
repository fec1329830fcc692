//! Turning an Automerge document into the typed read model.
//!
//! Reading is lenient: a value of an unexpected type (a document written by a
//! newer or a hostile client) reads as absent or as a default, and an item
//! that is not a map is skipped. Reading never fails and never panics; the
//! server refuses badly typed writes before they are stored.

use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};

use super::model::*;
use crate::ids::{DocId, DocKind};
use crate::validate::Location;

fn scalar(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<ScalarValue> {
    match doc.get(obj, key) {
        Ok(Some((Value::Scalar(s), _))) => Some(s.into_owned()),
        _ => None,
    }
}

pub(crate) fn str_at(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<String> {
    match scalar(doc, obj, key)? {
        ScalarValue::Str(s) => Some(s.to_string()),
        _ => None,
    }
}

pub(crate) fn u64_at(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<u64> {
    match scalar(doc, obj, key)? {
        ScalarValue::Uint(u) => Some(u),
        ScalarValue::Int(i) => u64::try_from(i).ok(),
        _ => None,
    }
}

pub(crate) fn bool_at(doc: &AutoCommit, obj: &ObjId, key: &str) -> bool {
    matches!(scalar(doc, obj, key), Some(ScalarValue::Boolean(true)))
}

/// The object at `key` if it has type `ty`.
pub(crate) fn obj_at(doc: &AutoCommit, obj: &ObjId, key: &str, ty: ObjType) -> Option<ObjId> {
    match doc.get(obj, key) {
        Ok(Some((Value::Object(t), id))) if t == ty => Some(id),
        _ => None,
    }
}

/// A text field: an Automerge text object, or a plain string written by a
/// simpler client.
pub(crate) fn text_at(doc: &AutoCommit, obj: &ObjId, key: &str) -> String {
    if let Some(t) = obj_at(doc, obj, key, ObjType::Text) {
        return doc.text(&t).unwrap_or_default();
    }
    str_at(doc, obj, key).unwrap_or_default()
}

/// An item's fields read in one pass over its map (`map_range`): one seek
/// into the op set for the item instead of one per field, which made
/// reading a diary's entries a tenth of the server's CPU. Each accessor
/// reads like its `*_at` counterpart above.
struct Fields(Vec<(String, Value<'static>, Option<ObjId>)>);

impl Fields {
    fn of(doc: &AutoCommit, obj: &ObjId) -> Self {
        Fields(
            doc.map_range(obj, ..)
                .map(|item| {
                    let id =
                        matches!(item.value, automerge::ValueRef::Object(_)).then(|| item.id());
                    (item.key.into_owned(), item.value.into_value(), id)
                })
                .collect(),
        )
    }

    fn value(&self, key: &str) -> Option<(&Value<'static>, Option<&ObjId>)> {
        self.0
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, id)| (v, id.as_ref()))
    }

    fn scalar(&self, key: &str) -> Option<&ScalarValue> {
        match self.value(key)? {
            (Value::Scalar(s), _) => Some(s.as_ref()),
            _ => None,
        }
    }

    fn str(&self, key: &str) -> Option<String> {
        match self.scalar(key)? {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        }
    }

    fn i64(&self, key: &str) -> Option<i64> {
        match *self.scalar(key)? {
            ScalarValue::Int(i) | ScalarValue::Timestamp(i) => Some(i),
            ScalarValue::Uint(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    fn u64(&self, key: &str) -> Option<u64> {
        match *self.scalar(key)? {
            ScalarValue::Uint(u) => Some(u),
            ScalarValue::Int(i) => u64::try_from(i).ok(),
            _ => None,
        }
    }

    fn bool(&self, key: &str) -> bool {
        matches!(self.scalar(key), Some(ScalarValue::Boolean(true)))
    }

    fn obj(&self, key: &str, ty: ObjType) -> Option<&ObjId> {
        match self.value(key)? {
            (Value::Object(t), id) if *t == ty => id,
            _ => None,
        }
    }

    fn text(&self, doc: &AutoCommit, key: &str) -> String {
        if let Some(t) = self.obj(key, ObjType::Text) {
            return doc.text(t).unwrap_or_default();
        }
        self.str(key).unwrap_or_default()
    }
}

/// The items of a keyed map (`entries`, `activities`, `tasks`, `comments`):
/// key and object id of each value that is a map.
pub(crate) fn items(doc: &AutoCommit, container: &str) -> Vec<(String, ObjId)> {
    let Some(map) = obj_at(doc, &ROOT, container, ObjType::Map) else {
        return Vec::new();
    };
    doc.map_range(&map, ..)
        .filter_map(|item| match item.value {
            automerge::ValueRef::Object(ObjType::Map) => Some((item.key.to_string(), item.id())),
            _ => None,
        })
        .collect()
}

fn location_at(doc: &AutoCommit, loc: Option<&ObjId>) -> Option<Location> {
    let f = Fields::of(doc, loc?);
    let number = |key: &str| match *f.scalar(key)? {
        ScalarValue::F64(v) => Some(v),
        ScalarValue::Int(i) => Some(i as f64),
        ScalarValue::Uint(u) => Some(u as f64),
        _ => None,
    };
    let l = Location {
        lat: number("lat")?,
        lon: number("lon")?,
        accuracy_m: number("accuracy_m").unwrap_or(0.0),
    };
    l.validate().ok().map(|_| l)
}

fn photos_at(doc: &AutoCommit, photos: Option<&ObjId>) -> Vec<Photo> {
    let Some(photos) = photos else {
        return Vec::new();
    };
    let mut out: Vec<Photo> = doc
        .map_range(photos, ..)
        .filter_map(|item| match item.value {
            automerge::ValueRef::Object(ObjType::Map) => Some((item.key.to_string(), item.id())),
            _ => None,
        })
        .filter_map(|(hash, p)| {
            let f = Fields::of(doc, &p);
            (!f.bool("removed")).then(|| Photo {
                hash,
                added_at: f.i64("added_at").unwrap_or(0),
                captured_at: f.i64("captured_at"),
                location: location_at(doc, f.obj("location", ObjType::Map)),
            })
        })
        .collect();
    out.sort_by(|a, b| (a.added_at, &a.hash).cmp(&(b.added_at, &b.hash)));
    out
}

fn entry(doc: &AutoCommit, id: String, e: &ObjId) -> Entry {
    let f = Fields::of(doc, e);
    Entry {
        time: f.str("time").unwrap_or_default(),
        category: f
            .str("category")
            .and_then(|s| Category::parse(&s).ok())
            .unwrap_or(Category::Other),
        place: f.str("place").unwrap_or_default(),
        text: f.text(doc, "text"),
        households: f.u64("households").unwrap_or(0),
        location: location_at(doc, f.obj("location", ObjType::Map)),
        photos: photos_at(doc, f.obj("photos", ObjType::Map)),
        created_at: f.i64("created_at").unwrap_or(0),
        updated_at: f.i64("updated_at").unwrap_or(0),
        deleted: f.bool("deleted"),
        id,
    }
}

fn activity(doc: &AutoCommit, id: String, a: &ObjId) -> Activity {
    let f = Fields::of(doc, a);
    Activity {
        kind: f
            .str("kind")
            .and_then(|s| NightKind::parse(&s).ok())
            .unwrap_or(NightKind::Visit),
        start: f.str("start").unwrap_or_default(),
        end: f.str("end"),
        place: f.str("place").unwrap_or_default(),
        households: f.u64("households").unwrap_or(0),
        issues: f.text(doc, "issues"),
        help: f.text(doc, "help"),
        photos: photos_at(doc, f.obj("photos", ObjType::Map)),
        created_at: f.i64("created_at").unwrap_or(0),
        updated_at: f.i64("updated_at").unwrap_or(0),
        deleted: f.bool("deleted"),
        id,
    }
}

fn task(doc: &AutoCommit, id: String, t: &ObjId) -> Task {
    let f = Fields::of(doc, t);
    Task {
        title: f.text(doc, "title"),
        kind: f
            .str("kind")
            .and_then(|s| TaskKind::parse(&s).ok())
            .unwrap_or(TaskKind::Dynamic),
        due: f.str("due"),
        status: f
            .str("status")
            .and_then(|s| TaskStatus::parse(&s).ok())
            .unwrap_or(TaskStatus::Open),
        closed_at: f.i64("closed_at"),
        note: f.text(doc, "note"),
        created_at: f.i64("created_at").unwrap_or(0),
        updated_at: f.i64("updated_at").unwrap_or(0),
        deleted: f.bool("deleted"),
        id,
    }
}

fn comments(doc: &AutoCommit) -> Vec<Comment> {
    let mut out: Vec<Comment> = items(doc, "comments")
        .into_iter()
        .map(|(id, c)| {
            let f = Fields::of(doc, &c);
            Comment {
                author: f.str("author").unwrap_or_default(),
                role: f.str("role").unwrap_or_default(),
                on: f.str("on"),
                text: f.text(doc, "text"),
                at: f.i64("at").unwrap_or(0),
                deleted: f.bool("deleted"),
                id,
            }
        })
        .collect();
    out.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    out
}

pub(crate) fn record(id: &DocId, doc: &AutoCommit) -> Record {
    let schema = u64_at(doc, &ROOT, "schema").unwrap_or(0);
    match id.kind() {
        DocKind::Diary => {
            let mut entries: Vec<Entry> = items(doc, "entries")
                .into_iter()
                .map(|(k, e)| entry(doc, k, &e))
                .collect();
            entries.sort_by(|a, b| {
                (&a.time, a.created_at, &a.id).cmp(&(&b.time, b.created_at, &b.id))
            });
            Record::Diary(Diary {
                id: id.clone(),
                schema,
                entries,
                summary: text_at(doc, &ROOT, "summary"),
                comments: comments(doc),
            })
        }
        DocKind::Night => {
            let mut activities: Vec<Activity> = items(doc, "activities")
                .into_iter()
                .map(|(k, a)| activity(doc, k, &a))
                .collect();
            activities.sort_by(|a, b| {
                (&a.start, a.created_at, &a.id).cmp(&(&b.start, b.created_at, &b.id))
            });
            Record::Night(Night {
                id: id.clone(),
                schema,
                activities,
                stayed_overnight: bool_at(doc, &ROOT, "stayed_overnight"),
                overnight_place: str_at(doc, &ROOT, "overnight_place"),
                comments: comments(doc),
            })
        }
        DocKind::Plan => {
            let mut tasks: Vec<Task> = items(doc, "tasks")
                .into_iter()
                .map(|(k, t)| task(doc, k, &t))
                .collect();
            tasks.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            Record::Plan(Plan {
                id: id.clone(),
                schema,
                tasks,
                summary: text_at(doc, &ROOT, "summary"),
                comments: comments(doc),
            })
        }
    }
}
