//! The shape of every document kind: which keys exist where, what each
//! holds (a map, a text object, a scalar of which type and range), who
//! writes it and how (once, again, or also removed).
//!
//! One table serves both sides. The phone's typed edits (`write.rs`) only
//! ever produce what it allows (property-tested), and the server's write
//! policy (`policy.rs`) holds every incoming operation to it, whatever the
//! operation: a put, a delete, an object made over an existing key, a
//! value of the wrong type, a key the schema does not know. Free text is
//! checked on the merged result (a text's characters arrive one operation
//! each); everything else operation by operation, visible or not.

use automerge::ObjType;

use super::item::{ItemList, ItemSource, StepAction, Verdict};
use super::model::StatusKind;
use super::new_ops::{OpAction, OpValue};
use crate::ids::{DocKind, ItemId, Role, UserId};
use crate::validate::{
    self, PhotoHash, TimeOfDay, MAX_HOUSEHOLDS, MAX_SHORT_CHARS, MAX_TEXT_CHARS,
};

/// What may stand at one key.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A map with these fields and no others.
    Fields(&'static [Field]),
    /// A map of items keyed by id, each a map with these fields, of which
    /// `required` must all be written when the item is made.
    Items {
        key: ItemKey,
        fields: &'static [Field],
        required: &'static [&'static str],
    },
    /// An Automerge text object of at most `max` characters.
    Text {
        max: usize,
    },
    Scalar(Scalar),
}

/// How the keys of an item map look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKey {
    /// A random item id (`ItemId`).
    Id,
    /// A photo's SHA-256 in hex.
    PhotoHash,
}

/// One key of a map.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub key: &'static str,
    pub shape: Shape,
    pub write: Write,
}

/// How a key may be written after the genesis change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Only by the genesis change: the skeleton and the document's identity.
    Genesis,
    /// An object made once where nothing stood: never made again, put over
    /// or removed (a container of items, an item, a text).
    Once,
    /// A value, set again at will (a value map, like a location, is made
    /// anew); never removed.
    Value,
    /// A value that may also be removed (an optional field cleared).
    Optional,
}

/// A scalar's type and range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// Written by the genesis change only.
    Fixed,
    /// `HH:MM`, a string.
    Time,
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// One line of at most 200 characters, no control characters.
    Short,
    /// `YYYY-MM-DD`, a string.
    Date,
    /// A user id, a string.
    User,
    /// A role name, a string.
    Role,
    /// An item id, a string.
    Item,
    /// A whole number from 0 to this, unsigned or signed.
    Count(u64),
    /// Milliseconds since the Unix epoch: a whole number from 0 to 2^53.
    Millis,
    /// A number in this range (a float, or a whole number).
    Number(f64, f64),
    Bool,
}

/// An operation the schema does not allow, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}`: {reason}")]
pub struct SchemaError {
    pub path: String,
    pub reason: String,
}

impl SchemaError {
    fn new(at: At<'_>, reason: impl Into<String>) -> Self {
        Self {
            path: at.to_string(),
            reason: reason.into(),
        }
    }
}

/// Where an operation writes: an object's path and the key in it (none for
/// a text's element). Written out only in a refusal.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    pub path: &'a [String],
    pub key: Option<&'a str>,
}

impl<'a> At<'a> {
    pub fn new(path: &'a [String], key: Option<&'a str>) -> Self {
        Self { path, key }
    }

    /// The first two keys from the root (a container and an item).
    pub fn top(&self) -> (Option<&'a str>, Option<&'a str>) {
        let mut keys = self.path.iter().map(String::as_str).chain(self.key);
        (keys.next(), keys.next())
    }
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for k in self.path.iter().map(String::as_str).chain(self.key) {
            if !first {
                f.write_str("/")?;
            }
            f.write_str(k)?;
            first = false;
        }
        Ok(())
    }
}

const CATEGORIES: &[&str] = &[
    "visit",
    "meeting",
    "project",
    "mediation",
    "study",
    "duty",
    "other",
];
const NIGHT_KINDS: &[&str] = &["study", "visit", "discussion", "help"];
const TASK_KINDS: &[&str] = &["fixed", "dynamic"];
const TASK_STATUSES: &[&str] = &["open", "done", "dropped"];

const fn field(key: &'static str, shape: Shape, write: Write) -> Field {
    Field { key, shape, write }
}
const fn value(key: &'static str, scalar: Scalar) -> Field {
    field(key, Shape::Scalar(scalar), Write::Value)
}
const fn optional(key: &'static str, scalar: Scalar) -> Field {
    field(key, Shape::Scalar(scalar), Write::Optional)
}
const fn text(key: &'static str, max: usize) -> Field {
    field(key, Shape::Text { max }, Write::Once)
}
const fn fixed(key: &'static str) -> Field {
    field(key, Shape::Scalar(Scalar::Fixed), Write::Genesis)
}

/// Latitude, longitude and accuracy: a value map, made anew when it changes.
const LOCATION: Shape = Shape::Fields(&[
    value("lat", Scalar::Number(-90.0, 90.0)),
    value("lon", Scalar::Number(-180.0, 180.0)),
    value("accuracy_m", Scalar::Number(0.0, 100_000.0)),
]);

/// The fields every item has.
macro_rules! item_fields {
    ($($rest:expr),* $(,)?) => {
        &[
            value("schema", Scalar::Count(u32::MAX as u64)),
            value("created_at", Scalar::Millis),
            value("updated_at", Scalar::Millis),
            value("deleted", Scalar::Bool),
            value("deleted_at", Scalar::Millis),
            $($rest),*
        ]
    };
}
const ITEM_REQUIRED: [&str; 4] = ["schema", "created_at", "updated_at", "deleted"];

const PHOTOS: Shape = Shape::Items {
    key: ItemKey::PhotoHash,
    fields: &[
        value("added_at", Scalar::Millis),
        value("captured_at", Scalar::Millis),
        value("removed", Scalar::Bool),
        field("location", LOCATION, Write::Value),
    ],
    required: &["added_at"],
};

const ENTRY: &[Field] = item_fields![
    value("time", Scalar::Time),
    value("category", Scalar::Enum(CATEGORIES)),
    value("place", Scalar::Short),
    value("households", Scalar::Count(MAX_HOUSEHOLDS as u64)),
    text("text", MAX_TEXT_CHARS),
    field("location", LOCATION, Write::Optional),
    field("photos", PHOTOS, Write::Once),
];
const ENTRY_REQUIRED: &[&str] = &[
    ITEM_REQUIRED[0],
    ITEM_REQUIRED[1],
    ITEM_REQUIRED[2],
    ITEM_REQUIRED[3],
    "time",
    "category",
    "place",
    "households",
    "text",
    "photos",
];

const ACTIVITY: &[Field] = item_fields![
    value("kind", Scalar::Enum(NIGHT_KINDS)),
    value("start", Scalar::Time),
    optional("end", Scalar::Time),
    value("place", Scalar::Short),
    value("households", Scalar::Count(MAX_HOUSEHOLDS as u64)),
    text("issues", MAX_TEXT_CHARS),
    text("help", MAX_TEXT_CHARS),
    field("photos", PHOTOS, Write::Once),
];
const ACTIVITY_REQUIRED: &[&str] = &[
    ITEM_REQUIRED[0],
    ITEM_REQUIRED[1],
    ITEM_REQUIRED[2],
    ITEM_REQUIRED[3],
    "kind",
    "start",
    "place",
    "households",
    "issues",
    "help",
    "photos",
];

const TASK: &[Field] = item_fields![
    text("title", MAX_SHORT_CHARS),
    value("kind", Scalar::Enum(TASK_KINDS)),
    optional("due", Scalar::Date),
    value("status", Scalar::Enum(TASK_STATUSES)),
    optional("closed_at", Scalar::Millis),
    text("note", MAX_TEXT_CHARS),
];
const TASK_REQUIRED: &[&str] = &[
    ITEM_REQUIRED[0],
    ITEM_REQUIRED[1],
    ITEM_REQUIRED[2],
    ITEM_REQUIRED[3],
    "title",
    "kind",
    "status",
    "note",
];

const COMMENT: &[Field] = item_fields![
    value("author", Scalar::User),
    value("role", Scalar::Role),
    value("at", Scalar::Millis),
    value("on", Scalar::Item),
    text("text", MAX_TEXT_CHARS),
];
const COMMENT_REQUIRED: &[&str] = &[
    ITEM_REQUIRED[0],
    ITEM_REQUIRED[1],
    ITEM_REQUIRED[2],
    ITEM_REQUIRED[3],
    "author",
    "role",
    "at",
    "text",
];

const COMMENTS: Field = field(
    "comments",
    Shape::Items {
        key: ItemKey::Id,
        fields: COMMENT,
        required: COMMENT_REQUIRED,
    },
    Write::Genesis,
);

/// Where the owner is (在岗及去向): a value map, made anew when it changes.
const STATUS: Shape = Shape::Fields(&[
    value("kind", Scalar::Enum(StatusKind::ALL)),
    value("village", Scalar::Short),
    value("at", Scalar::Millis),
]);

const DIARY: &[Field] = &[
    fixed("kind"),
    fixed("schema"),
    fixed("owner"),
    fixed("date"),
    field(
        "entries",
        Shape::Items {
            key: ItemKey::Id,
            fields: ENTRY,
            required: ENTRY_REQUIRED,
        },
        Write::Genesis,
    ),
    field(
        "summary",
        Shape::Text {
            max: MAX_TEXT_CHARS,
        },
        Write::Genesis,
    ),
    COMMENTS,
    field("status", STATUS, Write::Value),
];

const NIGHT: &[Field] = &[
    fixed("kind"),
    fixed("schema"),
    fixed("owner"),
    fixed("date"),
    field(
        "activities",
        Shape::Items {
            key: ItemKey::Id,
            fields: ACTIVITY,
            required: ACTIVITY_REQUIRED,
        },
        Write::Genesis,
    ),
    value("stayed_overnight", Scalar::Bool),
    optional("overnight_place", Scalar::Short),
    COMMENTS,
];

const PLAN: &[Field] = &[
    fixed("kind"),
    fixed("schema"),
    fixed("owner"),
    fixed("month"),
    field(
        "tasks",
        Shape::Items {
            key: ItemKey::Id,
            fields: TASK,
            required: TASK_REQUIRED,
        },
        Write::Genesis,
    ),
    field(
        "summary",
        Shape::Text {
            max: MAX_TEXT_CHARS,
        },
        Write::Genesis,
    ),
    COMMENTS,
];

/// A person named on an item: the key is their user id.
const COLLABORATORS: Shape = Shape::Items {
    key: ItemKey::Id,
    fields: &[value("added_at", Scalar::Millis)],
    required: &["added_at"],
};

/// An item's brief: written by its issuer in the change that opens it
/// (the write policy holds it to that), then never again.
const BRIEF: &[Field] = &[
    value("list", Scalar::Enum(ItemList::ALL)),
    value("source", Scalar::Enum(ItemSource::ALL)),
    value("title", Scalar::Short),
    text("content", MAX_TEXT_CHARS),
    text("measures", MAX_TEXT_CHARS),
    value("due", Scalar::Date),
    value("unit", Scalar::Short),
    value("issuer", Scalar::User),
    value("issuer_role", Scalar::Role),
    value("issued_at", Scalar::Millis),
    value("responsible", Scalar::User),
    field("collaborators", COLLABORATORS, Write::Once),
];

/// A step: made once, whole, by its author (the policy refuses any write
/// into a step that stood before).
const STEP: &[Field] = &[
    value("schema", Scalar::Count(u32::MAX as u64)),
    value("action", Scalar::Enum(StepAction::ALL)),
    value("by", Scalar::User),
    value("role", Scalar::Role),
    value("at", Scalar::Millis),
    text("text", MAX_TEXT_CHARS),
    field("photos", PHOTOS, Write::Once),
    value("verdict", Scalar::Enum(Verdict::ALL)),
];
const STEP_REQUIRED: &[&str] = &["schema", "action", "by", "role", "at", "text", "photos"];

const ITEM: &[Field] = &[
    fixed("kind"),
    fixed("schema"),
    fixed("id"),
    field("brief", Shape::Fields(BRIEF), Write::Genesis),
    field(
        "steps",
        Shape::Items {
            key: ItemKey::Id,
            fields: STEP,
            required: STEP_REQUIRED,
        },
        Write::Genesis,
    ),
    COMMENTS,
];

/// The root of a kind's documents.
pub fn root(kind: DocKind) -> Shape {
    Shape::Fields(match kind {
        DocKind::Diary => DIARY,
        DocKind::Night => NIGHT,
        DocKind::Plan => PLAN,
        DocKind::Item => ITEM,
    })
}

/// What the schema says of one place: the shape of what stands there and
/// how it may be written. An item of an item map is made once.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub shape: Shape,
    pub write: Write,
    /// An item of an item map: which fields it must be made with.
    pub required: Option<&'static [&'static str]>,
}

/// The place at `path` (map keys from the root), or why there is none.
pub fn resolve(kind: DocKind, path: &[String]) -> Result<Place, SchemaError> {
    let mut place = root_place(kind);
    for depth in 0..path.len() {
        let at = At::new(&path[..depth], Some(&path[depth]));
        place = step(&place, at)?;
    }
    Ok(place)
}

/// The root of a kind's documents as a place.
pub fn root_place(kind: DocKind) -> Place {
    Place {
        shape: root(kind),
        write: Write::Genesis,
        required: None,
    }
}

/// The place at key `at.key` of the object at `place` (whose path is
/// `at.path`).
pub fn step(place: &Place, at: At<'_>) -> Result<Place, SchemaError> {
    let key = at.key.unwrap_or_default();
    match place.shape {
        Shape::Fields(fields) => {
            let f = fields
                .iter()
                .find(|f| f.key == key)
                .ok_or_else(|| SchemaError::new(at, "no such field in this version's schema"))?;
            Ok(Place {
                shape: f.shape,
                write: f.write,
                required: None,
            })
        }
        Shape::Items {
            key: rule,
            fields,
            required,
        } => {
            let ok = match rule {
                ItemKey::Id => ItemId::parse(key).is_ok(),
                ItemKey::PhotoHash => PhotoHash::parse(key).is_ok(),
            };
            if !ok {
                return Err(SchemaError::new(
                    at,
                    match rule {
                        ItemKey::Id => "an item's key must be an item id (A-Z a-z 0-9 _ - .)",
                        ItemKey::PhotoHash => {
                            "a photo's key must be its SHA-256 in 64 lower-case hex digits"
                        }
                    },
                ));
            }
            Ok(Place {
                shape: Shape::Fields(fields),
                write: Write::Once,
                required: Some(required),
            })
        }
        Shape::Text { .. } | Shape::Scalar(_) => Err(SchemaError::new(at, "a value holds no keys")),
    }
}

/// The object type a shape is made as.
fn made_as(shape: &Shape) -> Option<ObjType> {
    match shape {
        Shape::Fields(_) | Shape::Items { .. } => Some(ObjType::Map),
        Shape::Text { .. } => Some(ObjType::Text),
        Shape::Scalar(_) => None,
    }
}

/// May `action` be done at a map key whose place is `place`? (Whether an
/// object made `Once` stood there before is the caller's to ask.)
pub fn check_key_action(at: At<'_>, place: &Place, action: &OpAction) -> Result<(), SchemaError> {
    let refuse = |reason: &str| Err(SchemaError::new(at, reason));
    if place.write == Write::Genesis {
        return refuse("fixed at creation; only the document's genesis writes it");
    }
    match action {
        OpAction::Delete => {
            if place.write == Write::Optional {
                Ok(())
            } else {
                refuse("cannot be removed (an item is marked `deleted`, a value is set again)")
            }
        }
        OpAction::Make(ty) => match made_as(&place.shape) {
            Some(expected) if expected == *ty => Ok(()),
            Some(ObjType::Text) => refuse("must be a text object"),
            Some(_) => refuse("must be a map"),
            None => refuse(scalar_expected(&place.shape)),
        },
        OpAction::Set(v) => match &place.shape {
            Shape::Scalar(s) => check_scalar(*s, v).map_err(|r| SchemaError::new(at, r)),
            Shape::Text { .. } => refuse(
                "must be a text object, not a scalar string (in JavaScript, a plain string \
                 makes a text object: make it with `doc.field = \"…\"`, not `new RawString`)",
            ),
            _ => refuse("must be a map, not a scalar"),
        },
        OpAction::Increment => refuse("counters are not part of the schema"),
        OpAction::Mark => refuse("marks are not part of the schema"),
    }
}

fn scalar_expected(shape: &Shape) -> &'static str {
    match shape {
        Shape::Scalar(Scalar::Time | Scalar::Enum(_) | Scalar::Short | Scalar::Date)
        | Shape::Scalar(Scalar::User | Scalar::Role | Scalar::Item) => {
            "must be a scalar string, not an object (in JavaScript: `new RawString(…)` \
             or `ImmutableString`)"
        }
        _ => "must be a scalar, not an object",
    }
}

/// May `action` be done on an element of the text object at `at`?
pub fn check_element_action(
    at: At<'_>,
    place: &Place,
    action: &OpAction,
) -> Result<(), SchemaError> {
    if !matches!(place.shape, Shape::Text { .. }) {
        return Err(SchemaError::new(at, "only text objects hold elements"));
    }
    match action {
        OpAction::Set(OpValue::Str(_)) | OpAction::Delete => Ok(()),
        OpAction::Make(_) => Err(SchemaError::new(at, "a text holds characters, not objects")),
        OpAction::Mark => Err(SchemaError::new(at, "marks are not part of the schema")),
        _ => Err(SchemaError::new(at, "a text holds characters only")),
    }
}

/// Is `v` a value of `scalar`? The reason when not.
pub fn check_scalar(scalar: Scalar, v: &OpValue) -> Result<(), String> {
    let string = || match v {
        OpValue::Str(s) => Ok(s.as_str()),
        _ => Err("must be a string".to_owned()),
    };
    let whole = |max: u64| match *v {
        OpValue::Uint(u) if u <= max => Ok(()),
        OpValue::Int(i) if i >= 0 && (i as u64) <= max => Ok(()),
        OpValue::Uint(_) | OpValue::Int(_) => Err(format!("must be from 0 to {max}")),
        _ => Err("must be a whole number (unsigned or signed integer)".to_owned()),
    };
    match scalar {
        Scalar::Fixed => Err("fixed at creation".to_owned()),
        Scalar::Time => TimeOfDay::parse(string()?)
            .map(|_| ())
            .map_err(|e| e.reason),
        Scalar::Enum(allowed) => {
            let s = string()?;
            if allowed.contains(&s) {
                Ok(())
            } else {
                Err(format!("must be one of: {}", allowed.join(", ")))
            }
        }
        Scalar::Short => validate::short("value", string()?).map_err(|e| e.reason),
        Scalar::Date => crate::ids::Period::parse_day(string()?)
            .map(|_| ())
            .map_err(|e| e.reason),
        Scalar::User => UserId::parse(string()?).map(|_| ()).map_err(|e| e.reason),
        Scalar::Role => Role::parse(string()?).map(|_| ()).map_err(|e| e.reason),
        Scalar::Item => ItemId::parse(string()?).map(|_| ()).map_err(|e| e.reason),
        Scalar::Count(max) => whole(max),
        Scalar::Millis => match *v {
            OpValue::Timestamp(t) if (0..1 << 53).contains(&t) => Ok(()),
            OpValue::Timestamp(_) => Err("must be from 0 to 2^53".to_owned()),
            _ => whole(1 << 53),
        },
        Scalar::Number(min, max) => {
            let n = match *v {
                OpValue::F64(bits) => f64::from_bits(bits),
                OpValue::Int(i) => i as f64,
                OpValue::Uint(u) => u as f64,
                _ => return Err("must be a number".to_owned()),
            };
            if n.is_finite() && (min..=max).contains(&n) {
                Ok(())
            } else {
                Err(format!("must be a number from {min} to {max}"))
            }
        }
        Scalar::Bool => match v {
            OpValue::Bool(_) => Ok(()),
            _ => Err("must be true or false".to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split('/').map(str::to_owned).collect()
    }

    fn check(kind: DocKind, p: &str, action: OpAction) -> Result<(), SchemaError> {
        let path = path(p);
        let place = resolve(kind, &path)?;
        let (key, parent) = path.split_last().unwrap();
        check_key_action(At::new(parent, Some(key)), &place, &action)
    }

    fn s(v: &str) -> OpAction {
        OpAction::Set(OpValue::Str(v.to_owned()))
    }

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn the_fields_a_typed_edit_writes_are_allowed() {
        let e = |f: &str| format!("entries/{ID}/{f}");
        assert!(check(DocKind::Diary, &e("time"), s("08:30")).is_ok());
        assert!(check(DocKind::Diary, &e("category"), s("visit")).is_ok());
        assert!(check(
            DocKind::Diary,
            &e("households"),
            OpAction::Set(OpValue::Uint(3))
        )
        .is_ok());
        assert!(check(
            DocKind::Diary,
            &e("households"),
            OpAction::Set(OpValue::Int(3))
        )
        .is_ok());
        assert!(check(DocKind::Diary, &e("text"), OpAction::Make(ObjType::Text)).is_ok());
        assert!(check(DocKind::Diary, &e("location"), OpAction::Make(ObjType::Map)).is_ok());
        assert!(check(DocKind::Diary, &e("location"), OpAction::Delete).is_ok());
        assert!(check(
            DocKind::Diary,
            &format!("entries/{ID}"),
            OpAction::Make(ObjType::Map)
        )
        .is_ok());
        assert!(check(DocKind::Night, "overnight_place", OpAction::Delete).is_ok());
        assert!(check(
            DocKind::Night,
            &format!("activities/{ID}/end"),
            OpAction::Delete
        )
        .is_ok());
    }

    #[test]
    fn what_no_typed_edit_writes_is_refused() {
        let e = |f: &str| format!("entries/{ID}/{f}");
        for (kind, p, action) in [
            (
                DocKind::Diary,
                "entries".to_owned(),
                OpAction::Make(ObjType::Map),
            ),
            (DocKind::Diary, "summary".to_owned(), s("x")),
            (DocKind::Diary, "owner".to_owned(), s("someone")),
            (
                DocKind::Diary,
                format!("entries/{ID}"),
                OpAction::Set(OpValue::Null),
            ),
            (DocKind::Diary, format!("entries/{ID}"), OpAction::Delete),
            (DocKind::Diary, e("time"), s("99:99")),
            (DocKind::Diary, e("time"), OpAction::Make(ObjType::Text)),
            (DocKind::Diary, e("category"), s("bogus")),
            (DocKind::Diary, e("place"), s(&"x".repeat(201))),
            (DocKind::Diary, e("place"), s("a\u{1b}b")),
            (
                DocKind::Diary,
                e("households"),
                OpAction::Set(OpValue::Uint(1_000_000)),
            ),
            (
                DocKind::Diary,
                e("households"),
                OpAction::Make(ObjType::Map),
            ),
            (DocKind::Diary, e("text"), s("plain string")),
            (DocKind::Diary, e("text"), OpAction::Delete),
            (DocKind::Diary, e("unknown"), s("x")),
            (DocKind::Diary, e("deleted"), OpAction::Delete),
            (DocKind::Diary, e("households"), OpAction::Increment),
            (
                DocKind::Diary,
                "entries/not an id".to_owned(),
                OpAction::Make(ObjType::Map),
            ),
            (
                DocKind::Diary,
                format!("entries/{ID}/photos/abc"),
                OpAction::Make(ObjType::Map),
            ),
            (
                DocKind::Night,
                "stayed_overnight".to_owned(),
                OpAction::Delete,
            ),
        ] {
            assert!(check(kind, &p, action.clone()).is_err(), "{p} {action:?}");
        }
    }
}
