//! Prometheus remote write 1.0: a [`Snapshot`] as a protobuf
//! [`WriteRequest`], snappy block-compressed.
//!
//! The series are exactly those a scrape of the same snapshot yields: the
//! snapshot is rendered by [`export::prometheus`](crate::export::prometheus)
//! (same names, unit suffixes, `_total`, classic `_bucket{le}` / `_sum` /
//! `_count` derived with the same `le` rule, state sets as 0/1 gauges) and
//! each sample line becomes one time series. One renderer is the single
//! source of truth for names, so a pushed series and a scraped one can be
//! joined in a query. Labels are sorted by name with `__name__` first, as
//! the protocol requires; every sample carries the push's timestamp in ms.
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

use crate::export::{prometheus, TextOptions};
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
    let mut text = String::new();
    prometheus::render_into(snap, &mut text, opts);
    let mut req = WriteRequest::default();
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some((labels, value)) = parse_sample(line) {
            req.timeseries.push(TimeSeries {
                labels,
                samples: vec![Sample {
                    value,
                    timestamp: timestamp_ms,
                }],
            });
        }
    }
    req
}

/// `snap` as a snappy-compressed `WriteRequest`: the body of one push.
pub fn encode(snap: &Snapshot, opts: &TextOptions, timestamp_ms: i64) -> Vec<u8> {
    let raw = prost::Message::encode_to_vec(&write_request(snap, opts, timestamp_ms));
    // The block format (not the framed stream), as the protocol requires.
    // Compression of a valid buffer cannot fail short of a > 4 GiB input,
    // which a snapshot does not reach; an empty body is then sent and
    // refused, and the next push carries the same cumulative values.
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

/// One exposition line `name{k="v",...} value` as sorted labels and a
/// value; `None` for a line the renderer does not write.
fn parse_sample(line: &str) -> Option<(Vec<Label>, f64)> {
    let name_end = line.find(['{', ' '])?;
    let mut labels = vec![Label {
        name: "__name__".into(),
        value: line[..name_end].into(),
    }];
    let mut rest = &line[name_end..];
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let eq = rest.find('=')?;
            let name = rest[..eq].to_string();
            let mut value = String::new();
            let mut chars = rest[eq + 1..].strip_prefix('"')?.char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        c => value.push(c),
                    },
                    (_, c) => value.push(c),
                }
            };
            labels.push(Label { name, value });
            rest = &rest[eq + 1 + 1 + end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }
    let value = match rest.trim() {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().ok()?,
    };
    labels[1..].sort_by(|a, b| a.name.cmp(&b.name));
    Some((labels, value))
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
    fn parses_escaped_labels_and_sorts_them() {
        let (labels, v) = parse_sample(r#"m_total{zone="a\"b",path="C:\\x\n",b="}"} 2.5"#).unwrap();
        let got: Vec<_> = labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("__name__", "m_total"),
                ("b", "}"),
                ("path", "C:\\x\n"),
                ("zone", "a\"b")
            ]
        );
        assert_eq!(v, 2.5);
        assert_eq!(parse_sample("up +Inf").unwrap().1, f64::INFINITY);
        assert!(parse_sample("broken{a=1} 3").is_none());
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
}
