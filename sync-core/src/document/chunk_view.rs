//! The visible state of a plain document chunk, read from its op columns
//! (`chunk.rs`) instead of asking the loaded Automerge document object by
//! object: reading a new diary's record through Automerge's per-object
//! seeks was a tenth of the server's CPU under the Monday load, while the
//! write checks already decode the chunk's columns.
//!
//! Only a plain chunk gets a view, one whose visible state follows from
//! the columns without any of Automerge's rules for concurrent writes:
//! maps and texts only, at most one visible value per map key, text
//! elements inserted and possibly deleted but never overwritten, no
//! counters, marks or unknown values. Anything else has no view and is
//! read through Automerge; what a view answers must be what Automerge
//! answers (checked on every document the tests make, and in debug builds
//! on every document read this way).

use std::borrow::Cow;
use std::collections::HashMap;

use automerge::{ObjType, ScalarValue};

use super::read::{Val, View};

/// An object: an index into [`ChunkView::objects`]; the root is 0.
pub(crate) type ViewObj = u32;

#[derive(Debug)]
enum Object {
    Map(Vec<(String, Val<ViewObj>)>),
    /// `None` until its characters are set (a text without any is empty).
    Text(Option<String>),
}

#[derive(Debug)]
pub struct ChunkView {
    objects: Vec<Object>,
}

/// Builds a [`ChunkView`] from the chunk's operations in their stored order
/// (by object, then key or list position). Each method answers `None` when
/// the chunk is not plain; the builder is then dropped.
pub(crate) struct Builder {
    objects: Vec<Object>,
    /// The operation (counter, actor index) that made each object.
    index: HashMap<(u64, usize), ViewObj, foldhash::fast::RandomState>,
}

impl Builder {
    pub(crate) fn new() -> Self {
        Self {
            objects: vec![Object::Map(Vec::new())],
            index: HashMap::default(),
        }
    }

    /// The object operation `id` made, of type `ty` (maps and texts only).
    pub(crate) fn made(&mut self, id: (u64, usize), ty: ObjType) -> Option<()> {
        let object = match ty {
            ObjType::Map => Object::Map(Vec::new()),
            ObjType::Text => Object::Text(None),
            ObjType::List | ObjType::Table => return None,
        };
        let at = ViewObj::try_from(self.objects.len()).ok()?;
        if self.index.contains_key(&id) {
            return None;
        }
        self.index.insert(id, at);
        self.objects.push(object);
        Some(())
    }

    /// The object of an operation: the root or one made in this chunk.
    pub(crate) fn object(&self, obj: Option<(u64, usize)>) -> Option<ViewObj> {
        match obj {
            None => Some(0),
            Some(id) => self.index.get(&id).copied(),
        }
    }

    /// The object made by operation `id` (declared with [`Builder::made`]).
    pub(crate) fn object_made_by(&self, id: (u64, usize)) -> Option<ViewObj> {
        self.index.get(&id).copied()
    }

    /// The visible value of `key` in map `obj` (a second one for the same
    /// key is a conflict, which only Automerge resolves: [`Builder::finish`]
    /// finds it).
    pub(crate) fn put(&mut self, obj: ViewObj, key: &str, value: Val<ViewObj>) -> Option<()> {
        let Object::Map(fields) = self.objects.get_mut(obj as usize)? else {
            return None;
        };
        fields.push((key.to_owned(), value));
        Some(())
    }

    /// The visible characters of text `obj`, once.
    pub(crate) fn set_text(&mut self, obj: ViewObj, s: String) -> Option<()> {
        let Object::Text(text @ None) = self.objects.get_mut(obj as usize)? else {
            return None;
        };
        *text = Some(s);
        Some(())
    }

    /// Is `obj` a text (its operations are list elements)?
    pub(crate) fn is_text(&self, obj: ViewObj) -> bool {
        matches!(self.objects.get(obj as usize), Some(Object::Text(_)))
    }

    /// The view, unless a map has two visible values for one key. Sorted
    /// keys, not a search per key: a hostile map of 200,000 keys costs
    /// a sort, not 200,000² comparisons.
    pub(crate) fn finish(self) -> Option<ChunkView> {
        for object in &self.objects {
            if let Object::Map(fields) = object {
                if fields.len() > 1 {
                    let mut keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
                    keys.sort_unstable();
                    if keys.windows(2).any(|w| w[0] == w[1]) {
                        return None;
                    }
                }
            }
        }
        Some(ChunkView {
            objects: self.objects,
        })
    }
}

impl ChunkView {
    fn map(&self, obj: &ViewObj) -> &[(String, Val<ViewObj>)] {
        match self.objects.get(*obj as usize) {
            Some(Object::Map(fields)) => fields,
            _ => &[],
        }
    }
}

impl View for ChunkView {
    type Obj = ViewObj;

    fn root(&self) -> ViewObj {
        0
    }

    fn get(&self, obj: &ViewObj, key: &str) -> Option<Val<ViewObj>> {
        self.map(obj)
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn fields(&self, obj: &ViewObj) -> Vec<(Cow<'_, str>, Val<ViewObj>)> {
        self.map(obj)
            .iter()
            .map(|(k, v)| (Cow::Borrowed(k.as_str()), v.clone()))
            .collect()
    }

    fn text(&self, obj: &ViewObj) -> Option<String> {
        match self.objects.get(*obj as usize) {
            Some(Object::Text(t)) => Some(t.clone().unwrap_or_default()),
            _ => None,
        }
    }
}

/// A stored value: Automerge's value metadata (length << 4 | type) and its
/// raw bytes. Counters and unknown types are not plain.
pub(crate) fn scalar(meta: u64, raw: &[u8]) -> Option<ScalarValue> {
    let uleb = |raw: &[u8]| -> Option<u64> {
        let mut value: u64 = 0;
        for (i, b) in raw.iter().enumerate().take(10) {
            let shift = 7 * i as u32;
            value |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return (i + 1 == raw.len()).then_some(value);
            }
        }
        None
    };
    let sleb = |raw: &[u8]| -> Option<i64> {
        let mut value: i64 = 0;
        let mut shift = 0u32;
        for (i, b) in raw.iter().enumerate() {
            if shift > 63 {
                return None;
            }
            value |= i64::from(b & 0x7f).checked_shl(shift)?;
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return (i + 1 == raw.len()).then_some(value);
            }
        }
        None
    };
    let empty = raw.is_empty();
    Some(match meta & 0xf {
        0 if empty => ScalarValue::Null,
        1 if empty => ScalarValue::Boolean(false),
        2 if empty => ScalarValue::Boolean(true),
        3 => ScalarValue::Uint(uleb(raw)?),
        4 => ScalarValue::Int(sleb(raw)?),
        5 => ScalarValue::F64(f64::from_le_bytes(raw.try_into().ok()?)),
        6 => ScalarValue::Str(std::str::from_utf8(raw).ok()?.into()),
        7 => ScalarValue::Bytes(raw.to_vec()),
        9 => ScalarValue::Timestamp(sleb(raw)?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_decode_as_automerge_stores_them() {
        assert_eq!(scalar(0, &[]), Some(ScalarValue::Null));
        assert_eq!(scalar(2, &[]), Some(ScalarValue::Boolean(true)));
        assert_eq!(scalar(1, &[]), Some(ScalarValue::Boolean(false)));
        assert_eq!(
            scalar(3, &[0xe5, 0x8e, 0x26]),
            Some(ScalarValue::Uint(624_485))
        );
        assert_eq!(
            scalar(4, &[0xc0, 0xbb, 0x78]),
            Some(ScalarValue::Int(-123_456))
        );
        assert_eq!(scalar(9, &[0x7f]), Some(ScalarValue::Timestamp(-1)));
        assert_eq!(
            scalar(5, &1.5f64.to_le_bytes()),
            Some(ScalarValue::F64(1.5))
        );
        assert_eq!(
            scalar(6, "青山村".as_bytes()),
            Some(ScalarValue::Str("青山村".into()))
        );
        // A counter, an unknown type, a number with bytes after it, a
        // truncated number, bad UTF-8, a float of the wrong size: not plain.
        assert_eq!(scalar(8, &[1]), None);
        assert_eq!(scalar(10, &[]), None);
        assert_eq!(scalar(3, &[1, 2]), None);
        assert_eq!(scalar(3, &[0x80]), None);
        assert_eq!(scalar(6, &[0xff]), None);
        assert_eq!(scalar(5, &[0; 4]), None);
        assert_eq!(scalar(3, &[0xff; 11]), None);
    }

    #[test]
    fn a_second_visible_value_for_a_key_is_not_plain() {
        let mut b = Builder::new();
        b.put(0, "place", Val::Scalar(ScalarValue::Str("a".into())))
            .unwrap();
        let mut conflict = Builder::new();
        for v in ["a", "b"] {
            conflict
                .put(0, "place", Val::Scalar(ScalarValue::Str(v.into())))
                .unwrap();
        }
        assert!(conflict.finish().is_none(), "two visible values for a key");
        assert!(b.made((1, 0), ObjType::List).is_none());
        b.made((2, 0), ObjType::Text).unwrap();
        assert!(b.made((2, 0), ObjType::Map).is_none(), "made twice");
        let text = b.object_made_by((2, 0)).unwrap();
        assert!(b.is_text(text));
        assert!(b.put(text, "k", Val::Scalar(ScalarValue::Null)).is_none());
        b.set_text(text, "走访".into()).unwrap();
        assert!(b.set_text(text, "x".into()).is_none(), "set twice");
        assert!(b.set_text(0, "x".into()).is_none(), "the root is a map");
        assert_eq!(b.object(Some((9, 9))), None, "an object nobody made");
        let view = b.finish().unwrap();
        assert_eq!(view.text(&text).as_deref(), Some("走访"));
        assert_eq!(
            view.get(&0, "place"),
            Some(Val::Scalar(ScalarValue::Str("a".into())))
        );
    }
}
