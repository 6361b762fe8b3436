//! The Prometheus text exposition format, version 0.0.4.
//!
//! One block per family: `# HELP` (when there is help text), `# TYPE`, then
//! the samples. Counters are named with `_total` (also in `# HELP` and
//! `# TYPE`, as the Prometheus client libraries do); names get the base
//! unit as a suffix and values are converted to it (a histogram recorded in
//! nanoseconds is `…_seconds` with `le` bounds and `_sum` in seconds).
//! Histograms are classic histograms or summaries as [`TextOptions`] says;
//! a state set is a gauge per state, labelled with the metric's name.
//! Help text escapes `\` and newline; label values escape `\`, `"` and
//! newline; any other UTF-8 is written as it is.
//!
//! ```
//! use hotmetrics::export::prometheus;
//! use hotmetrics::Registry;
//!
//! let reg = Registry::new();
//! reg.counter("jobs", "Jobs \"done\"").unwrap().add(3);
//! let text = prometheus::render(&reg.collect());
//! assert_eq!(text, "# HELP jobs_total Jobs \"done\"\n# TYPE jobs_total counter\njobs_total 3\n");
//! ```
#![forbid(unsafe_code)]

use super::text::{self, Dialect};
use super::TextOptions;
use crate::snapshot::Snapshot;

/// The `Content-Type` of this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders `snap` with the default [`TextOptions`].
pub fn render(snap: &Snapshot) -> String {
    let mut out = String::new();
    render_into(snap, &mut out, &TextOptions::default());
    out
}

/// Appends `snap` to `out` (clear it first to reuse its capacity; nothing
/// else is allocated per series).
///
/// ```
/// use hotmetrics::export::{prometheus, TextOptions};
/// use hotmetrics::{Registry, Unit};
///
/// let reg = Registry::new();
/// reg.histogram("lat", "Latency", Unit::Milliseconds).unwrap().record(20);
/// let opts = TextOptions::new().buckets(&[0.01, 0.1]);
/// let mut buf = String::new();
/// for _ in 0..2 {
///     buf.clear();
///     prometheus::render_into(&reg.collect(), &mut buf, &opts);
/// }
/// assert!(buf.contains("lat_seconds_bucket{le=\"0.01\"} 0\nlat_seconds_bucket{le=\"0.1\"} 1\n"));
/// assert!(buf.contains("lat_seconds_sum 0.02\n"));
/// ```
pub fn render_into(snap: &Snapshot, out: &mut String, opts: &TextOptions) {
    text::render(snap, out, opts, Dialect::Prometheus);
}
