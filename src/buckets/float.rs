//! The `f64` bucket layout: one value-ordered index space for every `f64`
//! (negatives, zero, positives, infinities), and the storage slots the
//! recording path maps it to.
//!
//! # The key
//!
//! For a positive finite `x`, `bits >> (52 - p)` (the biased exponent and
//! the top `p` mantissa bits) is a log-linear key: each octave `[2^e,
//! 2^(e+1))` is cut into `2^p` equal buckets, exactly as the `u64` layout
//! cuts it, so the midpoint of a bucket is within `2^-(p+1)` of any value in
//! it. For an integer `v >= 2^p` the key is the `u64` index of `v` plus the
//! constant `(1022 + p) << p` (both are the octave followed by the same
//! top `p` bits). Subnormals (below 2^-1022) fall in buckets of fixed width
//! `2^(-1074 + 52 - p)`: there the error is absolute, not relative.
//!
//! # The index (value order)
//!
//! With `K = 2047 * 2^p + 1` positive keys (the last one `+inf`): negative
//! `x` of key `k` is at `K - 1 - k`, zero (and `-0.0`) at `K`, positive `x`
//! at `K + 1 + k`. `-inf` is index 0, `+inf` the last; NaN has no bucket.
//!
//! # The storage slots (what a thread's cells are addressed by)
//!
//! Recording must stay as cheap as the `u64` path and a series as small as
//! before, so the slots are ordered by how common the values are; the
//! cells keep one directory per range (`storage/histogram_cells.rs`), the
//! last two allocated on first use:
//!
//! - slots `[0, (65 - p) << p)`: the `u64` layout, unchanged (`u64` records
//!   index exactly as before); positive `f64` values in `[2^p, 2^64)` use
//!   it too, at their key minus `(1022 + p) << p`;
//! - slots `[(65 - p) << p, window)`: positive `f64` values in
//!   `[2^-32, 2^p)` (a nanosecond in seconds is 2^-29.9);
//! - slots `window + index`: everything else (negatives, smaller or larger
//!   magnitudes, infinities), by value-ordered index.
#![forbid(unsafe_code)]

use super::Precision;

/// Octaves below 1 that the dense window covers: `[2^-32, 1)`.
const FRACTION_OCTAVES: usize = 32;
/// Biased exponent of 1.0.
const BIAS: usize = 1023;
/// The sign bit of an `f64`.
const SIGN: u64 = 1 << 63;

impl Precision {
    /// Positive keys, `+inf` included.
    const fn positive_keys(self) -> usize {
        (2047 << self.0) + 1
    }

    /// Number of buckets of the value-ordered `f64` index space (see
    /// [`float_index`](Self::float_index)).
    pub const fn float_bucket_count(self) -> usize {
        2 * self.positive_keys() + 1
    }

    /// Value-ordered index of zero's bucket.
    pub const fn zero_index(self) -> usize {
        self.positive_keys()
    }

    /// Slots of the dense window (see the module docs).
    pub(crate) const fn window_slots(self) -> usize {
        (65 + FRACTION_OCTAVES) << self.0
    }

    /// All storage slots: the window, then every value-ordered index.
    #[cfg(test)]
    pub(crate) const fn slot_count(self) -> usize {
        self.window_slots() + self.float_bucket_count()
    }

    /// The log-linear key of `|x|` (sign bit cleared in `abs_bits`).
    #[inline(always)]
    const fn key(self, abs_bits: u64) -> usize {
        // Biased exponent (11 bits) and the top `p` of the 52 mantissa bits.
        (abs_bits >> (52 - self.0 as u32)) as usize
    }

    /// Value-ordered index of the bucket holding `x`: increasing with `x`,
    /// `0` for `-inf`, [`zero_index`](Self::zero_index) for `±0.0`.
    /// `None` for NaN.
    ///
    /// ```
    /// use hotmetrics::Precision;
    /// let p = Precision::DEFAULT;
    /// assert!(p.float_index(-1.0) < p.float_index(0.0));
    /// assert_eq!(p.float_index(-0.0), Some(p.zero_index()));
    /// assert!(p.float_index(1e-300) < p.float_index(1e300));
    /// assert_eq!(p.float_index(f64::NAN), None);
    /// ```
    #[inline]
    pub fn float_index(self, x: f64) -> Option<usize> {
        if x.is_nan() {
            return None;
        }
        let bits = x.to_bits();
        let abs = bits & !SIGN;
        let z = self.zero_index();
        Some(if abs == 0 {
            z
        } else if bits & SIGN == 0 {
            z + 1 + self.key(abs)
        } else {
            z - 1 - self.key(abs)
        })
    }

    /// Storage slot of a non-NaN `x` (see the module docs): the dense
    /// window for positive values in `[2^-32, 2^64)`, else `window + index`.
    #[inline(always)]
    pub(crate) fn float_slot(self, x: f64) -> usize {
        let p = self.0 as usize;
        let bits = x.to_bits();
        // A negative `x` has the sign bit set, so its "key" computed with it
        // lies above every positive key and fails the range check below.
        let k = (bits >> (52 - p)) as usize;
        let low = (BIAS - FRACTION_OCTAVES) << p;
        let high = (BIAS + 64) << p;
        if k.wrapping_sub(low) < high - low {
            // Integers from 2^p share the `u64` slots; smaller values sit
            // after them.
            if k >= (BIAS + p) << p {
                k - ((BIAS - 1 + p) << p)
            } else {
                k - low + ((65 - p) << p)
            }
        } else {
            self.outer_slot(x)
        }
    }

    /// Slot of a value outside the dense window.
    #[cold]
    #[inline(never)]
    fn outer_slot(self, x: f64) -> usize {
        match self.float_index(x) {
            Some(i) if i == self.zero_index() => 0,
            Some(i) => self.window_slots() + i,
            // Callers filter NaN out; the zero slot keeps this total.
            None => 0,
        }
    }

    /// Value-ordered index of storage slot `slot`.
    pub(crate) fn slot_index(self, slot: usize) -> usize {
        let p = self.0 as usize;
        let z = self.zero_index();
        if slot == 0 {
            z
        } else if slot < 1 << p {
            // An exact small integer of the `u64` layout.
            z + 1 + self.key((slot as f64).to_bits())
        } else if slot < (65 - p) << p {
            z + 1 + slot + ((BIAS - 1 + p) << p)
        } else if slot < self.window_slots() {
            z + 1 + slot - ((65 - p) << p) + ((BIAS - FRACTION_OCTAVES) << p)
        } else {
            slot - self.window_slots()
        }
    }

    /// Smallest and largest positive value of key `k` (`+inf` for the last).
    fn key_bounds(self, k: usize) -> (f64, f64) {
        let shift = 52 - self.0 as u32;
        if k + 1 >= self.positive_keys() {
            return (f64::INFINITY, f64::INFINITY);
        }
        // Key 0 would start at +0.0, which has a bucket of its own.
        let lower = ((k as u64) << shift).max(1);
        let next = ((k as u64) + 1) << shift;
        (f64::from_bits(lower), f64::from_bits(next - 1))
    }

    /// Smallest and largest value of value-ordered bucket `index`
    /// (inclusive; `(0.0, 0.0)` for zero's bucket).
    pub fn float_bounds(self, index: usize) -> (f64, f64) {
        let z = self.zero_index();
        if index > z {
            self.key_bounds(index - z - 1)
        } else if index < z {
            let (lo, hi) = self.key_bounds(z - 1 - index);
            (-hi, -lo)
        } else {
            (0.0, 0.0)
        }
    }

    /// The value reported for observations in bucket `index`: the middle of
    /// its bounds, within [`relative_error`](Self::relative_error) of every
    /// value in it above 2^-1022 in magnitude (`±inf` for the outermost).
    pub fn float_representative(self, index: usize) -> f64 {
        let (lo, hi) = self.float_bounds(index);
        if lo.is_infinite() || hi.is_infinite() {
            return if index < self.zero_index() { lo } else { hi };
        }
        // `hi - lo` is exact (both in one binade, Sterbenz), so is halving
        // it above the subnormals; the sum rounds once.
        lo + (hi - lo) * 0.5
    }

    /// The integers of bucket `index`, as `u64` (saturating): `ceil(lower)`
    /// to the largest integer below the next bucket. For the buckets
    /// `u64` records use these are their bounds in the `u64` layout.
    pub(crate) fn integer_bounds(self, index: usize) -> (u64, u64) {
        let (lo, hi) = self.float_bounds(index);
        let lower = lo.ceil() as u64;
        // The next bucket starts one bit pattern above `hi`.
        let next = if hi >= 0.0 {
            f64::from_bits(hi.to_bits() + 1)
        } else {
            -f64::from_bits(hi.to_bits() - 1 - SIGN)
        };
        let upper = if next >= 18_446_744_073_709_551_616.0 {
            u64::MAX
        } else {
            (next.ceil() as u64).saturating_sub(1)
        };
        (lower, upper.max(lower))
    }
}

/// `x` mapped to a `u64` that orders like `x` (NaN excluded).
#[inline(always)]
pub(crate) fn ordered(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits & SIGN == 0 {
        bits | SIGN
    } else {
        !bits
    }
}

/// The inverse of [`ordered`].
pub(crate) fn from_ordered(key: u64) -> f64 {
    f64::from_bits(if key & SIGN != 0 { key & !SIGN } else { !key })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all() -> impl Iterator<Item = Precision> {
        (0..=10).map(|b| Precision::new(b).unwrap())
    }

    /// Any non-NaN `f64`: every sign, exponent and mantissa, infinities.
    fn any_f64() -> impl Strategy<Value = f64> {
        any::<u64>()
            .prop_map(f64::from_bits)
            .prop_filter("not NaN", |x| !x.is_nan())
    }

    #[test]
    fn integers_share_the_u64_buckets_up_to_a_constant() {
        for p in all() {
            let offset = (BIAS - 1 + p.0 as usize) << p.0;
            for v in (1u64 << p.0..1 << 20).chain((20..64).map(|s| (1u64 << s) + 12345)) {
                let exact = v as f64 as u64 == v;
                if exact {
                    let k = p.key((v as f64).to_bits());
                    assert_eq!(k, p.index(v) + offset, "{v} at {p:?}");
                }
            }
        }
    }

    #[test]
    fn table() {
        let p = Precision::DEFAULT;
        let z = p.zero_index();
        assert_eq!(p.float_index(f64::NEG_INFINITY), Some(0));
        assert_eq!(
            p.float_index(f64::INFINITY),
            Some(p.float_bucket_count() - 1)
        );
        assert_eq!(p.float_bounds(z), (0.0, 0.0));
        assert_eq!(p.float_bounds(z + 1).0, f64::from_bits(1));
        let one = p.float_index(1.0).unwrap();
        assert_eq!(p.float_bounds(one), (1.0, 1.015625 - f64::EPSILON));
        assert_eq!(
            p.float_bounds(p.float_index(-1.0).unwrap()),
            (-(1.015625 - f64::EPSILON), -1.0)
        );
        let max = p.float_index(f64::MAX).unwrap();
        assert_eq!(p.float_bounds(max).1, f64::MAX);
        assert_eq!(p.float_representative(0), f64::NEG_INFINITY);
        assert_eq!(p.integer_bounds(p.float_index(128.0).unwrap()), (128, 129));
        assert_eq!(p.integer_bounds(one), (1, 1));
        assert_eq!(
            p.integer_bounds(p.float_index(u64::MAX as f64).unwrap()).1,
            u64::MAX
        );
    }

    proptest! {
        #[test]
        fn value_lies_in_its_bucket(x in any_f64(), bits in 0u8..=10) {
            let p = Precision::new(bits).unwrap();
            let i = p.float_index(x).unwrap();
            prop_assert!(i < p.float_bucket_count());
            let (lo, hi) = p.float_bounds(i);
            prop_assert!(lo <= x && x <= hi, "{} not in [{}, {}]", x, lo, hi);
        }

        #[test]
        fn slots_map_back_to_the_index(x in any_f64(), bits in 0u8..=10) {
            let p = Precision::new(bits).unwrap();
            let slot = p.float_slot(x);
            prop_assert!(slot < p.slot_count());
            prop_assert_eq!(p.slot_index(slot), p.float_index(x).unwrap());
        }

        #[test]
        fn u64_slots_map_to_the_f64_bucket(v in any::<u64>(), shift in 0u32..64, bits in 0u8..=10) {
            let p = Precision::new(bits).unwrap();
            let v = v >> shift;
            let i = p.slot_index(p.index(v));
            let (lo, hi) = p.integer_bounds(i);
            prop_assert_eq!((lo, hi), (p.lower_bound(p.index(v)), p.upper_bound(p.index(v))));
            if v as f64 as u64 == v {
                prop_assert_eq!(p.float_index(v as f64), Some(i));
            }
        }

        #[test]
        fn index_is_monotonic(a in any_f64(), b in any_f64(), bits in 0u8..=10) {
            let p = Precision::new(bits).unwrap();
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(p.float_index(lo) <= p.float_index(hi));
            prop_assert!(ordered(lo) <= ordered(hi));
            prop_assert_eq!(from_ordered(ordered(a)).to_bits(), a.to_bits());
        }

        #[test]
        fn representative_is_within_error(x in any_f64(), bits in 0u8..=10) {
            let p = Precision::new(bits).unwrap();
            prop_assume!(x.is_finite() && x.abs() >= f64::MIN_POSITIVE);
            let r = p.float_representative(p.float_index(x).unwrap());
            let err = ((r - x) / x).abs();
            prop_assert!(err <= p.relative_error(), "x={} r={} err={}", x, r, err);
        }
    }
}
