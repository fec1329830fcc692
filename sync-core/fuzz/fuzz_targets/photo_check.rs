//! Uploaded bytes fed to the server's image check
//! (`sync_core::photo_check::check_and_clean`) under small limits: no
//! panic escapes, and an accepted photo is within the limits with a
//! thumbnail that decodes and a stored file without metadata that passes
//! the check again unchanged (`../checks.rs`). Panics that the check
//! contains are reported, not counted as crashes.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;
#[path = "../panic_hook.rs"]
mod panic_hook;

fuzz_target!(|bytes: &[u8]| {
    panic_hook::install();
    let _ = checks::photo_check(bytes);
});
