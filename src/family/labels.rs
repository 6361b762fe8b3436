//! How a label set is passed to a family, and how the family's type says
//! which label sets it takes.
//!
//! - [`LabelValue`]: one value with a string to lend (strings, `bool`,
//!   your enums); [`ToLabelValue`]: anything that can be one label value,
//!   integers included (they are written into a [`ValueBuf`] on the stack).
//! - [`LabelValues`]: the values of one label set, read by position.
//! - [`LabelShape`]: what a [`Family`](crate::Family) is typed by:
//!   [`Arity<N>`] (N values: a tuple or an array), a struct deriving
//!   [`Labels`](derive@crate::Labels) (that struct only), or [`Dyn`] (label
//!   names known only at run time: any of these label sets, its number of
//!   values checked when it is new).
//! - [`Labels<S>`]: the label sets a family typed `S` accepts. A label set
//!   of another shape does not compile.
//!
//! A family looks a series up by hashing the label values and comparing
//! them with the stored ones, so finding an existing series never
//! allocates, whatever the label values are made of.
#![forbid(unsafe_code)]

use super::label_hash::{word4, word8};
use crate::sync::FrozenArc;
use std::borrow::Cow;
use std::fmt;

/// A value of one label with a string to lend: string types, `bool`, and
/// your own enums.
///
/// Derive it for a fieldless enum (feature `macros`, see
/// [`derive(LabelValue)`](derive@crate::LabelValue)), or implement it by
/// returning a static string per variant:
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
///
/// Integers have no string to lend: they implement [`ToLabelValue`]
/// instead, which every `LabelValue` implements too.
pub trait LabelValue {
    /// The value as exported. Any UTF-8 string is accepted (exporters
    /// escape it).
    fn label_value(&self) -> &str;

    /// The same string as [`label_value`](Self::label_value) when it lives
    /// for the whole program: a string literal, an enum variant's name
    /// (what [`derive(LabelValue)`](derive@crate::LabelValue) returns),
    /// [`StaticStr`]. A label set whose values all have one is found by the
    /// strings' addresses, without reading their bytes, in a family that
    /// does not evict, a [`FamilyPair`](crate::FamilyPair) and a
    /// [`ResponseTracker`](crate::ResponseTracker) (see `StaticStr`). The default, `None`,
    /// is always correct; returning a string that differs from
    /// `label_value` files records under the wrong label set.
    #[inline(always)]
    fn static_value(&self) -> Option<&'static str> {
        None
    }
}

/// A label value that is a `&'static str`, said so: a label set made of
/// these (or of enums deriving [`LabelValue`](derive@crate::LabelValue))
/// is found by the strings' addresses, which a `'static` string keeps with
/// the same bytes for the whole program, instead of by hashing and
/// comparing its bytes, in a family that does not evict, a
/// [`FamilyPair`](crate::FamilyPair) and a
/// [`ResponseTracker`](crate::ResponseTracker). A `&str` cannot say it is
/// `'static` (its type forgets), hence the wrapper.
///
/// ```
/// use hotmetrics::{FamilyPair, Registry, StaticStr, Unit};
///
/// let reg = Registry::new();
/// let names = ["route", "method", "status"];
/// let requests = reg.counter_family("requests", "Requests", &names).unwrap();
/// let latency = reg
///     .histogram_family("latency", "Latency", Unit::Nanoseconds, &names)
///     .unwrap();
/// let pair = FamilyPair::new(&requests, &latency).unwrap();
/// let labels = ["/search", "GET", "200"];
/// pair.inc_and_record(&labels.map(StaticStr), 1_500);
/// // The same series as the strings looked up by their bytes.
/// pair.inc_and_record(&labels, 2_500);
/// let snap = reg.collect();
/// let set = [("route", "/search"), ("method", "GET"), ("status", "200")];
/// assert_eq!(snap.counter_with("requests", &set), Some(2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StaticStr(pub &'static str);

impl LabelValue for StaticStr {
    #[inline(always)]
    fn label_value(&self) -> &str {
        self.0
    }
    #[inline(always)]
    fn static_value(&self) -> Option<&'static str> {
        Some(self.0)
    }
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
        self.static_value().unwrap_or_default()
    }
    #[inline(always)]
    fn static_value(&self) -> Option<&'static str> {
        Some(if *self { "true" } else { "false" })
    }
}

impl<T: LabelValue + ?Sized> LabelValue for &T {
    #[inline]
    fn label_value(&self) -> &str {
        (**self).label_value()
    }
    #[inline(always)]
    fn static_value(&self) -> Option<&'static str> {
        (**self).static_value()
    }
}

/// Room on the stack for a label value that has no string to lend (an
/// integer's decimal digits): a family formats into it to hash and compare,
/// so looking up `("/x", 200u16)` allocates nothing.
pub struct ValueBuf(itoa::Buffer);

impl ValueBuf {
    /// An empty buffer (nothing is initialised until written).
    #[inline]
    pub fn new() -> ValueBuf {
        ValueBuf(itoa::Buffer::new())
    }
}

impl Default for ValueBuf {
    fn default() -> Self {
        ValueBuf::new()
    }
}

impl fmt::Debug for ValueBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ValueBuf")
    }
}

/// Anything that can be one label value: every [`LabelValue`] (strings,
/// `bool`, enums) and the integers `u8`…`u64`, `i8`…`i64`, `usize`,
/// `isize`, exported in decimal (`200u16` → `"200"`).
///
/// For a type of yours that is a number, implement it by forwarding to the
/// integer: `self.0.to_label_value(buf)`.
pub trait ToLabelValue {
    /// The value as exported: a string of `self`'s, or one written into
    /// `buf`.
    fn to_label_value<'a>(&'a self, buf: &'a mut ValueBuf) -> &'a str;

    /// The value as a string that lives for the whole program, if it is
    /// one (see [`LabelValue::static_value`]); `None` by default.
    #[inline(always)]
    fn to_static_value(&self) -> Option<&'static str> {
        None
    }
}

impl<T: LabelValue + ?Sized> ToLabelValue for T {
    #[inline(always)]
    fn to_label_value<'a>(&'a self, _: &'a mut ValueBuf) -> &'a str {
        self.label_value()
    }
    #[inline(always)]
    fn to_static_value(&self) -> Option<&'static str> {
        self.static_value()
    }
}

macro_rules! int_label_value {
    ($($t:ty),*) => {$(
        impl ToLabelValue for $t {
            #[inline]
            fn to_label_value<'a>(&'a self, buf: &'a mut ValueBuf) -> &'a str {
                buf.0.format(*self)
            }
        }
    )*};
}

int_label_value!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// The values of one label set, in the order of the family's label names.
///
/// Implemented for tuples of up to 6 [`ToLabelValue`]s (each element may be
/// a different type: `(&'static str, u16, MyEnum)`), for arrays, slices and
/// vectors of one `ToLabelValue` type, for references to any of those, and
/// by [`derive(Labels)`](derive@crate::Labels). Which of them a family
/// accepts is its [`LabelShape`]'s business ([`Labels`]).
pub trait LabelValues {
    /// Number of values.
    fn label_count(&self) -> usize;
    /// Value number `i` (`i < label_count()`), formatted into `buf` if it
    /// has no string to lend.
    fn value_at<'a>(&'a self, i: usize, buf: &'a mut ValueBuf) -> &'a str;

    /// Value number `i` as a string that lives for the whole program, if
    /// it is one ([`ToLabelValue::to_static_value`]); `None` by default.
    #[inline(always)]
    fn static_at(&self, i: usize) -> Option<&'static str> {
        let _ = i;
        None
    }
}

/// What a [`Family`](crate::Family) is typed by, and so which label sets
/// it accepts ([`Labels`]):
///
/// - [`Arity<N>`]: N label names given as an array
///   (`counter_family(name, help, &["route", "status"])`); takes tuples and
///   arrays of N values.
/// - a struct deriving [`Labels`](derive@crate::Labels): its field names
///   are the label names; takes that struct only.
/// - [`Dyn`]: label names known only at run time
///   ([`Options::labels`](crate::Options::labels)); takes tuples, arrays,
///   slices and vectors, and checks their length when a label set is new.
pub trait LabelShape: 'static {
    /// The number of label values, when the type fixes it; `None` for
    /// [`Dyn`].
    const ARITY: Option<usize>;
    /// The label names, when the type fixes them (a derived struct).
    const NAMES: Option<&'static [&'static str]> = None;
}

/// The [`LabelShape`] of a family with `N` label names: it takes tuples
/// and arrays of `N` values, nothing else.
#[derive(Debug)]
pub enum Arity<const N: usize> {}

/// The [`LabelShape`] of a family whose label names are known only at run
/// time: it takes tuples, arrays, slices and vectors of values, whose
/// length is checked when a label set is new (see [`Family::try_get`](crate::Family::try_get)).
#[derive(Debug)]
pub enum Dyn {}

impl<const N: usize> LabelShape for Arity<N> {
    const ARITY: Option<usize> = Some(N);
}

impl LabelShape for Dyn {
    const ARITY: Option<usize> = None;
}

/// A [`LabelShape`] whose label sets always have the family's number of
/// values: [`Arity<N>`] and derived structs. Only these families have the
/// infallible [`get`](crate::Family::get) and [`with`](crate::Family::with).
pub trait FixedShape: LabelShape {}

impl<const N: usize> FixedShape for Arity<N> {}

/// The label sets a family typed `S` accepts (see [`LabelShape`]).
///
/// A family registered with two label names does not accept one value:
///
/// ```compile_fail
/// let reg = hotmetrics::Registry::new();
/// let requests = reg.counter_family("requests", "Requests", &["route", "status"]).unwrap();
/// requests.inc(&["only_one"]); // error: `[&str; 1]` is not a label set of a family typed `Arity<2>`
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a label set of a family typed `{S}`",
    label = "wrong label set for this family",
    note = "a family registered with N label names takes a tuple or an array of N values; \
            one typed by a `#[derive(Labels)]` struct takes that struct; \
            for label names known only at run time, register with `Options` (a `Dyn` family, checked at run time)"
)]
pub trait Labels<S: LabelShape>: LabelValues {}

impl<T: LabelValues + ?Sized> LabelValues for &T {
    #[inline]
    fn label_count(&self) -> usize {
        (**self).label_count()
    }
    #[inline]
    fn value_at<'a>(&'a self, i: usize, buf: &'a mut ValueBuf) -> &'a str {
        (**self).value_at(i, buf)
    }
    #[inline(always)]
    fn static_at(&self, i: usize) -> Option<&'static str> {
        (**self).static_at(i)
    }
}

impl<S: LabelShape, T: Labels<S> + ?Sized> Labels<S> for &T {}

impl<V: ToLabelValue> LabelValues for [V] {
    #[inline]
    fn label_count(&self) -> usize {
        self.len()
    }
    #[inline]
    fn value_at<'a>(&'a self, i: usize, buf: &'a mut ValueBuf) -> &'a str {
        self[i].to_label_value(buf)
    }
    #[inline(always)]
    fn static_at(&self, i: usize) -> Option<&'static str> {
        self[i].to_static_value()
    }
}

impl<V: ToLabelValue> Labels<Dyn> for [V] {}

impl<V: ToLabelValue, const N: usize> LabelValues for [V; N] {
    #[inline]
    fn label_count(&self) -> usize {
        N
    }
    #[inline]
    fn value_at<'a>(&'a self, i: usize, buf: &'a mut ValueBuf) -> &'a str {
        self[i].to_label_value(buf)
    }
    #[inline(always)]
    fn static_at(&self, i: usize) -> Option<&'static str> {
        self[i].to_static_value()
    }
}

impl<V: ToLabelValue, const N: usize> Labels<Arity<N>> for [V; N] {}

impl<V: ToLabelValue, const N: usize> Labels<Dyn> for [V; N] {}

impl<V: ToLabelValue> LabelValues for Vec<V> {
    #[inline]
    fn label_count(&self) -> usize {
        self.len()
    }
    #[inline]
    fn value_at<'a>(&'a self, i: usize, buf: &'a mut ValueBuf) -> &'a str {
        self[i].to_label_value(buf)
    }
    #[inline(always)]
    fn static_at(&self, i: usize) -> Option<&'static str> {
        self[i].to_static_value()
    }
}

impl<V: ToLabelValue> Labels<Dyn> for Vec<V> {}

macro_rules! tuple_labels {
    ($n:expr; $($t:ident $i:tt),+) => {
        impl<$($t: ToLabelValue),+> LabelValues for ($($t,)+) {
            #[inline]
            fn label_count(&self) -> usize {
                $n
            }
            #[inline]
            fn value_at<'a>(&'a self, i: usize, buf: &'a mut ValueBuf) -> &'a str {
                match i {
                    $($i => self.$i.to_label_value(buf),)+
                    _ => "",
                }
            }
            #[inline(always)]
            fn static_at(&self, i: usize) -> Option<&'static str> {
                match i {
                    $($i => self.$i.to_static_value(),)+
                    _ => None,
                }
            }
        }

        impl<$($t: ToLabelValue),+> Labels<Arity<$n>> for ($($t,)+) {}

        impl<$($t: ToLabelValue),+> Labels<Dyn> for ($($t,)+) {}
    };
}

tuple_labels!(1; A 0);
tuple_labels!(2; A 0, B 1);
tuple_labels!(3; A 0, B 1, C 2);
tuple_labels!(4; A 0, B 1, C 2, D 3);
tuple_labels!(5; A 0, B 1, C 2, D 3, E 4);
tuple_labels!(6; A 0, B 1, C 2, D 3, E 4, F 5);

/// Whether `labels` has exactly the values of `key`: each value followed
/// by `0xff`, as the map stores them.
#[inline]
pub(crate) fn key_matches<L: LabelValues + ?Sized>(labels: &L, key: &[u8]) -> bool {
    let mut rest = key;
    let mut buf = ValueBuf::new();
    for i in 0..labels.label_count() {
        let v = labels.value_at(i, &mut buf).as_bytes();
        match rest.get(..=v.len()) {
            Some(head) if short_eq(&head[..v.len()], v) && head[v.len()] == 0xff => {
                rest = &rest[v.len() + 1..];
            }
            _ => return false,
        }
    }
    rest.is_empty()
}

/// The key a map stores for `labels` (see [`key_matches`]).
pub(crate) fn key_of<L: LabelValues + ?Sized>(labels: &L) -> Vec<u8> {
    let mut key = Vec::new();
    let mut buf = ValueBuf::new();
    for i in 0..labels.label_count() {
        key.extend_from_slice(labels.value_at(i, &mut buf).as_bytes());
        key.push(0xff);
    }
    key
}

/// The values of a key made by [`key_of`].
pub(crate) fn key_values(key: &[u8]) -> impl Iterator<Item = &str> {
    key.split(|&b| b == 0xff)
        .take(key.iter().filter(|&&b| b == 0xff).count())
        // Each part is a whole `&str` copied by `key_of`: valid UTF-8.
        .map(|v| std::str::from_utf8(v).unwrap_or_default())
}

/// `a == b` for label values: a few bytes long, so compared as at most two
/// (overlapping) words each, the way [`LabelHasher`] reads them; a call to
/// `memcmp` per value, or a byte loop, cost more than the rest of a
/// lookup in the `user_build` bench.
///
/// [`LabelHasher`]: super::label_hash::LabelHasher
#[inline(always)]
fn short_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        false
    } else if (8..=16).contains(&n) {
        word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8)
    } else if (4..8).contains(&n) {
        word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4)
    } else if n < 4 {
        // Bytes 0, n/2 and n-1 are every byte of a value this short.
        n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1])
    } else {
        a == b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<V: ToLabelValue>(v: V) -> String {
        v.to_label_value(&mut ValueBuf::new()).to_owned()
    }

    #[test]
    fn shapes_agree_on_equality() {
        let owned = (String::from("a"), String::from("b"));
        let key = b"a\xffb\xff";
        assert!(key_matches(&["a", "b"], key));
        assert!(key_matches(&["a", "b"][..], key));
        assert!(key_matches(&vec!["a".to_string(), "b".into()], key));
        assert!(key_matches(&owned, key));
        assert!(!key_matches(&("a",), key));
        assert!(!key_matches(&("a", "c"), key));
        assert!(!key_matches(&("a", "b", ""), key));
        assert!(!key_matches(&("a\u{ff}", ""), key));
        assert!(key_matches(&("", ""), b"\xff\xff"));
        assert_eq!((true, false).value_at(1, &mut ValueBuf::new()), "false");
        assert_eq!(("a",).value_at(7, &mut ValueBuf::new()), "");
    }

    #[test]
    fn integers_hash_and_match_as_their_decimal_digits() {
        assert!(key_matches(&("/x", 200u16), b"/x\xff200\xff"));
        assert!(!key_matches(&("/x", 20u16), b"/x\xff200\xff"));
        assert_eq!(
            key_of(&(-7i8, u64::MAX, true)),
            b"-7\xff18446744073709551615\xfftrue\xff"
        );
        for (v, s) in [(value(0u8), "0"), (value(i64::MIN), "-9223372036854775808")] {
            assert_eq!(v, s);
        }
        assert_eq!(value(usize::MAX), usize::MAX.to_string());
        assert_eq!(value(-1isize), "-1");
    }

    #[test]
    fn keys_split_back_into_their_values() {
        let key = key_of(&("a", "", 42u32));
        assert_eq!(key_values(&key).collect::<Vec<_>>(), ["a", "", "42"]);
        assert_eq!(key_values(&key_of(&("",))).collect::<Vec<_>>(), [""]);
    }

    #[test]
    fn values_of_every_length_match_only_themselves() {
        for len in 0..=40usize {
            let base: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            let key = key_of(&("x", base.as_str(), "yz"));
            assert!(key_matches(&("x", base.as_str(), "yz"), &key), "len {len}");
            for at in 0..len {
                let mut v = base.clone().into_bytes();
                v[at] = b'Z';
                let v = String::from_utf8(v).unwrap();
                assert!(!key_matches(&("x", v.as_str(), "yz"), &key), "{len} {at}");
            }
            let longer = format!("{base}a");
            assert!(!key_matches(&("x", longer.as_str(), "yz"), &key));
            assert!(!key_matches(&("x", &base[..len.saturating_sub(1)], "yz"), &key) || len == 0);
        }
    }
}
