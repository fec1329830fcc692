//! The two migration folders define the same schema (migrations/README.md):
//! the same files, and in each the same statements once comments, spacing
//! and the dialects' few spellings (`DIALECT`) are set aside. Runs without
//! PostgreSQL; the PostgreSQL integration tests apply the folder itself.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The only differences allowed: (SQLite, PostgreSQL) spellings of one thing.
const DIALECT: &[(&str, &str)] = &[
    ("BLOB", "BYTEA"),
    (
        "INTEGER PRIMARY KEY AUTOINCREMENT",
        "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    ),
];

fn folder(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(name)
}

fn files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect()
}

/// The statements of a migration: comments out, spacing collapsed, the
/// PostgreSQL spellings written as SQLite's.
fn statements(text: &str, postgres: bool) -> Vec<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ");
    let mut code = code.split_whitespace().collect::<Vec<_>>().join(" ");
    if postgres {
        for (sqlite, pg) in DIALECT {
            code = code.replace(pg, sqlite);
        }
    }
    code.split(';')
        .map(|s| s.trim().replace("( ", "(").replace(" )", ")"))
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn both_folders_hold_the_same_migrations() {
    let (sqlite, postgres) = (folder("sqlite"), folder("postgres"));
    assert_eq!(
        files(&sqlite),
        files(&postgres),
        "migrations/sqlite and migrations/postgres must hold the same files"
    );
    for name in files(&sqlite) {
        let read = |dir: &Path| std::fs::read_to_string(dir.join(&name)).unwrap();
        let (a, b) = (
            statements(&read(&sqlite), false),
            statements(&read(&postgres), true),
        );
        assert_eq!(a.len(), b.len(), "{name}: another number of statements");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                x, y,
                "{name}: the two folders differ beyond the dialects' spellings"
            );
        }
    }
}

#[test]
fn the_comparison_sees_a_missing_column() {
    let a = statements("CREATE TABLE t (a TEXT, b BLOB); -- note", false);
    let b = statements("CREATE TABLE t (a TEXT);", true);
    assert_ne!(a, b);
    let c = statements("CREATE TABLE t (\n  a TEXT,\n  b BYTEA\n);", true);
    assert_eq!(a, c);
}
