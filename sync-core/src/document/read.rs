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

pub(crate) fn i64_at(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<i64> {
    match scalar(doc, obj, key)? {
        ScalarValue::Int(i) | ScalarValue::Timestamp(i) => Some(i),
        ScalarValue::Uint(u) => i64::try_from(u).ok(),
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

fn f64_at(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<f64> {
    match scalar(doc, obj, key)? {
        ScalarValue::F64(f) => Some(f),
        ScalarValue::Int(i) => Some(i as f64),
        ScalarValue::Uint(u) => Some(u as f64),
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

fn location_at(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<Location> {
    let loc = obj_at(doc, obj, key, ObjType::Map)?;
    let l = Location {
        lat: f64_at(doc, &loc, "lat")?,
        lon: f64_at(doc, &loc, "lon")?,
        accuracy_m: f64_at(doc, &loc, "accuracy_m").unwrap_or(0.0),
    };
    l.validate().ok().map(|_| l)
}

fn photos_at(doc: &AutoCommit, obj: &ObjId) -> Vec<Photo> {
    let Some(photos) = obj_at(doc, obj, "photos", ObjType::Map) else {
        return Vec::new();
    };
    let mut out: Vec<Photo> = doc
        .map_range(&photos, ..)
        .filter_map(|item| match item.value {
            automerge::ValueRef::Object(ObjType::Map) => Some((item.key.to_string(), item.id())),
            _ => None,
        })
        .filter(|(_, p)| !bool_at(doc, p, "removed"))
        .map(|(hash, p)| Photo {
            hash,
            added_at: i64_at(doc, &p, "added_at").unwrap_or(0),
            captured_at: i64_at(doc, &p, "captured_at"),
            location: location_at(doc, &p, "location"),
        })
        .collect();
    out.sort_by(|a, b| (a.added_at, &a.hash).cmp(&(b.added_at, &b.hash)));
    out
}

fn entry(doc: &AutoCommit, id: String, e: &ObjId) -> Entry {
    Entry {
        time: str_at(doc, e, "time").unwrap_or_default(),
        category: str_at(doc, e, "category")
            .and_then(|s| Category::parse(&s).ok())
            .unwrap_or(Category::Other),
        place: str_at(doc, e, "place").unwrap_or_default(),
        text: text_at(doc, e, "text"),
        households: u64_at(doc, e, "households").unwrap_or(0),
        location: location_at(doc, e, "location"),
        photos: photos_at(doc, e),
        created_at: i64_at(doc, e, "created_at").unwrap_or(0),
        updated_at: i64_at(doc, e, "updated_at").unwrap_or(0),
        deleted: bool_at(doc, e, "deleted"),
        id,
    }
}

fn activity(doc: &AutoCommit, id: String, a: &ObjId) -> Activity {
    Activity {
        kind: str_at(doc, a, "kind")
            .and_then(|s| NightKind::parse(&s).ok())
            .unwrap_or(NightKind::Visit),
        start: str_at(doc, a, "start").unwrap_or_default(),
        end: str_at(doc, a, "end"),
        place: str_at(doc, a, "place").unwrap_or_default(),
        households: u64_at(doc, a, "households").unwrap_or(0),
        issues: text_at(doc, a, "issues"),
        help: text_at(doc, a, "help"),
        photos: photos_at(doc, a),
        created_at: i64_at(doc, a, "created_at").unwrap_or(0),
        updated_at: i64_at(doc, a, "updated_at").unwrap_or(0),
        deleted: bool_at(doc, a, "deleted"),
        id,
    }
}

fn task(doc: &AutoCommit, id: String, t: &ObjId) -> Task {
    Task {
        title: text_at(doc, t, "title"),
        kind: str_at(doc, t, "kind")
            .and_then(|s| TaskKind::parse(&s).ok())
            .unwrap_or(TaskKind::Dynamic),
        due: str_at(doc, t, "due"),
        status: str_at(doc, t, "status")
            .and_then(|s| TaskStatus::parse(&s).ok())
            .unwrap_or(TaskStatus::Open),
        closed_at: i64_at(doc, t, "closed_at"),
        note: text_at(doc, t, "note"),
        created_at: i64_at(doc, t, "created_at").unwrap_or(0),
        updated_at: i64_at(doc, t, "updated_at").unwrap_or(0),
        deleted: bool_at(doc, t, "deleted"),
        id,
    }
}

fn comments(doc: &AutoCommit) -> Vec<Comment> {
    let mut out: Vec<Comment> = items(doc, "comments")
        .into_iter()
        .map(|(id, c)| Comment {
            author: str_at(doc, &c, "author").unwrap_or_default(),
            role: str_at(doc, &c, "role").unwrap_or_default(),
            on: str_at(doc, &c, "on"),
            text: text_at(doc, &c, "text"),
            at: i64_at(doc, &c, "at").unwrap_or(0),
            deleted: bool_at(doc, &c, "deleted"),
            id,
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
