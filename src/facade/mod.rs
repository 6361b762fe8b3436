//! A [`metrics`] facade recorder (feature `metrics-facade`): code
//! instrumented with `metrics::counter!`, `gauge!` and `histogram!` records
//! into hotmetrics.
//!
//! One line at start-up, before any metric is recorded:
//!
//! ```
//! hotmetrics::facade::install().expect("no other metrics recorder installed");
//!
//! // Anywhere, in any crate using the `metrics` macros:
//! metrics::counter!("jobs_done", "queue" => "mail").increment(1);
//!
//! let snap = hotmetrics::global().collect();
//! assert_eq!(snap.counter_with("jobs_done", &[("queue", "mail")]), Some(1));
//! ```
//!
//! [`install_with`] records into a registry of your own;
//! [`FacadeRecorder`] can also be installed for a scope only, with
//! [`metrics::with_local_recorder`].
//!
//! # Cost
//!
//! The `metrics` macros ask the recorder for a handle on every call (unless
//! the caller keeps the handle). The first call with a key registers its
//! metric and series and caches a handle; every later call finds it in a
//! lock-free table by the key's precomputed hash: no lock, no allocation.
//! The handle records straight into the series' hotmetrics cells. Each
//! call also clones and drops the handle's `Arc` (the `metrics` API hands
//! out an `Arc`), two read-modify-writes on a reference count that threads
//! recording the same key share: in a loop, keep the handle
//! (`let c = counter!(…);`) rather than calling the macro each time.
//! `docs/performance.md` has the figures against `metrics-exporter-prometheus`.
//!
//! # How `metrics` keys become hotmetrics metrics
//!
//! | `metrics` | hotmetrics |
//! |---|---|
//! | `counter!` (u64 `increment`, `absolute`) | [`Counter`](crate::Counter) |
//! | `gauge!` (f64 `set`, `increment`, `decrement`) | [`FloatGauge`](crate::FloatGauge) |
//! | `histogram!` (f64 `record`) | [`Histogram`](crate::Histogram), values scaled and rounded (below) |
//! | key without labels | a plain metric |
//! | key with labels | a family ([`Registry::counter_family`](crate::Registry::counter_family), …) whose label names are the label keys of the first key with that set of keys, in that key's order; its series are bound once per key |
//! | one name with several sets of label keys | one metric family in the exposition, whose series have different label names (below) |
//! | `describe_*` help text | the metric's help (`# HELP`) |
//! | `describe_*` unit | the metric's [`Unit`](crate::Unit) and scale (below) |
//!
//! **Names.** A name is registered sanitized: every character outside
//! `[a-zA-Z0-9_:]` becomes `_` (`http.requests` → `http_requests`), a
//! leading digit gets a `_` before it, and leading underscores are cut to
//! one (`__x` → `_x`: `__` is reserved). Label keys follow the same rule
//! without `:`; `overflow` (and `le` and `quantile` for histograms), which
//! hotmetrics reserves, get a `_` appended. Two `metrics` names that sanitize to the
//! same name share its metric.
//!
//! **Histogram values.** hotmetrics histograms hold integers, so a value
//! is multiplied by a scale and rounded to the nearest integer:
//!
//! | described unit (or, without one, the name's ending) | recorded as | scale |
//! |---|---|---|
//! | `Seconds` (or a name ending in `_seconds`) | nanoseconds | 10⁹ |
//! | `Milliseconds` / `Microseconds` / `Nanoseconds` | nanoseconds | 10⁶ / 10³ / 1 |
//! | `Bytes` (or a name ending in `_bytes`), `Kibibytes` … `Tebibytes` | bytes | 1, 1024 … 1024⁴ |
//! | any other unit, or none | the value itself | 1 |
//!
//! Time is therefore kept at nanosecond resolution with the histogram's
//! relative error (0.78 % at the default precision), and exposition
//! divides again: a histogram recorded in seconds is exported in seconds
//! (as `<name>_seconds` unless the name ends with it). A unitless value is
//! rounded: record integers (counts, sizes), or describe a unit. NaN,
//! infinite and negative values are not recorded but counted as invalid
//! ([`HistogramSnapshot::invalid`](crate::HistogramSnapshot::invalid)).
//!
//! **Counters and gauges** keep a time unit as it is (exposition converts
//! to seconds); byte multiples are scaled to bytes. `Counter::absolute(v)`
//! raises the counter to `v` when `v` exceeds every earlier absolute value
//! (the counter is the sum of the increments and the largest absolute
//! value).
//!
//! **Label sets.** As the Prometheus data model (and
//! `metrics-exporter-prometheus`) allows, one name takes keys with
//! different sets of label keys: `counter!("jobs")`,
//! `counter!("jobs", "queue" => q)` and
//! `counter!("jobs", "queue" => q, "retry" => r)` record into three series
//! of one family, written under one `# HELP`/`# TYPE`. Each set of label
//! keys (in any order) is a *shape* of the name with its own series limit;
//! the shapes share the name's kind, unit, help text and its
//! `<name>_overflow` counter, and their overflow series are written as one.
//! A name has at most 16 shapes.
//!
//! **Descriptions.** `describe_*` before the first use of a name sets its
//! help and unit. After the first use, the help text is updated (from the
//! next collection on) but the unit stays what the first use chose: the
//! values already recorded are in that unit. Describe at start-up.
//!
//! **What is refused.** Recording never fails and never panics. A key that
//! cannot be registered gets a no-op handle, and the registration is
//! counted in the counter family `hotmetrics_facade_refused`, label
//! `reason`:
//!
//! - `invalid_name`: an empty name or label key, or two label keys of one
//!   key that sanitize to the same name;
//! - `conflict`: the name is registered in the registry as another kind
//!   (say, `counter!("x")` after `gauge!("x")`), with another unit, or with
//!   other label names;
//! - `labels`: the key's set of label keys would be a 17th shape of its
//!   name, or the registry has the name with these label names in another
//!   order (registered there by other code);
//! - `full`: the registry has no room left.
//!
//! **Cardinality.** Each family has the default series limit
//! ([`DEFAULT_MAX_SERIES`](crate::DEFAULT_MAX_SERIES)); past it, new label
//! sets record into its `overflow="true"` series and are counted in
//! `<name>_overflow`, as for any family. Only keys with a series of their
//! own are cached, so the recorder's memory is bounded by the series
//! limits too.

mod handles;
mod key_map;
mod naming;
mod recorder;

pub use recorder::FacadeRecorder;

use crate::registry::Registry;

/// Installs a [`FacadeRecorder`] over the [`global()`](crate::global)
/// registry as the process-wide `metrics` recorder.
///
/// Fails (handing the recorder back in the error) if a `metrics` recorder
/// is installed already.
pub fn install() -> Result<(), metrics::SetRecorderError<FacadeRecorder>> {
    install_with(crate::global())
}

/// Installs a [`FacadeRecorder`] over `registry` as the process-wide
/// `metrics` recorder.
///
/// ```
/// let reg = hotmetrics::Registry::new();
/// hotmetrics::facade::install_with(&reg).unwrap();
/// metrics::gauge!("queue_depth").set(3.0);
/// assert_eq!(reg.collect().float_gauge("queue_depth"), Some(3.0));
/// // Only one recorder per process.
/// assert!(hotmetrics::facade::install().is_err());
/// ```
pub fn install_with(registry: &Registry) -> Result<(), metrics::SetRecorderError<FacadeRecorder>> {
    metrics::set_global_recorder(FacadeRecorder::new(registry))
}
