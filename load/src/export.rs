//! `jishi-load export`: the documents `run` would sync, as Automerge saved
//! bytes on disk, so another sync stack can be driven with the same
//! workload (issue 7: the JS automerge-repo peer in `load/peer/`).
//!
//! Cadre `i` gets the week `run` writes for it (the same seed, user id and
//! [`WeekShape`], through [`write_cadre_week`]); as in `run`, its actor and
//! the entries' item ids are fresh random ones, so only those differ from
//! one export (or run) to the next. Layout:
//!
//! ```text
//! OUT/manifest.json                      what was written (see below)
//! OUT/cadre00001/diary_cadre00001_2026-11-16.automerge
//! OUT/cadre00001/night_cadre00001_2026-11-16.automerge
//! …
//! ```
//!
//! A file is one document's `save()` bytes, named after its document id
//! with `:` turned into `_`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use sync_core::memory::MemoryReplica;
use sync_core::Actor;

use crate::seed::{cadre_login, cadre_user};
use crate::week::{write_cadre_week, WeekShape, Written};

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub out: PathBuf,
    pub cadres: usize,
    pub shape: WeekShape,
}

/// Write cadre `index`'s documents into `dir`; the saved bytes written.
fn export_cadre(dir: &Path, index: usize, shape: WeekShape) -> anyhow::Result<Written> {
    let user = cadre_user(index)?;
    let mut replica = MemoryReplica::new(Actor::random());
    let written = write_cadre_week(&mut replica, &user, index, shape)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for id in replica.doc_ids() {
        let mut doc = replica
            .document(&id)?
            .with_context(|| format!("{id} was written but cannot be loaded"))?;
        let path = dir.join(format!("{}.automerge", id.to_string().replace(':', "_")));
        std::fs::write(&path, doc.save())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(written)
}

pub fn export(o: ExportOptions) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut last_line = started;
    let mut written = Written::default();
    for index in 0..o.cadres {
        written += export_cadre(&o.out.join(cadre_login(index)), index, o.shape)?;
        if last_line.elapsed().as_secs() >= 1 {
            last_line = Instant::now();
            eprintln!(
                "[export {:>5.1}s] cadres {}/{}, documents {}",
                started.elapsed().as_secs_f64(),
                index + 1,
                o.cadres,
                written.docs
            );
        }
    }
    let manifest = json!({
        "cadres": o.cadres,
        "first_cadre": cadre_login(0),
        "week": {
            "first_day": o.shape.first_day.to_string(),
            "days": o.shape.days,
            "entries_per_diary": o.shape.entries_per_diary,
        },
        "documents": written.docs,
        "saved_bytes": written.saved_bytes,
        "diary_text_bytes_mean": written.diary_text_bytes as f64 / written.diaries.max(1) as f64,
        "saved_bytes_mean": written.saved_bytes as f64 / written.docs.max(1) as f64,
    });
    let path = o.out.join("manifest.json");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "exported {} documents of {} cadres ({:.1} MiB saved) to {} in {:.1}s",
        written.docs,
        o.cadres,
        written.saved_bytes as f64 / 1048576.0,
        o.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn exports_fourteen_loadable_documents_per_cadre() {
        let out = std::env::temp_dir().join(format!("jishi-export-test-{}", std::process::id()));
        let shape = WeekShape {
            first_day: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
            days: 7,
            entries_per_diary: 8,
        };
        export(ExportOptions {
            out: out.clone(),
            cadres: 2,
            shape,
        })
        .unwrap();
        let files: Vec<_> = std::fs::read_dir(out.join("cadre00002"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 14);
        let user = cadre_user(1).unwrap();
        let id = sync_core::DocId::diary(&user, shape.first_day);
        let bytes = std::fs::read(out.join("cadre00002/diary_cadre00002_2026-11-16.automerge"));
        let mut doc = sync_core::Document::load(id, &bytes.unwrap(), &Actor::random()).unwrap();
        assert!(!doc.heads().is_empty());
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["documents"], 28);
        std::fs::remove_dir_all(out).unwrap();
    }
}
