//! Run-time support for the code `#[track_latency]` generates. Not public
//! API: hidden from the docs, and may change in any release.
#![forbid(unsafe_code)]

use crate::{global, Histogram, HistogramFamily, Unit};

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

/// The three series of a function timed with `#[track_latency(outcome)]`:
/// `outcome="ok"` and `"err"`, bound at registration, and `"panic"`,
/// created by the first panic (so that an exposition has no all-zero
/// series for panics that never happened).
#[derive(Debug)]
pub struct OutcomeSeries {
    ok: Histogram,
    err: Histogram,
    family: HistogramFamily,
    /// The label values of the panic series (`values` and `"panic"`).
    panic: Box<[&'static str]>,
}

/// Registers (or finds) the nanosecond histogram family `name` with label
/// names `keys` and `outcome` on [`global()`], and binds its three series
/// for `values`.
///
/// `None` if the name is taken by a metric of another kind or with other
/// label names (the function is then not timed).
pub fn outcome_latency_histograms(
    name: &'static str,
    help: &'static str,
    keys: &[&'static str],
    values: &[&'static str],
) -> Option<OutcomeSeries> {
    let mut names = keys.to_vec();
    names.push("outcome");
    let family = global()
        .histogram_family(name, help, Unit::Nanoseconds, &names)
        .ok()?;
    let labels = |outcome: &'static str| {
        let mut labels = values.to_vec();
        labels.push(outcome);
        labels
    };
    Some(OutcomeSeries {
        ok: family.with(&labels("ok")),
        err: family.with(&labels("err")),
        panic: labels("panic").into(),
        family,
    })
}

/// What `#[track_latency(outcome)]` can tell ok from err.
#[diagnostic::on_unimplemented(
    message = "`#[track_latency(outcome)]` needs a function returning a `Result`, not `{Self}`",
    label = "not a `Result`"
)]
pub trait IsResult {
    /// Whether this is a success.
    fn is_ok(&self) -> bool;
}

impl<T, E> IsResult for Result<T, E> {
    fn is_ok(&self) -> bool {
        Result::is_ok(self)
    }
}

/// The guard of `#[track_latency(outcome)]`: [`finish`](Self::finish) records
/// into the ok or err series; dropped unfinished (the body unwound), it
/// records into the panic series (looking it up: panics are rare, and the
/// series is created by the first).
#[must_use]
#[derive(Debug)]
pub struct OutcomeTimer<'a> {
    series: Option<&'a OutcomeSeries>,
    /// Raw clock reading; `None` if recording was off when it started.
    start: Option<u64>,
}

impl<'a> OutcomeTimer<'a> {
    /// Starts timing (reads no clock if recording is off or `series` is
    /// `None`).
    #[inline]
    pub fn start(series: Option<&'a OutcomeSeries>) -> OutcomeTimer<'a> {
        OutcomeTimer {
            series,
            start: series.and_then(|s| s.ok.start_raw()),
        }
    }

    /// Records the time since `start` as `ok` or `err` by `result`.
    #[inline]
    pub fn finish<R: IsResult>(mut self, result: &R) {
        if let (Some(series), Some(start)) = (self.series, self.start.take()) {
            let h = if result.is_ok() {
                &series.ok
            } else {
                &series.err
            };
            h.record_since(start);
        }
    }
}

impl Drop for OutcomeTimer<'_> {
    fn drop(&mut self) {
        if let (Some(series), Some(start)) = (self.series, self.start.take()) {
            series.family.with(&*series.panic).record_since(start);
        }
    }
}
