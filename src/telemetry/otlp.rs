//! OTLP metrics (feature `otlp`): a [`Snapshot`] as an
//! `ExportMetricsServiceRequest` of the `opentelemetry-proto` crate, for
//! OTLP/HTTP with protobuf.
//!
//! - Counters are monotonic `Sum`s (integers), gauges `Gauge`s (integer or
//!   double), state sets one 0/1 gauge point per state (the state in an
//!   attribute named as the metric), info metrics a gauge point of 1.
//! - Histograms are `ExponentialHistogram`s (default) or explicit-bucket
//!   `Histogram`s with the classic bounds a scrape writes
//!   ([`super::HistogramAggregation`]); count, sum,
//!   min and max exact.
//! - Every value is in the unit it was recorded in, named by its UCUM code
//!   in `unit` (`ns`, `us`, `ms`, `s`, `By`; a custom unit as given), so a
//!   histogram's bucket boundaries are the recorded layout's, not rounded
//!   by a conversion. The name is the registered one (a counter's trailing
//!   `_total` removed: OTLP names carry neither type nor unit suffixes).
//! - Labels are string attributes; the resource carries the configured
//!   attributes and `telemetry.sdk.*`; the scope is `hotmetrics`.
//! - Cumulative points start when the series was first exported (the
//!   encoder's start for those present then, the previous export's time
//!   for later ones and after a counter reset). Delta points cover the
//!   time since the last [`commit`](Encoder::commit)ted export: a failed
//!   export is not committed, so the next one covers its interval too and
//!   nothing is lost.
//!
//! ```
//! use hotmetrics::telemetry::otlp::Encoder;
//! use hotmetrics::telemetry::OtlpConfig;
//! use hotmetrics::export::TextOptions;
//!
//! let reg = hotmetrics::Registry::new();
//! reg.counter("jobs", "Jobs run").unwrap().add(3);
//! let mut enc = Encoder::new(&OtlpConfig::new("http://127.0.0.1:4318/v1/metrics"),
//!     TextOptions::new(), 1_000);
//! let req = enc.request(&reg.collect(), 2_000);
//! let m = &req.resource_metrics[0].scope_metrics[0].metrics[0];
//! assert_eq!(m.name, "jobs");
//! ```
#![forbid(unsafe_code)]

use super::otlp_config::{HistogramAggregation, OtlpConfig, Temporality};
use crate::export::TextOptions;
use crate::sync::Arc;
use crate::snapshot::{HistogramSnapshot, MetricSnapshot, MetricValue};
use crate::{LabelSet, MetricKind, Snapshot, Unit};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point, AggregationTemporality, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::HashMap;

/// Turns snapshots into export requests, keeping what cumulative start
/// times and delta baselines need between exports.
#[derive(Debug)]
pub struct Encoder {
    resource: Resource,
    temporality: Temporality,
    histograms: HistogramAggregation,
    max_buckets: usize,
    text: TextOptions,
    started_ns: u64,
    /// Cumulative: each series' start time and total (counter value or
    /// histogram count) at the last export.
    starts: Starts,
    /// The last export's time.
    prev_ns: Option<u64>,
    /// Delta: the last committed snapshot and its time.
    base: Option<(Arc<Snapshot>, u64)>,
}

/// Series start times and totals, by name and labels.
type Starts = HashMap<(String, LabelSet), (u64, u64)>;

/// A string attribute.
pub(crate) fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
        ..KeyValue::default()
    }
}

/// The UCUM code of a unit (empty for counts).
pub fn ucum(unit: Unit) -> &'static str {
    match unit {
        Unit::None => "",
        Unit::Nanoseconds => "ns",
        Unit::Microseconds => "us",
        Unit::Milliseconds => "ms",
        Unit::Seconds => "s",
        Unit::Bytes => "By",
        other => other.as_str(),
    }
}

impl Encoder {
    /// An encoder for `config`'s resource, temporality and histogram form;
    /// `text` gives the explicit histograms' bounds; `started_ns` (Unix
    /// nanoseconds) is the start of the series present at the first export.
    pub fn new(config: &OtlpConfig, text: TextOptions, started_ns: u64) -> Encoder {
        let mut attributes: Vec<KeyValue> =
            config.resource.iter().map(|(k, v)| kv(k, v)).collect();
        for (k, v) in [
            ("telemetry.sdk.name", "hotmetrics"),
            ("telemetry.sdk.language", "rust"),
            ("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        ] {
            if !config.resource.iter().any(|(key, _)| key == k) {
                attributes.push(kv(k, v));
            }
        }
        Encoder {
            resource: Resource {
                attributes,
                ..Resource::default()
            },
            temporality: config.temporality,
            histograms: config.histograms,
            max_buckets: config.max_buckets,
            text,
            started_ns,
            starts: HashMap::new(),
            prev_ns: None,
            base: None,
        }
    }

    /// The request for `snap` taken at `now_ns` (Unix nanoseconds).
    pub fn request(&mut self, snap: &Snapshot, now_ns: u64) -> ExportMetricsServiceRequest {
        let delta;
        let (values, delta_start) = match (self.temporality, &self.base) {
            (Temporality::Cumulative, _) => (snap, None),
            (Temporality::Delta, Some((base, t))) => {
                delta = snap.delta(base);
                (&delta, Some(*t))
            }
            (Temporality::Delta, None) => (snap, Some(self.started_ns)),
        };
        let mut metrics = Vec::new();
        let mut starts = HashMap::with_capacity(self.starts.len());
        for (d, series) in values.families() {
            let mut metric = Metric {
                name: otlp_name(d.name(), d.kind()).to_string(),
                description: d.help().to_string(),
                unit: ucum(d.unit()).to_string(),
                ..Metric::default()
            };
            let mut points = Points::default();
            for m in series.iter().filter(|m| !m.is_unwritten()) {
                let start = match delta_start {
                    Some(t) => t,
                    None => self.cumulative_start(m, &mut starts),
                };
                self.point(m, start, now_ns, &mut points);
            }
            metric.data = points.into_data(self.temporality);
            if metric.data.is_some() {
                metrics.push(metric);
            }
        }
        if delta_start.is_none() {
            self.starts = starts;
        }
        self.prev_ns = Some(now_ns);
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "hotmetrics".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..InstrumentationScope::default()
                    }),
                    metrics,
                    ..ScopeMetrics::default()
                }],
                ..ResourceMetrics::default()
            }],
        }
    }

    /// Marks the export of `snap` at `now_ns` as done (delivered, or
    /// refused for good): the next delta export starts from it.
    pub fn commit(&mut self, snap: Arc<Snapshot>, now_ns: u64) {
        if self.temporality == Temporality::Delta {
            self.base = Some((snap, now_ns));
        }
    }

    /// A cumulative series' start: kept from the last export unless its
    /// counter or histogram count went down (a reset: the series was
    /// evicted and made again); new series start at the last export (the
    /// encoder's start before the first).
    fn cumulative_start(&self, m: &MetricSnapshot, out: &mut Starts) -> u64 {
        let total = match m.value() {
            MetricValue::Counter(v) => *v,
            MetricValue::Histogram(h) => h.count(),
            _ => 0,
        };
        let key = (m.name().to_string(), m.labels().clone());
        let since = self.prev_ns.unwrap_or(self.started_ns);
        let start = match self.starts.get(&key) {
            Some(&(t, before)) if total >= before => t,
            _ => since,
        };
        out.insert(key, (start, total));
        start
    }

    fn point(&self, m: &MetricSnapshot, start: u64, now: u64, out: &mut Points) {
        let attrs = || m.labels().iter().map(|(k, v)| kv(k, v)).collect::<Vec<_>>();
        let number = |attributes, value| NumberDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: now,
            value: Some(value),
            ..NumberDataPoint::default()
        };
        use number_data_point::Value as V;
        match m.value() {
            MetricValue::Counter(v) => {
                out.sum.push(number(attrs(), V::AsInt(i64::try_from(*v).unwrap_or(i64::MAX))))
            }
            MetricValue::Gauge(v) => out.gauge.push(number(attrs(), V::AsInt(*v))),
            MetricValue::FloatGauge(v) => out.gauge.push(number(attrs(), V::AsDouble(*v))),
            MetricValue::Info => out.gauge.push(number(attrs(), V::AsInt(1))),
            MetricValue::StateSet(states) => {
                for (state, on) in states {
                    let mut a = attrs();
                    a.push(kv(m.name(), state));
                    out.gauge.push(number(a, V::AsInt(i64::from(*on))));
                }
            }
            MetricValue::Histogram(h) => match self.histograms {
                HistogramAggregation::Explicit => {
                    out.histogram.push(self.explicit(m, h, attrs(), start, now))
                }
                HistogramAggregation::Exponential => {
                    out.exponential.push(super::otlp_exp::point(h, self.max_buckets, attrs(), start, now))
                }
            },
        }
    }

    /// An explicit-bucket point with the classic bounds (converted to the
    /// recorded unit) and counts by the scrape's `le` rule.
    fn explicit(
        &self,
        m: &MetricSnapshot,
        h: &HistogramSnapshot,
        attributes: Vec<KeyValue>,
        start: u64,
        now: u64,
    ) -> HistogramDataPoint {
        let bounds = crate::export::samples::classic_thresholds(&self.text, m.descriptor());
        let mut bucket_counts = Vec::with_capacity(bounds.len() + 1);
        let mut below = 0;
        for &(_, t) in &bounds {
            let c = t.map_or(0, |t| h.count_at_or_below_f64(t));
            bucket_counts.push(c - below);
            below = c;
        }
        bucket_counts.push(h.count() - below);
        HistogramDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: now,
            count: h.count(),
            sum: Some(h.sum_f64()),
            bucket_counts,
            explicit_bounds: bounds.iter().map(|&(b, _)| b).collect(),
            min: h.min_f64(),
            max: h.max_f64(),
            ..HistogramDataPoint::default()
        }
    }
}

/// The OTLP name: the registered one, a counter's `_total` removed.
fn otlp_name(name: &str, kind: MetricKind) -> &str {
    match kind {
        MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    }
}

/// One family's points, by data type.
#[derive(Default)]
struct Points {
    sum: Vec<NumberDataPoint>,
    gauge: Vec<NumberDataPoint>,
    histogram: Vec<HistogramDataPoint>,
    exponential: Vec<opentelemetry_proto::tonic::metrics::v1::ExponentialHistogramDataPoint>,
}

impl Points {
    fn into_data(self, t: Temporality) -> Option<Data> {
        let temporality = match t {
            Temporality::Cumulative => AggregationTemporality::Cumulative,
            Temporality::Delta => AggregationTemporality::Delta,
        } as i32;
        if !self.sum.is_empty() {
            return Some(Data::Sum(Sum {
                data_points: self.sum,
                aggregation_temporality: temporality,
                is_monotonic: true,
            }));
        }
        if !self.gauge.is_empty() {
            return Some(Data::Gauge(Gauge {
                data_points: self.gauge,
            }));
        }
        if !self.histogram.is_empty() {
            return Some(Data::Histogram(Histogram {
                data_points: self.histogram,
                aggregation_temporality: temporality,
            }));
        }
        if !self.exponential.is_empty() {
            return Some(Data::ExponentialHistogram(
                opentelemetry_proto::tonic::metrics::v1::ExponentialHistogram {
                    data_points: self.exponential,
                    aggregation_temporality: temporality,
                },
            ));
        }
        None
    }
}

/// The request as a POST body: protobuf, gzip-compressed when `gzip`.
pub fn body(req: &ExportMetricsServiceRequest, gzip: bool) -> Vec<u8> {
    let raw = prost::Message::encode_to_vec(req);
    if !gzip {
        return raw;
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    std::io::Write::write_all(&mut enc, &raw)
        .and_then(|()| enc.finish())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;

    fn first_point(req: &ExportMetricsServiceRequest) -> (u64, u64, Option<number_data_point::Value>) {
        let m = &req.resource_metrics[0].scope_metrics[0].metrics[0];
        let Some(Data::Sum(s)) = &m.data else {
            panic!("{m:?}")
        };
        let p = &s.data_points[0];
        (p.start_time_unix_nano, p.time_unix_nano, p.value)
    }

    #[test]
    fn a_counter_that_went_down_restarts_its_cumulative_start() {
        let reg = Registry::new();
        let c = reg.counter("jobs", "J").unwrap();
        c.add(5);
        let mut enc = Encoder::new(&OtlpConfig::new("http://h:1/v1/metrics"), TextOptions::new(), 10);
        assert_eq!(first_point(&enc.request(&reg.collect(), 20)).0, 10);
        c.add(1);
        assert_eq!(first_point(&enc.request(&reg.collect(), 30)).0, 10);
        // A snapshot where the total is lower: the series was made again.
        let other = Registry::new();
        other.counter("jobs", "J").unwrap().add(2);
        let (start, end, _) = first_point(&enc.request(&other.collect(), 40));
        assert_eq!((start, end), (30, 40));
    }

    #[test]
    fn an_uncommitted_delta_export_is_covered_by_the_next() {
        let reg = Registry::new();
        let c = reg.counter("jobs", "J").unwrap();
        let mut config = OtlpConfig::new("http://h:1/v1/metrics");
        config.temporality = Temporality::Delta;
        let mut enc = Encoder::new(&config, TextOptions::new(), 10);
        c.add(5);
        let s1 = reg.collect();
        let p = first_point(&enc.request(&s1, 20));
        assert_eq!(p, (10, 20, Some(number_data_point::Value::AsInt(5))));
        enc.commit(s1, 20);
        c.add(3);
        // Failed, not committed: the next export covers it too.
        let _ = enc.request(&reg.collect(), 30);
        c.add(4);
        let s3 = reg.collect();
        let p = first_point(&enc.request(&s3, 40));
        assert_eq!(p, (20, 40, Some(number_data_point::Value::AsInt(7))));
    }
}
