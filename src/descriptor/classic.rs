//! [`ClassicBuckets`]: the `le` bounds of a histogram's classic buckets in
//! the text formats, validated, and the defaults chosen by unit.
#![forbid(unsafe_code)]

use super::Unit;
use std::borrow::Cow;
use std::fmt;

/// One classic bucket bound or summary quantile: its value and the label
/// text written for it, formatted once.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Bound {
    pub(crate) value: f64,
    pub(crate) label: Cow<'static, str>,
}

const fn b(value: f64, label: &'static str) -> Bound {
    Bound {
        value,
        label: Cow::Borrowed(label),
    }
}

impl Bound {
    /// `value` with its shortest round-trip text (what ryu writes).
    pub(crate) fn new(value: f64) -> Bound {
        Bound {
            value,
            label: Cow::Owned(ryu::Buffer::new().format_finite(value).to_string()),
        }
    }
}

/// Default bounds for time, in seconds: 1-2-5 steps from 1 µs to 100 s.
/// Neighbouring bounds are at most 2.5 apart.
static TIME: [Bound; 25] = [
    b(1e-6, "1e-6"),
    b(2e-6, "2e-6"),
    b(5e-6, "5e-6"),
    b(1e-5, "0.00001"),
    b(2e-5, "0.00002"),
    b(5e-5, "0.00005"),
    b(1e-4, "0.0001"),
    b(2e-4, "0.0002"),
    b(5e-4, "0.0005"),
    b(1e-3, "0.001"),
    b(2e-3, "0.002"),
    b(5e-3, "0.005"),
    b(0.01, "0.01"),
    b(0.02, "0.02"),
    b(0.05, "0.05"),
    b(0.1, "0.1"),
    b(0.2, "0.2"),
    b(0.5, "0.5"),
    b(1.0, "1.0"),
    b(2.0, "2.0"),
    b(5.0, "5.0"),
    b(10.0, "10.0"),
    b(20.0, "20.0"),
    b(50.0, "50.0"),
    b(100.0, "100.0"),
];

/// Default bounds without a unit or in a custom unit (counts of things):
/// powers of 4 from 1 to 4¹⁵ (about 10⁹).
static COUNTS: [Bound; 16] = [
    b(1.0, "1.0"),
    b(4.0, "4.0"),
    b(16.0, "16.0"),
    b(64.0, "64.0"),
    b(256.0, "256.0"),
    b(1024.0, "1024.0"),
    b(4096.0, "4096.0"),
    b(16384.0, "16384.0"),
    b(65536.0, "65536.0"),
    b(262144.0, "262144.0"),
    b(1048576.0, "1048576.0"),
    b(4194304.0, "4194304.0"),
    b(16777216.0, "16777216.0"),
    b(67108864.0, "67108864.0"),
    b(268435456.0, "268435456.0"),
    b(1073741824.0, "1073741824.0"),
];

/// The `le` bounds of a histogram's classic buckets, as the Prometheus and
/// OpenMetrics text formats write them (plus `+Inf`, always written):
/// finite, strictly increasing, at least one. Given in the metric's
/// **exported** unit: seconds for a histogram recorded in nanoseconds,
/// bytes for bytes, as recorded otherwise.
///
/// `le` is inclusive: the bucket `le="b"` counts the observations `<= b`.
/// The classic counts are derived from the histogram's fine buckets, so
/// this holds to one fine bucket: a fine bucket that straddles `b` (at most
/// `b / 64` wide at the default precision) is counted above `b`, and an
/// observation equal to `b` lands in the next bucket unless `b` is a fine
/// bucket's upper bound (see `docs/exposition.md`).
///
/// Set per histogram with [`Options::buckets`](crate::Options::buckets) or
/// [`FamilyBuilder::buckets`](crate::FamilyBuilder::buckets); without,
/// [`ClassicBuckets::default_for`] the unit.
///
/// ```
/// use hotmetrics::{ClassicBuckets, Unit};
///
/// let b = ClassicBuckets::new(&[0.001, 0.01, 0.1]).unwrap();
/// assert_eq!(b.bounds().collect::<Vec<_>>(), [0.001, 0.01, 0.1]);
/// let err = ClassicBuckets::new(&[0.1, 0.01]).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid classic bucket bounds: bound 1 (0.01) is not greater than the one before it (0.1)"
/// );
/// assert_eq!(ClassicBuckets::default_for(Unit::Nanoseconds).bounds().next(), Some(1e-6));
/// ```
#[derive(Clone, Debug)]
pub struct ClassicBuckets(Repr);

#[derive(Clone, Debug)]
enum Repr {
    Default(&'static [Bound]),
    Given(Box<[Bound]>),
}

impl ClassicBuckets {
    /// Bounds `le`, if finite, strictly increasing and not empty.
    pub fn new(le: &[f64]) -> Result<ClassicBuckets, BucketsError> {
        if le.is_empty() {
            return Err(BucketsError::Empty);
        }
        for (index, &value) in le.iter().enumerate() {
            if !value.is_finite() {
                return Err(BucketsError::NotFinite { index, value });
            }
            if index > 0 && value <= le[index - 1] {
                return Err(BucketsError::NotIncreasing {
                    index,
                    value,
                    previous: le[index - 1],
                });
            }
        }
        // `-0.0` and `0.0` are one bound; write it as `0.0`.
        let bounds = le.iter().map(|&v| Bound::new(v + 0.0)).collect();
        Ok(ClassicBuckets(Repr::Given(bounds)))
    }

    /// The bounds a histogram recorded in `unit` gets when none are set,
    /// in the exported unit:
    ///
    /// - time: 1-2-5 steps from 1 µs to 100 s (`1e-6`, `2e-6`, `5e-6`,
    ///   `1e-5`, …, `50`, `100` seconds; 25 bounds), so a latency recorded
    ///   in nanoseconds is resolved from microseconds up;
    /// - bytes: powers of 4 from 64 B to 1 GiB (13 bounds);
    /// - no unit or a custom one: powers of 4 from 1 to 4¹⁵ ≈ 1.07 × 10⁹
    ///   (16 bounds).
    ///
    /// Neighbouring bounds are at most 2.5 (time) or 4 apart, which bounds
    /// the error of `histogram_quantile` over them (`docs/exposition.md`).
    pub fn default_for(unit: Unit) -> ClassicBuckets {
        ClassicBuckets(Repr::Default(default_bounds(unit)))
    }

    /// The bounds, in increasing order.
    pub fn bounds(&self) -> impl ExactSizeIterator<Item = f64> + '_ {
        self.as_slice().iter().map(|b| b.value)
    }

    pub(crate) fn as_slice(&self) -> &[Bound] {
        match &self.0 {
            Repr::Default(b) => b,
            Repr::Given(b) => b,
        }
    }
}

/// The default bounds for `unit` (see [`ClassicBuckets::default_for`]).
pub(crate) fn default_bounds(unit: Unit) -> &'static [Bound] {
    if unit.is_time() {
        &TIME
    } else if unit == Unit::Bytes {
        // Powers of 4 from 64 B to 1 GiB: the counts' bounds from 4³ on.
        &COUNTS[3..]
    } else {
        &COUNTS
    }
}

impl PartialEq for ClassicBuckets {
    fn eq(&self, other: &ClassicBuckets) -> bool {
        self.bounds().eq(other.bounds())
    }
}

// The bounds are finite: `==` on them is an equivalence.
impl Eq for ClassicBuckets {}

/// Why [`ClassicBuckets::new`] (and so a registration with
/// [`Options::buckets`](crate::Options::buckets)) refused a list of bounds.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum BucketsError {
    /// No bound was given (`+Inf` alone is not a choice of bounds).
    Empty,
    /// Bound `index` is NaN or infinite (`+Inf` is always written; it is
    /// not given).
    NotFinite {
        /// Its position in the list.
        index: usize,
        /// The bound.
        value: f64,
    },
    /// Bound `index` is not greater than the one before it.
    NotIncreasing {
        /// Its position in the list.
        index: usize,
        /// The bound.
        value: f64,
        /// The bound before it.
        previous: f64,
    },
}

impl PartialEq for BucketsError {
    fn eq(&self, other: &BucketsError) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for BucketsError {}

impl fmt::Display for BucketsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid classic bucket bounds: ")?;
        match self {
            BucketsError::Empty => f.write_str("no bound given"),
            BucketsError::NotFinite { index, value } => {
                write!(f, "bound {index} ({value}) is not finite")
            }
            BucketsError::NotIncreasing {
                index,
                value,
                previous,
            } => write!(
                f,
                "bound {index} ({value}) is not greater than the one before it ({previous})"
            ),
        }
    }
}

impl std::error::Error for BucketsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_validated() {
        assert_eq!(ClassicBuckets::new(&[]), Err(BucketsError::Empty));
        let e = ClassicBuckets::new(&[1.0, f64::NAN]).unwrap_err();
        assert!(matches!(e, BucketsError::NotFinite { index: 1, value } if value.is_nan()));
        assert_eq!(
            e.to_string(),
            "invalid classic bucket bounds: bound 1 (NaN) is not finite"
        );
        let e = ClassicBuckets::new(&[f64::INFINITY]).unwrap_err();
        assert!(matches!(e, BucketsError::NotFinite { index: 0, .. }));
        let e = ClassicBuckets::new(&[1.0, 2.0, 2.0]).unwrap_err();
        assert!(matches!(
            e,
            BucketsError::NotIncreasing { index: 2, value, previous } if value == 2.0 && previous == 2.0
        ));
        let b = ClassicBuckets::new(&[-1.0, -0.0, 1e-7, 0.5, 250.0]).unwrap();
        let labels: Vec<&str> = b.as_slice().iter().map(|b| &*b.label).collect();
        assert_eq!(labels, ["-1.0", "0.0", "1e-7", "0.5", "250.0"]);
        assert_eq!(
            b,
            ClassicBuckets::new(&[-1.0, 0.0, 1e-7, 0.5, 250.0]).unwrap()
        );
        assert_ne!(b, ClassicBuckets::new(&[0.0, 1e-7, 0.5, 250.0]).unwrap());
    }

    #[test]
    fn defaults_resolve_each_units_range() {
        // Every built-in label is the text a given bound would get, and
        // the bounds increase by at most 2.5 (time) or 4.
        for (unit, first, last, ratio) in [
            (Unit::Nanoseconds, 1e-6, 100.0, 2.5),
            (Unit::Seconds, 1e-6, 100.0, 2.5),
            (Unit::Bytes, 64.0, 1073741824.0, 4.0),
            (Unit::None, 1.0, 1073741824.0, 4.0),
        ] {
            let d = ClassicBuckets::default_for(unit);
            let given = ClassicBuckets::new(&d.bounds().collect::<Vec<_>>()).unwrap();
            assert_eq!(d.as_slice(), given.as_slice(), "{unit}");
            let v: Vec<f64> = d.bounds().collect();
            assert_eq!((v[0], v[v.len() - 1]), (first, last), "{unit}");
            assert!(
                v.windows(2).all(|w| w[1] / w[0] <= ratio * (1.0 + 1e-12)),
                "{unit}"
            );
        }
        assert_eq!(default_bounds(Unit::custom("celsius").unwrap()), &COUNTS);
    }
}
