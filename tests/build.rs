//! Which outside services the tests may use, known when they are built, so
//! that a variant whose service is not configured is marked ignored (and
//! shows as such) instead of returning early and counting as passed.
//! `cargo test` builds the tests again when one of these variables is set
//! or unset (and only then: the script names no file to watch). The
//! backend's integration tests use it too (`backend/Cargo.toml`).

fn main() {
    for (var, cfg) in [
        ("JISHI_TEST_POSTGRES_URL", "postgres_tests"),
        ("JISHI_TEST_S3_ENDPOINT", "s3_tests"),
    ] {
        println!("cargo::rerun-if-env-changed={var}");
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
