//! The OpenMetrics 1.0 text format.
//!
//! Per family `# TYPE`, `# UNIT` (for metrics with a unit), `# HELP` (when
//! there is help text), then the samples; the exposition ends with
//! `# EOF`. The family name of a counter has no `_total`, its sample does;
//! a family with a unit ends in `_<unit>` (a histogram recorded in
//! nanoseconds is `…_seconds`, `le` bounds and `_sum` in seconds).
//! Histograms are classic histograms or summaries as [`TextOptions`] says;
//! state sets are `stateset`s. Help text and label values escape `\`, `"`
//! and newline; any other UTF-8 is written as it is.
//!
//! `_created` samples are not written: a snapshot does not know when each
//! series was created, and the format makes them optional.
//!
//! ```
//! use hotmetrics::export::openmetrics;
//! use hotmetrics::Registry;
//!
//! let reg = Registry::new();
//! reg.counter("jobs", "Jobs done").unwrap().add(3);
//! let text = openmetrics::render(&reg.collect());
//! assert_eq!(text, "# TYPE jobs counter\n# HELP jobs Jobs done\njobs_total 3\n# EOF\n");
//! ```
#![forbid(unsafe_code)]

use super::text::{self, Dialect};
use super::TextOptions;
use crate::snapshot::Snapshot;

/// The `Content-Type` of this format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Renders `snap` with the default [`TextOptions`].
pub fn render(snap: &Snapshot) -> String {
    let mut out = String::new();
    render_into(snap, &mut out, &TextOptions::default());
    out
}

/// Appends `snap` to `out`, ending with `# EOF` (clear `out` first to
/// reuse its capacity).
///
/// ```
/// use hotmetrics::export::{openmetrics, TextOptions};
/// use hotmetrics::{Registry, Unit};
///
/// let reg = Registry::new();
/// reg.histogram("lat", "Latency", Unit::Nanoseconds).unwrap().record(1_500_000);
/// let mut buf = String::new();
/// openmetrics::render_into(&reg.collect(), &mut buf, &TextOptions::new().summary(&[0.5]));
/// assert!(buf.starts_with("# TYPE lat_seconds summary\n# UNIT lat_seconds seconds\n"));
/// assert!(buf.ends_with("lat_seconds_sum 0.0015\n# EOF\n"));
/// ```
pub fn render_into(snap: &Snapshot, out: &mut String, opts: &TextOptions) {
    text::render(snap, out, opts, Dialect::OpenMetrics);
}
