//! How `metrics` names, label keys and units become hotmetrics ones.
#![forbid(unsafe_code)]

use crate::descriptor::Unit;
use crate::names::{self, NameKind};
use std::borrow::Cow;

/// `name` as a valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`, not starting
/// with `__`): every other character becomes `_`, a leading digit gets a
/// `_` before it, and leading underscores are cut to one. `None` for an
/// empty name. Borrowed when `name` is valid already.
pub(crate) fn metric_name(name: &str) -> Option<Cow<'_, str>> {
    names::sanitize(name, NameKind::Metric)
}

/// `key` as a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with
/// `__`), by the rules of [`metric_name`] (`:` is replaced too); the names
/// hotmetrics reserves (`overflow`, and `le` and `quantile` in a histogram)
/// get a `_` appended.
pub(crate) fn label_name(key: &str, histogram: bool) -> Option<String> {
    let mut s = names::sanitize(key, NameKind::Label)?.into_owned();
    if names::reserved_label(&s, histogram).is_some() {
        s.push('_');
    }
    Some(s)
}

/// What a metric kind's values go through on their way in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Mapping {
    /// The unit the metric is registered with.
    pub(crate) unit: Unit,
    /// What each value is multiplied by before it is recorded.
    pub(crate) scale: f64,
}

/// Which `metrics` call registers the metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// The unit and scale for a `kind` metric called `name`, described with
/// `unit` (if it was described before its first use).
///
/// - Histograms record integers, so time goes in as nanoseconds: a value
///   in seconds (`Unit::Seconds`, or no unit and a name ending in
///   `_seconds`) is multiplied by 10⁹, milliseconds by 10⁶, microseconds by
///   10³. Exposition divides again and writes seconds.
/// - Counters and gauges keep a time unit as it is (exposition converts to
///   seconds).
/// - Byte multiples become bytes (×1024ⁿ); no unit and a name ending in
///   `_bytes` is bytes.
/// - Every other unit (count, percent, rates) records values as they are:
///   a histogram rounds each to the nearest integer.
pub(crate) fn mapping(kind: Kind, unit: Option<metrics::Unit>, name: &str) -> Mapping {
    use metrics::Unit as M;
    let unit = unit.or_else(|| {
        if name.ends_with("_seconds") {
            Some(M::Seconds)
        } else if name.ends_with("_bytes") {
            Some(M::Bytes)
        } else {
            None
        }
    });
    let m = |unit, scale| Mapping { unit, scale };
    let time = |unit, to_nanos: f64| {
        if kind == Kind::Histogram {
            m(Unit::Nanoseconds, to_nanos)
        } else {
            m(unit, 1.0)
        }
    };
    match unit {
        Some(M::Seconds) => time(Unit::Seconds, 1e9),
        Some(M::Milliseconds) => time(Unit::Milliseconds, 1e6),
        Some(M::Microseconds) => time(Unit::Microseconds, 1e3),
        Some(M::Nanoseconds) => time(Unit::Nanoseconds, 1.0),
        Some(M::Bytes) => m(Unit::Bytes, 1.0),
        Some(M::Kibibytes) => m(Unit::Bytes, 1024.0),
        Some(M::Mebibytes) => m(Unit::Bytes, 1024.0 * 1024.0),
        Some(M::Gibibytes) => m(Unit::Bytes, 1024.0 * 1024.0 * 1024.0),
        Some(M::Tebibytes) => m(Unit::Bytes, 1024.0 * 1024.0 * 1024.0 * 1024.0),
        _ => m(Unit::None, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized_by_the_documented_rule() {
        for (input, want) in [
            ("http_requests", Some("http_requests")),
            ("http.requests", Some("http_requests")),
            ("ns:sub-metric", Some("ns:sub_metric")),
            ("9lives", Some("_9lives")),
            ("__reserved", Some("_reserved")),
            ("___x", Some("_x")),
            ("é", Some("_")),
            ("", None),
        ] {
            assert_eq!(metric_name(input).as_deref(), want, "{input:?}");
        }
        assert!(matches!(metric_name("ok_name"), Some(Cow::Borrowed(_))));
        assert_eq!(label_name("a:b", false).as_deref(), Some("a_b"));
        assert_eq!(label_name("le", true).as_deref(), Some("le_"));
        assert_eq!(label_name("le", false).as_deref(), Some("le"));
        assert_eq!(label_name("quantile", true).as_deref(), Some("quantile_"));
        assert_eq!(label_name("quantile", false).as_deref(), Some("quantile"));
        assert_eq!(label_name("overflow", false).as_deref(), Some("overflow_"));
        assert_eq!(label_name("", false), None);
    }

    #[test]
    fn units_map_to_integer_friendly_ones() {
        use metrics::Unit as M;
        let h = |u, name| mapping(Kind::Histogram, u, name);
        assert_eq!(
            h(Some(M::Seconds), "x"),
            Mapping {
                unit: Unit::Nanoseconds,
                scale: 1e9
            }
        );
        assert_eq!(h(None, "rpc_seconds").scale, 1e9);
        assert_eq!(h(Some(M::Milliseconds), "x").scale, 1e6);
        assert_eq!(h(Some(M::Nanoseconds), "x").scale, 1.0);
        assert_eq!(
            h(Some(M::Kibibytes), "x"),
            Mapping {
                unit: Unit::Bytes,
                scale: 1024.0
            }
        );
        assert_eq!(h(None, "body_bytes").unit, Unit::Bytes);
        assert_eq!(h(Some(M::Percent), "x_seconds").unit, Unit::None);
        assert_eq!(
            h(None, "x"),
            Mapping {
                unit: Unit::None,
                scale: 1.0
            }
        );
        let g = mapping(Kind::Gauge, Some(M::Milliseconds), "x");
        assert_eq!(
            g,
            Mapping {
                unit: Unit::Milliseconds,
                scale: 1.0
            }
        );
        let c = mapping(Kind::Counter, Some(M::Mebibytes), "x");
        assert_eq!(
            c,
            Mapping {
                unit: Unit::Bytes,
                scale: 1048576.0
            }
        );
    }
}
