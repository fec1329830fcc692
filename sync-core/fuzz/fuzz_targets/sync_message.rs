//! Sync messages, as a phone's request carries them, for a diary the server
//! already holds: the admission check, Automerge's receive and the write
//! policy in turn (`session::serve`). See `../sync_message_check.rs` for
//! what is asserted.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../panic_hook.rs"]
mod panic_hook;
#[path = "../sync_message_check.rs"]
mod sync_message_check;

fuzz_target!(|bytes: &[u8]| {
    panic_hook::install();
    let _ = sync_message_check::sync_message(bytes);
});
