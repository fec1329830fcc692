//! The text being typed, kept aside until typing stops.
//!
//! Every edit the phone makes is on disk when its call returns. Typing
//! would make that an Automerge change per keystroke: a header, a hash and
//! dependencies each, a row in the server's change log each, travelling
//! and checked one by one. So the replica keeps the field being typed as a
//! draft instead: one row per document holding the field's whole text as
//! typed so far, with who typed it and when, written in the same durable
//! way as a change. Reads show the draft; the draft becomes one change
//! (`SetText`, a minimal diff against the text the typing started from)
//! as soon as anything else touches the document: another edit, another
//! field, the document being sent, a reply being merged into it, a move
//! to a new actor. Nothing already made a change is ever rewritten, so a
//! backup taken at any moment holds a consistent history.
//!
//! Every keystroke is still checked as it is typed (the edit is applied to
//! a copy of the document), so what a draft becomes is known to be valid.

use rusqlite::{params, Connection, OptionalExtension};

use crate::document::ItemText;
use crate::document::{Edit, EditContext, TextTarget};
use crate::error::CoreError;
use crate::ids::{DocId, ItemId, Role, UserId};

/// The replica schema's table of drafts (migration 2).
pub(crate) const TABLE: &str = "CREATE TABLE text_drafts (
         doc_id TEXT PRIMARY KEY,
         target TEXT NOT NULL,
         text TEXT NOT NULL,
         user_id TEXT NOT NULL,
         role TEXT NOT NULL,
         at_ms INTEGER NOT NULL
     );";

/// One document's field being typed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Draft {
    pub target: TextTarget,
    pub text: String,
    pub ctx: EditContext,
}

impl Draft {
    /// The edit the draft becomes.
    pub fn edit(&self) -> Edit {
        Edit::SetText {
            target: self.target.clone(),
            text: self.text.clone(),
        }
    }

    pub fn load(conn: &Connection, id: &DocId) -> Result<Option<Draft>, CoreError> {
        let row = conn
            .prepare_cached(
                "SELECT target, text, user_id, role, at_ms FROM text_drafts WHERE doc_id = ?1",
            )?
            .query_row(params![id.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .optional()?;
        let Some((target, text, user, role, at_ms)) = row else {
            return Ok(None);
        };
        let damaged = |what: &str| CoreError::Corrupt {
            doc: id.to_string(),
            reason: format!("its draft's {what} does not parse"),
        };
        Ok(Some(Draft {
            target: parse_target(&target).ok_or_else(|| damaged("field"))?,
            text,
            ctx: EditContext {
                user: UserId::parse(&user).map_err(|_| damaged("user"))?,
                role: Role::parse(&role).map_err(|_| damaged("role"))?,
                now_ms: at_ms,
            },
        }))
    }

    pub fn store(&self, conn: &Connection, id: &DocId) -> Result<(), CoreError> {
        let target = target_key(&self.target);
        conn.execute(
            "INSERT INTO text_drafts (doc_id, target, text, user_id, role, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (doc_id) DO UPDATE SET target = excluded.target,
                 text = excluded.text, user_id = excluded.user_id,
                 role = excluded.role, at_ms = excluded.at_ms",
            params![
                id.to_string(),
                target,
                self.text,
                self.ctx.user.as_str(),
                self.ctx.role.as_str(),
                self.ctx.now_ms
            ],
        )?;
        Ok(())
    }

    pub fn delete(conn: &Connection, id: &DocId) -> Result<(), CoreError> {
        conn.execute(
            "DELETE FROM text_drafts WHERE doc_id = ?1",
            params![id.to_string()],
        )?;
        Ok(())
    }

    /// Documents with a draft.
    pub fn docs(conn: &Connection) -> Result<Vec<DocId>, CoreError> {
        let mut stmt = conn.prepare("SELECT doc_id FROM text_drafts ORDER BY doc_id")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .filter_map(|r| r.ok())
            .filter_map(|s| DocId::parse(&s).ok())
            .collect();
        Ok(ids)
    }
}

/// The target of an edit that types into a text field.
pub(crate) fn typed_target(edit: &Edit) -> Option<&TextTarget> {
    match edit {
        Edit::SetText { target, .. }
        | Edit::SpliceText { target, .. }
        | Edit::SpliceTextUtf16 { target, .. } => Some(target),
        _ => None,
    }
}

/// `summary`, or `item:<id>:<field>`.
fn target_key(target: &TextTarget) -> String {
    match target {
        TextTarget::Summary => "summary".to_owned(),
        TextTarget::Item { id, field } => format!("item:{}:{}", id.as_str(), field.key()),
    }
}

fn parse_target(key: &str) -> Option<TextTarget> {
    if key == "summary" {
        return Some(TextTarget::Summary);
    }
    let rest = key.strip_prefix("item:")?;
    let (id, field) = rest.rsplit_once(':')?;
    let field = [
        ItemText::Text,
        ItemText::Issues,
        ItemText::Help,
        ItemText::Title,
        ItemText::Note,
    ]
    .into_iter()
    .find(|f| f.key() == field)?;
    Some(TextTarget::Item {
        id: ItemId::parse(id).ok()?,
        field,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_written_and_read_back() {
        let id = ItemId::parse("e1").unwrap();
        for t in [
            TextTarget::Summary,
            TextTarget::Item {
                id: id.clone(),
                field: ItemText::Text,
            },
            TextTarget::Item {
                id,
                field: ItemText::Note,
            },
        ] {
            assert_eq!(parse_target(&target_key(&t)), Some(t));
        }
        assert_eq!(parse_target("item:e1:colour"), None);
        assert_eq!(parse_target("nothing"), None);
    }
}
