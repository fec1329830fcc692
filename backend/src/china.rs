//! China Standard Time (UTC+8): the time every record, deadline, page and
//! schedule of the server is read in. One definition, shared with the
//! phone: [`sync_core::china`].

pub use sync_core::china::{at_ms, ms_of, now, today, OFFSET};
