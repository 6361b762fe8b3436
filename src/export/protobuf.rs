//! The Prometheus protobuf exposition: length-delimited
//! `io.prometheus.client.MetricFamily` messages (feature `protobuf`), the
//! format a Prometheus with `--enable-feature=native-histograms` asks for
//! first, and the only one that carries native histograms.
//!
//! Families, names, labels and values are those of the text formats (one
//! sample stream feeds both). Counters are `COUNTER` families named with
//! `_total`; gauges, state sets (one metric per state) and info metrics
//! (`_info`) are `GAUGE`s; histograms are `HISTOGRAM`s carrying both the
//! classic `le` buckets of [`TextOptions`] and the native buckets of
//! [`native`](super::native) (at most 160 per histogram, in the base
//! unit), as client_golang writes them; a histogram [`TextOptions`] makes
//! a summary is a `SUMMARY`. A histogram whose native buckets would need a
//! schema below -4 (the coarsest Prometheus reads), which only values
//! spanning more than 2^2500 can, carries its classic buckets only.
//!
//! ```
//! use hotmetrics::export::protobuf::{self, MetricFamily};
//! use hotmetrics::{Registry, Unit};
//! use prost::Message;
//!
//! let reg = Registry::new();
//! let lat = reg.histogram("lat", "Latency", Unit::Nanoseconds).unwrap();
//! lat.record(1_500_000);
//! let body = protobuf::render(&reg.collect());
//! let family = MetricFamily::decode_length_delimited(&body[..]).unwrap();
//! assert_eq!(family.name, "lat_seconds");
//! let h = family.metric[0].histogram.as_ref().unwrap();
//! assert_eq!((h.sample_count, h.sample_sum), (1, 0.0015));
//! assert_eq!(h.positive_delta, [1]);
//! ```
//!
//! The messages are transcribed field by field from client_model's
//! `io/prometheus/client/metrics.proto` (exemplars and created timestamps
//! left out); they are written as proto3 (zero values omitted, repeated
//! numbers packed), which proto2 readers decode to the same values.
#![forbid(unsafe_code)]

use super::native::{native_of, spans_and_deltas, DEFAULT_MAX_BUCKETS};
use super::samples::{self, Family, Sample, Visitor};
use super::TextOptions;
use crate::descriptor::MetricKind;
use crate::snapshot::{HistogramSnapshot, LabelSet, Snapshot};

/// The `Content-Type` of this format.
pub const CONTENT_TYPE: &str = super::handler::PROTOBUF_CONTENT_TYPE;

/// `io.prometheus.client.MetricFamily`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricFamily {
    /// The family name (counters with `_total`).
    #[prost(string, tag = "1")]
    pub name: String,
    /// The help text, unescaped.
    #[prost(string, tag = "2")]
    pub help: String,
    /// `MetricType`: 0 counter, 1 gauge, 2 summary, 3 untyped, 4 histogram.
    #[prost(int32, tag = "3")]
    pub r#type: i32,
    /// One entry per series.
    #[prost(message, repeated, tag = "4")]
    pub metric: Vec<Metric>,
}

/// `MetricType.COUNTER`.
pub const COUNTER: i32 = 0;
/// `MetricType.GAUGE`.
pub const GAUGE: i32 = 1;
/// `MetricType.SUMMARY`.
pub const SUMMARY: i32 = 2;
/// `MetricType.HISTOGRAM`.
pub const HISTOGRAM: i32 = 4;

/// `io.prometheus.client.Metric`: one series; one of the values is set.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    /// The series' labels.
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    /// A gauge's value.
    #[prost(message, optional, tag = "2")]
    pub gauge: Option<Value>,
    /// A counter's value.
    #[prost(message, optional, tag = "3")]
    pub counter: Option<Value>,
    /// A summary.
    #[prost(message, optional, tag = "4")]
    pub summary: Option<Summary>,
    /// A histogram.
    #[prost(message, optional, tag = "7")]
    pub histogram: Option<Histogram>,
}

/// `io.prometheus.client.LabelPair`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPair {
    /// The label name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The label value, unescaped.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `io.prometheus.client.Gauge` and `Counter` (whose exemplar is left
/// out): one value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    /// The value, in the base unit.
    #[prost(double, tag = "1")]
    pub value: f64,
}

/// `io.prometheus.client.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// Observations.
    #[prost(uint64, tag = "1")]
    pub sample_count: u64,
    /// Their sum.
    #[prost(double, tag = "2")]
    pub sample_sum: f64,
    /// The quantiles.
    #[prost(message, repeated, tag = "3")]
    pub quantile: Vec<Quantile>,
}

/// `io.prometheus.client.Quantile`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Quantile {
    /// The quantile, in `[0, 1]`.
    #[prost(double, tag = "1")]
    pub quantile: f64,
    /// Its value.
    #[prost(double, tag = "2")]
    pub value: f64,
}

/// `io.prometheus.client.Histogram`: classic buckets and native ones.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// Observations.
    #[prost(uint64, tag = "1")]
    pub sample_count: u64,
    /// Their sum.
    #[prost(double, tag = "2")]
    pub sample_sum: f64,
    /// Classic buckets, by increasing bound, `+Inf` left out.
    #[prost(message, repeated, tag = "3")]
    pub bucket: Vec<Bucket>,
    /// Native: the schema.
    #[prost(sint32, tag = "5")]
    pub schema: i32,
    /// Native: the zero bucket's half-width.
    #[prost(double, tag = "6")]
    pub zero_threshold: f64,
    /// Native: observations in the zero bucket.
    #[prost(uint64, tag = "7")]
    pub zero_count: u64,
    /// Native: negative bucket spans.
    #[prost(message, repeated, tag = "9")]
    pub negative_span: Vec<BucketSpan>,
    /// Native: negative bucket counts, each as the difference from the
    /// previous one.
    #[prost(sint64, repeated, tag = "10")]
    pub negative_delta: Vec<i64>,
    /// Native: positive bucket spans.
    #[prost(message, repeated, tag = "12")]
    pub positive_span: Vec<BucketSpan>,
    /// Native: positive bucket counts, as deltas.
    #[prost(sint64, repeated, tag = "13")]
    pub positive_delta: Vec<i64>,
}

/// `io.prometheus.client.Bucket`: a classic bucket.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Bucket {
    /// Observations at or below `upper_bound`.
    #[prost(uint64, tag = "1")]
    pub cumulative_count: u64,
    /// The bound, inclusive, in the base unit.
    #[prost(double, tag = "2")]
    pub upper_bound: f64,
}

/// `io.prometheus.client.BucketSpan`: consecutive native buckets.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
    /// The first bucket's index (first span) or the gap since the previous
    /// span.
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    /// Buckets in the span.
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

/// The coarsest schema Prometheus reads.
const PROMETHEUS_MIN_SCHEMA: i32 = -4;

/// Renders `snap` with the default [`TextOptions`].
pub fn render(snap: &Snapshot) -> Vec<u8> {
    let mut out = Vec::new();
    render_into(snap, &mut out, &TextOptions::default());
    out
}

/// Appends `snap` to `out`: each family as a length-delimited message.
pub fn render_into(snap: &Snapshot, out: &mut Vec<u8>, opts: &TextOptions) {
    for family in metric_families(snap, opts) {
        // Encoding into a Vec cannot run out of space.
        let _ = prost::Message::encode_length_delimited(&family, out);
    }
}

/// `snap` as messages, families in the snapshot's order.
pub fn metric_families(snap: &Snapshot, opts: &TextOptions) -> Vec<MetricFamily> {
    let mut v = Families::default();
    samples::visit(snap, opts, &mut v);
    v.out
}

/// The visitor building the messages.
#[derive(Default)]
struct Families {
    out: Vec<MetricFamily>,
    kind: Option<MetricKind>,
}

fn labels(set: &LabelSet, extra: Option<(&str, &str)>) -> Vec<LabelPair> {
    let mut out: Vec<LabelPair> = set
        .iter()
        .map(|(k, v)| {
            let mut name = String::with_capacity(k.len());
            samples::push_label_name(&mut name, k);
            LabelPair {
                name,
                value: v.into(),
            }
        })
        .collect();
    if let Some((k, v)) = extra {
        out.push(LabelPair {
            name: k.into(),
            value: v.into(),
        });
    }
    out
}

impl Families {
    fn last_metric(&mut self) -> Option<&mut Metric> {
        self.out.last_mut()?.metric.last_mut()
    }

    /// A sample of a histogram or summary series.
    fn distribution(&mut self, s: &Sample<'_>) {
        let Some(m) = self.last_metric() else { return };
        let value = s.value.to_f64();
        if let Some(h) = m.histogram.as_mut() {
            match (s.suffix, s.extra) {
                ("_count", _) => h.sample_count = value as u64,
                ("_sum", _) => h.sample_sum = value,
                // The bound as the label text writes it (the shortest text
                // that reads back as the bound); `+Inf` is implied.
                ("_bucket", Some((_, le))) => {
                    if let Ok(upper_bound) = le.parse::<f64>() {
                        if upper_bound.is_finite() {
                            h.bucket.push(Bucket {
                                cumulative_count: value as u64,
                                upper_bound,
                            });
                        }
                    }
                }
                _ => {}
            }
        } else if let Some(sum) = m.summary.as_mut() {
            match (s.suffix, s.extra) {
                ("_count", _) => sum.sample_count = value as u64,
                ("_sum", _) => sum.sample_sum = value,
                ("", Some((_, q))) => sum.quantile.push(Quantile {
                    quantile: q.parse().unwrap_or(f64::NAN),
                    value,
                }),
                _ => {}
            }
        }
    }
}

impl Visitor for Families {
    fn family(&mut self, f: &Family<'_>) {
        let r#type = match f.kind {
            MetricKind::Counter => COUNTER,
            MetricKind::Histogram if f.summary => SUMMARY,
            MetricKind::Histogram => HISTOGRAM,
            _ => GAUGE,
        };
        self.kind = Some(f.kind);
        self.out.push(MetricFamily {
            name: f.name.into(),
            help: f.help.into(),
            r#type,
            metric: Vec::new(),
        });
    }

    fn series(&mut self, set: &LabelSet) {
        let Some(family) = self.out.last_mut() else {
            return;
        };
        if self.kind != Some(MetricKind::Histogram) {
            return;
        }
        let summary = family.r#type == SUMMARY;
        family.metric.push(Metric {
            label: labels(set, None),
            summary: summary.then(Summary::default),
            histogram: (!summary).then(Histogram::default),
            ..Metric::default()
        });
    }

    fn histogram(&mut self, _labels: &LabelSet, h: &HistogramSnapshot, divisor: f64) {
        let Some(out) = self.last_metric().and_then(|m| m.histogram.as_mut()) else {
            return;
        };
        native_into(out, h, divisor);
    }

    fn sample(&mut self, s: &Sample<'_>) {
        if self.kind == Some(MetricKind::Histogram) {
            return self.distribution(s);
        }
        let Some(family) = self.out.last_mut() else {
            return;
        };
        if family.metric.is_empty() {
            // `_total`, `_info` or nothing: every sample of the family
            // has the same suffix.
            family.name.push_str(s.suffix);
        }
        let value = Some(Value {
            value: s.value.to_f64(),
        });
        let counter = family.r#type == COUNTER;
        family.metric.push(Metric {
            label: labels(s.labels, s.extra),
            counter: if counter { value.clone() } else { None },
            gauge: if counter { None } else { value },
            ..Metric::default()
        });
    }
}

/// The native buckets of `h` (in the base unit: divided by `divisor`).
fn native_into(out: &mut Histogram, h: &HistogramSnapshot, divisor: f64) {
    let n = native_of(h, divisor, DEFAULT_MAX_BUCKETS);
    if n.schema < PROMETHEUS_MIN_SCHEMA {
        return;
    }
    out.schema = n.schema;
    out.zero_threshold = n.zero_threshold;
    out.zero_count = n.zero_count;
    let spans = |offset: i32, counts: &[u64]| {
        let (spans, deltas) = spans_and_deltas(offset + 1, counts);
        let spans = spans
            .into_iter()
            .map(|(offset, length)| BucketSpan { offset, length })
            .collect::<Vec<_>>();
        (spans, deltas)
    };
    (out.positive_span, out.positive_delta) = spans(n.positive_offset, &n.positive);
    (out.negative_span, out.negative_delta) = spans(n.negative_offset, &n.negative);
    if out.positive_span.is_empty() && out.negative_span.is_empty() {
        // No observation off zero: a no-op span marks the histogram as
        // native (metrics.proto's rule).
        out.positive_span.push(BucketSpan::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Totals;
    use crate::{Registry, Unit};
    use prost::Message;

    fn decode(mut body: &[u8]) -> Vec<MetricFamily> {
        let mut out = Vec::new();
        while !body.is_empty() {
            out.push(MetricFamily::decode_length_delimited(&mut body).unwrap());
        }
        out
    }

    #[test]
    fn every_kind_as_the_text_formats_map_it() {
        let reg = Registry::new();
        reg.counter("jobs", "Jobs").unwrap().add(3);
        reg.gauge("depth", "Depth").unwrap().set(-2);
        let lat = reg.histogram("lat", "Latency", Unit::Milliseconds).unwrap();
        for v in [0, 2, 20, 20, 300] {
            lat.record(v);
        }
        let opts = TextOptions::new().buckets(&[0.01, 0.1]);
        let mut body = Vec::new();
        render_into(&reg.collect(), &mut body, &opts);
        let fams = decode(&body);
        let names: Vec<_> = fams.iter().map(|f| (f.name.as_str(), f.r#type)).collect();
        assert_eq!(
            names,
            [
                ("depth", GAUGE),
                ("jobs_total", COUNTER),
                ("lat_seconds", HISTOGRAM)
            ]
        );
        assert_eq!(fams[1].metric[0].counter, Some(Value { value: 3.0 }));
        assert_eq!(fams[0].metric[0].gauge, Some(Value { value: -2.0 }));
        let h = fams[2].metric[0].histogram.as_ref().unwrap();
        assert_eq!((h.sample_count, h.sample_sum), (5, 0.342));
        let classic: Vec<_> = h
            .bucket
            .iter()
            .map(|b| (b.upper_bound, b.cumulative_count))
            .collect();
        assert_eq!(classic, [(0.01, 2), (0.1, 4)]);
        assert_eq!(h.zero_count, 1);
        assert_eq!(h.zero_threshold, 0.0);
        assert!((-4..=8).contains(&h.schema));
        // Deltas add up to the counts; the counts to the observations.
        let mut count = 0i64;
        let total: i64 = h
            .positive_delta
            .iter()
            .map(|d| {
                count += d;
                count
            })
            .sum();
        assert_eq!(total as u64 + h.zero_count, h.sample_count);
        assert!(h.negative_span.is_empty());
    }

    #[test]
    fn bucket_indices_follow_prometheus() {
        // Prometheus' bucket i at schema s holds (2^((i-1)/2^s), 2^(i/2^s)].
        let reg = Registry::new();
        let h = reg.histogram("h", "H", Unit::None).unwrap();
        h.record(3);
        h.record(3);
        h.record(1000);
        let fams = decode(&render(&reg.collect()));
        let n = fams[0].metric[0].histogram.as_ref().unwrap();
        let index = |v: f64| (v.log2() * f64::from(n.schema).exp2()).ceil() as i32;
        let first = n.positive_span[0].offset;
        assert_eq!(first, index(3.0), "schema {}", n.schema);
        let ends: i32 = n
            .positive_span
            .iter()
            .map(|s| s.offset + s.length as i32)
            .sum();
        assert_eq!(ends - 1, index(1000.0));
        assert_eq!(
            (n.positive_delta[0], n.positive_delta.last()),
            (2, Some(&-1))
        );
    }

    #[test]
    fn an_empty_histogram_is_marked_native() {
        let empty = HistogramSnapshot::from_parts(
            crate::Precision::DEFAULT,
            vec![],
            Totals::integers(0, 0, 0),
            0,
        );
        let mut h = Histogram::default();
        native_into(&mut h, &empty, 1.0);
        assert_eq!(h.positive_span, [BucketSpan::default()]);
        assert!(h.negative_span.is_empty() && h.positive_delta.is_empty());
        // Zeros only: the zero bucket, and the no-op span.
        let zeros = HistogramSnapshot::from_parts(
            crate::Precision::DEFAULT,
            vec![(crate::Precision::DEFAULT.zero_index() as u32, 3)],
            Totals::integers(0, 0, 0),
            0,
        );
        let mut h = Histogram::default();
        native_into(&mut h, &zeros, 1.0);
        assert_eq!((h.zero_count, h.positive_span.len()), (3, 1));
    }
}
