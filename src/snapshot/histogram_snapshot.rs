//! [`HistogramSnapshot`]: a merged, immutable view of one histogram.
#![forbid(unsafe_code)]

use super::bucket_list::{skip_list, BucketList};
use super::derived::Derived;
use crate::buckets::Precision;
use std::fmt;

/// One bucket of a [`HistogramSnapshot`]: `count` observations in
/// `lower..=upper`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// Smallest value of the bucket.
    pub lower: u64,
    /// Largest value of the bucket (inclusive).
    pub upper: u64,
    /// Observations in it.
    pub count: u64,
}

/// One bucket on the real line: `count` observations in `lower..=upper`
/// (f64, in the recorded unit). Zero has its own bucket with
/// `lower == upper == 0.0`; the outermost hold the infinities.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloatBucket {
    /// Smallest value of the bucket.
    pub lower: f64,
    /// Largest value of the bucket (inclusive).
    pub upper: f64,
    /// Observations in it.
    pub count: u64,
}

/// What the observations of a snapshot add up to, besides their buckets:
/// the exact sum and extremes of the `u64` records (`min > max` if none)
/// and the sum and extremes of the `f64` ones (`fmin > fmax` if none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Totals {
    pub(crate) sum: u128,
    pub(crate) fsum: f64,
    pub(crate) min: u64,
    pub(crate) max: u64,
    pub(crate) fmin: f64,
    pub(crate) fmax: f64,
}

impl Totals {
    /// The totals of `u64` records only.
    pub(crate) fn integers(sum: u128, min: u64, max: u64) -> Totals {
        Totals {
            sum,
            fsum: 0.0,
            min,
            max,
            fmin: f64::INFINITY,
            fmax: f64::NEG_INFINITY,
        }
    }

    /// The totals of both sets of observations.
    fn merged(self, other: Totals) -> Totals {
        Totals {
            sum: self.sum.wrapping_add(other.sum),
            fsum: self.fsum + other.fsum,
            min: self.min.min(other.min),
            max: self.max.max(other.max),
            fmin: self.fmin.min(other.fmin),
            fmax: self.fmax.max(other.fmax),
        }
    }
}

/// A histogram as of one collection: count, sum, min, max, quantiles and the
/// non-empty buckets, all describing the same set of observations.
///
/// `count` is the sum of the bucket counts and the sum is that of those
/// observations: exact for `u64` records (a `u128`), exact to f64 rounding
/// for `f64` ones (a compensated sum, see `docs/design.md`). `min` and
/// `max` are exact when no record raced the collection, and otherwise
/// within the bucket error of the true extremes.
///
/// Every value has an `f64` accessor ([`sum_f64`](Self::sum_f64),
/// [`quantile_f64`](Self::quantile_f64), [`float_buckets`](Self::float_buckets),
/// ...). The `u64` accessors are exact for histograms of `u64` records; once
/// an `f64` was recorded they round to the nearest integer (negative values
/// to 0).
#[derive(Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    pub(crate) precision: Precision,
    pub(crate) count: u64,
    /// Exact sum of the `u64` records.
    pub(crate) sum: u128,
    /// Bits of the sum of the `f64` records.
    fsum: u64,
    /// Extremes of the `u64` records, clamped into the outer buckets when
    /// there are only `u64` records.
    min: u64,
    max: u64,
    /// Bits of the extremes of the `f64` records, as recorded.
    fmin: u64,
    fmax: u64,
    /// Bits of the extremes of all records, clamped into the outer buckets.
    lo: u64,
    hi: u64,
    /// Whether any `f64` was recorded: then values are reported as reals.
    floats: bool,
    pub(crate) invalid: u64,
    /// Non-empty buckets, by increasing value-ordered index
    /// ([`Precision::float_index`]). Shared: a clone, and the next
    /// collection of a histogram nothing was recorded into since, copy no
    /// bucket.
    /// (Made on first read from an earlier snapshot's list and what grew
    /// since: see `snapshot/bucket_list.rs`.)
    pub(crate) buckets: BucketList,
    /// What readers derived from the buckets, shared with them: the skip
    /// list of [`count_below`](Self::count_below), and what exporters keep
    /// (see [`counts_below`](Self::counts_below) and
    /// [`derived`](Self::derived)).
    derived: Derived,
}

/// One entry of the skip list (`count_below`) per this many buckets.
const SKIP: usize = 16;

/// `x` rounded to the nearest `u64`, saturating (negative values to 0).
fn round_u64(x: f64) -> u64 {
    // `as` saturates, and maps NaN to 0.
    (x + 0.5) as u64
}

impl HistogramSnapshot {
    /// Builds a snapshot from non-empty `(index, count)` buckets sorted by
    /// value-ordered index, the totals of their observations, extremes
    /// known to enclose them (clamped here into the outermost buckets).
    pub(crate) fn from_parts(
        precision: Precision,
        buckets: Vec<(u32, u64)>,
        totals: Totals,
        invalid: u64,
    ) -> HistogramSnapshot {
        let count = buckets.iter().fold(0u64, |a, &(_, c)| a.wrapping_add(c));
        HistogramSnapshot::from_shared(precision, BucketList::new(buckets), count, totals, invalid)
    }

    /// [`from_parts`](Self::from_parts) with the buckets already shared.
    pub(crate) fn from_shared(
        precision: Precision,
        buckets: BucketList,
        count: u64,
        t: Totals,
        invalid: u64,
    ) -> HistogramSnapshot {
        debug_assert!(buckets.get().windows(2).all(|w| w[0].0 < w[1].0));
        debug_assert!(buckets.get().iter().all(|&(_, c)| c > 0));
        debug_assert_eq!(
            count,
            buckets
                .get()
                .iter()
                .fold(0u64, |a, &(_, c)| a.wrapping_add(c))
        );
        let floats = t.fmin <= t.fmax;
        let (mut min, mut max, mut lo, mut hi) = (t.min, t.max, 0.0, 0.0);
        if let Some((first, last)) = buckets.ends() {
            let (first, last) = (first as usize, last as usize);
            let ints = t.min <= t.max;
            let int_lo = if ints { t.min as f64 } else { f64::INFINITY };
            let int_hi = if ints {
                t.max as f64
            } else {
                f64::NEG_INFINITY
            };
            let (a, _) = precision.float_bounds(first);
            let (_, b) = precision.float_bounds(last);
            lo = int_lo.min(t.fmin).clamp(a, b);
            hi = int_hi.max(t.fmax).clamp(a, b);
            if !floats {
                let (a, _) = precision.integer_bounds(first);
                let (_, b) = precision.integer_bounds(last);
                (min, max) = (t.min.clamp(a, b), t.max.clamp(a, b));
            }
        }
        HistogramSnapshot {
            precision,
            count,
            sum: t.sum,
            fsum: t.fsum.to_bits(),
            min,
            max,
            fmin: t.fmin.to_bits(),
            fmax: t.fmax.to_bits(),
            lo: f64::to_bits(lo),
            hi: f64::to_bits(hi),
            floats,
            invalid,
            buckets,
            derived: Derived::new(),
        }
    }

    /// The totals this snapshot was built from (extremes as clamped).
    pub(crate) fn totals(&self) -> Totals {
        Totals {
            sum: self.sum,
            fsum: f64::from_bits(self.fsum),
            min: self.min,
            max: self.max,
            fmin: f64::from_bits(self.fmin),
            fmax: f64::from_bits(self.fmax),
        }
    }

    /// Whether any `f64` was recorded (values are then reported as reals).
    pub fn has_f64_records(&self) -> bool {
        self.floats
    }

    /// The same observations with `invalid` rejected ones; shares the
    /// buckets.
    pub(crate) fn with_invalid(&self, invalid: u64) -> HistogramSnapshot {
        HistogramSnapshot {
            invalid,
            ..self.clone()
        }
    }

    /// A value worked out from this snapshot's buckets and totals alone
    /// (`make`), kept with the buckets under `key` (what else it depends
    /// on): read back while the histogram is unchanged, as the counts of
    /// [`counts_below`](Self::counts_below) are.
    pub(crate) fn derived<T: std::any::Any + Send + Sync + Clone>(
        &self,
        key: (u64, u64),
        make: impl FnOnce() -> T,
        carry: super::derived::Carry,
    ) -> std::borrow::Cow<'_, T> {
        self.derived.value(key, make, carry)
    }

    /// Carries the classic counts `earlier` (the last snapshot of the same
    /// histogram) kept over to `self`, with the observations `added` since
    /// (value-ordered bucket index and count, by increasing index): a render
    /// of `self` with the same limits then counts no bucket.
    pub(crate) fn carry_derived(&self, earlier: &HistogramSnapshot, added: &[(u32, u64)]) {
        self.derived.carry(&earlier.derived, added, self);
    }

    /// The counts kept for exactly `limits`, if any (what
    /// [`counts_below`](Self::counts_below) would read back).
    #[cfg(test)]
    pub(crate) fn kept_counts(&self, limits: &[usize]) -> Option<&[u64]> {
        self.derived.get(limits)
    }

    /// [`count_below`](Self::count_below) at each of the non-decreasing
    /// `limits`, appended to `out`. The counts are kept with the buckets:
    /// the next call with the same limits, on this snapshot or on the one
    /// the next collection hands out for an unchanged histogram, reads no
    /// bucket (see `snapshot/derived.rs`).
    pub(crate) fn counts_below(&self, limits: &[usize], out: &mut Vec<u64>) {
        if let Some(counts) = self.derived.get(limits) {
            out.extend_from_slice(counts);
            return;
        }
        let start = out.len();
        let mut skip = 0;
        out.extend(limits.iter().map(|&l| self.count_below_from(l, &mut skip)));
        self.derived.offer(limits, &out[start..]);
    }

    /// Observations in the buckets of index below `limit` (the classic
    /// `le` buckets' rule, see `export/samples.rs`).
    pub(crate) fn count_below(&self, limit: usize) -> u64 {
        self.count_below_from(limit, &mut 0)
    }

    /// [`count_below`](Self::count_below) for increasing limits: `skip`
    /// (0 for the first limit) is where the previous call stopped in the
    /// skip list. Reads the skip list forward, once over all the limits
    /// (sequential, so prefetched when the snapshot is not in cache, where
    /// a binary search would wait on every step), and at most [`SKIP`]
    /// buckets per limit.
    pub(crate) fn count_below_from(&self, limit: usize, skip: &mut usize) -> u64 {
        let skips = self.derived.skips(|| skip_list(self.buckets.get(), SKIP));
        while skips
            .get(*skip + 1)
            .is_some_and(|&(i, _)| (i as usize) < limit)
        {
            *skip += 1;
        }
        let Some(&(first, before)) = skips.get(*skip) else {
            return 0;
        };
        if first as usize >= limit {
            return 0;
        }
        let start = *skip * SKIP;
        let buckets = self.buckets.get();
        let end = (start + SKIP).min(buckets.len());
        buckets[start..end]
            .iter()
            .take_while(|&&(i, _)| (i as usize) < limit)
            .fold(before, |a, &(_, c)| a.wrapping_add(c))
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Sum of the observations. Exact for `u64` records; the sum of `f64`
    /// records is rounded to the nearest integer (see
    /// [`sum_f64`](Self::sum_f64)), a negative one subtracted, saturating
    /// at 0.
    pub fn sum(&self) -> u128 {
        let f = f64::from_bits(self.fsum);
        if f >= 0.0 {
            // `as` saturates (and maps an infinite sum to u128::MAX).
            self.sum.saturating_add((f + 0.5) as u128)
        } else {
            self.sum.saturating_sub((0.5 - f) as u128)
        }
    }

    /// Sum of the observations as `f64`: the exact `u64` sum plus the
    /// compensated sum of the `f64` records, each exact to f64 rounding.
    pub fn sum_f64(&self) -> f64 {
        self.sum as f64 + f64::from_bits(self.fsum)
    }

    /// Smallest observation, `None` if empty (rounded once an `f64` was
    /// recorded, see [`min_f64`](Self::min_f64)).
    pub fn min(&self) -> Option<u64> {
        (self.count > 0).then(|| match self.floats {
            false => self.min,
            true => round_u64(f64::from_bits(self.lo)),
        })
    }

    /// Largest observation, `None` if empty (rounded once an `f64` was
    /// recorded, see [`max_f64`](Self::max_f64)).
    pub fn max(&self) -> Option<u64> {
        (self.count > 0).then(|| match self.floats {
            false => self.max,
            true => round_u64(f64::from_bits(self.hi)),
        })
    }

    /// Smallest observation as `f64`, `None` if empty.
    pub fn min_f64(&self) -> Option<f64> {
        (self.count > 0).then(|| f64::from_bits(self.lo))
    }

    /// Largest observation as `f64`, `None` if empty.
    pub fn max_f64(&self) -> Option<f64> {
        (self.count > 0).then(|| f64::from_bits(self.hi))
    }

    /// Arithmetic mean, `None` if empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_f64() / self.count as f64)
    }

    /// Observations rejected by `record_f64` (NaN).
    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    /// The bucket precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The value-ordered index of the bucket holding the observation of
    /// rank `ceil(q * count)`.
    fn rank_bucket(&self, q: f64) -> Option<usize> {
        if self.count == 0 || q.is_nan() {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        // Rank is 1-based; q = 0 means the smallest observation.
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for &(index, c) in self.buckets.get() {
            seen += c;
            if seen >= rank {
                return Some(index as usize);
            }
        }
        self.buckets.get().last().map(|&(i, _)| i as usize)
    }

    /// The value at quantile `q` (0.5 for the median, 0.99 for p99):
    /// the observation of rank `ceil(q * count)`, reported as its bucket's
    /// midpoint clamped into `[min, max]`, so within
    /// [`Precision::relative_error`] of the exact answer. Rounded to the
    /// nearest integer once an `f64` was recorded (see
    /// [`quantile_f64`](Self::quantile_f64)).
    ///
    /// `q` is clamped into `[0, 1]`; `None` if empty or `q` is NaN.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let index = self.rank_bucket(q)?;
        Some(if self.floats {
            round_u64(self.float_value(index))
        } else {
            let (lo, hi) = self.precision.integer_bounds(index);
            (lo + (hi - lo) / 2).clamp(self.min, self.max)
        })
    }

    /// The value at quantile `q` as `f64`: as [`quantile`](Self::quantile),
    /// within [`Precision::relative_error`] of the exact sorted-rank
    /// quantile for values above 2^-1022 in magnitude (within half a
    /// bucket, `2^(-1075 + 52 - bits)`, below). For a histogram of `u64`
    /// records the same integer as `quantile`.
    pub fn quantile_f64(&self, q: f64) -> Option<f64> {
        let index = self.rank_bucket(q)?;
        Some(if self.floats {
            self.float_value(index)
        } else {
            let (lo, hi) = self.precision.integer_bounds(index);
            (lo + (hi - lo) / 2).clamp(self.min, self.max) as f64
        })
    }

    /// The value reported for bucket `index`: its midpoint, clamped.
    fn float_value(&self, index: usize) -> f64 {
        let (lo, hi) = (f64::from_bits(self.lo), f64::from_bits(self.hi));
        self.precision.float_representative(index).clamp(lo, hi)
    }

    /// The non-empty buckets, by increasing value, with the integers each
    /// holds as bounds: exact for `u64` records. A bucket of `f64` records
    /// holding no integer reports the integer just above it as both bounds,
    /// and negative buckets report 0; [`float_buckets`](Self::float_buckets)
    /// has the real bounds.
    pub fn buckets(&self) -> impl Iterator<Item = Bucket> + '_ {
        self.buckets.get().iter().map(|&(i, count)| {
            let (lower, upper) = self.precision.integer_bounds(i as usize);
            Bucket {
                lower,
                upper,
                count,
            }
        })
    }

    /// The non-empty buckets in increasing value order: negatives, zero,
    /// positives.
    pub fn float_buckets(&self) -> impl Iterator<Item = FloatBucket> + '_ {
        self.buckets.get().iter().map(|&(i, count)| {
            let (lower, upper) = self.precision.float_bounds(i as usize);
            FloatBucket {
                lower,
                upper,
                count,
            }
        })
    }

    /// Observations `<= value` (exact when `value` is a bucket's upper bound;
    /// otherwise buckets straddling `value` count as above it). This is the
    /// rule used to derive classic `le` buckets.
    pub fn count_at_or_below(&self, value: u64) -> u64 {
        self.count_at_or_below_f64(value as f64)
    }

    /// [`count_at_or_below`](Self::count_at_or_below) for a real bound.
    pub fn count_at_or_below_f64(&self, value: f64) -> u64 {
        self.count_below(self.limit_for(value))
    }

    /// The first bucket index not counted at or below `value`: buckets
    /// below `value`'s own, and that one too if `value` is its upper bound
    /// (for a histogram of `u64` records: its largest integer).
    pub(crate) fn limit_for(&self, value: f64) -> usize {
        // (What this depends on besides `value` is `limit_key`.)
        let p = self.precision;
        let Some(i) = p.float_index(value) else {
            return 0;
        };
        let upper = if self.floats || i < p.zero_index() {
            p.float_bounds(i).1
        } else {
            p.integer_bounds(i).1 as f64
        };
        if upper <= value {
            i + 1
        } else {
            i
        }
    }

    /// What [`limit_for`](Self::limit_for) depends on besides its value:
    /// snapshots with equal keys have equal limits for every value.
    pub(crate) fn limit_key(&self) -> (Precision, bool) {
        (self.precision, self.floats)
    }

    /// The observations of both `self` and `other` (histograms of one
    /// precision: the shapes of one name); `self` if the precisions differ.
    pub(crate) fn merged(&self, other: &HistogramSnapshot) -> HistogramSnapshot {
        if other.precision != self.precision || other.count == 0 {
            return self.with_invalid(self.invalid.wrapping_add(other.invalid));
        }
        let (mut a, mut b) = (self.buckets.get(), other.buckets.get());
        let mut out = Vec::with_capacity(a.len() + b.len());
        while let (Some(&x), Some(&y)) = (a.first(), b.first()) {
            if x.0 == y.0 {
                out.push((x.0, x.1.wrapping_add(y.1)));
                (a, b) = (&a[1..], &b[1..]);
            } else if x.0 < y.0 {
                out.push(x);
                a = &a[1..];
            } else {
                out.push(y);
                b = &b[1..];
            }
        }
        out.extend_from_slice(a);
        out.extend_from_slice(b);
        let totals = if self.count == 0 {
            other.totals()
        } else {
            self.totals().merged(other.totals())
        };
        HistogramSnapshot::from_parts(
            self.precision,
            out,
            totals,
            self.invalid.wrapping_add(other.invalid),
        )
    }

    /// What was recorded since `earlier` (a snapshot of the same histogram).
    /// Counts and sums are differences; min and max are those of the
    /// remaining buckets (within bucket error). If `earlier` is not an
    /// earlier state of the same histogram, returns `self` unchanged.
    pub fn delta(&self, earlier: &HistogramSnapshot) -> HistogramSnapshot {
        if earlier.precision != self.precision || earlier.count > self.count {
            return self.clone();
        }
        let mut out = Vec::with_capacity(self.buckets.get().len());
        let mut old = earlier.buckets.get().iter().peekable();
        for &(index, count) in self.buckets.get() {
            while old.next_if(|&&(i, _)| i < index).is_some() {}
            let before = old.next_if(|&&(i, _)| i == index).map_or(0, |&(_, c)| c);
            let d = count.saturating_sub(before);
            if d > 0 {
                out.push((index, d));
            }
        }
        let mut totals = self.totals();
        totals.sum = self.sum.saturating_sub(earlier.sum);
        totals.fsum = f64::from_bits(self.fsum) - f64::from_bits(earlier.fsum);
        HistogramSnapshot::from_parts(
            self.precision,
            out,
            totals,
            self.invalid.saturating_sub(earlier.invalid),
        )
    }
}

impl fmt::Debug for HistogramSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistogramSnapshot")
            .field("count", &self.count)
            .field("sum", &self.sum_f64())
            .field("min", &self.min_f64())
            .field("max", &self.max_f64())
            .field("p50", &self.quantile_f64(0.5))
            .field("p99", &self.quantile_f64(0.99))
            .field("invalid", &self.invalid)
            .finish()
    }
}

#[cfg(test)]
#[path = "histogram_snapshot_tests.rs"]
mod tests;
