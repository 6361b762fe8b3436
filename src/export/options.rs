//! [`TextOptions`]: how histograms are shaped in the text formats.
#![forbid(unsafe_code)]

use crate::descriptor::Unit;
use std::borrow::Cow;
use std::collections::HashMap;

/// One classic bucket bound or summary quantile: its value and the label
/// text written for it, formatted once when the options are built.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Bound {
    pub(crate) value: f64,
    pub(crate) label: Cow<'static, str>,
}

const fn b(value: f64, label: &'static str) -> Bound {
    Bound {
        value,
        label: Cow::Borrowed(label),
    }
}

/// Classic `le` bounds for histograms of time, in seconds: the Prometheus
/// client libraries' default buckets.
static TIME_BUCKETS: [Bound; 11] = [
    b(0.005, "0.005"),
    b(0.01, "0.01"),
    b(0.025, "0.025"),
    b(0.05, "0.05"),
    b(0.1, "0.1"),
    b(0.25, "0.25"),
    b(0.5, "0.5"),
    b(1.0, "1.0"),
    b(2.5, "2.5"),
    b(5.0, "5.0"),
    b(10.0, "10.0"),
];

/// Classic `le` bounds for other histograms (bytes, counts): powers of ten.
static DECADE_BUCKETS: [Bound; 10] = [
    b(1.0, "1.0"),
    b(10.0, "10.0"),
    b(100.0, "100.0"),
    b(1e3, "1000.0"),
    b(1e4, "10000.0"),
    b(1e5, "100000.0"),
    b(1e6, "1000000.0"),
    b(1e7, "10000000.0"),
    b(1e8, "100000000.0"),
    b(1e9, "1000000000.0"),
];

/// How one histogram is written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum HistogramForm {
    /// A classic histogram with these `le` bounds (in the base unit), plus
    /// `+Inf`.
    Buckets(Vec<Bound>),
    /// A summary with these quantiles.
    Summary(Vec<Bound>),
}

/// How histograms are written by [`prometheus`](super::prometheus) and
/// [`openmetrics`](super::openmetrics): as classic histograms with chosen
/// `le` bounds, or as summaries with chosen quantiles; per metric or for
/// all.
///
/// Bounds are given in the metric's **base unit**: seconds for a histogram
/// recorded in nanoseconds, microseconds or milliseconds, bytes for bytes.
/// Bounds that are negative, NaN or infinite are dropped (`+Inf` is always
/// written), the rest sorted and deduplicated. Quantiles outside `[0, 1]`
/// or NaN are dropped.
///
/// Without options, histograms of time get the Prometheus client
/// libraries' default buckets (5 ms to 10 s) and other histograms powers of
/// ten from 1 to 10⁹.
///
/// A classic bucket is derived from the fine buckets: the count for `le`
/// is the number of observations in fine buckets whose upper bound is at
/// most `le` (see `docs/exposition.md`). A fine bucket straddling `le`
/// counts as above it, so the count is exact for a bound `le'` with
/// `le − le' <` one fine bucket width `≤ le / 64` at the default precision.
///
/// ```
/// use hotmetrics::export::{prometheus, TextOptions};
/// use hotmetrics::{Registry, Unit};
///
/// let reg = Registry::new();
/// let h = reg.histogram("rpc_duration", "RPC latency", Unit::Nanoseconds).unwrap();
/// let sizes = reg.histogram("payload", "Payload size", Unit::Bytes).unwrap();
/// h.record(3_000_000); // 3 ms
/// sizes.record(700);
///
/// let opts = TextOptions::new()
///     .buckets(&[0.001, 0.01, 0.1]) // every histogram: 1 ms, 10 ms, 100 ms
///     .summary_for("payload_bytes", &[0.5, 0.99]); // this one as a summary
/// let mut out = String::new();
/// prometheus::render_into(&reg.collect(), &mut out, &opts);
/// assert!(out.contains("rpc_duration_seconds_bucket{le=\"0.01\"} 1\n"));
/// assert!(out.contains("payload_bytes{quantile=\"0.99\"} 700\n"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct TextOptions {
    default: Option<HistogramForm>,
    per_metric: HashMap<String, HistogramForm>,
}

fn bounds(values: &[f64], keep: impl Fn(f64) -> bool) -> Vec<Bound> {
    let mut v: Vec<f64> = values.iter().copied().filter(|&x| keep(x)).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v.into_iter()
        .map(|value| Bound {
            value,
            label: Cow::Owned(ryu::Buffer::new().format_finite(value).to_string()),
        })
        .collect()
}

fn le_bounds(values: &[f64]) -> Vec<Bound> {
    bounds(values, |x| x.is_finite() && x >= 0.0)
}

fn quantiles(values: &[f64]) -> Vec<Bound> {
    bounds(values, |x| (0.0..=1.0).contains(&x))
}

impl TextOptions {
    /// The defaults: classic histograms with built-in bounds.
    pub fn new() -> TextOptions {
        TextOptions::default()
    }

    /// Every histogram without a setting of its own is written as a classic
    /// histogram with these `le` bounds (base unit).
    pub fn buckets(mut self, le: &[f64]) -> TextOptions {
        self.default = Some(HistogramForm::Buckets(le_bounds(le)));
        self
    }

    /// Histogram `name` is written as a classic histogram with these `le`
    /// bounds (base unit). `name` is the exported family name, with its
    /// unit suffix (`rpc_duration_seconds`), or the registered name.
    pub fn buckets_for(mut self, name: &str, le: &[f64]) -> TextOptions {
        self.per_metric
            .insert(name.to_string(), HistogramForm::Buckets(le_bounds(le)));
        self
    }

    /// Every histogram without a setting of its own is written as a summary
    /// with these quantiles (`0.5`, `0.99`, …), values in the base unit,
    /// with `_sum` and `_count`.
    pub fn summary(mut self, quantiles_: &[f64]) -> TextOptions {
        self.default = Some(HistogramForm::Summary(quantiles(quantiles_)));
        self
    }

    /// Histogram `name` (exported or registered name) is written as a
    /// summary with these quantiles.
    pub fn summary_for(mut self, name: &str, quantiles_: &[f64]) -> TextOptions {
        self.per_metric.insert(
            name.to_string(),
            HistogramForm::Summary(quantiles(quantiles_)),
        );
        self
    }

    /// How histogram `registered` (exported as `exported`), with values
    /// in `unit`, is written.
    pub(crate) fn histogram_form(
        &self,
        registered: &str,
        exported: &str,
        unit: Unit,
    ) -> HistogramFormRef<'_> {
        let chosen = if self.per_metric.is_empty() {
            None
        } else {
            self.per_metric
                .get(exported)
                .or_else(|| self.per_metric.get(registered))
        };
        match chosen.or(self.default.as_ref()) {
            Some(HistogramForm::Buckets(b)) => HistogramFormRef::Buckets(b),
            Some(HistogramForm::Summary(q)) => HistogramFormRef::Summary(q),
            None if unit.is_time() => HistogramFormRef::Buckets(&TIME_BUCKETS),
            None => HistogramFormRef::Buckets(&DECADE_BUCKETS),
        }
    }
}

/// A borrowed [`HistogramForm`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum HistogramFormRef<'a> {
    Buckets(&'a [Bound]),
    Summary(&'a [Bound]),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(b: &[Bound]) -> Vec<&str> {
        b.iter().map(|b| &*b.label).collect()
    }

    #[test]
    fn bounds_are_cleaned_sorted_and_formatted_once() {
        let o = TextOptions::new()
            .buckets(&[1.0, f64::NAN, 0.5, -1.0, f64::INFINITY, 0.5, 1e-7, 250.0])
            .summary_for("s", &[0.99, 1.5, 0.5, f64::NAN, 0.0]);
        match o.histogram_form("x", "x_seconds", Unit::Nanoseconds) {
            HistogramFormRef::Buckets(b) => assert_eq!(labels(b), ["1e-7", "0.5", "1.0", "250.0"]),
            other => panic!("{other:?}"),
        }
        match o.histogram_form("s", "s_bytes", Unit::Bytes) {
            HistogramFormRef::Summary(q) => assert_eq!(labels(q), ["0.0", "0.5", "0.99"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_depend_on_the_unit_and_exported_names_win() {
        let o = TextOptions::new();
        assert!(
            matches!(o.histogram_form("t", "t_seconds", Unit::Microseconds),
            HistogramFormRef::Buckets(b) if b.len() == 11 && b[0].value == 0.005)
        );
        assert!(matches!(o.histogram_form("n", "n", Unit::None),
            HistogramFormRef::Buckets(b) if b.len() == 10 && b[9].value == 1e9));
        let o = TextOptions::new()
            .buckets_for("t", &[1.0])
            .buckets_for("t_seconds", &[2.0]);
        assert!(
            matches!(o.histogram_form("t", "t_seconds", Unit::Nanoseconds),
            HistogramFormRef::Buckets(b) if labels(b) == ["2.0"])
        );
        assert!(matches!(o.histogram_form("t", "t", Unit::None),
            HistogramFormRef::Buckets(b) if labels(b) == ["1.0"]));
        // Every built-in label is the float it stands for.
        for b in TIME_BUCKETS.iter().chain(&DECADE_BUCKETS) {
            assert_eq!(b.label.parse::<f64>().unwrap(), b.value);
        }
    }
}
