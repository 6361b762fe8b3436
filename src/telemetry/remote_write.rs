//! Prometheus remote write 1.0: a [`Snapshot`] as a protobuf
//! [`WriteRequest`], snappy block-compressed.
//!
//! The series are exactly those a scrape of the same snapshot yields: each
//! sample of the stream that [`export::prometheus`](crate::export::prometheus)
//! writes as a line (same names, unit suffixes, `_total`, classic
//! `_bucket{le}` / `_sum` / `_count` derived with the same `le` rule, state
//! sets as 0/1 gauges) becomes one time series, its value the float the
//! line reads as. One stream is the single source of truth for names, so a
//! pushed series and a scraped one can be joined in a query; nothing is
//! rendered as text to be parsed back. Labels are sorted by name with
//! `__name__` first, as the protocol requires; every sample carries the
//! push's timestamp in ms.
//!
//! ```
//! use hotmetrics::telemetry::remote_write::{encode, WriteRequest};
//! use hotmetrics::export::TextOptions;
//! use prost::Message;
//!
//! let reg = hotmetrics::Registry::new();
//! reg.counter("jobs", "Jobs run").unwrap().add(3);
//! let body = encode(&reg.collect(), &TextOptions::new(), 1_700_000_000_000);
//! let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
//! let req = WriteRequest::decode(&raw[..]).unwrap();
//! assert_eq!(req.timeseries.len(), 1);
//! assert_eq!(req.timeseries[0].labels[0].value, "jobs_total");
//! assert_eq!(req.timeseries[0].samples[0].value, 3.0);
//! ```
#![forbid(unsafe_code)]

use crate::descriptor::MetricKind;
use crate::export::native::{native_of, spans_and_deltas, DEFAULT_MAX_BUCKETS};
use crate::export::samples::{self, Visitor};
use crate::export::TextOptions;
use crate::snapshot::{HistogramSnapshot, LabelSet};
use crate::Snapshot;

/// The request body (`prometheus.WriteRequest`; metadata omitted).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// One entry per series.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// One series: its labels and samples (`prometheus.TimeSeries`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Sorted by name, `__name__` first.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Native histogram samples, oldest first (`histograms = 4`; only
    /// with [`write_request_native`]).
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<Histogram>,
}

/// A native histogram sample (`prometheus.Histogram` of `types.proto`,
/// integer counts; the float variants of its `oneof`s are not written).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// Observations (`count_int`).
    #[prost(uint64, tag = "1")]
    pub count_int: u64,
    /// Their sum.
    #[prost(double, tag = "3")]
    pub sum: f64,
    /// The schema: buckets grow by `2^(2^-schema)`.
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    /// The zero bucket's half-width.
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    /// Observations in the zero bucket (`zero_count_int`).
    #[prost(uint64, tag = "6")]
    pub zero_count_int: u64,
    /// Negative bucket spans.
    #[prost(message, repeated, tag = "8")]
    pub negative_spans: Vec<BucketSpan>,
    /// Negative bucket counts as deltas.
    #[prost(sint64, repeated, tag = "9")]
    pub negative_deltas: Vec<i64>,
    /// Positive bucket spans.
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    /// Positive bucket counts as deltas.
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
}

/// Consecutive native buckets (`prometheus.BucketSpan`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
    /// First index (first span) or gap since the previous span.
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    /// Buckets in the span.
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

/// A label pair (`prometheus.Label`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    /// The label name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The label value, unescaped.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// One sample (`prometheus.Sample`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// The headers remote write 1.0 requires (besides `User-Agent`).
pub const HEADERS: [(&str, &str); 3] = [
    ("Content-Encoding", "snappy"),
    ("Content-Type", "application/x-protobuf"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
];

/// `snap` as a [`WriteRequest`], every sample at `timestamp_ms`.
pub fn write_request(snap: &Snapshot, opts: &TextOptions, timestamp_ms: i64) -> WriteRequest {
    let mut series = Series {
        req: WriteRequest::default(),
        timestamp_ms,
        native: false,
        histogram_family: None,
    };
    samples::visit(snap, opts, &mut series);
    series.req
}

/// [`write_request`] with each histogram (not written as a summary) as one
/// native histogram series, named as the family (`lat_seconds`) in its
/// base unit, instead of its classic `_bucket`, `_count` and `_sum`
/// series: the buckets of [`export::native`](crate::export::native), at
/// most 160, within the error bound stated there.
pub fn write_request_native(
    snap: &Snapshot,
    opts: &TextOptions,
    timestamp_ms: i64,
) -> WriteRequest {
    let mut series = Series {
        req: WriteRequest::default(),
        timestamp_ms,
        native: true,
        histogram_family: None,
    };
    samples::visit(snap, opts, &mut series);
    series.req
}

/// The visitor that makes each sample a time series.
struct Series {
    req: WriteRequest,
    timestamp_ms: i64,
    /// Histograms as native histogram series.
    native: bool,
    /// The current family's name when it is a histogram written as one.
    histogram_family: Option<String>,
}

impl Series {
    /// One native histogram series for `h` (divided by `divisor`).
    fn native(&mut self, labels: &LabelSet, h: &HistogramSnapshot, divisor: f64) {
        let Some(name) = &self.histogram_family else {
            return;
        };
        let n = native_of(h, divisor, DEFAULT_MAX_BUCKETS);
        let spans = |offset: i32, counts: &[u64]| {
            let (spans, deltas) = spans_and_deltas(offset + 1, counts);
            let spans = spans.into_iter().map(|(offset, length)| BucketSpan { offset, length });
            (spans.collect(), deltas)
        };
        let (positive_spans, positive_deltas) = spans(n.positive_offset, &n.positive);
        let (negative_spans, negative_deltas) = spans(n.negative_offset, &n.negative);
        let histogram = Histogram {
            count_int: n.count,
            sum: n.sum,
            schema: n.schema,
            zero_threshold: n.zero_threshold,
            zero_count_int: n.zero_count,
            negative_spans,
            negative_deltas,
            positive_spans,
            positive_deltas,
            timestamp: self.timestamp_ms,
        };
        let sample = samples::Sample {
            name,
            suffix: "",
            labels,
            extra: None,
            value: samples::Value::Count(0),
        };
        let mut ts = series_of(&sample);
        ts.histograms.push(histogram);
        self.req.timeseries.push(ts);
    }
}

/// The labels of `s`: `__name__` first, the rest sorted by name.
fn series_of(s: &samples::Sample<'_>) -> TimeSeries {
    let mut labels = Vec::with_capacity(1 + s.labels.len() + usize::from(s.extra.is_some()));
    let mut name = String::with_capacity(s.name.len() + s.suffix.len());
    name.push_str(s.name);
    name.push_str(s.suffix);
    labels.push(Label {
        name: "__name__".into(),
        value: name,
    });
    for (k, v) in s.labels.iter() {
        let mut name = String::with_capacity(k.len());
        samples::push_label_name(&mut name, k);
        labels.push(Label {
            name,
            value: v.into(),
        });
    }
    if let Some((k, v)) = s.extra {
        labels.push(Label {
            name: k.into(),
            value: v.into(),
        });
    }
    // Stable: equal names (which a registry does not make) keep the
    // order a scrape writes them in.
    labels[1..].sort_by(|a, b| a.name.cmp(&b.name));
    TimeSeries {
        labels,
        ..TimeSeries::default()
    }
}

impl Visitor for Series {
    fn family(&mut self, f: &samples::Family<'_>) {
        let native = self.native && f.kind == MetricKind::Histogram && !f.summary;
        self.histogram_family = native.then(|| f.name.to_string());
    }

    fn histogram(&mut self, labels: &LabelSet, h: &HistogramSnapshot, divisor: f64) {
        self.native(labels, h, divisor);
    }

    fn sample(&mut self, s: &samples::Sample<'_>) {
        if self.histogram_family.is_some() {
            // Carried by the native histogram series.
            return;
        }
        let mut ts = series_of(s);
        ts.samples.push(Sample {
            value: s.value.to_f64(),
            timestamp: self.timestamp_ms,
        });
        self.req.timeseries.push(ts);
    }
}

/// `snap` as a snappy-compressed `WriteRequest`: the body of one push.
pub fn encode(snap: &Snapshot, opts: &TextOptions, timestamp_ms: i64) -> Vec<u8> {
    compress(&write_request(snap, opts, timestamp_ms))
}

/// [`write_request_native`], snappy-compressed: the body of one push.
pub fn encode_native(snap: &Snapshot, opts: &TextOptions, timestamp_ms: i64) -> Vec<u8> {
    compress(&write_request_native(snap, opts, timestamp_ms))
}

/// A request as a push body.
fn compress(req: &WriteRequest) -> Vec<u8> {
    let raw = prost::Message::encode_to_vec(req);
    // The block format (not the framed stream), as the protocol requires.
    // Compression of a valid buffer cannot fail short of a > 4 GiB input,
    // which a snapshot does not reach; an empty body is then sent and
    // refused, and the next push carries the same cumulative values.
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Registry, Unit};

    fn pairs(ts: &TimeSeries) -> Vec<(&str, &str)> {
        ts.labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect()
    }

    #[test]
    fn native_histograms_replace_the_classic_series() {
        let reg = Registry::new();
        let h = reg
            .histogram_family("lat", "Latency", Unit::Nanoseconds, &["route"])
            .unwrap();
        for v in [0, 1_000_000, 1_000_000, 4_000_000] {
            h.with(&["/a"]).record(v);
        }
        reg.counter("jobs", "Jobs").unwrap().add(2);
        let req = write_request_native(&reg.collect(), &TextOptions::new(), 7);
        let names: Vec<_> = req.timeseries.iter().map(|t| pairs(t)).collect();
        assert_eq!(
            names,
            [
                vec![("__name__", "jobs_total")],
                vec![("__name__", "lat_seconds"), ("route", "/a")]
            ]
        );
        let ts = &req.timeseries[1];
        assert!(ts.samples.is_empty());
        let n = &ts.histograms[0];
        assert_eq!((n.count_int, n.zero_count_int, n.timestamp), (4, 1, 7));
        assert_eq!(n.sum, 0.006);
        let mut c = 0i64;
        let counts: Vec<i64> = n.positive_deltas.iter().map(|d| { c += d; c }).collect();
        assert_eq!(counts.iter().sum::<i64>(), 3);
        assert!(counts.contains(&2));
        // The classic form stays the default.
        let classic = write_request(&reg.collect(), &TextOptions::new(), 7);
        assert!(classic.timeseries.iter().all(|t| t.histograms.is_empty()));
        assert!(classic.timeseries.len() > 3);
    }

    #[test]
    fn labels_are_unescaped_and_sorted() {
        let reg = Registry::new();
        reg.float_gauge_family("m", "M", &["zone", "path", "b"])
            .unwrap()
            .with(&["a\"b", "C:\\x\n", "}"])
            .set(2.5);
        reg.float_gauge("up", "Up").unwrap().set(f64::INFINITY);
        let req = write_request(&reg.collect(), &TextOptions::new(), 0);
        let all: Vec<_> = req
            .timeseries
            .iter()
            .map(|t| (pairs(t), t.samples[0].value))
            .collect();
        // The family's `m_overflow` counter is zero: not written, as in
        // the text formats.
        assert_eq!(
            all,
            [
                (
                    vec![
                        ("__name__", "m"),
                        ("b", "}"),
                        ("path", "C:\\x\n"),
                        ("zone", "a\"b")
                    ],
                    2.5
                ),
                (vec![("__name__", "up")], f64::INFINITY),
            ]
        );
    }

    #[test]
    fn counters_histograms_and_state_sets_become_series() {
        let reg = Registry::new();
        reg.counter_family("rpc", "RPCs", &["route"])
            .unwrap()
            .with(&["/a"])
            .add(5);
        let h = reg.histogram("lat", "Latency", Unit::Nanoseconds).unwrap();
        h.record(500_000);
        h.record(3_000_000);
        reg.state_set("mode", "Mode", &["on", "off"])
            .unwrap()
            .set(1);
        let opts = TextOptions::new().buckets(&[0.001, 0.004]);
        let req = write_request(&reg.collect(), &opts, 42);
        let all: Vec<_> = req
            .timeseries
            .iter()
            .map(|t| (pairs(t), t.samples[0].value))
            .collect();
        let find = |want: &[(&str, &str)]| {
            all.iter()
                .find(|(p, _)| p.as_slice() == want)
                .unwrap_or_else(|| panic!("no {want:?} in {all:?}"))
                .1
        };
        assert_eq!(find(&[("__name__", "rpc_total"), ("route", "/a")]), 5.0);
        assert_eq!(
            find(&[("__name__", "lat_seconds_bucket"), ("le", "0.001")]),
            1.0
        );
        assert_eq!(
            find(&[("__name__", "lat_seconds_bucket"), ("le", "0.004")]),
            2.0
        );
        assert_eq!(
            find(&[("__name__", "lat_seconds_bucket"), ("le", "+Inf")]),
            2.0
        );
        assert_eq!(find(&[("__name__", "lat_seconds_count")]), 2.0);
        assert_eq!(find(&[("__name__", "lat_seconds_sum")]), 0.0035);
        assert_eq!(find(&[("__name__", "mode"), ("mode", "off")]), 1.0);
        assert_eq!(find(&[("__name__", "mode"), ("mode", "on")]), 0.0);
        assert!(req.timeseries.iter().all(|t| t.samples[0].timestamp == 42));
    }

    #[test]
    fn every_series_is_a_line_of_the_scrape() {
        let reg = Registry::new();
        reg.counter("jobs_total", "Jobs").unwrap().add(3);
        reg.gauge_with(crate::Options::new("temp", "T").unit(Unit::Milliseconds))
            .unwrap()
            .set(-1_500);
        reg.float_gauge("ratio", "R").unwrap().set(f64::NAN);
        let h = reg
            .histogram_family("lat", "L", Unit::Nanoseconds, &["path"])
            .unwrap();
        h.with(&["a\\\"b\n"]).record(2_000_000);
        h.with(&["/"]).record(u64::MAX);
        let sizes = reg.histogram("size", "S", Unit::Bytes).unwrap();
        sizes.record(700);
        reg.histogram("empty", "E", Unit::None).unwrap();
        reg.state_set("ns_mode", "M", &["on", "off"])
            .unwrap()
            .set(0);
        let opts = TextOptions::new().summary_for("size_bytes", &[0.5, 0.99]);
        let snap = reg.collect();
        let mut text = String::new();
        crate::export::prometheus::render_into(&snap, &mut text, &opts);
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        let req = write_request(&snap, &opts, 0);
        assert_eq!(req.timeseries.len(), lines.len(), "{text}");
        for (ts, line) in req.timeseries.iter().zip(&lines) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let got = ts.samples[0].value;
            let want: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap(),
            };
            assert!(
                got == want || got.is_nan() && want.is_nan(),
                "{line}: {got}"
            );
            let name = &ts.labels[0].value;
            assert!(
                series == name || series.starts_with(&format!("{name}{{")),
                "{line}: {name}"
            );
            let mut written = 0;
            for l in &ts.labels[1..] {
                let v = l.value.replace('\\', "\\\\");
                let v = v.replace('"', "\\\"").replace('\n', "\\n");
                assert!(
                    series.contains(&format!("{}=\"{v}\"", l.name)),
                    "{line}: {l:?}"
                );
                written += l.name.len() + v.len() + 3;
            }
            // No label is written that the series lacks: the name, the
            // pairs, two braces and a comma between pairs (n labels and
            // `__name__`: n + 1 characters) add up to the line's length.
            let n = ts.labels.len() - 1;
            let punctuation = if n > 0 { n + 1 } else { 0 };
            assert_eq!(series.len(), name.len() + punctuation + written, "{line}");
        }
    }
}
