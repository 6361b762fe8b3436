//! Run-time support for the code `#[track_latency]` generates. Not public
//! API: hidden from the docs, and may change in any release.
#![forbid(unsafe_code)]

use crate::{global, Histogram, Unit};

// shim-exempt: a one-time lazy registration, not recording state; it is not
// modelled under loom (this module does not exist there).
pub use std::sync::LazyLock;

/// Registers (or finds) the nanosecond histogram `name` on [`global()`].
///
/// `None` if the name is taken by a metric of another kind, unit or
/// precision (or the registry is full): the function is then not timed,
/// rather than panicking on its first call. The name itself has been
/// validated at compile time.
pub fn latency_histogram(name: &'static str, help: &'static str) -> Option<Histogram> {
    global().histogram(name, help, Unit::Nanoseconds).ok()
}
