//! The Prometheus name rules, in one place: what a metric name and a label
//! name may be, which label names hotmetrics reserves, and how the facade
//! and the text writers turn an arbitrary string into a valid name.
//!
//! Two crates use this file: `hotmetrics` (`mod names`) and the proc-macro
//! crate `hotmetrics-macros`, which includes the same file with
//! `#[path = "../../src/names.rs"] mod names;`. A proc-macro crate can
//! export nothing but macros, and `hotmetrics` cannot be its dependency
//! (it depends on the macros), so sharing the source is the way to have one
//! copy without a third crate of a hundred lines. The file therefore
//! compiles on its own: `std` only, no `crate::` paths, errors as plain
//! `&'static str` reasons that each crate wraps in its own error type.
//! (Packaging `hotmetrics-macros` on its own for a registry would need the
//! file inside that package, e.g. copied there when packaging; neither
//! crate is published yet.)
#![forbid(unsafe_code)]

use std::borrow::Cow;

/// The longest metric name accepted at registration, in bytes. Exported
/// names add at most a unit and a suffix (`_seconds_bucket`, `_created`).
// Compiled into the macros crate too, which uses only `check`.
#[allow(dead_code, unreachable_pub)]
pub const MAX_METRIC_NAME_LEN: usize = 256;

/// The longest label name accepted at registration, in bytes.
#[allow(dead_code, unreachable_pub)]
pub const MAX_LABEL_NAME_LEN: usize = 128;

/// The longest label value a family gives a series of its own, in bytes
/// (longer ones are refused into the overflow series, and counted); also
/// the longest state of a state set.
#[allow(dead_code, unreachable_pub)]
pub const MAX_LABEL_VALUE_LEN: usize = 1024;

/// Which kind of name a rule is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameKind {
    /// A metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    Metric,
    /// A label name: `[a-zA-Z_][a-zA-Z0-9_]*` (no `:`).
    Label,
}

/// Per byte, where it may stand. Bit 0: first in a label name, 1: later in
/// a label name, 2 and 3: the same in a metric name. Every non-ASCII byte
/// is 0, so a name with any non-ASCII character is invalid.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let alpha = c.is_ascii_alphabetic() || c == b'_';
        let digit = c.is_ascii_digit();
        t[b] = (alpha as u8)
            | ((alpha || digit) as u8) << 1
            | ((alpha || c == b':') as u8) << 2
            | ((alpha || digit || c == b':') as u8) << 3;
        b += 1;
    }
    t
};

impl NameKind {
    /// The [`CLASS`] bits for the first byte and for the others.
    const fn bits(self) -> (u8, u8) {
        match self {
            NameKind::Metric => (4, 8),
            NameKind::Label => (1, 2),
        }
    }
}

/// Whether `name` matches the character rule of `kind` (the reserved `__`
/// prefix is not checked here).
#[inline]
pub(crate) fn is_valid(name: &str, kind: NameKind) -> bool {
    let (first, rest) = kind.bits();
    match name.as_bytes() {
        [] => false,
        [f, tail @ ..] => {
            CLASS[usize::from(*f)] & first != 0
                && tail.iter().all(|&b| CLASS[usize::from(b)] & rest != 0)
        }
    }
}

/// Checks `name` as a registered metric (`NameKind::Metric`) or label
/// name: at most [`MAX_METRIC_NAME_LEN`] or [`MAX_LABEL_NAME_LEN`] bytes,
/// the character rule of `kind`, and no `__` prefix (reserved for
/// Prometheus' internal use). The error is the reason, for a message.
pub(crate) fn check(name: &str, kind: NameKind) -> Result<(), &'static str> {
    let (first, rest) = kind.bits();
    let metric = kind == NameKind::Metric;
    // First, so that an absurdly long name is not scanned.
    if metric && name.len() > MAX_METRIC_NAME_LEN {
        return Err("it is longer than 256 bytes (the maximum metric name length)");
    }
    if !metric && name.len() > MAX_LABEL_NAME_LEN {
        return Err("it is longer than 128 bytes (the maximum label name length)");
    }
    let mut bytes = name.bytes();
    match bytes.next() {
        None => return Err("it is empty"),
        Some(b) if CLASS[usize::from(b)] & first == 0 => {
            return Err(if metric {
                "it must start with a letter, '_' or ':'"
            } else {
                "it must start with a letter or '_'"
            })
        }
        Some(_) => {}
    }
    if !bytes.all(|b| CLASS[usize::from(b)] & rest != 0) {
        return Err(if metric {
            "only ASCII letters, digits, '_' and ':' are allowed"
        } else {
            "only ASCII letters, digits and '_' are allowed"
        });
    }
    if name.starts_with("__") {
        return Err(if metric {
            "names starting with '__' are reserved"
        } else {
            "label names starting with '__' are reserved"
        });
    }
    Ok(())
}

/// Why label name `name` is reserved by hotmetrics, if it is: `overflow`
/// names a family's overflow series; in a histogram (`histogram`), `le`
/// and `quantile` are the labels of its buckets and summary quantiles on
/// export.
pub(crate) fn reserved_label(name: &str, histogram: bool) -> Option<&'static str> {
    match name {
        "overflow" => Some("`overflow` is reserved for the overflow series"),
        "le" if histogram => Some("`le` is reserved for histogram buckets"),
        "quantile" if histogram => Some("`quantile` is reserved for summary quantiles"),
        _ => None,
    }
}

/// Appends `name` made valid for `kind` by the export rule: every
/// character the rule does not allow becomes `_`, a leading digit gets a
/// `_` before it, an empty name becomes `_`. A valid name is copied as it
/// is (the `__` prefix is left alone: registered names never have it).
pub(crate) fn push_sanitized(out: &mut String, name: &str, kind: NameKind) {
    if is_valid(name, kind) {
        out.push_str(name);
        return;
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    let (_, rest) = kind.bits();
    for c in name.chars() {
        let ok = c.is_ascii() && CLASS[c as usize] & rest != 0;
        out.push(if ok { c } else { '_' });
    }
}

/// `name` as a name hotmetrics accepts for `kind`, by the facade's rule:
/// [`push_sanitized`], then a leading run of underscores is cut to one
/// (`__` is reserved). `None` for an empty name; borrowed when `name` is
/// accepted as it is.
// Only the facade (feature `metrics-facade`) sanitises; the feature is not
// named here because the macros crate, which has none, compiles this file.
#[allow(dead_code)]
pub(crate) fn sanitize(name: &str, kind: NameKind) -> Option<Cow<'_, str>> {
    if name.is_empty() {
        return None;
    }
    if is_valid(name, kind) && !name.starts_with("__") {
        return Some(Cow::Borrowed(name));
    }
    let mut s = String::with_capacity(name.len() + 1);
    push_sanitized(&mut s, name, kind);
    let run = s.len() - s.trim_start_matches('_').len();
    if run > 1 {
        s.drain(..run - 1);
    }
    Some(Cow::Owned(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_and_label_names() {
        for ok in ["a", "_x", ":x", "http_requests", "a:b_c9", "X"] {
            assert_eq!(check(ok, NameKind::Metric), Ok(()), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a b", "é", "a.b", "__x", "a\n", "a\"b"] {
            assert!(check(bad, NameKind::Metric).is_err(), "{bad}");
        }
        for ok in ["route", "_x", "a9", "le", "overflow"] {
            assert_eq!(check(ok, NameKind::Label), Ok(()), "{ok}");
        }
        for bad in ["", "9a", "a:b", "a-b", "__x", "é"] {
            assert!(check(bad, NameKind::Label).is_err(), "{bad}");
        }
        assert_eq!(
            check("a:b", NameKind::Label),
            Err("only ASCII letters, digits and '_' are allowed")
        );
        assert_eq!(
            check(":a", NameKind::Label),
            Err("it must start with a letter or '_'")
        );
    }

    #[test]
    fn length_limits() {
        let at = |n: usize| "a".repeat(n);
        assert_eq!(check(&at(MAX_METRIC_NAME_LEN), NameKind::Metric), Ok(()));
        let err = check(&at(MAX_METRIC_NAME_LEN + 1), NameKind::Metric).unwrap_err();
        assert!(err.contains(&MAX_METRIC_NAME_LEN.to_string()), "{err}");
        assert_eq!(check(&at(MAX_LABEL_NAME_LEN), NameKind::Label), Ok(()));
        let err = check(&at(MAX_LABEL_NAME_LEN + 1), NameKind::Label).unwrap_err();
        assert!(err.contains(&MAX_LABEL_NAME_LEN.to_string()), "{err}");
        // A 1 MiB name is refused without being scanned to its end.
        assert!(check(&at(1 << 20), NameKind::Metric).is_err());
    }

    #[test]
    fn reserved_labels() {
        assert!(reserved_label("overflow", false).is_some());
        assert!(reserved_label("le", true).is_some());
        assert!(reserved_label("quantile", true).is_some());
        assert_eq!(reserved_label("le", false), None);
        assert_eq!(reserved_label("quantile", false), None);
        assert_eq!(reserved_label("route", true), None);
    }

    #[test]
    fn names_are_made_valid() {
        let name = |s: &str, colon: bool| {
            let mut o = String::new();
            let kind = if colon {
                NameKind::Metric
            } else {
                NameKind::Label
            };
            push_sanitized(&mut o, s, kind);
            o
        };
        assert_eq!(name("ok_name:x", true), "ok_name:x");
        assert_eq!(name("ok_name:x", false), "ok_name_x");
        assert_eq!(name("9lives", false), "_9lives");
        assert_eq!(name("a-b é", false), "a_b__");
        assert_eq!(name("", false), "_");
    }

    #[test]
    fn sanitizing() {
        let push = |s: &str, kind| {
            let mut o = String::new();
            push_sanitized(&mut o, s, kind);
            o
        };
        assert_eq!(push("__x", NameKind::Metric), "__x");
        assert_eq!(push("a:b", NameKind::Label), "a_b");
        assert_eq!(push("", NameKind::Metric), "_");
        assert_eq!(sanitize("", NameKind::Metric), None);
        assert_eq!(sanitize("__x", NameKind::Label).as_deref(), Some("_x"));
        assert_eq!(sanitize("_é", NameKind::Metric).as_deref(), Some("_"));
        assert_eq!(sanitize("é_x", NameKind::Metric).as_deref(), Some("_x"));
        assert_eq!(sanitize("9_x", NameKind::Metric).as_deref(), Some("_9_x"));
    }
}
