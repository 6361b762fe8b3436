//! Real parsers no one here wrote read what the exporters write:
//!
//! - `promtool check metrics` (Prometheus's own parser and linter) on the
//!   Prometheus 0.0.4 text, both the golden file of every series shape
//!   (labels with quotes, backslashes, newlines and UTF-8, state sets,
//!   summaries, empty histograms) and live output of a registry;
//! - the OpenMetrics parser of the Python `prometheus_client` package
//!   (strict: it checks `# EOF`, `_total`, units, bucket order, `_count`
//!   and `_sum`) on the OpenMetrics text, golden and live.
//!
//! `scripts/test.sh` installs both (`apt-get install -y prometheus
//! python3-prometheus-client`); where they are missing these tests print
//! why and pass without checking, except under CI (`CI` set), where a
//! missing tool fails them so that a broken install cannot pass unnoticed.

use hotmetrics::export::{openmetrics, prometheus, TextOptions};
use hotmetrics::{Registry, Unit};
use std::io::Write;
use std::process::{Command, Stdio};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/");

/// Runs `cmd args` with `input` on stdin: (success, stdout + stderr), or
/// `None` if the program cannot be started.
fn run(cmd: &str, args: &[&str], input: &str) -> Option<(bool, String)> {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Some((out.status.success(), text))
}

/// Reports a missing tool: a failure under CI, a skip elsewhere.
fn missing(what: &str) {
    let msg = format!("SKIPPED: {what} (scripts/test.sh installs it)");
    assert!(
        std::env::var_os("CI").is_none(),
        "{msg}, and CI must run this test"
    );
    eprintln!("{msg}");
}

fn promtool(input: &str) -> Option<(bool, String)> {
    let r = run("promtool", &["check", "metrics"], input);
    if r.is_none() {
        missing("`promtool` is not installed (apt-get install -y prometheus)");
    }
    r
}

/// Parses OpenMetrics text with prometheus_client and prints one line per
/// family: name, type, unit, samples.
const PY_PARSE: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for f in text_string_to_metric_families(sys.stdin.read()):
    print(f.name, f.type, f.unit or "-", len(f.samples))
"#;

fn om_parser(input: &str) -> Option<(bool, String)> {
    // The Debian package installs into the system interpreter.
    for py in ["/usr/bin/python3", "python3"] {
        let Some((ok, out)) = run(py, &["-c", "import prometheus_client"], "") else {
            continue;
        };
        if ok {
            let _ = out;
            return run(py, &["-c", PY_PARSE], input);
        }
    }
    missing(
        "python3 with prometheus_client is not installed \
         (apt-get install -y python3-prometheus-client)",
    );
    None
}

/// A registry with every kind the public API makes, awkward help text
/// included.
fn live() -> Registry {
    let reg = Registry::new();
    reg.counter("jobs", "Jobs \"done\" \\ all\nof them")
        .unwrap()
        .add(12);
    reg.counter("bytes_sent_total", "Bytes sent")
        .unwrap()
        .add(7);
    reg.gauge("queue_depth", "Queue depth").unwrap().set(-3);
    reg.float_gauge("load", "Load (UTF-8: Grüße)")
        .unwrap()
        .set(0.75);
    let lat = reg
        .histogram("rpc_duration", "RPC latency", Unit::Nanoseconds)
        .unwrap();
    for v in [800_000, 3_000_000, 40_000_000, 2_000_000_000] {
        lat.record(v);
    }
    let size = reg
        .histogram("payload", "Payload size", Unit::Bytes)
        .unwrap();
    size.record(1500);
    // Rejected (NaN, of either sign): exported as the counter family
    // `payload_bytes_invalid`.
    size.record_f64(f64::NAN);
    size.record_f64(-f64::NAN);
    reg.histogram("attempts", "Attempts per job", Unit::None)
        .unwrap()
        .record(3);
    reg.histogram("never", "Never recorded", Unit::Microseconds)
        .unwrap();
    // No help text given: one is made from the name.
    reg.gauge("no_help_given", "").unwrap().set(1);
    reg
}

#[test]
fn promtool_accepts_the_golden_prometheus_text() {
    let text = std::fs::read_to_string(GOLDEN.to_string() + "every_type.prom").unwrap();
    let Some((ok, out)) = promtool(&text) else {
        return;
    };
    assert!(ok && out.trim().is_empty(), "promtool: {out}");
}

#[test]
fn promtool_accepts_live_prometheus_text_in_every_shape() {
    let snap = live().collect();
    for opts in [
        TextOptions::new(),
        TextOptions::new().buckets(&[0.001, 0.01, 0.1, 1.0, 1e4]),
        TextOptions::new().summary(&[0.5, 0.9, 0.99, 0.999]),
    ] {
        let mut text = String::new();
        prometheus::render_into(&snap, &mut text, &opts);
        assert!(text.contains("\npayload_bytes_invalid_total 2\n"), "{text}");
        let Some((ok, out)) = promtool(&text) else {
            return;
        };
        assert!(ok && out.trim().is_empty(), "promtool: {out}\n{text}");
    }
}

#[test]
fn promtool_rejects_broken_text() {
    // The check can fail: an unescaped quote in a label value.
    let Some((ok, _)) = promtool("# TYPE x gauge\nx{a=\"b\"c\"} 1\n") else {
        return;
    };
    assert!(!ok);
}

#[test]
fn openmetrics_parser_accepts_the_golden_text() {
    let text = std::fs::read_to_string(GOLDEN.to_string() + "every_type.om").unwrap();
    let Some((ok, out)) = om_parser(&text) else {
        return;
    };
    assert!(ok, "parser: {out}");
    // Every family, with the type, unit and sample count the golden file
    // was reviewed to have.
    let expected = "breaker stateset - 6\n\
                    errors counter - 1\n\
                    heap_bytes gauge bytes 1\n\
                    http_requests counter - 2\n\
                    idle_duration_seconds histogram seconds 28\n\
                    load_ratio gauge - 2\n\
                    payload_bytes summary bytes 5\n\
                    queue_depth gauge - 1\n\
                    request_duration_seconds histogram seconds 56\n";
    assert_eq!(out, expected);
}

#[test]
fn openmetrics_parser_accepts_live_text() {
    let snap = live().collect();
    let mut text = String::new();
    openmetrics::render_into(
        &snap,
        &mut text,
        &TextOptions::new().summary_for("payload_bytes", &[0.5, 0.99]),
    );
    let Some((ok, out)) = om_parser(&text) else {
        return;
    };
    assert!(ok, "parser: {out}\n{text}");
    assert!(
        out.contains("rpc_duration_seconds histogram seconds 28\n"),
        "{out}"
    );
    assert!(out.contains("payload_bytes summary bytes 4\n"), "{out}");
    assert!(out.contains("jobs counter - 1\n"), "{out}");
    assert!(out.contains("bytes_sent counter - 1\n"), "{out}");
    assert!(out.contains("payload_bytes_invalid counter - 1\n"), "{out}");
    assert!(text.contains("\npayload_bytes_invalid_total 2\n"), "{text}");
}

#[test]
fn openmetrics_parser_rejects_a_missing_eof() {
    let Some((ok, _)) = om_parser("# TYPE x gauge\nx 1\n") else {
        return;
    };
    assert!(!ok);
}

/// The series of a Prometheus text exposition: its sample lines.
fn series_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

/// A small service's metrics: a family per route, one that evicts, a
/// latency histogram family, a gauge.
fn small_app(reg: &Registry) -> hotmetrics::CounterFamily {
    let requests = reg
        .counter_family_with(
            hotmetrics::Options::new("requests", "Requests by route")
                .labels(&["route"])
                .max_series(2),
        )
        .unwrap();
    let jobs = reg
        .counter_family_with(
            hotmetrics::Options::new("jobs", "Jobs by queue")
                .labels(&["queue"])
                .evict_idle_after(1),
        )
        .unwrap();
    let latency = reg
        .histogram_family("request_duration", "Latency", Unit::Nanoseconds, &["route"])
        .unwrap();
    for route in ["/a", "/b"] {
        requests.inc(&[route]);
        latency.record(&[route], 2_000_000);
    }
    jobs.inc(&["q1"]);
    reg.gauge("inflight", "In flight").unwrap().set(1);
    requests
}

/// A family's internal counters (`_overflow`, `_evicted`) are written only
/// once non-zero: a small service's scrape has only its own series, and
/// gains each internal counter when it counts something.
#[test]
fn internal_counters_are_written_once_non_zero() {
    let reg = Registry::new();
    let requests = small_app(&reg);
    let text = prometheus::render(&reg.collect());
    let lines = series_lines(&text);
    // requests 2 + jobs 1 + inflight 1 + 2 histograms × (25 bounds + +Inf,
    // _count, _sum).
    assert_eq!(lines.len(), 2 + 1 + 1 + 2 * 28, "{text}");
    assert!(
        !text.contains("_overflow") && !text.contains("_evicted"),
        "{text}"
    );
    let om = openmetrics::render(&reg.collect());
    assert!(
        !om.contains("_overflow") && !om.contains("_evicted"),
        "{om}"
    );
    let json = hotmetrics::export::json::to_string(&reg.collect());
    assert!(
        !json.contains("_overflow") && !json.contains("_evicted"),
        "{json}"
    );
    // The snapshot still reads them.
    assert_eq!(reg.collect().counter("requests_overflow"), Some(0));
    if let Some((ok, out)) = promtool(&text) {
        assert!(ok && out.trim().is_empty(), "promtool: {out}\n{text}");
    }

    // A third route overflows; the idle `jobs` series is evicted and
    // reclaimed over the next collections.
    requests.inc(&["/c"]);
    for _ in 0..4 {
        reg.collect();
    }
    let snap = reg.collect();
    let text = prometheus::render(&snap);
    assert!(text.contains("\nrequests_overflow_total 1\n"), "{text}");
    assert!(
        text.contains("\nrequests_total{overflow=\"true\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("\njobs_evicted_total 1\n"), "{text}");
    let json = hotmetrics::export::json::to_string(&snap);
    assert!(json.contains("\"name\":\"requests_overflow\""), "{json}");
    assert!(json.contains("\"name\":\"jobs_evicted\""), "{json}");
    if let Some((ok, out)) = promtool(&text) {
        assert!(ok && out.trim().is_empty(), "promtool: {out}\n{text}");
    }
    let om = openmetrics::render(&snap);
    if let Some((ok, out)) = om_parser(&om) {
        assert!(ok, "parser: {out}\n{om}");
        assert!(out.contains("requests_overflow counter - 1\n"), "{out}");
        assert!(out.contains("jobs_evicted counter - 1\n"), "{out}");
    }
}

/// Units beyond the fixed list: each is the exported name's suffix and the
/// OpenMetrics `# UNIT`, and both real parsers accept the result.
#[test]
fn custom_units_are_exported_as_suffix_and_unit() {
    let reg = Registry::new();
    let requests = Unit::custom("requests").unwrap();
    let celsius = Unit::custom("celsius").unwrap();
    let ratio = Unit::custom("ratio").unwrap();
    let opts = |name: &str, help: &str, unit| hotmetrics::Options::new(name, help).unit(unit);
    reg.counter_with(opts("http_requests", "Requests served", requests))
        .unwrap()
        .add(3);
    reg.gauge_with(opts("room_temperature", "Temperature", celsius))
        .unwrap()
        .set(21);
    reg.float_gauge_with(opts("cache_hit", "Hit ratio", ratio))
        .unwrap()
        .set(0.25);
    reg.histogram_with(opts("batch", "Requests per batch", requests))
        .unwrap()
        .record(7);
    // The time units keep converting: a custom "milliseconds" is the
    // built-in one.
    assert_eq!(Unit::custom("milliseconds"), Ok(Unit::Milliseconds));
    let snap = reg.collect();

    let text = prometheus::render(&snap);
    for line in [
        "http_requests_total 3",
        "room_temperature_celsius 21",
        "cache_hit_ratio 0.25",
        "batch_requests_bucket{le=\"4.0\"} 0",
        "batch_requests_bucket{le=\"16.0\"} 1",
        "batch_requests_count 1",
        "batch_requests_sum 7",
    ] {
        assert!(text.contains(&format!("\n{line}\n")), "{line}: {text}");
    }
    if let Some((ok, out)) = promtool(&text) {
        assert!(ok && out.trim().is_empty(), "promtool: {out}\n{text}");
    }

    let om = openmetrics::render(&snap);
    for line in [
        "# UNIT http_requests requests",
        "# UNIT room_temperature_celsius celsius",
        "# UNIT cache_hit_ratio ratio",
        "# UNIT batch_requests requests",
    ] {
        assert!(om.contains(&format!("\n{line}\n")), "{line}: {om}");
    }
    if let Some((ok, out)) = om_parser(&om) {
        assert!(ok, "parser: {out}\n{om}");
        let expected = "batch_requests histogram requests 19\n\
                        cache_hit_ratio gauge ratio 1\n\
                        http_requests counter requests 1\n\
                        room_temperature_celsius gauge celsius 1\n";
        assert_eq!(out, expected);
    }
    let json = hotmetrics::export::json::to_string(&snap);
    assert!(json.contains("\"unit\":\"celsius\""), "{json}");
}

/// A unit that could not be a name's suffix, or would read as a sample
/// suffix, is refused with the reason.
#[test]
fn custom_units_are_validated() {
    for (bad, why) in [
        ("", "empty"),
        ("req/s", "letters"),
        ("per:sec", "letters"),
        ("_x", "underscore"),
        ("x_", "underscore"),
        ("9lives", "digit"),
        ("total", "suffix"),
        ("bucket", "suffix"),
        ("info", "suffix"),
    ] {
        let err = Unit::custom(bad).unwrap_err();
        assert!(err.to_string().contains(why), "{bad:?}: {err}");
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
    }
    for good in ["requests", "celsius", "ratio", "kilo_watts", "m2"] {
        assert_eq!(Unit::custom(good).unwrap().as_str(), good);
    }
}

/// Info metrics: OpenMetrics `info` (`build_info{..} 1`), a gauge
/// `build_info` in Prometheus text, `"type": "info"` in JSON; fixed values,
/// and the exported name `_info` reserved against other metrics.
#[test]
fn info_metrics_in_every_format() {
    let reg = Registry::new();
    let build = [("version", "1.2.3"), ("commit", "ab\"c")];
    reg.info("build", "Build information", &build).unwrap();
    // Again with the same values: the same metric.
    reg.info("build", "Build information", &build).unwrap();
    let other = reg.info(
        "build",
        "Build information",
        &[("version", "2"), ("commit", "x")],
    );
    assert!(
        matches!(other, Err(hotmetrics::RegistryError::Conflict { .. })),
        "{other:?}"
    );
    // `build_info` is the info metric's exported name.
    let clash = reg.gauge("build_info", "g");
    assert!(
        matches!(clash, Err(hotmetrics::RegistryError::Collision { .. })),
        "{clash:?}"
    );
    // A name ending in `_info` is the family's sample name.
    reg.info("runtime_info", "Runtime", &[("os", "linux")])
        .unwrap();
    assert!(reg.info("bad", "Bad", &[("le-x", "1")]).is_err());
    let snap = reg.collect();
    assert!(snap.info("build").unwrap().matches(&build));

    let text = prometheus::render(&snap);
    for part in [
        "# HELP build_info Build information\n# TYPE build_info gauge\n",
        "\nbuild_info{version=\"1.2.3\",commit=\"ab\\\"c\"} 1\n",
        "# TYPE runtime_info gauge\nruntime_info{os=\"linux\"} 1\n",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    if let Some((ok, out)) = promtool(&text) {
        assert!(ok && out.trim().is_empty(), "promtool: {out}\n{text}");
    }

    let om = openmetrics::render(&snap);
    for part in [
        "# TYPE build info\n# HELP build Build information\n",
        "\nbuild_info{version=\"1.2.3\",commit=\"ab\\\"c\"} 1\n",
        "# TYPE runtime info\n",
    ] {
        assert!(om.contains(part), "{part}: {om}");
    }
    if let Some((ok, out)) = om_parser(&om) {
        assert!(ok, "parser: {out}\n{om}");
        assert_eq!(out, "build info - 1\nruntime info - 1\n");
    }

    let json = hotmetrics::export::json::to_string(&snap);
    assert!(
        json.contains(
            r#"{"name":"build","type":"info","help":"Build information","unit":"","labels":{"version":"1.2.3","commit":"ab\"c"},"value":1}"#
        ),
        "{json}"
    );
}
