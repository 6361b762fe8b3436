//! [`TextOptions`]: how histograms are shaped in the text formats.
#![forbid(unsafe_code)]

use crate::descriptor::{default_bounds, Bound, ClassicBuckets, Unit};
use std::collections::HashMap;

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
/// Bounds that are NaN or infinite are dropped (`+Inf` is always
/// written), the rest sorted and deduplicated. Quantiles outside `[0, 1]`
/// or NaN are dropped.
///
/// Which form a histogram gets, first match wins: a setting for it here
/// ([`buckets_for`](Self::buckets_for), [`summary_for`](Self::summary_for));
/// the bounds it was registered with
/// ([`Options::buckets`](crate::Options::buckets)); a setting here for
/// every histogram ([`buckets`](Self::buckets), [`summary`](Self::summary));
/// the default bounds for its unit ([`ClassicBuckets::default_for`]:
/// 1-2-5 steps from 1 µs to 100 s for time, powers of 4 from 64 B to
/// 1 GiB for bytes, powers of 4 from 1 to 4¹⁵ otherwise).
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
    // `+ 0.0`: `-0.0` is `0.0`.
    let mut v: Vec<f64> = values
        .iter()
        .map(|&x| x + 0.0)
        .filter(|&x| keep(x))
        .collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v.into_iter().map(Bound::new).collect()
}

fn le_bounds(values: &[f64]) -> Vec<Bound> {
    bounds(values, f64::is_finite)
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
    /// histogram with these `le` bounds (base unit). The bounds are sorted
    /// and deduplicated; a non-finite one (NaN, ±∞) is left out, as
    /// `le="+Inf"` is always written.
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
    /// with `_sum` and `_count`. Quantiles outside `[0, 1]` (and NaN) are
    /// left out.
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
    /// in `unit` and classic bounds `registered_buckets` if it was given
    /// some, is written.
    pub(crate) fn histogram_form<'a>(
        &'a self,
        registered: &str,
        exported: &str,
        unit: Unit,
        registered_buckets: Option<&'a ClassicBuckets>,
    ) -> HistogramFormRef<'a> {
        let chosen = if self.per_metric.is_empty() {
            None
        } else {
            self.per_metric
                .get(exported)
                .or_else(|| self.per_metric.get(registered))
        };
        if let (None, Some(b)) = (chosen, registered_buckets) {
            return HistogramFormRef::Buckets(b.as_slice());
        }
        match chosen.or(self.default.as_ref()) {
            Some(HistogramForm::Buckets(b)) => HistogramFormRef::Buckets(b),
            Some(HistogramForm::Summary(q)) => HistogramFormRef::Summary(q),
            None => HistogramFormRef::Buckets(default_bounds(unit)),
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
            .buckets(&[
                1.0,
                f64::NAN,
                0.5,
                -1.0,
                f64::INFINITY,
                0.5,
                1e-7,
                250.0,
                -0.0,
            ])
            .summary_for("s", &[0.99, 1.5, 0.5, f64::NAN, 0.0]);
        match o.histogram_form("x", "x_seconds", Unit::Nanoseconds, None) {
            HistogramFormRef::Buckets(b) => {
                assert_eq!(labels(b), ["-1.0", "0.0", "1e-7", "0.5", "1.0", "250.0"])
            }
            other => panic!("{other:?}"),
        }
        match o.histogram_form("s", "s_bytes", Unit::Bytes, None) {
            HistogramFormRef::Summary(q) => assert_eq!(labels(q), ["0.0", "0.5", "0.99"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_depend_on_the_unit_and_exported_names_win() {
        let o = TextOptions::new();
        assert!(matches!(
            o.histogram_form("t", "t_seconds", Unit::Microseconds, None),
            HistogramFormRef::Buckets(b) if b.len() == 25 && b[0].value == 1e-6
        ));
        assert!(matches!(o.histogram_form("n", "n", Unit::None, None),
            HistogramFormRef::Buckets(b) if b.len() == 16 && b[15].value == 1073741824.0));
        assert!(
            matches!(o.histogram_form("b", "b_bytes", Unit::Bytes, None),
            HistogramFormRef::Buckets(b) if b.len() == 13 && b[0].value == 64.0)
        );
        let o = TextOptions::new()
            .buckets_for("t", &[1.0])
            .buckets_for("t_seconds", &[2.0]);
        assert!(matches!(
            o.histogram_form("t", "t_seconds", Unit::Nanoseconds, None),
            HistogramFormRef::Buckets(b) if labels(b) == ["2.0"]
        ));
        assert!(matches!(o.histogram_form("t", "t", Unit::None, None),
            HistogramFormRef::Buckets(b) if labels(b) == ["1.0"]));
    }

    #[test]
    fn registered_bounds_beat_the_export_wide_setting_not_the_per_metric_one() {
        let mine = ClassicBuckets::new(&[0.25, 0.5]).unwrap();
        let form = |o: &TextOptions| match o.histogram_form(
            "t",
            "t_seconds",
            Unit::Seconds,
            Some(&mine),
        ) {
            HistogramFormRef::Buckets(b) => labels(b).join(","),
            HistogramFormRef::Summary(q) => format!("summary {}", labels(q).join(",")),
        };
        assert_eq!(form(&TextOptions::new()), "0.25,0.5");
        assert_eq!(form(&TextOptions::new().buckets(&[3.0])), "0.25,0.5");
        assert_eq!(form(&TextOptions::new().summary(&[0.5])), "0.25,0.5");
        assert_eq!(form(&TextOptions::new().buckets_for("t", &[3.0])), "3.0");
        assert_eq!(
            form(&TextOptions::new().summary_for("t_seconds", &[0.9])),
            "summary 0.9"
        );
        // Another metric's setting does not apply.
        assert_eq!(
            form(&TextOptions::new().buckets_for("u", &[3.0])),
            "0.25,0.5"
        );
    }
}
