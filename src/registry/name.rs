//! Metric name validation against the Prometheus data model.
#![forbid(unsafe_code)]

use super::RegistryError;

/// Checks `name` against `[a-zA-Z_:][a-zA-Z0-9_:]*`; names starting with
/// `__` are reserved for Prometheus' internal use.
pub(crate) fn validate(name: &str) -> Result<(), RegistryError> {
    let fail = |reason| {
        Err(RegistryError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    let mut bytes = name.bytes();
    match bytes.next() {
        None => return fail("it is empty"),
        Some(b) if !(b.is_ascii_alphabetic() || b == b'_' || b == b':') => {
            return fail("it must start with a letter, '_' or ':'")
        }
        Some(_) => {}
    }
    if !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
        return fail("only ASCII letters, digits, '_' and ':' are allowed");
    }
    if name.starts_with("__") {
        return fail("names starting with '__' are reserved");
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

    proptest! {
        #[test]
        fn never_panics_and_matches_the_regex(s in "\\PC{0,12}") {
            let re_ok = !s.is_empty()
                && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !s.starts_with("__");
            prop_assert_eq!(validate(&s).is_ok(), re_ok);
        }
    }
}
