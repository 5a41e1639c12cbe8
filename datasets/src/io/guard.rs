//! Reading untrusted files through third-party decoders that may panic on corrupt input.
//!
//! The Parquet reader asserts on some inconsistent metadata (a column chunk with a negative
//! offset, say) instead of returning an error. [`guarded`] runs a read so that such a panic
//! becomes [`Error::Corrupt`] naming the file, and marks the thread meanwhile
//! ([`reading_untrusted`]), so a program's panic hook can stay quiet about a panic that is
//! reported as an error.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::Error;

thread_local! {
    static UNTRUSTED: Cell<u32> = const { Cell::new(0) };
}

/// Whether this thread is inside [`guarded`]: a panic now is a corrupt input, reported as
/// an error by the guard.
pub fn reading_untrusted() -> bool {
    UNTRUSTED.with(|c| c.get() > 0)
}

/// Runs `read` of `file`; a panic inside it is a corrupt file.
pub fn guarded<T, E: From<Error>>(
    file: &str,
    read: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    UNTRUSTED.with(|c| c.set(c.get() + 1));
    let outcome = catch_unwind(AssertUnwindSafe(read));
    UNTRUSTED.with(|c| c.set(c.get() - 1));
    outcome.unwrap_or_else(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the decoder failed".into());
        Err(Error::Corrupt {
            file: file.to_string(),
            message: format!("the file could not be decoded ({why})"),
        }
        .into())
    })
}
