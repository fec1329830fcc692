//! Camera or gallery bytes fed to the phone's `sync_core::photo::prepare_photo`
//! with a 64 px long edge and a 1-megapixel input limit: no panic escapes,
//! and a prepared photo is a bounded, metadata-free JPEG that the server's
//! check accepts (`../checks.rs`). Panics that `prepare_photo` contains are
//! reported, not counted as crashes.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;
#[path = "../panic_hook.rs"]
mod panic_hook;

fuzz_target!(|bytes: &[u8]| {
    panic_hook::install();
    let _ = checks::photo_prepare(bytes);
});
