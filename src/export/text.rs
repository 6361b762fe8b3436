//! What the Prometheus 0.0.4 and OpenMetrics 1.0 text formats share:
//! escaping, number formatting, exported names, and the family writer,
//! which takes the differences as a [`Dialect`].
//!
//! Everything is appended to one `String` with `push_str`, numbers through
//! `itoa`/`ryu`; nothing is formatted with `format!` and nothing is
//! allocated per series (three scratch strings per render, reused).
#![forbid(unsafe_code)]

use super::options::{Bound, ShapeRef, TextOptions};
use crate::descriptor::{Descriptor, MetricKind};
use crate::names::{self, NameKind};
use crate::snapshot::{HistogramSnapshot, MetricSnapshot, MetricValue, Snapshot};

/// Which text format is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Prometheus text exposition format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

/// Appends `s` with `\` → `\\`, newline → `\n` and, if `quote`, `"` → `\"`.
/// Every other character, any UTF-8, is copied as is.
fn push_escaped(out: &mut String, s: &str, quote: bool) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'"' if quote => "\\\"",
            _ => continue,
        };
        // `i` is the index of an ASCII byte, so a char boundary.
        out.push_str(&s[start..i]);
        out.push_str(rep);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Appends a label value escaped for either format (`\\`, `\"`, `\n`).
pub(crate) fn push_label_value(out: &mut String, v: &str) {
    push_escaped(out, v, true);
}

/// Appends help text escaped for `dialect`: Prometheus 0.0.4 escapes only
/// `\` and newline in `# HELP`; OpenMetrics escapes `"` as well.
pub(crate) fn push_help(out: &mut String, help: &str, dialect: Dialect) {
    push_escaped(out, help, dialect == Dialect::OpenMetrics);
}

/// Appends `name` as a valid name: `[a-zA-Z_:][a-zA-Z0-9_:]*` for a metric
/// (`colon`), without `:` for a label, by [`names::push_sanitized`]'s rule.
/// Names the registry accepted are already valid and copied as they are.
pub(crate) fn push_name(out: &mut String, name: &str, colon: bool) {
    let kind = if colon {
        NameKind::Metric
    } else {
        NameKind::Label
    };
    names::push_sanitized(out, name, kind);
}

pub(crate) fn push_u64(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// A float as both formats spell it: `NaN`, `+Inf`, `-Inf`, or the
/// shortest representation that reads back to the same value.
pub(crate) fn push_f64(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        out.push_str(ryu::Buffer::new().format_finite(v));
    }
}

/// An unsigned integer in the recorded unit, divided into the base unit.
fn push_scaled(out: &mut String, v: u128, divisor: f64) {
    if divisor == 1.0 {
        match u64::try_from(v) {
            // itoa's u64 path is several times faster than its u128 one.
            Ok(v) => push_u64(out, v),
            Err(_) => out.push_str(itoa::Buffer::new().format(v)),
        }
    } else {
        // Dividing by an exact power of ten rounds once, where multiplying
        // by its inexact inverse would round twice.
        push_f64(out, v as f64 / divisor);
    }
}

fn push_scaled_i64(out: &mut String, v: i64, divisor: f64) {
    if divisor == 1.0 {
        out.push_str(itoa::Buffer::new().format(v));
    } else {
        push_f64(out, v as f64 / divisor);
    }
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
/// `_total` for counters, with `_<base unit>` appended unless it already
/// ends so (`request_duration` in nanoseconds → `request_duration_seconds`).
pub(crate) fn family_name(out: &mut String, d: &Descriptor) {
    let mut name = d.name();
    if d.kind() == MetricKind::Counter {
        name = name.strip_suffix("_total").unwrap_or(name);
    }
    push_name(out, name, true);
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

/// Where the threshold of classic bound `le` (base unit) falls in recorded
/// units: observations `<= threshold` are counted. `None`: nothing is.
fn threshold(le: f64, divisor: f64) -> Option<u64> {
    let v = le * divisor;
    if v.is_nan() || v < 0.0 {
        return None;
    }
    if v >= u64::MAX as f64 {
        return Some(u64::MAX);
    }
    // `0.005 * 1e9` may come out a hair below 5e6: a bound within 1e-9 of
    // an integer is that integer; otherwise values are integers, so
    // `x <= v` is `x <= floor(v)`. (`v` is in `[0, 2^64)`, where `as`
    // truncates, that is floors; `round`/`floor` would be libm calls.)
    let nearest = (v + 0.5) as u64;
    if (v - nearest as f64).abs() <= 1e-9 * (nearest as f64).max(1.0) {
        Some(nearest)
    } else {
        Some(v as u64)
    }
}

/// Scratch space reused across the families of one render.
#[derive(Default)]
pub(crate) struct Scratch {
    /// The family's exported name.
    name: String,
    /// The current series' labels, escaped, without braces.
    labels: String,
    /// The start of the current series' bucket lines.
    prefix: String,
}

/// Appends one sample line: `name suffix {labels, extra} value\n`, the
/// value written by `value`.
fn sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &str,
    extra: Option<(&str, &str)>,
    value: impl FnOnce(&mut String),
) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || extra.is_some() {
        out.push('{');
        out.push_str(labels);
        if let Some((k, v)) = extra {
            if !labels.is_empty() {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            push_label_value(out, v);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    value(out);
    out.push('\n');
}

/// Appends every family of `snap` to `out`.
pub(crate) fn render(snap: &Snapshot, out: &mut String, opts: &TextOptions, dialect: Dialect) {
    let mut scratch = Scratch::default();
    for (d, series) in snap.families() {
        family(out, d, series, opts, dialect, &mut scratch);
    }
    if dialect == Dialect::OpenMetrics {
        out.push_str("# EOF\n");
    }
}

fn family(
    out: &mut String,
    d: &Descriptor,
    series: &[MetricSnapshot],
    opts: &TextOptions,
    dialect: Dialect,
    scratch: &mut Scratch,
) {
    scratch.name.clear();
    family_name(&mut scratch.name, d);
    let name = scratch.name.as_str();
    let (unit, divisor) = base_unit(d);
    let shape = match d.kind() {
        MetricKind::Histogram => Some(opts.shape(d.name(), name, d.unit())),
        _ => None,
    };
    let kind = match (d.kind(), shape, dialect) {
        (_, Some(ShapeRef::Summary(_)), _) => "summary",
        (MetricKind::StateSet, _, Dialect::Prometheus) => "gauge",
        (k, _, _) => k.as_str(),
    };
    // Prometheus 0.0.4 names a counter family by its sample name.
    let total = d.kind() == MetricKind::Counter;
    let header_suffix = if total && dialect == Dialect::Prometheus {
        "_total"
    } else {
        ""
    };
    let header = |out: &mut String, what: &str| {
        out.push_str(what);
        out.push_str(name);
        out.push_str(header_suffix);
        out.push(' ');
    };
    match dialect {
        Dialect::Prometheus => {
            if !d.help().is_empty() {
                header(out, "# HELP ");
                push_help(out, d.help(), dialect);
                out.push('\n');
            }
            header(out, "# TYPE ");
            out.push_str(kind);
            out.push('\n');
        }
        Dialect::OpenMetrics => {
            header(out, "# TYPE ");
            out.push_str(kind);
            out.push('\n');
            if !unit.is_empty() && d.kind() != MetricKind::StateSet {
                header(out, "# UNIT ");
                out.push_str(unit);
                out.push('\n');
            }
            if !d.help().is_empty() {
                header(out, "# HELP ");
                push_help(out, d.help(), dialect);
                out.push('\n');
            }
        }
    }

    for s in series {
        let labels = &mut scratch.labels;
        labels.clear();
        for (i, (k, v)) in s.labels().iter().enumerate() {
            if i > 0 {
                labels.push(',');
            }
            push_name(labels, k, false);
            labels.push_str("=\"");
            push_label_value(labels, v);
            labels.push('"');
        }
        let labels = labels.as_str();
        match s.value() {
            MetricValue::Counter(v) => {
                let suffix = if total { "_total" } else { "" };
                sample(out, name, suffix, labels, None, |o| {
                    push_scaled(o, u128::from(*v), divisor)
                });
            }
            MetricValue::Gauge(v) => {
                sample(out, name, "", labels, None, |o| {
                    push_scaled_i64(o, *v, divisor)
                });
            }
            MetricValue::FloatGauge(v) => {
                sample(out, name, "", labels, None, |o| push_f64(o, v / divisor));
            }
            MetricValue::StateSet(states) => {
                // The state is a label named after the metric (OpenMetrics'
                // stateset; Prometheus reads it as a gauge of 0/1).
                let mut label_name = String::new();
                push_name(&mut label_name, name, false);
                for (state, on) in states {
                    sample(out, name, "", labels, Some((&label_name, state)), |o| {
                        o.push(if *on { '1' } else { '0' })
                    });
                }
            }
            MetricValue::Histogram(h) => match shape {
                Some(ShapeRef::Summary(q)) => summary(out, name, labels, h, q, divisor),
                Some(ShapeRef::Buckets(b)) => {
                    classic(out, name, labels, h, b, divisor, &mut scratch.prefix)
                }
                // A histogram value under a descriptor of another kind
                // cannot be built by the registry; write its buckets anyway.
                None => classic(out, name, labels, h, &[], divisor, &mut scratch.prefix),
            },
        }
    }
}

/// `_bucket` lines for `bounds` and `+Inf`, then `_count` and `_sum`.
///
/// One pass over the non-empty fine buckets, by index: for each bound, the
/// fine buckets counted are those whose upper bound is at most the
/// threshold, that is every index below the threshold's own bucket, and
/// that bucket too if the threshold is its upper bound. The fine buckets
/// are read once, in order (a binary search per bound was measured slower:
/// once the fine buckets outgrow the cache, each of its steps waits on
/// memory, where a sequential pass is prefetched).
fn classic(
    out: &mut String,
    name: &str,
    labels: &str,
    h: &HistogramSnapshot,
    bounds: &[Bound],
    divisor: f64,
    prefix: &mut String,
) {
    // `name_bucket{labels,le="`, written once per series.
    prefix.clear();
    prefix.push_str(name);
    prefix.push_str("_bucket{");
    if !labels.is_empty() {
        prefix.push_str(labels);
        prefix.push(',');
    }
    prefix.push_str("le=\"");
    let p = h.precision;
    let fine = &h.buckets;
    let (mut next, mut cumulative) = (0usize, 0u64);
    for b in bounds {
        if let Some(t) = threshold(b.value, divisor) {
            let i = p.index(t);
            let limit = if p.upper_bound(i) <= t { i + 1 } else { i };
            while let Some(&(index, count)) = fine.get(next) {
                if index as usize >= limit {
                    break;
                }
                cumulative += count;
                next += 1;
            }
        }
        out.push_str(prefix);
        out.push_str(&b.label);
        out.push_str("\"} ");
        push_u64(out, cumulative);
        out.push('\n');
    }
    out.push_str(prefix);
    out.push_str("+Inf\"} ");
    push_u64(out, h.count());
    out.push('\n');
    sample(out, name, "_count", labels, None, |o| {
        push_u64(o, h.count())
    });
    sample(out, name, "_sum", labels, None, |o| {
        push_scaled(o, h.sum(), divisor)
    });
}

/// `{quantile="q"}` lines, then `_count` and `_sum`. An empty histogram's
/// quantiles are `NaN`.
fn summary(
    out: &mut String,
    name: &str,
    labels: &str,
    h: &HistogramSnapshot,
    quantiles: &[Bound],
    divisor: f64,
) {
    for q in quantiles {
        sample(
            out,
            name,
            "",
            labels,
            Some(("quantile", &q.label)),
            |o| match h.quantile(q.value) {
                Some(v) => push_scaled(o, u128::from(v), divisor),
                None => o.push_str("NaN"),
            },
        );
    }
    sample(out, name, "_count", labels, None, |o| {
        push_u64(o, h.count())
    });
    sample(out, name, "_sum", labels, None, |o| {
        push_scaled(o, h.sum(), divisor)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::Unit;

    fn esc(s: &str, quote: bool) -> String {
        let mut o = String::new();
        push_escaped(&mut o, s, quote);
        o
    }

    #[test]
    fn escaping() {
        assert_eq!(esc("plain", true), "plain");
        assert_eq!(esc(r#"a"b"#, true), r#"a\"b"#);
        assert_eq!(esc(r#"a"b"#, false), r#"a"b"#);
        assert_eq!(esc("back\\slash", true), r"back\\slash");
        assert_eq!(esc("two\nlines\n", false), r"two\nlines\n");
        assert_eq!(
            esc("\\n", true),
            r"\\n",
            "a literal backslash-n stays two characters"
        );
        assert_eq!(esc("ünï\u{1F600}\"", true), "ünï\u{1F600}\\\"");
        assert_eq!(esc("tab\there\r", true), "tab\there\r");
        assert_eq!(esc("", true), "");
        let mut help = String::new();
        push_help(&mut help, "say \"hi\"\\", Dialect::Prometheus);
        assert_eq!(help, r#"say "hi"\\"#);
        help.clear();
        push_help(&mut help, "say \"hi\"\\", Dialect::OpenMetrics);
        assert_eq!(help, r#"say \"hi\"\\"#);
    }

    #[test]
    fn names_are_made_valid() {
        let name = |s: &str, colon: bool| {
            let mut o = String::new();
            push_name(&mut o, s, colon);
            o
        };
        assert_eq!(name("ok_name:x", true), "ok_name:x");
        assert_eq!(name("ok_name:x", false), "ok_name_x");
        assert_eq!(name("9lives", false), "_9lives");
        assert_eq!(name("a-b é", false), "a_b__");
        assert_eq!(name("", false), "_");
    }

    #[test]
    fn numbers() {
        let f = |v: f64| {
            let mut o = String::new();
            push_f64(&mut o, v);
            o
        };
        assert_eq!(f(f64::NAN), "NaN");
        assert_eq!(f(f64::INFINITY), "+Inf");
        assert_eq!(f(f64::NEG_INFINITY), "-Inf");
        assert_eq!(f(-0.25), "-0.25");
        assert_eq!(f(1e-9), "1e-9");
        let s = |v: u128, d: f64| {
            let mut o = String::new();
            push_scaled(&mut o, v, d);
            o
        };
        assert_eq!(s(u128::from(u64::MAX) * 3, 1.0), "55340232221128654845");
        assert_eq!(s(1_500_000, 1e9), "0.0015");
        assert_eq!(s(3, 1e3), "0.003");
    }

    #[test]
    fn thresholds() {
        // Bounds given in seconds land on whole nanoseconds.
        assert_eq!(threshold(0.005, 1e9), Some(5_000_000));
        assert_eq!(threshold(0.1, 1e9), Some(100_000_000));
        assert_eq!(threshold(2.5, 1.0), Some(2));
        assert_eq!(threshold(0.0, 1.0), Some(0));
        assert_eq!(threshold(1e30, 1.0), Some(u64::MAX));
        assert_eq!(threshold(-1.0, 1.0), None);
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
}
