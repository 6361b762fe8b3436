//! Metric name validation against the Prometheus data model: the
//! registry's errors over the rules in [`crate::names`].
#![forbid(unsafe_code)]

use super::RegistryError;
use crate::descriptor::MetricKind;
use crate::names::{self, NameKind};

/// Checks `name` against `[a-zA-Z_:][a-zA-Z0-9_:]*`; names starting with
/// `__` are reserved for Prometheus' internal use (the rules live in
/// `crate::names`).
pub(crate) fn validate(name: &str) -> Result<(), RegistryError> {
    names::check(name, NameKind::Metric).map_err(|reason| RegistryError::InvalidName {
        name: name.to_owned(),
        reason,
    })
}

/// Checks a family's label names: at least one; each matching
/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved), not
/// `overflow` (the overflow series' label), not `le` or `quantile` for a
/// histogram (its bucket and summary labels on export); no duplicates.
pub(crate) fn validate_labels(
    metric: &str,
    labels: &[String],
    kind: MetricKind,
) -> Result<(), RegistryError> {
    let fail = |label: &str, reason| invalid_label(metric, label, reason);
    if labels.is_empty() {
        return fail("", "a family needs at least one label name");
    }
    for (i, label) in labels.iter().enumerate() {
        if let Err(reason) = names::check(label, NameKind::Label) {
            return fail(label, reason);
        }
        if let Some(reason) = names::reserved_label(label, kind == MetricKind::Histogram) {
            return fail(label, reason);
        }
        if labels[..i].contains(label) {
            return fail(label, "it is given twice");
        }
    }
    Ok(())
}

/// Checks an info metric's label names: each valid, not reserved, given
/// once (none at all is allowed: `build_info 1`).
pub(crate) fn validate_info_labels(metric: &str, labels: &[String]) -> Result<(), RegistryError> {
    if labels.is_empty() {
        return Ok(());
    }
    validate_labels(metric, labels, MetricKind::Info)
}

/// The error for label (or state) `label` of metric `metric`.
fn invalid_label(metric: &str, label: &str, reason: &'static str) -> Result<(), RegistryError> {
    Err(RegistryError::InvalidLabel {
        name: metric.to_owned(),
        label: label.to_owned(),
        reason,
    })
}

/// Checks a state set's name and states. OpenMetrics labels a state set's
/// samples with the set's own name, so the name must also be a valid label
/// name: no colon. States: 1 to `max`, each non-empty, at most
/// [`MAX_LABEL_VALUE_LEN`](names::MAX_LABEL_VALUE_LEN) bytes, no duplicates
/// (any other UTF-8 is fine: states are exported as label values).
pub(crate) fn validate_states(
    metric: &str,
    states: &[String],
    max: usize,
) -> Result<(), RegistryError> {
    if metric.contains(':') {
        return Err(RegistryError::InvalidName {
            name: metric.to_owned(),
            reason: "a state set's name is also the label name of its samples, so it may not contain a colon",
        });
    }
    let fail = |label: &str, reason| invalid_label(metric, label, reason);
    if states.is_empty() {
        return fail("", "a state set needs at least one state");
    }
    if states.len() > max {
        return fail("", "a state set has at most 64 states");
    }
    for (i, s) in states.iter().enumerate() {
        if s.is_empty() {
            return fail(s, "a state name must not be empty");
        }
        if s.len() > names::MAX_LABEL_VALUE_LEN {
            return fail(
                s,
                "a state is a label value: at most 1024 bytes (the maximum label value length)",
            );
        }
        if states[..i].contains(s) {
            return fail(s, "it is given twice");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_rejects() {
        for ok in ["a", "_x", ":x", "http_requests", "a:b_c9", "X"] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a b", "é", "a.b", "__x", "a\n", "a\"b"] {
            let err = validate(bad).unwrap_err();
            assert!(err.to_string().contains("invalid metric name"), "{bad}");
        }
    }

    #[test]
    fn label_names() {
        let v = |l: &[&str], k| {
            let l: Vec<String> = l.iter().map(|s| s.to_string()).collect();
            validate_labels("m", &l, k)
        };
        assert!(v(&["route", "_x", "a9", "le"], MetricKind::Counter).is_ok());
        for bad in [
            &[][..],
            &["9a"],
            &["a:b"],
            &["a-b"],
            &[""],
            &["__x"],
            &["overflow"],
            &["a", "a"],
            &["é"],
        ] {
            let err = v(bad, MetricKind::Counter).unwrap_err();
            assert!(err.to_string().contains("label"), "{bad:?}: {err}");
        }
        assert!(v(&["le"], MetricKind::Histogram).is_err());
        assert!(v(&["route", "quantile"], MetricKind::Histogram).is_err());
        assert!(v(&["quantile"], MetricKind::Counter).is_ok());
        let s = |l: &[&str]| {
            let l: Vec<String> = l.iter().map(|s| s.to_string()).collect();
            validate_states("m", &l, 3)
        };
        assert!(s(&["closed", "open", "half open"]).is_ok());
        assert!(s(&[]).is_err() && s(&[""]).is_err() && s(&["a", "a"]).is_err());
        assert!(s(&["a", "b", "c", "d"]).is_err());
        let long = "x".repeat(names::MAX_LABEL_VALUE_LEN + 1);
        let err = s(&[&long]).unwrap_err().to_string();
        assert!(err.contains("1024 bytes"), "{err}");
        assert!(s(&[&long[1..]]).is_ok());
    }

    proptest! {
        #[test]
        #[cfg_attr(
            miri,
            ignore = "safe code only; proptest opens its regression file, which Miri's isolation refuses"
        )]
        fn never_panics_and_matches_the_regex(s in "\\PC{0,12}") {
            let re_ok = !s.is_empty()
                && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !s.starts_with("__");
            prop_assert_eq!(validate(&s).is_ok(), re_ok);
        }
    }
}
