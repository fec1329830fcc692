//! Finding records on the phone by their words, offline: the texts of
//! entries, activities, tasks, summaries and comments, newest first.
//!
//! A scan of the documents on the phone (a cadre's year is about a
//! thousand), one document at a time so edits and syncs go on meanwhile.

use sync_core::document::Record;

use crate::client::JishiClient;
use crate::error::{guard, JishiError};
use crate::types::DocRef;

/// Most hits one search returns.
const MAX_HITS: u32 = 500;
/// Characters of context on each side of a match in a snippet.
const CONTEXT: usize = 20;

/// One place a search matched.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SearchHit {
    pub doc: DocRef,
    /// The entry, activity, task or comment; `None` for a summary or the
    /// overnight place.
    pub item_id: Option<String>,
    /// `text`, `place`, `issues`, `help`, `title`, `note`, `summary`,
    /// `overnight_place` or `comment`.
    pub field: String,
    /// The matched words with a little context (`…` where cut).
    pub snippet: String,
}

/// The words around the first match of `needle` (already lower-cased) in
/// `text`, or `None`.
fn snippet(text: &str, needle: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let at = lower.find(needle)?;
    // Positions in characters: lower-casing can change byte lengths.
    let start = lower[..at].chars().count();
    let len = needle.chars().count();
    let chars: Vec<char> = text.chars().collect();
    let from = start.saturating_sub(CONTEXT);
    let to = (start + len + CONTEXT).min(chars.len());
    let mut s: String = chars[from.min(chars.len())..to].iter().collect();
    s = s.replace(['\n', '\t'], " ");
    if from > 0 {
        s.insert(0, '…');
    }
    if to < chars.len() {
        s.push('…');
    }
    Some(s)
}

/// The searchable texts of a record: (item, field, text), live items only.
fn texts(record: &Record) -> Vec<(Option<&str>, &'static str, &str)> {
    let mut out = Vec::new();
    match record {
        Record::Diary(d) => {
            out.push((None, "summary", d.summary.as_str()));
            for e in d.entries.iter().filter(|e| !e.deleted) {
                out.push((Some(e.id.as_str()), "text", e.text.as_str()));
                out.push((Some(e.id.as_str()), "place", e.place.as_str()));
            }
        }
        Record::Night(n) => {
            if let Some(p) = &n.overnight_place {
                out.push((None, "overnight_place", p.as_str()));
            }
            for a in n.activities.iter().filter(|a| !a.deleted) {
                out.push((Some(a.id.as_str()), "issues", a.issues.as_str()));
                out.push((Some(a.id.as_str()), "help", a.help.as_str()));
                out.push((Some(a.id.as_str()), "place", a.place.as_str()));
            }
        }
        Record::Plan(p) => {
            out.push((None, "summary", p.summary.as_str()));
            for t in p.tasks.iter().filter(|t| !t.deleted) {
                out.push((Some(t.id.as_str()), "title", t.title.as_str()));
                out.push((Some(t.id.as_str()), "note", t.note.as_str()));
            }
        }
        Record::Item(i) => {
            if let Some(b) = &i.brief {
                out.push((None, "title", b.title.as_str()));
                out.push((None, "content", b.content.as_str()));
                out.push((None, "measures", b.measures.as_str()));
            }
            for s in &i.steps {
                out.push((Some(s.id.as_str()), "step", s.text.as_str()));
            }
        }
    }
    for c in record.comments().iter().filter(|c| !c.deleted) {
        out.push((Some(c.id.as_str()), "comment", c.text.as_str()));
    }
    out
}

#[uniffi::export]
impl JishiClient {
    /// Records on this phone whose words contain `query` (case-insensitive,
    /// at least one character after trimming), newest day or month first,
    /// at most `limit` hits (up to 500). Works offline.
    pub fn search(&self, query: String, limit: u32) -> Result<Vec<SearchHit>, JishiError> {
        guard(|| {
            let needle = query.trim().to_lowercase();
            if needle.is_empty() || needle.chars().count() > 200 {
                return Err(JishiError::invalid_as(
                    "query",
                    "format",
                    "a search needs 1 to 200 characters",
                ));
            }
            let limit = limit.clamp(1, MAX_HITS) as usize;
            let (mut ids, pending) = {
                let r = self.replica();
                let pending: std::collections::BTreeSet<_> =
                    r.pending_docs()?.into_iter().collect();
                (r.doc_ids()?, pending)
            };
            // Newest first: by day or month, then kind.
            ids.sort_by_key(|id| std::cmp::Reverse((id.period_or_key(), id.to_string())));
            let mut hits = Vec::new();
            for id in ids {
                // One document at a time: the lock is not held between.
                let Some(record) = self.replica().record(&id)? else {
                    continue;
                };
                for (item, field, text) in texts(&record) {
                    if let Some(snippet) = snippet(text, &needle) {
                        hits.push(SearchHit {
                            doc: DocRef {
                                doc_id: id.to_string(),
                                kind: id.kind().as_str().to_owned(),
                                owner_id: id.owner().map(|o| o.to_string()).unwrap_or_default(),
                                period: id.period_or_key(),
                                unsynced: pending.contains(&id),
                            },
                            item_id: item.map(str::to_owned),
                            field: field.to_owned(),
                            snippet,
                        });
                        if hits.len() >= limit {
                            return Ok(hits);
                        }
                    }
                }
            }
            Ok(hits)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::snippet;

    #[test]
    fn snippets_cut_around_the_match_in_characters() {
        assert_eq!(snippet("走访三户", "三户").as_deref(), Some("走访三户"));
        let long = format!("{}饮水问题{}", "甲".repeat(30), "乙".repeat(30));
        let s = snippet(&long, "饮水").unwrap();
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert_eq!(s.chars().count(), 20 + 2 + 20 + 2);
        assert_eq!(
            snippet("Wi-Fi 已连\n好", "wi-fi").as_deref(),
            Some("Wi-Fi 已连 好")
        );
        assert_eq!(snippet("𠮷野家", "野").as_deref(), Some("𠮷野家"));
        assert_eq!(snippet("走访", "开会"), None);
    }
}
