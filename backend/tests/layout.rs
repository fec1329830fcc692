//! The backend's storeys (ARCHITECTURE.md): the two edges, `routes/` (the
//! JSON API) and `web/` (the pages), never import each other, and the
//! application layer below them never names an edge's error type: domain
//! errors become `ApiError` and `WebError` at the edge (`problem.rs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    assert!(!out.is_empty(), "no sources under {}", dir.display());
    out
}

/// The lines of code (comments left out) of `text` that contain `needle`.
fn code_lines_with<'t>(text: &'t str, needle: &str) -> Vec<&'t str> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter(|l| l.contains(needle))
        .collect()
}

fn offenders(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in sources(dir) {
        for needle in needles {
            for line in code_lines_with(&text, needle) {
                found.push(format!("{}: {}", path.display(), line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_web_pages_do_not_import_the_api_handlers() {
    let found = offenders(&src().join("web"), &["crate::routes", "routes::"]);
    assert!(
        found.is_empty(),
        "web/ imports routes/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_api_handlers_do_not_import_the_web_pages() {
    let found = offenders(&src().join("routes"), &["crate::web", "web::"]);
    assert!(
        found.is_empty(),
        "routes/ imports web/:\n{}",
        found.join("\n")
    );
}

/// The application layer: what both edges use.
const APPLICATION: &[&str] = &[
    "access.rs",
    "auth.rs",
    "china.rs",
    "events.rs",
    "jobs.rs",
    "policy.rs",
    "records.rs",
    "state.rs",
    "sync.rs",
    "limits",
    "photos",
    "publications",
    "reviews",
    "roster",
];

#[test]
fn the_application_layer_speaks_its_own_errors() {
    let mut found = Vec::new();
    for name in APPLICATION {
        let path = src().join(name);
        let files = if path.is_dir() {
            sources(&path)
        } else {
            let text = std::fs::read_to_string(&path).unwrap();
            vec![(path, text)]
        };
        for (path, text) in files {
            for needle in ["ApiError", "WebError", "crate::routes", "crate::web"] {
                // `edge_error!` names both edges' types for a domain error.
                for line in code_lines_with(&text, needle) {
                    found.push(format!("{}: {}", path.display(), line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "application modules name an edge:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_state_sits_below_the_handlers() {
    let text = std::fs::read_to_string(src().join("state.rs")).unwrap();
    for needle in ["crate::routes", "crate::web", "crate::app"] {
        assert!(
            code_lines_with(&text, needle).is_empty(),
            "state.rs imports {needle}"
        );
    }
}
