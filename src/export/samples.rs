//! The sample stream: a [`Snapshot`] as the samples of the Prometheus data
//! model, the one source of exported names, suffixes, labels and values.
//!
//! [`visit`] walks a snapshot family by family and series by series, and
//! hands a [`Visitor`] every sample: the family's exported name (base unit
//! appended, no `_total`), the series name's suffix (`_total`, `_bucket`,
//! `_sum`, `_count` or none), the series' labels, the one label a sample
//! adds (`le`, `quantile`, or a state set's state) and the value. The
//! Prometheus and OpenMetrics text writers and remote write are visitors,
//! so a pushed series and a scraped one carry the same name, labels and
//! value, and nothing is rendered as text to be parsed back.
//!
//! What the stream decides: names and base units, the classic `le` buckets
//! derived from the fine buckets (the `le` rule of `docs/exposition.md`),
//! summaries' quantiles ([`TextOptions`] chooses between the two), and
//! state sets as one 0/1 sample per state, labelled with the family's name.
//! What it leaves to the writers: escaping, number formatting, headers.
//!
//! Nothing is allocated per sample: names and labels are borrowed from the
//! snapshot and the options, values are plain numbers (two scratch strings
//! per walk hold the exported name and a state set's label name). JSON is
//! not a visitor: it is a different summary (one object per series, values
//! in the recorded unit, quantiles), see `export::json`.
#![forbid(unsafe_code)]

use super::options::{HistogramFormRef, TextOptions};
use crate::buckets::Precision;
use crate::descriptor::{Bound, Descriptor, MetricKind, TextCache};
use crate::names::{self, NameKind};
use crate::snapshot::{HistogramSnapshot, LabelSet, MetricSnapshot, MetricValue, Snapshot};

/// A sample's value, as recorded, with what turns it into the base unit.
/// Writers format each variant as it is (integers stay integers); remote
/// write takes [`Value::to_f64`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value {
    /// A count (of observations, or a state's 0/1): no unit.
    Count(u64),
    /// An unsigned integer in the recorded unit, divided by the divisor to
    /// get the base unit (`1.0`: the same unit).
    Scaled(u128, f64),
    /// A signed integer in the recorded unit, divided likewise.
    ScaledSigned(i64, f64),
    /// A float in the base unit (`NaN` for a quantile of no observations).
    Float(f64),
}

impl Value {
    /// The value in the base unit as a float: the float a writer's text
    /// reads back as (ryu writes the shortest text that does, and an
    /// integer parses to its nearest float, as `as f64` rounds). Only
    /// remote write needs it.
    #[cfg_attr(not(feature = "telemetry"), allow(dead_code))]
    pub(crate) fn to_f64(self) -> f64 {
        match self {
            Value::Count(v) => v as f64,
            Value::Scaled(v, divisor) => v as f64 / divisor,
            Value::ScaledSigned(v, divisor) => v as f64 / divisor,
            Value::Float(v) => v,
        }
    }
}

/// What a family's header says.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Family<'a> {
    /// The exported family name: unit suffix appended, no `_total`.
    pub(crate) name: &'a str,
    /// The help text, unescaped.
    pub(crate) help: &'a str,
    /// The registered kind.
    pub(crate) kind: MetricKind,
    /// A histogram written as a summary (quantiles) instead of buckets.
    pub(crate) summary: bool,
    /// The base unit's name; empty when there is none and for state sets.
    pub(crate) unit: &'static str,
    /// Where a writer may keep the header text it makes for this family:
    /// the descriptor's, when the headers follow from it alone (not for a
    /// histogram written as a summary, which the options decide, nor for
    /// a family the stream makes up).
    pub(crate) cache: Option<&'a TextCache>,
}

/// One sample: the series name is `name` followed by `suffix`, its labels
/// `labels` followed by `extra`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample<'a> {
    /// The family's exported name.
    pub(crate) name: &'a str,
    /// `_total`, `_bucket`, `_count`, `_sum` or empty.
    pub(crate) suffix: &'static str,
    /// The series' labels, names as registered: a writer passes each name
    /// through [`push_label_name`]. (The text writers take them once per
    /// series from [`Visitor::series`]; remote write reads them here.)
    #[cfg_attr(not(feature = "telemetry"), allow(dead_code))]
    pub(crate) labels: &'a LabelSet,
    /// The label this sample adds, name valid and value unescaped: `le`
    /// (its value a number or `+Inf`, nothing to escape), `quantile`, or a
    /// state set's name and state.
    pub(crate) extra: Option<(&'a str, &'a str)>,
    /// The value.
    pub(crate) value: Value,
}

/// What consumes the stream: every sample of a family's series comes
/// after that family's [`family`](Visitor::family) call and that series'
/// [`series`](Visitor::series) call, so a writer can prepare either once.
pub(crate) trait Visitor {
    /// A family begins.
    fn family(&mut self, _family: &Family<'_>) {}
    /// A series of the current family begins.
    fn series(&mut self, _labels: &LabelSet) {}
    /// A histogram series' snapshot, after its [`series`](Visitor::series)
    /// call and before its samples, with the divisor to its base unit (for
    /// the native buckets of the protobuf format).
    fn histogram(&mut self, _labels: &LabelSet, _h: &HistogramSnapshot, _divisor: f64) {}
    /// One sample of the current series.
    fn sample(&mut self, sample: &Sample<'_>);
}

/// Appends a series label's name as a valid label name (registered names
/// are valid already and copied as they are).
pub(crate) fn push_label_name(out: &mut String, name: &str) {
    names::push_sanitized(out, name, NameKind::Label);
}

/// Hands every sample of `snap`, shaped by `opts`, to `visitor`, families
/// in the snapshot's order. A family's internal counters (`_overflow`,
/// `_evicted`) are left out while zero.
pub(crate) fn visit(snap: &Snapshot, opts: &TextOptions, visitor: &mut impl Visitor) {
    let mut scratch = Scratch::default();
    for (d, series) in snap.families() {
        if series.iter().all(MetricSnapshot::is_unwritten) {
            continue;
        }
        family(d, series, opts, &mut scratch, visitor);
    }
}

/// Scratch space reused across the families of one walk.
#[derive(Default)]
struct Scratch {
    /// A state set's label name (its exported name as a label name).
    state_label: String,
    /// A histogram's classic bounds as bucket limits, and the counts there.
    classic: Classic,
}

/// Classic bounds as bucket limits, and the counts below them. The limits
/// depend on the bounds, the divisor, the precision and whether any `f64`
/// was recorded, not on the counts: they are worked out again only when
/// one of those changes (once per family, as a rule).
#[derive(Default)]
struct Classic {
    /// What `limits` were worked out for: the bounds (address and length:
    /// every slice of bounds outlives the walk), the divisor's bits, the
    /// snapshot's [`HistogramSnapshot::limit_key`].
    key: Option<(usize, usize, u64, (Precision, bool))>,
    limits: Vec<usize>,
    counts: Vec<u64>,
}

fn family(
    d: &Descriptor,
    series: &[MetricSnapshot],
    opts: &TextOptions,
    scratch: &mut Scratch,
    visitor: &mut impl Visitor,
) {
    // Made once per descriptor, on its first render.
    let name = d.text.name(|| {
        let mut name = String::new();
        family_name(&mut name, d);
        name
    });
    let (unit, divisor) = base_unit(d);
    let form = match d.kind() {
        MetricKind::Histogram => {
            Some(opts.histogram_form(d.name(), name, d.unit(), d.classic_buckets()))
        }
        _ => None,
    };
    let state_set = d.kind() == MetricKind::StateSet;
    let is_summary = matches!(form, Some(HistogramFormRef::Summary(_)));
    visitor.family(&Family {
        name,
        help: d.help(),
        kind: d.kind(),
        summary: is_summary,
        unit: if state_set { "" } else { unit },
        cache: (!is_summary).then_some(&d.text),
    });
    scratch.state_label.clear();
    if state_set {
        // The state is a label named after the metric (OpenMetrics'
        // stateset; Prometheus reads it as a gauge of 0/1). Only a state
        // set's descriptor holds state set values.
        names::push_sanitized(&mut scratch.state_label, name, NameKind::Label);
    }
    let total = counter_suffix(d.kind());
    for s in series {
        let labels = s.labels();
        visitor.series(labels);
        if let MetricValue::Histogram(h) = s.value() {
            visitor.histogram(labels, h, divisor);
        }
        let mut one = |suffix, extra, value| {
            visitor.sample(&Sample {
                name,
                suffix,
                labels,
                extra,
                value,
            })
        };
        match s.value() {
            MetricValue::Counter(v) => one(total, None, Value::Scaled(u128::from(*v), divisor)),
            MetricValue::Gauge(v) => one("", None, Value::ScaledSigned(*v, divisor)),
            MetricValue::FloatGauge(v) => one("", None, Value::Float(v / divisor)),
            MetricValue::Info => one("_info", None, Value::Count(1)),
            MetricValue::StateSet(states) => {
                for (state, on) in states {
                    let extra = Some((scratch.state_label.as_str(), state.as_str()));
                    one("", extra, Value::Count(u64::from(*on)));
                }
            }
            MetricValue::Histogram(h) => match form {
                Some(HistogramFormRef::Summary(q)) => summary(&mut one, h, q, divisor),
                Some(HistogramFormRef::Buckets(b)) => {
                    classic(&mut one, h, b, divisor, &mut scratch.classic)
                }
                // A histogram value under a descriptor of another kind
                // cannot be built by the registry; write its buckets anyway.
                None => classic(&mut one, h, &[], divisor, &mut scratch.classic),
            },
        }
    }
    if d.kind() == MetricKind::Histogram {
        invalid_family(d, name, series, visitor);
    }
}

/// A counter's sample suffix; other kinds have none.
fn counter_suffix(kind: MetricKind) -> &'static str {
    if kind == MetricKind::Counter {
        "_total"
    } else {
        ""
    }
}

/// A histogram's rejected observations (NaN values),
/// as the counter family `<family>_invalid`, written only when some series
/// rejected any: one `_total` sample per such series. The registry reserves
/// the name with the histogram's (`Descriptor::exported_names`).
fn invalid_family(
    d: &Descriptor,
    family: &str,
    series: &[MetricSnapshot],
    visitor: &mut impl Visitor,
) {
    let invalid = |s: &MetricSnapshot| match s.value() {
        MetricValue::Histogram(h) => h.invalid(),
        _ => 0,
    };
    if series.iter().all(|s| invalid(s) == 0) {
        return;
    }
    let name = format!("{family}_invalid");
    let help = format!(
        "Observations of `{}` rejected as invalid (NaN, infinite or negative)",
        d.name()
    );
    visitor.family(&Family {
        name: &name,
        help: &help,
        kind: MetricKind::Counter,
        summary: false,
        unit: "",
        cache: None,
    });
    for s in series.iter().filter(|s| invalid(s) > 0) {
        visitor.series(s.labels());
        visitor.sample(&Sample {
            name: &name,
            suffix: "_total",
            labels: s.labels(),
            extra: None,
            value: Value::Count(invalid(s)),
        });
    }
}

/// `_bucket` samples for `bounds` and `+Inf`, then `_count` and `_sum`.
///
/// For each bound, the fine buckets counted are those whose upper bound is
/// at most the threshold, that is every index below the threshold's own
/// bucket, and that bucket too if the threshold is its upper bound: the
/// bound's *limit*. [`HistogramSnapshot::counts_below`] counts below every
/// limit from the snapshot's skip list (read forward once over all the
/// bounds, at most 16 fine buckets per bound: a pass over every fine
/// bucket was the render's largest cost, ~900 fine buckets per histogram,
/// 14 KiB, rarely in cache when a scrape walks a hundred histograms), and
/// keeps the counts with the buckets, so that a histogram unchanged since
/// the last scrape reads none.
fn classic<'a>(
    one: &mut impl FnMut(&'static str, Option<(&'a str, &'a str)>, Value),
    h: &HistogramSnapshot,
    bounds: &'a [Bound],
    divisor: f64,
    scratch: &mut Classic,
) {
    let Classic {
        key,
        limits,
        counts,
    } = scratch;
    let this = Some((
        bounds.as_ptr() as usize,
        bounds.len(),
        divisor.to_bits(),
        h.limit_key(),
    ));
    if *key != this {
        limits.clear();
        let mut limit = 0;
        for b in bounds {
            // (A bound with no threshold counts what the one before did.)
            if let Some(t) = threshold(b.value, divisor) {
                limit = h.limit_for(t);
            }
            limits.push(limit);
        }
        *key = this;
    }
    counts.clear();
    h.counts_below(limits, counts);
    for (b, &cumulative) in bounds.iter().zip(counts.iter()) {
        one("_bucket", Some(("le", &b.label)), Value::Count(cumulative));
    }
    one("_bucket", Some(("le", "+Inf")), Value::Count(h.count()));
    one("_count", None, Value::Count(h.count()));
    one("_sum", None, sum_value(h, divisor));
}

/// A histogram's `_sum`: the exact integer of `u64` records, or, once an
/// `f64` was recorded, the float sum (ryu writes it exactly).
fn sum_value(h: &HistogramSnapshot, divisor: f64) -> Value {
    if h.has_f64_records() {
        Value::Float(h.sum_f64() / divisor)
    } else {
        Value::Scaled(h.sum(), divisor)
    }
}

/// `{quantile="q"}` samples, then `_count` and `_sum`. An empty
/// histogram's quantiles are `NaN`.
fn summary<'a>(
    one: &mut impl FnMut(&'static str, Option<(&'a str, &'a str)>, Value),
    h: &HistogramSnapshot,
    quantiles: &'a [Bound],
    divisor: f64,
) {
    for q in quantiles {
        let value = match (h.has_f64_records(), h.quantile(q.value)) {
            (_, None) => Value::Float(f64::NAN),
            (false, Some(v)) => Value::Scaled(u128::from(v), divisor),
            (true, Some(_)) => Value::Float(h.quantile_f64(q.value).unwrap_or(f64::NAN) / divisor),
        };
        one("", Some(("quantile", &q.label)), value);
    }
    one("_count", None, Value::Count(h.count()));
    one("_sum", None, sum_value(h, divisor));
}

/// The base unit's name and what a recorded value is divided by to get
/// there (`Nanoseconds` → `("seconds", 1e9)`).
fn base_unit(d: &Descriptor) -> (&'static str, f64) {
    let (name, factor) = d.unit().base();
    // 1 / 1e-9 is not exactly 1e9 in floating point; the factors are powers
    // of ten, so the nearest integer is the exact divisor (`round` is a
    // libm call, so the common factors are matched first).
    let divisor = if factor == 1.0 {
        1.0
    } else if factor == 1e-9 {
        1e9
    } else if factor == 1e-6 {
        1e6
    } else if factor == 1e-3 {
        1e3
    } else {
        (1.0 / factor).round()
    };
    (name, divisor)
}

/// The exported family name: the registered name without a trailing
/// `_total` for counters (`_info` for info metrics), with `_<base unit>` appended unless it already
/// ends so (`request_duration` in nanoseconds → `request_duration_seconds`).
fn family_name(out: &mut String, d: &Descriptor) {
    let mut name = d.name();
    if let Some(suffix) = d.kind().sample_suffix() {
        name = name.strip_suffix(suffix).unwrap_or(name);
    }
    names::push_sanitized(out, name, NameKind::Metric);
    let (unit, _) = base_unit(d);
    if !unit.is_empty() && d.kind() != MetricKind::StateSet {
        let has = out.len() > unit.len()
            && out.ends_with(unit)
            && out.as_bytes()[out.len() - unit.len() - 1] == b'_';
        if !has {
            out.push('_');
            out.push_str(unit);
        }
    }
}

/// The classic bounds of histogram `d` under `opts` (none when it is
/// written as a summary), each in the recorded unit with its threshold
/// (see [`threshold`]): the explicit buckets of an OTLP histogram.
#[cfg(feature = "otlp")]
pub(crate) fn classic_thresholds(opts: &TextOptions, d: &Descriptor) -> Vec<(f64, Option<f64>)> {
    let mut name = String::new();
    family_name(&mut name, d);
    let (_, divisor) = base_unit(d);
    match opts.histogram_form(d.name(), &name, d.unit(), d.classic_buckets()) {
        HistogramFormRef::Buckets(b) => b
            .iter()
            .map(|b| {
                let t = threshold(b.value, divisor);
                (t.unwrap_or(b.value * divisor), t)
            })
            .collect(),
        HistogramFormRef::Summary(_) => Vec::new(),
    }
}

/// Where the threshold of classic bound `le` (base unit) falls in recorded
/// units: observations `<= threshold` are counted. `None`: nothing is.
fn threshold(le: f64, divisor: f64) -> Option<f64> {
    let v = le * divisor;
    if v.is_nan() {
        return None;
    }
    if v.abs() >= 9.0e18 {
        return Some(v);
    }
    // `0.005 * 1e9` may come out a hair below 5e6: a bound within 1e-9 of
    // an integer is that integer. (`as` truncates toward zero; `round`
    // would be a libm call.)
    let nearest = if v >= 0.0 {
        (v + 0.5) as i64
    } else {
        -((0.5 - v) as i64)
    } as f64;
    if (v - nearest).abs() <= 1e-9 * nearest.abs().max(1.0) {
        Some(nearest)
    } else {
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::Unit;

    #[test]
    fn thresholds() {
        // Bounds given in seconds land on whole nanoseconds.
        assert_eq!(threshold(0.005, 1e9), Some(5_000_000.0));
        assert_eq!(threshold(0.1, 1e9), Some(100_000_000.0));
        assert_eq!(threshold(2.5, 1.0), Some(2.5));
        assert_eq!(threshold(0.0, 1.0), Some(0.0));
        assert_eq!(threshold(1e30, 1.0), Some(1e30));
        assert_eq!(threshold(-1.0, 1.0), Some(-1.0));
        assert_eq!(threshold(-0.005, 1e9), Some(-5_000_000.0));
        assert_eq!(threshold(f64::NAN, 1.0), None);
    }

    #[test]
    fn family_names() {
        let name = |n: &str, kind, unit| {
            let d = Descriptor {
                name: n.into(),
                help: String::new(),
                unit,
                kind,
                precision: None,
                buckets: None,
                internal: false,
                text: Default::default(),
            };
            let mut o = String::new();
            family_name(&mut o, &d);
            o
        };
        use MetricKind::*;
        assert_eq!(name("reqs", Counter, Unit::None), "reqs");
        assert_eq!(name("reqs_total", Counter, Unit::None), "reqs");
        assert_eq!(name("busy", Counter, Unit::Nanoseconds), "busy_seconds");
        assert_eq!(name("lat", Histogram, Unit::Microseconds), "lat_seconds");
        assert_eq!(name("lat_seconds", Histogram, Unit::Seconds), "lat_seconds");
        assert_eq!(name("x_bytes", Gauge, Unit::Bytes), "x_bytes");
        assert_eq!(name("xbytes", Gauge, Unit::Bytes), "xbytes_bytes");
        assert_eq!(name("bytes", Gauge, Unit::Bytes), "bytes_bytes");
        assert_eq!(name("state", StateSet, Unit::Seconds), "state");
    }

    #[test]
    fn values_as_floats() {
        assert_eq!(Value::Count(7).to_f64(), 7.0);
        assert_eq!(Value::Scaled(1_500_000, 1e9).to_f64(), 0.0015);
        assert_eq!(Value::Scaled(u128::MAX, 1.0).to_f64(), u128::MAX as f64);
        assert_eq!(Value::ScaledSigned(-3, 1e3).to_f64(), -0.003);
        assert!(Value::Float(f64::NAN).to_f64().is_nan());
    }
}
