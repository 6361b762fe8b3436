//! [`LabelSet`]: the labels that tell one series of a family from another.
#![forbid(unsafe_code)]

use crate::sync::FrozenArc;
use std::fmt;

/// The labels of one series, as `(name, value)` pairs in the order the
/// family declares its label names. Plain (unlabeled) metrics have an empty
/// set. Cheap to clone: the pairs are shared, never copied.
///
/// ```
/// use hotmetrics::LabelSet;
/// let labels = LabelSet::new([("route", "search"), ("outcome", "ok")]);
/// assert_eq!(labels.get("route"), Some("search"));
/// assert_eq!(labels.len(), 2);
/// assert_eq!(labels.to_string(), r#"{route="search",outcome="ok"}"#);
/// assert!(LabelSet::empty().is_empty());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelSet(Option<FrozenArc<[(String, String)]>>);

impl LabelSet {
    /// The empty set (no allocation).
    pub const fn empty() -> LabelSet {
        LabelSet(None)
    }

    /// A set from `(name, value)` pairs, kept in the given order.
    pub fn new<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> LabelSet {
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        if pairs.is_empty() {
            LabelSet(None)
        } else {
            LabelSet(Some(pairs.into()))
        }
    }

    /// The pairs, in declared order.
    pub fn pairs(&self) -> &[(String, String)] {
        self.0.as_deref().unwrap_or(&[])
    }

    /// Iterates over `(name, value)` in declared order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.pairs().iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of label `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.pairs().len()
    }

    /// Whether there is no label.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// This set followed by `more`; a clone (no allocation) when either
    /// is empty.
    pub(crate) fn concat(&self, more: &LabelSet) -> LabelSet {
        match (&self.0, &more.0) {
            (None, _) => more.clone(),
            (_, None) => self.clone(),
            (Some(a), Some(b)) => LabelSet(Some(a.iter().chain(b.iter()).cloned().collect())),
        }
    }

    /// Whether the set holds exactly these pairs, in this order.
    pub fn matches(&self, pairs: &[(&str, &str)]) -> bool {
        self.len() == pairs.len() && self.iter().zip(pairs).all(|(a, b)| a == *b)
    }
}

impl Default for LabelSet {
    fn default() -> Self {
        LabelSet::empty()
    }
}

impl fmt::Debug for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl fmt::Display for LabelSet {
    /// `{a="x",b="y"}` (values shown with Rust's string escaping; exporters
    /// apply their own format's rules), or nothing for the empty set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}={v:?}")?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_built_sets_compare_by_pairs() {
        assert_eq!(
            LabelSet::new(Vec::<(String, String)>::new()),
            LabelSet::empty()
        );
        let a = LabelSet::new([("a", "1"), ("b", "2")]);
        let b = LabelSet::new([("a".to_string(), "1".to_string()), ("b".into(), "2".into())]);
        assert_eq!(a, b);
        assert!(a.matches(&[("a", "1"), ("b", "2")]));
        assert!(!a.matches(&[("b", "2"), ("a", "1")]));
        assert!(!a.matches(&[("a", "1")]));
        assert!(LabelSet::empty() < a);
        assert_eq!(format!("{:?}", a), r#"{"a": "1", "b": "2"}"#);
        assert_eq!(LabelSet::empty().to_string(), "");
        assert_eq!(LabelSet::new([("q", "a\"b")]).to_string(), r#"{q="a\"b"}"#);
    }
}
