//! Property: whatever names, label values and help text a user passes,
//! registration either refuses with an error, or the exposition of
//! everything registered parses, in both text formats, by parsers no one
//! here wrote: `promtool check metrics` (Prometheus text 0.0.4; lint
//! findings about the style of a name are allowed, parse errors are not)
//! and the Python `prometheus_client` OpenMetrics parser.
//!
//! Each case registers a batch of counters, gauges, float gauges,
//! histograms and families into one registry, so that each case runs the
//! two parsers once. Names are arbitrary strings (most are refused),
//! near-valid names with the suffixes that collide once exported
//! (`_total`, `_count`, `_bucket`, `_seconds`, …), and label values and help
//! text are arbitrary Unicode with quotes, backslashes, newlines and empty
//! strings. Where a tool is missing the test prints `SKIPPED:` and passes,
//! except under CI (`CI` set), where it fails.

#[path = "common/parsers.rs"]
mod parsers;

use hotmetrics::export::{openmetrics, prometheus};
use hotmetrics::{Options, Registry, Unit};
use proptest::prelude::*;

/// What a case registers.
#[derive(Debug, Clone)]
enum Kind {
    Counter,
    Gauge,
    FloatGauge,
    Histogram(Unit),
    CounterFamily,
    GaugeFamily,
    HistogramFamily(Unit),
}

#[derive(Debug, Clone)]
struct Spec {
    kind: Kind,
    name: String,
    help: String,
    labels: Vec<String>,
    /// Label sets recorded into a family (each as many values as the
    /// family has names, cut or padded with "").
    values: Vec<Vec<String>>,
}

fn unit() -> impl Strategy<Value = Unit> {
    prop_oneof![
        Just(Unit::None),
        Just(Unit::Nanoseconds),
        Just(Unit::Seconds),
        Just(Unit::Bytes),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Counter),
        Just(Kind::Gauge),
        Just(Kind::FloatGauge),
        unit().prop_map(Kind::Histogram),
        Just(Kind::CounterFamily),
        Just(Kind::GaugeFamily),
        unit().prop_map(Kind::HistogramFamily),
    ]
}

/// Arbitrary strings (mostly refused), names from a small pool (so that
/// metrics meet each other) with and without the suffixes the formats add,
/// and near-valid names with colons and digits.
fn name() -> impl Strategy<Value = String> {
    let stem = prop_oneof![
        Just("a"),
        Just("dup"),
        Just("lat"),
        Just("svc:x"),
        Just("h")
    ];
    let suffix = prop_oneof![
        Just(""),
        Just("_total"),
        Just("_count"),
        Just("_sum"),
        Just("_bucket"),
        Just("_created"),
        Just("_info"),
        Just("_seconds"),
        Just("_bytes"),
        Just("_invalid"),
    ];
    prop_oneof![
        2 => any::<String>(),
        3 => (stem, suffix).prop_map(|(s, x)| format!("{s}{x}")),
        3 => "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}",
    ]
}

/// Text with the characters every escaping scheme cares about.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just(String::new()),
        "[a-zé€😀 \"\\\\\n\r\t{}=,#]{0,24}",
    ]
}

fn label_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z_][a-z0-9_]{0,6}",
        1 => Just("le".to_string()),
        1 => Just("quantile".to_string()),
        1 => any::<String>(),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        kind(),
        name(),
        text(),
        prop::collection::vec(label_name(), 1..3),
        prop::collection::vec(prop::collection::vec(text(), 0..4), 0..4),
    )
        .prop_map(|(kind, name, help, labels, values)| Spec {
            kind,
            name,
            help,
            labels,
            values,
        })
}

/// The values of one label set, fitted to `n` label names.
fn fit(values: &[String], n: usize) -> Vec<String> {
    let mut v: Vec<String> = values.iter().take(n).cloned().collect();
    v.resize(n, String::new());
    v
}

/// Whether registering `spec` records anything: a family records one
/// series per label set given.
fn records(spec: &Spec) -> bool {
    let family = matches!(
        spec.kind,
        Kind::CounterFamily | Kind::GaugeFamily | Kind::HistogramFamily(_)
    );
    !family || !spec.values.is_empty()
}

/// Registers `spec` and records into it; `false` if registration refused.
fn register(reg: &Registry, spec: &Spec) -> bool {
    let opts = || Options::new(spec.name.as_str(), spec.help.as_str());
    let fam = || opts().labels(&spec.labels);
    let sets = || spec.values.iter().map(|v| fit(v, spec.labels.len()));
    match &spec.kind {
        Kind::Counter => reg.counter_with(opts()).map(|c| c.add(3)).is_ok(),
        Kind::Gauge => reg.gauge_with(opts()).map(|g| g.set(-7)).is_ok(),
        Kind::FloatGauge => reg.float_gauge_with(opts()).map(|g| g.set(0.25)).is_ok(),
        Kind::Histogram(u) => reg
            .histogram_with(opts().unit(*u))
            .map(|h| {
                h.record(1_500);
                h.record_f64(f64::NAN);
            })
            .is_ok(),
        Kind::CounterFamily => reg
            .counter_family_with(fam())
            .map(|f| sets().for_each(|v| f.add(&v, 2)))
            .is_ok(),
        Kind::GaugeFamily => reg
            .gauge_family_with(fam())
            .map(|f| sets().for_each(|v| f.set(&v, 5)))
            .is_ok(),
        Kind::HistogramFamily(u) => reg
            .histogram_family_with(fam().unit(*u))
            .map(|f| sets().for_each(|v| f.record(&v, 42)))
            .is_ok(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 40,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn registration_refuses_or_every_text_format_parses(
        specs in prop::collection::vec(spec(), 4..16)
    ) {
        let reg = Registry::new();
        // Accepted registrations that recorded something: a family given
        // no label set has no series, and its internal counters are
        // written only once non-zero, so it exports nothing.
        let accepted = specs
            .iter()
            .filter(|s| register(&reg, s) && records(s))
            .count();
        let snap = reg.collect();

        let text = prometheus::render(&snap);
        parsers::assert_promtool_parses(&text);

        let om = openmetrics::render(&snap);
        prop_assert!(om.ends_with("# EOF\n"), "{}", om);
        if let Some(families) = parsers::openmetrics_families(&om) {
            // Every accepted registration is exported as at least one
            // family (several registrations may find the same metric).
            let exported = families.lines().count();
            prop_assert!(
                accepted == 0 || exported >= 1,
                "{} accepted, nothing exported:\n{}", accepted, om
            );
        }
    }
}

/// The property can fail: a label value with a raw newline (what the
/// exporter would write if it stopped escaping `\n`) is refused by both
/// parsers.
#[test]
fn the_parsers_refuse_an_unescaped_newline_in_a_label_value() {
    let bad = "# TYPE x gauge\nx{a=\"b\nc\"} 1\n";
    let refused = std::panic::catch_unwind(|| parsers::assert_promtool_parses(bad));
    let om = format!("{bad}# EOF\n");
    let refused_om = std::panic::catch_unwind(|| parsers::openmetrics_families(&om));
    if std::process::Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok()
    {
        assert!(refused.is_err(), "promtool accepted a raw newline");
    }
    if let Ok(Some(_)) = refused_om {
        panic!("the OpenMetrics parser accepted a raw newline");
    }
}
