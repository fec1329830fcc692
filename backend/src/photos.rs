//! Checking an uploaded photo and making its thumbnail: the code is
//! `sync_core::photo_check` (sans I/O, fuzzed with the other decoders of
//! outside bytes); the server runs it on a blocking thread, a bounded number
//! at once (`routes::blobs`).

pub use sync_core::photo_check::{
    check_and_thumbnail, Checked, PhotoCheckError, PhotoLimits, THUMB_EDGE,
};
