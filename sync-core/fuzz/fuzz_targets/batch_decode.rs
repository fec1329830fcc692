//! Sync batch bytes, as they arrive in an HTTP body, fed to `Batch::decode`.
//! Whatever the bytes, decoding gives a batch or an error, and a batch that
//! decodes encodes to bytes that decode to the same batch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sync_core::protocol::Batch;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(batch) = Batch::decode(bytes) {
        let encoded = batch.encode();
        assert_eq!(
            Batch::decode(&encoded).as_ref(),
            Ok(&batch),
            "decode(encode(batch)) differs"
        );
    }
});
