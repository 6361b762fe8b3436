//! Every metric type, labels with awkward values, both text formats and
//! JSON, against golden files under `tests/golden/` (reviewed by hand
//! against the format specifications; `UPDATE_GOLDEN=1` rewrites them, and
//! a rewrite needs the same review again). `tests/promtool.rs` has
//! `promtool` check the same files.
#![forbid(unsafe_code)]

use super::{json, openmetrics, prometheus, TextOptions};
use crate::buckets::Precision;
use crate::descriptor::{Descriptor, MetricKind, Unit};
use crate::snapshot::{HistogramSnapshot, LabelSet, MetricSnapshot, MetricValue, Snapshot, Totals};
use crate::sync::Arc;
use crate::Registry;

fn hist(values: &[u64]) -> HistogramSnapshot {
    let p = Precision::DEFAULT;
    let mut map = std::collections::BTreeMap::new();
    for &v in values {
        *map.entry(p.slot_index(p.index(v)) as u32).or_insert(0u64) += 1;
    }
    let totals = Totals::integers(
        values.iter().map(|&v| u128::from(v)).sum(),
        values.iter().copied().min().unwrap_or(u64::MAX),
        values.iter().copied().max().unwrap_or(0),
    );
    HistogramSnapshot::from_parts(p, map.into_iter().collect(), totals, 0)
}

fn desc(name: &str, help: &str, unit: Unit, kind: MetricKind) -> Arc<Descriptor> {
    Arc::new(Descriptor {
        name: name.into(),
        help: help.into(),
        unit,
        kind,
        precision: None,
        buckets: None,
        internal: false,
        text: Default::default(),
    })
}

fn series(d: &Arc<Descriptor>, labels: &[(&str, &str)], value: MetricValue) -> MetricSnapshot {
    MetricSnapshot {
        descriptor: d.clone(),
        labels: LabelSet::new(labels.iter().copied()),
        value,
    }
}

/// Label values that need escaping, and UTF-8.
const AWKWARD: [(&str, &str); 4] = [
    ("path", "C:\\dir\\"),
    ("quote", "say \"hi\""),
    ("nl", "line1\nline2"),
    ("utf8", "Grüße 🌍"),
];

/// One snapshot holding every series shape a snapshot can express.
pub(crate) fn every_type() -> Snapshot {
    use MetricKind::*;
    let requests = desc(
        "http_requests",
        "Requests served, by \"route\"\nsecond line \\ end",
        Unit::None,
        Counter,
    );
    let errors = desc("errors_total", "Errors seen", Unit::None, Counter);
    let temp = desc("queue_depth", "Jobs waiting", Unit::None, Gauge);
    let ratio = desc("load_ratio", "Load", Unit::None, FloatGauge);
    let mem = desc("heap", "Heap in use", Unit::Bytes, Gauge);
    let lat = desc(
        "request_duration",
        "Request latency",
        Unit::Nanoseconds,
        Histogram,
    );
    let size = desc("payload", "Payload size", Unit::Bytes, Histogram);
    let idle = desc(
        "idle_duration",
        "Never recorded",
        Unit::Milliseconds,
        Histogram,
    );
    let breaker = desc("breaker", "Circuit breaker state", Unit::None, StateSet);
    let states = |open: bool| {
        MetricValue::StateSet(vec![
            ("closed".into(), !open),
            ("open".into(), open),
            ("half_open".into(), false),
        ])
    };
    Snapshot::new(
        42,
        vec![
            series(
                &requests,
                &[("route", "/search")],
                MetricValue::Counter(1027),
            ),
            series(&requests, &AWKWARD, MetricValue::Counter(3)),
            series(&errors, &[], MetricValue::Counter(0)),
            series(&temp, &[], MetricValue::Gauge(-7)),
            series(&ratio, &[], MetricValue::FloatGauge(0.625)),
            series(
                &ratio,
                &[("core", "1")],
                MetricValue::FloatGauge(f64::INFINITY),
            ),
            series(&mem, &[], MetricValue::Gauge(1 << 20)),
            // 1 ms, 4.999 ms (its fine bucket 4,980,736..=5,046,271 ns
            // straddles the 5 ms bound, so it counts above it), 7 ms,
            // 20 ms, 3 s.
            series(
                &lat,
                &[("route", "/search")],
                MetricValue::Histogram(hist(&[
                    1_000_000,
                    4_999_000,
                    7_000_000,
                    20_000_000,
                    3_000_000_000,
                ])),
            ),
            series(&lat, &AWKWARD, MetricValue::Histogram(hist(&[250_000]))),
            series(
                &size,
                &[],
                MetricValue::Histogram(hist(&[10, 20, 30, 40, 5_000])),
            ),
            series(&idle, &[], MetricValue::Histogram(hist(&[]))),
            series(&breaker, &[("backend", "db")], states(false)),
            series(&breaker, &[("backend", "cache \"eu\"")], states(true)),
        ],
    )
}

fn options() -> TextOptions {
    TextOptions::new().summary_for("payload", &[0.5, 0.9, 0.99])
}

fn golden(file: &str, actual: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/").to_string() + file;
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{file} differs from the golden file.\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

#[test]
fn prometheus_golden() {
    let mut out = String::new();
    prometheus::render_into(&every_type(), &mut out, &options());
    golden("every_type.prom", &out);
}

#[test]
fn openmetrics_golden() {
    let mut out = String::new();
    openmetrics::render_into(&every_type(), &mut out, &options());
    golden("every_type.om", &out);
}

#[test]
fn json_golden() {
    golden(
        "every_type.json",
        &(json::to_string_pretty(&every_type()) + "\n"),
    );
}

#[test]
fn render_into_appends_and_reuses() {
    let snap = every_type();
    let once = prometheus::render(&snap);
    let mut buf = String::new();
    prometheus::render_into(&snap, &mut buf, &TextOptions::new());
    let cap = buf.capacity();
    buf.clear();
    prometheus::render_into(&snap, &mut buf, &TextOptions::new());
    assert_eq!(buf, once);
    assert_eq!(
        buf.capacity(),
        cap,
        "a second render fits in the first's buffer"
    );
    assert_eq!(prometheus::render(&Snapshot::default()), "");
    assert_eq!(openmetrics::render(&Snapshot::default()), "# EOF\n");
}

#[test]
fn classic_buckets_follow_the_le_rule() {
    // Fine buckets are exact below 128 at the default precision.
    let h = hist(&[0, 1, 2, 2, 3, 100, 127]);
    let d = desc("h", "", Unit::None, MetricKind::Histogram);
    let snap = Snapshot::new(1, vec![series(&d, &[], MetricValue::Histogram(h))]);
    let opts = TextOptions::new().buckets(&[0.0, 1.0, 2.5, 99.0, 100.0, 127.0]);
    let mut out = String::new();
    prometheus::render_into(&snap, &mut out, &opts);
    let expected = "# TYPE h histogram\n\
        h_bucket{le=\"0.0\"} 1\n\
        h_bucket{le=\"1.0\"} 2\n\
        h_bucket{le=\"2.5\"} 4\n\
        h_bucket{le=\"99.0\"} 5\n\
        h_bucket{le=\"100.0\"} 6\n\
        h_bucket{le=\"127.0\"} 7\n\
        h_bucket{le=\"+Inf\"} 7\n\
        h_count 7\n\
        h_sum 235\n";
    assert_eq!(out, expected);

    // Above 128 a fine bucket spans several values: between 512 and 1023
    // they are 8 wide, so 1003 lies in 1000..=1007, which straddles
    // le=1003 and so counts above it; le=1007 (the bucket's upper bound)
    // counts it.
    let h = hist(&[1003]);
    let b = h.buckets().next().unwrap();
    assert_eq!((b.lower, b.upper), (1000, 1007));
    let snap = Snapshot::new(1, vec![series(&d, &[], MetricValue::Histogram(h))]);
    let mut out = String::new();
    let opts = TextOptions::new().buckets(&[1003.0, 1007.0]);
    prometheus::render_into(&snap, &mut out, &opts);
    assert!(
        out.contains("h_bucket{le=\"1003.0\"} 0\nh_bucket{le=\"1007.0\"} 1\n"),
        "{out}"
    );
}

#[test]
fn bounds_and_quantiles_are_sorted_deduplicated_and_kept_finite() {
    let h = hist(&[1, 2, 3]);
    let d = desc("h", "", Unit::None, MetricKind::Histogram);
    let snap = Snapshot::new(1, vec![series(&d, &[], MetricValue::Histogram(h))]);
    let render = |opts: &TextOptions| {
        let mut out = String::new();
        prometheus::render_into(&snap, &mut out, opts);
        out
    };
    let bounds = [2.0, f64::NAN, 1.0, f64::INFINITY, 2.0, f64::NEG_INFINITY];
    let out = render(&TextOptions::new().buckets(&bounds));
    let les: Vec<&str> = out.lines().filter(|l| l.starts_with("h_bucket")).collect();
    assert_eq!(
        les,
        [
            "h_bucket{le=\"1.0\"} 1",
            "h_bucket{le=\"2.0\"} 2",
            "h_bucket{le=\"+Inf\"} 3"
        ]
    );
    let out = render(&TextOptions::new().summary(&[0.5, f64::NAN, 1.5, -0.1, 0.5]));
    let quantiles: Vec<&str> = out.lines().filter(|l| l.starts_with("h{")).collect();
    assert_eq!(quantiles, ["h{quantile=\"0.5\"} 2"]);
}

#[test]
fn counters_and_gauges_convert_to_the_base_unit() {
    let busy = desc("busy", "", Unit::Microseconds, MetricKind::Counter);
    let last = desc("last", "", Unit::Milliseconds, MetricKind::Gauge);
    let snap = Snapshot::new(
        1,
        vec![
            series(&busy, &[], MetricValue::Counter(2_500_000)),
            series(&last, &[], MetricValue::Gauge(-1500)),
        ],
    );
    assert_eq!(
        prometheus::render(&snap),
        "# TYPE busy_seconds_total counter\nbusy_seconds_total 2.5\n\
         # TYPE last_seconds gauge\nlast_seconds -1.5\n"
    );
    assert_eq!(
        openmetrics::render(&snap),
        "# TYPE busy_seconds counter\n# UNIT busy_seconds seconds\nbusy_seconds_total 2.5\n\
         # TYPE last_seconds gauge\n# UNIT last_seconds seconds\nlast_seconds -1.5\n# EOF\n"
    );
}

#[test]
fn json_reads_back() {
    let v: serde_json::Value = serde_json::from_str(&json::to_string(&every_type())).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["generation"], 42);
    let m = v["metrics"].as_array().unwrap();
    assert_eq!(m.len(), every_type().metrics().len());
    let awkward = m
        .iter()
        .find(|m| m["name"] == "http_requests" && m["value"] == 3)
        .unwrap();
    for (k, val) in AWKWARD {
        assert_eq!(awkward["labels"][k], val, "label {k} survives a round trip");
    }
    let lat = m
        .iter()
        .find(|m| m["name"] == "request_duration" && m["labels"]["route"] == "/search")
        .unwrap();
    assert_eq!(lat["count"], 5);
    assert_eq!(lat["sum"], 3_032_999_000u64);
    assert_eq!(lat["min"], 1_000_000);
    assert_eq!(lat["max"], 3_000_000_000u64);
    assert_eq!(lat["unit"], "nanoseconds");
    let idle = m.iter().find(|m| m["name"] == "idle_duration").unwrap();
    assert!(idle["p99"].is_null() && idle["min"].is_null() && idle["count"] == 0);
    let inf = m
        .iter()
        .find(|m| m["name"] == "load_ratio" && m["labels"]["core"] == "1")
        .unwrap();
    assert!(inf["value"].is_null(), "infinity is not JSON: null");
}

/// The header lines a render keeps with each descriptor are those a fresh
/// render writes, in both formats and for every form of histogram, and a
/// descriptor given new help text is rendered with it.
#[test]
fn header_text_kept_with_descriptors_matches_a_fresh_render() {
    let fresh = || {
        (
            prometheus::render(&every_type()),
            openmetrics::render(&every_type()),
        )
    };
    let snap = every_type();
    let summaries = TextOptions::new().summary(&[0.5, 0.99]);
    let mut outputs = Vec::new();
    for _ in 0..2 {
        outputs.push((prometheus::render(&snap), openmetrics::render(&snap)));
        let (mut p, mut o) = (String::new(), String::new());
        prometheus::render_into(&snap, &mut p, &summaries);
        openmetrics::render_into(&snap, &mut o, &summaries);
        outputs.push((p, o));
    }
    assert_eq!(outputs[0], fresh());
    assert_eq!(
        outputs[0], outputs[2],
        "the second render reads the kept text"
    );
    assert_eq!(outputs[1], outputs[3]);
    assert!(outputs[1].0.contains(" summary\n"), "{}", outputs[1].0);
    let (first, _) = &outputs[0];
    let help = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("# HELP"))
            .map(str::to_owned)
    };

    let reg = Registry::new();
    reg.counter("jobs", "Old help").unwrap().inc();
    let before = prometheus::render(&reg.collect());
    assert!(reg.set_help("jobs", MetricKind::Counter, "New \"help\"\\"));
    let after = prometheus::render(&reg.collect());
    assert_eq!(help(&before).unwrap(), "# HELP jobs_total Old help");
    assert_eq!(help(&after).unwrap(), "# HELP jobs_total New \"help\"\\\\");
    let om = openmetrics::render(&reg.collect());
    assert!(om.contains("# HELP jobs New \\\"help\\\"\\\\\n"), "{om}");
    assert!(help(first).is_some());
}
