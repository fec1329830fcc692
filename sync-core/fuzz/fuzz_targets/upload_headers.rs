//! The server's decision on one photo-upload `PATCH`
//! (`sync_core::upload::check_patch`) from its `Upload-Offset` and
//! `Upload-Length` values, the chunk length, what the server holds and the
//! size limit: never a panic, and exactly the protocol's answer (input layout
//! and checks: `../checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|bytes: &[u8]| {
    let _ = checks::upload_headers(bytes);
});
