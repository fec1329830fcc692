//! The panic hook of the targets whose code contains panics (Automerge in
//! `contain`, image decoders in `catch_unwind`). libfuzzer-sys aborts on every
//! panic, even one that is caught; a panic that escapes `fuzz_target!` still
//! aborts (libfuzzer-sys catches it and aborts), so this hook only reports,
//! once per place.

use std::collections::HashSet;
use std::sync::{Mutex, Once};

pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
        std::panic::set_hook(Box::new(|info| {
            let place = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
            if seen.get_or_insert_with(HashSet::new).insert(place) {
                eprintln!("panic (contained unless the run aborts next): {info}");
            }
        }));
    });
}
