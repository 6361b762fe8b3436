//! A JSON summary of a snapshot (feature `json`).
//!
//! Schema, version [`SCHEMA_VERSION`] (documented with examples in
//! `docs/exposition.md`):
//!
//! ```text
//! { "version": 1, "generation": <u64>, "metrics": [ <series>, ... ] }
//! ```
//!
//! one object per series, ordered by name then labels, each with `name`,
//! `type` (`counter`, `gauge`, `histogram` or `stateset`), `help`, `unit`
//! (the recorded unit, `""` when none; values are **not** converted) and
//! `labels` (an object, in declared order, `{}` when none), then:
//!
//! - counter and gauge: `value` (a float gauge's NaN or infinity is `null`);
//! - histogram: `count`, `sum` (exact integer), `min`, `max`, `mean`, `p50`,
//!   `p95`, `p99`, `p999` (`null` when empty) and `invalid`;
//! - stateset: `states`, an object of state name → `true`/`false`.
//!
//! Fields may be added within a version; a change to a field's meaning or
//! a removal bumps it.
//!
//! This summary does not consume the sample stream the text formats and
//! remote write share: it is a different shape (one object per series,
//! values in the recorded unit, quantiles and extremes), not the samples of
//! the Prometheus data model.
//!
//! ```
//! use hotmetrics::export::json;
//! use hotmetrics::Registry;
//!
//! let reg = Registry::new();
//! reg.counter("jobs", "Jobs done").unwrap().add(3);
//! let out = json::to_string(&reg.collect());
//! assert_eq!(
//!     out,
//!     r#"{"version":1,"generation":1,"metrics":[{"name":"jobs","type":"counter","help":"Jobs done","unit":"","labels":{},"value":3}]}"#
//! );
//! ```
#![forbid(unsafe_code)]

use crate::snapshot::{HistogramSnapshot, LabelSet, MetricSnapshot, MetricValue, Snapshot};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};

/// The version written in the `version` field.
pub const SCHEMA_VERSION: u32 = 1;

/// The summary of a snapshot as a [`Serialize`] value, to embed in a
/// larger document or write with any serde format.
///
/// ```
/// use hotmetrics::export::json::Summary;
/// use hotmetrics::Registry;
///
/// let snap = Registry::new().collect();
/// let doc = serde_json::json!({ "service": "api", "metrics": Summary::new(&snap) });
/// assert_eq!(doc["metrics"]["version"], 1);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Summary<'a>(&'a Snapshot);

impl<'a> Summary<'a> {
    /// Wraps `snap`.
    pub fn new(snap: &'a Snapshot) -> Summary<'a> {
        Summary(snap)
    }
}

/// Compact JSON.
pub fn to_string(snap: &Snapshot) -> String {
    let mut out = Vec::new();
    to_writer(&mut out, snap).expect("writing to a Vec cannot fail");
    into_string(out)
}

/// Indented JSON.
///
/// ```
/// use hotmetrics::export::json;
/// let text = json::to_string_pretty(&hotmetrics::Registry::new().collect());
/// assert!(text.starts_with("{\n  \"version\": 1,"));
/// ```
pub fn to_string_pretty(snap: &Snapshot) -> String {
    let mut out = Vec::new();
    to_writer_pretty(&mut out, snap).expect("writing to a Vec cannot fail");
    into_string(out)
}

/// Compact JSON written to `w` (for example a reused `Vec<u8>`, cleared
/// first).
pub fn to_writer<W: std::io::Write>(w: W, snap: &Snapshot) -> serde_json::Result<()> {
    serde_json::to_writer(w, &Summary(snap))
}

/// Indented JSON written to `w`.
pub fn to_writer_pretty<W: std::io::Write>(w: W, snap: &Snapshot) -> serde_json::Result<()> {
    serde_json::to_writer_pretty(w, &Summary(snap))
}

fn into_string(bytes: Vec<u8>) -> String {
    // serde_json writes UTF-8 only; the fallback is never taken.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

impl Serialize for Summary<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Summary", 3)?;
        st.serialize_field("version", &SCHEMA_VERSION)?;
        st.serialize_field("generation", &self.0.generation())?;
        st.serialize_field("metrics", &Series(self.0.metrics()))?;
        st.end()
    }
}

struct Series<'a>(&'a [MetricSnapshot]);

impl Serialize for Series<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A family's internal counters are left out while zero, as in
        // the text formats.
        let written = || self.0.iter().filter(|m| !m.is_unwritten());
        let mut seq = s.serialize_seq(Some(written().count()))?;
        for m in written() {
            seq.serialize_element(&One(m))?;
        }
        seq.end()
    }
}

struct One<'a>(&'a MetricSnapshot);

struct Labels<'a>(&'a LabelSet);

impl Serialize for Labels<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

struct States<'a>(&'a [(String, bool)]);

impl Serialize for States<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Serialize for One<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let d = m.descriptor();
        let (kind, extra) = match m.value() {
            MetricValue::Counter(_) => ("counter", 1),
            MetricValue::Gauge(_) | MetricValue::FloatGauge(_) => ("gauge", 1),
            MetricValue::Histogram(_) => ("histogram", 10),
            MetricValue::StateSet(_) => ("stateset", 1),
            MetricValue::Info => ("info", 1),
        };
        let mut st = s.serialize_struct("Series", 5 + extra)?;
        st.serialize_field("name", d.name())?;
        st.serialize_field("type", kind)?;
        st.serialize_field("help", d.help())?;
        st.serialize_field("unit", d.unit().as_str())?;
        st.serialize_field("labels", &Labels(m.labels()))?;
        match m.value() {
            MetricValue::Counter(v) => st.serialize_field("value", v)?,
            MetricValue::Gauge(v) => st.serialize_field("value", v)?,
            // serde_json writes a non-finite float as `null`.
            MetricValue::FloatGauge(v) => st.serialize_field("value", v)?,
            MetricValue::StateSet(states) => st.serialize_field("states", &States(states))?,
            MetricValue::Info => st.serialize_field("value", &1)?,
            MetricValue::Histogram(h) => histogram(&mut st, h)?,
        }
        st.end()
    }
}

/// A histogram's summary: integers for a histogram of `u64` records (its
/// exact sum, a `u128`), floats (written exactly, by ryu) once an `f64`
/// was recorded; a non-finite value is `null`.
fn histogram<S: SerializeStruct>(st: &mut S, h: &HistogramSnapshot) -> Result<(), S::Error> {
    st.serialize_field("count", &h.count())?;
    if h.has_f64_records() {
        st.serialize_field("sum", &h.sum_f64())?;
        st.serialize_field("min", &h.min_f64())?;
        st.serialize_field("max", &h.max_f64())?;
    } else {
        st.serialize_field("sum", &h.sum())?;
        st.serialize_field("min", &h.min())?;
        st.serialize_field("max", &h.max())?;
    }
    st.serialize_field("mean", &h.mean())?;
    for (name, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)] {
        if h.has_f64_records() {
            st.serialize_field(name, &h.quantile_f64(q))?;
        } else {
            st.serialize_field(name, &h.quantile(q))?;
        }
    }
    st.serialize_field("invalid", &h.invalid())
}
