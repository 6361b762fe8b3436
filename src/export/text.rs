//! The Prometheus 0.0.4 and OpenMetrics 1.0 text writers: escaping,
//! number formatting, headers, and [`Writer`], the [`Visitor`] of the
//! sample stream that writes one line per sample, taking the differences
//! between the formats as a [`Dialect`].
//!
//! Everything is appended to one `String` with `push_str`, numbers through
//! `itoa`/`ryu`; nothing is formatted with `format!` and nothing is
//! allocated per series (two scratch strings per render here, two in the
//! stream, reused).
#![forbid(unsafe_code)]

use super::samples::{self, Family, Sample, Value, Visitor};
use super::TextOptions;
use crate::descriptor::MetricKind;
use crate::snapshot::{LabelSet, Snapshot};

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

/// Appends a sample's value: integers as integers, the rest as floats.
fn push_value(out: &mut String, v: Value) {
    match v {
        Value::Count(v) => push_u64(out, v),
        Value::Scaled(v, divisor) => push_scaled(out, v, divisor),
        Value::ScaledSigned(v, divisor) => push_scaled_i64(out, v, divisor),
        Value::Float(v) => push_f64(out, v),
    }
}

/// Appends every family of `snap` to `out`.
pub(crate) fn render(snap: &Snapshot, out: &mut String, opts: &TextOptions, dialect: Dialect) {
    let mut writer = Writer {
        out,
        dialect,
        labels: String::new(),
        prefix: String::new(),
    };
    samples::visit(snap, opts, &mut writer);
    if dialect == Dialect::OpenMetrics {
        writer.out.push_str("# EOF\n");
    }
}

/// The text writer: one block of headers per family, one line per sample.
struct Writer<'o> {
    out: &'o mut String,
    dialect: Dialect,
    /// The current series' labels, escaped, without braces.
    labels: String,
    /// The start of the current series' bucket lines
    /// (`name_bucket{labels,le="`), empty until its first bucket.
    prefix: String,
}

/// Appends a family's header lines: `# HELP` (when there is help text),
/// `# TYPE`, and in OpenMetrics `# UNIT` (for a family with a unit).
fn headers(out: &mut String, family: &Family<'_>, dialect: Dialect) {
    let kind = match (family.kind, dialect) {
        _ if family.summary => "summary",
        (MetricKind::StateSet | MetricKind::Info, Dialect::Prometheus) => "gauge",
        (k, _) => k.as_str(),
    };
    if dialect == Dialect::Prometheus {
        help(out, family, dialect);
    }
    header(out, "# TYPE ", family, dialect);
    out.push_str(kind);
    out.push('\n');
    if dialect == Dialect::OpenMetrics {
        if !family.unit.is_empty() {
            header(out, "# UNIT ", family, dialect);
            out.push_str(family.unit);
            out.push('\n');
        }
        help(out, family, dialect);
    }
}

/// Appends `# <what><name><suffix> `: Prometheus 0.0.4 names a counter
/// family by its sample name (`_total`), and an info metric, a gauge
/// there, by its one sample's (`_info`); OpenMetrics does not.
fn header(out: &mut String, what: &str, family: &Family<'_>, dialect: Dialect) {
    out.push_str(what);
    out.push_str(family.name);
    if dialect == Dialect::Prometheus {
        if let Some(suffix) = family.kind.sample_suffix() {
            out.push_str(suffix);
        }
    }
    out.push(' ');
}

fn help(out: &mut String, family: &Family<'_>, dialect: Dialect) {
    if !family.help.is_empty() {
        header(out, "# HELP ", family, dialect);
        push_help(out, family.help, dialect);
        out.push('\n');
    }
}

impl Visitor for Writer<'_> {
    /// Writes the family's header lines: made once per descriptor and
    /// format, and copied on every later render (see `TextCache`).
    fn family(&mut self, family: &Family<'_>) {
        let Some(cache) = family.cache else {
            return headers(self.out, family, self.dialect);
        };
        let which = match self.dialect {
            Dialect::Prometheus => 0,
            Dialect::OpenMetrics => 1,
        };
        let dialect = self.dialect;
        self.out.push_str(cache.header(which, || {
            let mut text = String::new();
            headers(&mut text, family, dialect);
            text
        }));
    }

    fn series(&mut self, labels: &LabelSet) {
        self.prefix.clear();
        let out = &mut self.labels;
        out.clear();
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            samples::push_label_name(out, k);
            out.push_str("=\"");
            push_label_value(out, v);
            out.push('"');
        }
    }

    fn sample(&mut self, s: &Sample<'_>) {
        let out = &mut *self.out;
        let labels = self.labels.as_str();
        if let ("_bucket", Some((_, le))) = (s.suffix, s.extra) {
            // A series' bucket lines share their start, written once; `le`
            // is a number or `+Inf`, with nothing to escape.
            if self.prefix.is_empty() {
                let p = &mut self.prefix;
                p.push_str(s.name);
                p.push_str("_bucket{");
                if !labels.is_empty() {
                    p.push_str(labels);
                    p.push(',');
                }
                p.push_str("le=\"");
            }
            out.push_str(&self.prefix);
            out.push_str(le);
            out.push_str("\"} ");
        } else {
            out.push_str(s.name);
            out.push_str(s.suffix);
            if !labels.is_empty() || s.extra.is_some() {
                out.push('{');
                out.push_str(labels);
                if let Some((k, v)) = s.extra {
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
        }
        push_value(out, s.value);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
