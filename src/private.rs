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

/// Registers (or finds) the nanosecond histogram family `name` with label
/// names `keys` on [`global()`], and returns the series of `values`
/// (bound: a plain histogram handle, never evicted).
///
/// `None` if the name is taken by a metric of another kind or with other
/// label names (the function is then not timed). Names have been checked at
/// compile time.
pub fn labeled_latency_histogram(
    name: &'static str,
    help: &'static str,
    keys: &[&'static str],
    values: &[&'static str],
) -> Option<Histogram> {
    let family = global()
        .histogram_family(name, help, Unit::Nanoseconds, keys)
        .ok()?;
    Some(family.with(values))
}
