//! The bindings generate from the built library, in both languages, with
//! the names the apps import. They land in `target/bindings/{kotlin,swift}`,
//! where the Kotlin scenario (`mobile-ffi/tests/kotlin/run.sh`) compiles them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test's unwrap is its assertion"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder cargo put this build's binaries in (`target/debug`).
fn build_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_uniffi-bindgen"))
        .parent()
        .expect("the binary lies in a folder")
        .to_path_buf()
}

/// libjishi_ffi as a dynamic library: uplifted next to the binaries, or
/// still in `deps/` when this package's dependency built it.
fn library() -> PathBuf {
    let name = format!(
        "{}jishi_ffi{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let dir = build_dir();
    [dir.join(&name), dir.join("deps").join(&name)]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no {name} in {} or its deps/", dir.display()))
}

fn generate(language: &str) -> PathBuf {
    let out = build_dir()
        .parent()
        .expect("target/debug has a parent")
        .join("bindings")
        .join(language);
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_uniffi-bindgen"))
        .arg("generate")
        .arg("--library")
        .arg(library())
        .args(["--language", language, "--no-format", "--out-dir"])
        .arg(&out)
        // `generate --library` reads uniffi.toml through cargo metadata.
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("uniffi-bindgen runs");
    assert!(
        status.success(),
        "uniffi-bindgen generate --language {language} failed"
    );
    out
}

#[test]
fn kotlin_binding_is_in_the_apps_package_and_exports_the_client() {
    let out = generate("kotlin");
    let kt = std::fs::read_to_string(out.join("cn/jishi/ffi/jishi.kt"))
        .expect("the Kotlin binding is at cn/jishi/ffi/jishi.kt (uniffi.toml's package)");
    assert!(kt.contains("package cn.jishi.ffi"));
    assert!(kt.contains("class JishiClient"), "JishiClient is exported");
    assert!(
        kt.contains("\"jishi_ffi\""),
        "the binding loads libjishi_ffi"
    );
}

#[test]
fn swift_binding_has_the_module_files() {
    let out = generate("swift");
    let swift = std::fs::read_to_string(out.join("jishi.swift")).expect("jishi.swift");
    assert!(
        swift.contains("class JishiClient"),
        "JishiClient is exported"
    );
    for file in ["jishiFFI.h", "jishiFFI.modulemap"] {
        assert!(out.join(file).is_file(), "{file} is generated");
    }
}
