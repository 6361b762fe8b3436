//! Pure bucket-index math: value → index → bounds. No atomics, no state.
//!
//! The scheme is *log-linear* (as in HdrHistogram): every power-of-two range
//! `[2^k, 2^(k+1))` is cut into `2^p` equal sub-buckets, where `p` is the
//! [`Precision`]. Values below `2^(p+1)` get a bucket each (they are exact).
//!
//! With `s = max(0, floor(log2 v) - p)` (the number of low bits a bucket
//! ignores), the index is `(s << p) + (v >> s)`: the high `p + 1` significant
//! bits of `v`, offset by the octave. A bucket spans `2^s` values and its
//! lower bound is at least `2^(p + s)`, so reporting the bucket's midpoint for
//! any value in it is off by at most `2^(s-1) / 2^(p+s) = 2^-(p+1)` relative:
//! 0.78 % for the default `p = 6`. The index covers the whole `u64` range in
//! `(65 - p) * 2^p` buckets (3,776 for `p = 6`) and is computed with one
//! leading-zero count, two shifts and an add: no loop, no branch, no float.
//!
//! The boundaries are not those of Prometheus native / OpenTelemetry
//! exponential histograms (whose buckets grow by a constant factor); they
//! coincide with them only at powers of two. Export to classic `le` buckets is
//! done from these fine buckets (see `docs/design.md`).
//!
//! `f64` values have a layout of their own that contains this one (see
//! [`float`]): [`Precision::float_index`].
#![forbid(unsafe_code)]

mod float;

pub(crate) use float::{from_ordered, ordered};
use std::fmt;

/// Sub-bucket bits of a histogram: each power of two is split into
/// `2^bits` buckets, bounding the relative error of any quantile by
/// `2^-(bits + 1)`.
///
/// | bits | worst relative error | buckets over `u64` |
/// |-----:|---------------------:|-------------------:|
/// | 3    | 6.25 %               | 496                |
/// | 4    | 3.13 %               | 976                |
/// | 5    | 1.56 %               | 1,920              |
/// | 6 (default) | 0.78 %        | 3,776              |
/// | 7    | 0.39 %               | 7,424              |
/// | 10   | 0.05 %               | 56,320             |
///
/// Buckets are allocated lazily per thread in chunks, so the count above is an
/// upper bound on memory, not what a typical series costs.
///
/// ```
/// use hotmetrics::Precision;
/// let p = Precision::from_relative_error(0.01).unwrap();
/// assert_eq!(p, Precision::DEFAULT);
/// assert!(p.relative_error() <= 0.01);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Precision(u8);

impl Precision {
    /// The smallest allowed precision (one bucket per power of two): 50 %
    /// relative error.
    pub const MIN: Precision = Precision(0);
    /// The largest allowed precision: 0.05 % relative error, 56,320 buckets.
    pub const MAX: Precision = Precision(10);
    /// 6 bits: at most 0.78 % relative error.
    pub const DEFAULT: Precision = Precision(6);

    /// A precision of `bits` sub-bucket bits (0 to 10).
    pub const fn new(bits: u8) -> Result<Precision, PrecisionError> {
        if bits <= Self::MAX.0 {
            Ok(Precision(bits))
        } else {
            Err(PrecisionError::OutOfRange)
        }
    }

    /// The coarsest precision whose worst-case relative error is at most
    /// `max_error`, a fraction above 0 and below 1 (for example `0.01` for
    /// 1 %; `2.0` is refused, not read as 200 %).
    pub fn from_relative_error(max_error: f64) -> Result<Precision, PrecisionError> {
        if !(max_error > 0.0 && max_error < 1.0) {
            return Err(PrecisionError::InvalidError);
        }
        (Self::MIN.0..=Self::MAX.0)
            .map(Precision)
            .find(|p| p.relative_error() <= max_error)
            .ok_or(PrecisionError::OutOfRange)
    }

    /// Sub-bucket bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Worst-case relative error of a value reported from its bucket:
    /// `2^-(bits + 1)`.
    pub fn relative_error(self) -> f64 {
        1.0 / (1u64 << (self.0 + 1)) as f64
    }

    /// Number of buckets needed to cover every `u64`.
    pub const fn bucket_count(self) -> usize {
        (65 - self.0 as usize) << self.0
    }

    /// Index of the bucket holding `value`.
    #[inline(always)]
    pub const fn index(self, value: u64) -> usize {
        // At the default precision the shifts by `p` become constants, which
        // saves the mask computation and a variable shift (two µops on some
        // x86 cores) on the histograms most users make; other precisions pay
        // one well-predicted branch.
        if self.0 == Precision::DEFAULT.0 {
            index_at(Precision::DEFAULT.0 as u32, value)
        } else {
            index_at(self.0 as u32, value)
        }
    }

    /// Number of low bits ignored by bucket `index` (the bucket spans
    /// `2^shift` values).
    #[inline]
    const fn shift_of(self, index: usize) -> u32 {
        let octave = index >> self.0;
        if octave == 0 {
            0
        } else {
            (octave - 1) as u32
        }
    }

    /// Smallest value in bucket `index`.
    ///
    /// `index` must be below [`bucket_count`](Self::bucket_count); larger
    /// indices give meaningless (but not undefined) results.
    #[inline]
    pub const fn lower_bound(self, index: usize) -> u64 {
        let shift = self.shift_of(index);
        let mantissa = (index - ((shift as usize) << self.0)) as u64;
        mantissa << shift
    }

    /// Largest value in bucket `index` (inclusive).
    #[inline]
    pub const fn upper_bound(self, index: usize) -> u64 {
        let shift = self.shift_of(index);
        // For the last bucket this is exactly u64::MAX: lower bound
        // 2^64 - 2^shift plus 2^shift - 1.
        self.lower_bound(index) + ((1u64 << shift) - 1)
    }

    /// The value reported for observations in bucket `index`: its midpoint,
    /// within [`relative_error`](Self::relative_error) of every value in it.
    #[inline]
    pub const fn representative(self, index: usize) -> u64 {
        let lo = self.lower_bound(index);
        lo + (self.upper_bound(index) - lo) / 2
    }
}

/// The bucket index of `value` at precision `p` (see [`Precision::index`]).
#[inline(always)]
const fn index_at(p: u32, value: u64) -> usize {
    // OR-ing in the low p+1 bits makes every value below 2^(p+1) look like
    // 2^(p+1) - 1, whose shift is 0, so small values are their own index.
    // `leading_zeros` of a non-zero value is at most 63 - (p + 1) + 1, so
    // the subtraction cannot underflow.
    let shift = 63 - p - (value | ((2u64 << p) - 1)).leading_zeros();
    // `value >> shift` keeps the p + 1 high significant bits, in
    // [2^p, 2^(p+1)) once shift > 0; octave `shift` starts at shift << p.
    ((shift as usize) << p) + (value >> shift) as usize
}

impl Default for Precision {
    fn default() -> Self {
        Precision::DEFAULT
    }
}

impl fmt::Debug for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Precision({} bits, ≤{:.3}%)",
            self.0,
            self.relative_error() * 100.0
        )
    }
}

/// Why a [`Precision`] could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrecisionError {
    /// More than 10 sub-bucket bits, or a relative error below 0.05 %.
    OutOfRange,
    /// The relative error was not a fraction above 0 and below 1.
    InvalidError,
}

impl fmt::Display for PrecisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrecisionError::OutOfRange => f.write_str(
                "histogram precision out of range: 0 to 10 sub-bucket bits \
                 (relative error 50 % down to 0.05 %)",
            ),
            PrecisionError::InvalidError => {
                f.write_str("relative error must be a fraction above 0 and below 1 (0.01 for 1 %)")
            }
        }
    }
}

impl std::error::Error for PrecisionError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all() -> impl Iterator<Item = Precision> {
        (0..=10).map(|b| Precision::new(b).unwrap())
    }

    #[test]
    fn table() {
        let p = Precision::DEFAULT;
        // (value, index, lower, upper)
        let cases: &[(u64, usize, u64, u64)] = &[
            (0, 0, 0, 0),
            (1, 1, 1, 1),
            (63, 63, 63, 63),
            (64, 64, 64, 64),
            (127, 127, 127, 127),
            (128, 128, 128, 129),
            (129, 128, 128, 129),
            (130, 129, 130, 131),
            (255, 191, 254, 255),
            (256, 192, 256, 259),
            (1_000_000, 13 * 64 + 122, 999_424, 1_007_615),
            (u64::MAX, 3775, u64::MAX - (1 << 57) + 1, u64::MAX),
        ];
        for &(v, idx, lo, hi) in cases {
            assert_eq!(p.index(v), idx, "index({v})");
            assert_eq!(p.lower_bound(idx), lo, "lower({idx})");
            assert_eq!(p.upper_bound(idx), hi, "upper({idx})");
        }
        assert_eq!(p.bucket_count(), 3776);
    }

    #[test]
    fn buckets_tile_the_whole_range() {
        for p in all() {
            assert_eq!(p.lower_bound(0), 0);
            for i in 1..p.bucket_count() {
                assert_eq!(
                    p.lower_bound(i),
                    p.upper_bound(i - 1) + 1,
                    "gap or overlap at {i} for {p:?}"
                );
            }
            assert_eq!(p.upper_bound(p.bucket_count() - 1), u64::MAX);
            assert_eq!(p.index(u64::MAX), p.bucket_count() - 1);
        }
    }

    #[test]
    fn precision_from_error() {
        assert_eq!(Precision::from_relative_error(0.01), Ok(Precision(6)));
        assert_eq!(Precision::from_relative_error(0.0078125), Ok(Precision(6)));
        assert_eq!(Precision::from_relative_error(0.5), Ok(Precision(0)));
        assert_eq!(Precision::from_relative_error(0.9), Ok(Precision(0)));
        assert_eq!(
            Precision::from_relative_error(1e-6),
            Err(PrecisionError::OutOfRange)
        );
        // A relative error is a fraction below 1: 1 (100 %) or more says
        // nothing about the value, and is most likely a percentage given as
        // a number (2.0 meant as 2 %).
        for bad in [0.0, -0.1, 1.0, 2.0, 100.0, f64::NAN, f64::INFINITY] {
            assert_eq!(
                Precision::from_relative_error(bad),
                Err(PrecisionError::InvalidError)
            );
        }
        assert_eq!(Precision::new(11), Err(PrecisionError::OutOfRange));
        assert!(!PrecisionError::OutOfRange.to_string().is_empty());
    }

    proptest! {
        #[test]
        fn value_lies_in_its_bucket(v in any::<u64>(), bits in 0u8..=10) {
            let p = Precision::new(bits).unwrap();
            let i = p.index(v);
            prop_assert!(i < p.bucket_count());
            prop_assert!(p.lower_bound(i) <= v && v <= p.upper_bound(i));
        }

        #[test]
        fn bounds_round_trip(bits in 0u8..=10, seed in any::<u64>()) {
            let p = Precision::new(bits).unwrap();
            let i = (seed % p.bucket_count() as u64) as usize;
            prop_assert_eq!(p.index(p.lower_bound(i)), i);
            prop_assert_eq!(p.index(p.upper_bound(i)), i);
        }

        #[test]
        fn representative_is_within_error(v in any::<u64>(), bits in 0u8..=10) {
            let p = Precision::new(bits).unwrap();
            let r = p.representative(p.index(v));
            let err = (r as f64 - v as f64).abs() / (v.max(1) as f64);
            prop_assert!(err <= p.relative_error() * (1.0 + 1e-12), "v={} r={} err={}", v, r, err);
        }

        #[test]
        fn default_precision_path_is_the_formula(v in any::<u64>(), bits in 0u8..=10, shift in 0u32..64) {
            // `shift` spreads the values over every octave.
            let p = Precision::new(bits).unwrap();
            let v = v >> shift;
            prop_assert_eq!(p.index(v), index_at(u32::from(bits), v));
        }

        #[test]
        fn index_is_monotonic(a in any::<u64>(), b in any::<u64>(), bits in 0u8..=10) {
            let p = Precision::new(bits).unwrap();
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(p.index(lo) <= p.index(hi));
        }
    }
}
