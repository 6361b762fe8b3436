//! [`Labels`] and [`LabelValue`]: how a label set is passed to a family.
//!
//! A family looks a series up by hashing the borrowed label values and
//! comparing them with the stored ones, so finding an existing series never
//! allocates, whatever the label values are made of.
#![forbid(unsafe_code)]

use crate::sync::FrozenArc;
use std::borrow::Cow;
use std::hash::{BuildHasher, Hasher};

/// A value of one label: anything that can lend a `&str`.
///
/// Implemented for string types and `bool`. Implement it for your own enums
/// (routes, outcomes, intents) by returning a static string per variant:
///
/// ```
/// use hotmetrics::{LabelValue, Registry};
///
/// #[derive(Clone, Copy)]
/// enum Route { Search, Checkout }
///
/// impl LabelValue for Route {
///     fn label_value(&self) -> &str {
///         match self {
///             Route::Search => "search",
///             Route::Checkout => "checkout",
///         }
///     }
/// }
///
/// let reg = Registry::new();
/// let requests = reg.counter_family("requests", "Requests", &["route", "method"]).unwrap();
/// requests.inc(&(Route::Search, "GET"));
/// requests.inc(&(Route::Search, String::from("GET")));
/// assert_eq!(
///     reg.collect().counter_with("requests", &[("route", "search"), ("method", "GET")]),
///     Some(2)
/// );
/// ```
pub trait LabelValue {
    /// The value as exported. Any UTF-8 string is accepted (exporters
    /// escape it).
    fn label_value(&self) -> &str;
}

impl LabelValue for str {
    #[inline]
    fn label_value(&self) -> &str {
        self
    }
}

impl LabelValue for String {
    #[inline]
    fn label_value(&self) -> &str {
        self
    }
}

impl LabelValue for Box<str> {
    #[inline]
    fn label_value(&self) -> &str {
        self
    }
}

impl LabelValue for FrozenArc<str> {
    #[inline]
    fn label_value(&self) -> &str {
        self
    }
}

impl LabelValue for Cow<'_, str> {
    #[inline]
    fn label_value(&self) -> &str {
        self
    }
}

impl LabelValue for bool {
    #[inline]
    fn label_value(&self) -> &str {
        if *self {
            "true"
        } else {
            "false"
        }
    }
}

impl<T: LabelValue + ?Sized> LabelValue for &T {
    #[inline]
    fn label_value(&self) -> &str {
        (**self).label_value()
    }
}

/// The values of one label set, in the order of the family's label names.
///
/// Implemented for tuples of up to 6 [`LabelValue`]s (each element may be a
/// different type: `(&'static str, String, MyEnum)`), for arrays, slices and
/// vectors of one `LabelValue` type, and for references to any of those.
///
/// A label set with another number of values than the family has label names
/// is not an error at run time (recording never fails): it is recorded into
/// the family's overflow series and counted as overflowed.
pub trait Labels {
    /// Number of values.
    fn label_count(&self) -> usize;
    /// Value number `i` (`i < label_count()`).
    fn label_value(&self, i: usize) -> &str;
}

impl<T: Labels + ?Sized> Labels for &T {
    #[inline]
    fn label_count(&self) -> usize {
        (**self).label_count()
    }
    #[inline]
    fn label_value(&self, i: usize) -> &str {
        (**self).label_value(i)
    }
}

impl<V: LabelValue> Labels for [V] {
    #[inline]
    fn label_count(&self) -> usize {
        self.len()
    }
    #[inline]
    fn label_value(&self, i: usize) -> &str {
        self[i].label_value()
    }
}

impl<V: LabelValue, const N: usize> Labels for [V; N] {
    #[inline]
    fn label_count(&self) -> usize {
        N
    }
    #[inline]
    fn label_value(&self, i: usize) -> &str {
        self[i].label_value()
    }
}

impl<V: LabelValue> Labels for Vec<V> {
    #[inline]
    fn label_count(&self) -> usize {
        self.len()
    }
    #[inline]
    fn label_value(&self, i: usize) -> &str {
        self[i].label_value()
    }
}

macro_rules! tuple_labels {
    ($n:expr; $($t:ident $i:tt),+) => {
        impl<$($t: LabelValue),+> Labels for ($($t,)+) {
            #[inline]
            fn label_count(&self) -> usize {
                $n
            }
            #[inline]
            fn label_value(&self, i: usize) -> &str {
                match i {
                    $($i => self.$i.label_value(),)+
                    _ => "",
                }
            }
        }
    };
}

tuple_labels!(1; A 0);
tuple_labels!(2; A 0, B 1);
tuple_labels!(3; A 0, B 1, C 2);
tuple_labels!(4; A 0, B 1, C 2, D 3);
tuple_labels!(5; A 0, B 1, C 2, D 3, E 4);
tuple_labels!(6; A 0, B 1, C 2, D 3, E 4, F 5);

/// Hashes the values of `labels` (not their names: a family's names are
/// fixed). Each value is followed by `0xff`, a byte UTF-8 never contains, so
/// `("ab", "c")` and `("a", "bc")` hash differently.
#[inline]
pub(crate) fn hash_labels<L: Labels + ?Sized>(state: &impl BuildHasher, labels: &L) -> u64 {
    let mut h = state.build_hasher();
    for i in 0..labels.label_count() {
        h.write(labels.label_value(i).as_bytes());
        h.write_u8(0xff);
    }
    h.finish()
}

/// Whether `labels` has exactly the values of `key`: each value followed
/// by `0xff`, as the map stores them.
#[inline]
pub(crate) fn key_matches<L: Labels + ?Sized>(labels: &L, key: &[u8]) -> bool {
    let mut rest = key;
    for i in 0..labels.label_count() {
        let v = labels.label_value(i).as_bytes();
        match rest.get(..=v.len()) {
            Some(head) if short_eq(&head[..v.len()], v) && head[v.len()] == 0xff => {
                rest = &rest[v.len() + 1..];
            }
            _ => return false,
        }
    }
    rest.is_empty()
}

/// `a == b` for slices of the same length, as a byte loop: label values
/// are a few bytes long, and a call to `memcmp` per value (what `==` on
/// slices compiles to) cost more than the rest of a lookup in the
/// `user_build` bench.
#[inline(always)]
fn short_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_agree_on_hash_and_equality() {
        let state = foldhash::fast::RandomState::default();
        let owned = (String::from("a"), String::from("b"));
        let key = b"a\xffb\xff";
        let h = hash_labels(&state, &("a", "b"));
        assert_eq!(h, hash_labels(&state, &owned));
        assert_eq!(h, hash_labels(&state, &["a", "b"]));
        assert_eq!(h, hash_labels(&state, &vec!["a".to_string(), "b".into()]));
        assert_eq!(h, hash_labels(&state, &["a", "b"][..]));
        assert_ne!(h, hash_labels(&state, &("ab", "")));
        assert_ne!(h, hash_labels(&state, &("a",)));
        assert!(key_matches(&owned, key));
        assert!(!key_matches(&("a",), key));
        assert!(!key_matches(&("a", "c"), key));
        assert!(!key_matches(&("a", "b", ""), key));
        assert!(!key_matches(&("a\u{ff}", ""), key));
        assert!(key_matches(&("", ""), b"\xff\xff"));
        assert_eq!((true, false).label_value(1), "false");
        assert_eq!(("a",).label_value(7), "");
    }
}
