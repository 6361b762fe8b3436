//! [`HistogramSnapshot`]: a merged, immutable view of one histogram.
#![forbid(unsafe_code)]

use crate::buckets::Precision;
use crate::sync::FrozenArc;
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

/// A histogram as of one collection: count, sum, min, max, quantiles and the
/// non-empty buckets, all describing the same set of observations.
///
/// `count` is the sum of the bucket counts and `sum` the exact sum of those
/// observations. `min` and `max` are exact when no record raced the
/// collection, and otherwise within the bucket error of the true extremes.
#[derive(Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    pub(crate) precision: Precision,
    pub(crate) count: u64,
    pub(crate) sum: u128,
    pub(crate) min: u64,
    pub(crate) max: u64,
    pub(crate) invalid: u64,
    /// Non-empty buckets, by increasing index. Shared: a clone, and the
    /// next collection of a histogram nothing was recorded into since,
    /// copy no bucket.
    pub(crate) buckets: FrozenArc<[(u32, u64)]>,
    /// Every [`SKIP`]-th entry of `buckets`: its bucket index and the
    /// count of the buckets before it. Derived from `buckets` (so equal
    /// whenever they are); lets [`count_below`](Self::count_below) read a
    /// few cache lines instead of every bucket.
    skips: FrozenArc<[(u32, u64)]>,
}

/// One entry of [`HistogramSnapshot::skips`] per this many buckets.
const SKIP: usize = 16;

impl HistogramSnapshot {
    /// Builds a snapshot from non-empty `(index, count)` buckets sorted by
    /// index, the sum of their observations, and bounds `min`/`max` known to
    /// enclose them (clamped here into the outermost buckets).
    pub(crate) fn from_parts(
        precision: Precision,
        buckets: Vec<(u32, u64)>,
        sum: u128,
        min: u64,
        max: u64,
        invalid: u64,
    ) -> HistogramSnapshot {
        HistogramSnapshot::from_shared(precision, buckets.into(), sum, min, max, invalid)
    }

    /// [`from_parts`](Self::from_parts) with the buckets already shared.
    pub(crate) fn from_shared(
        precision: Precision,
        buckets: FrozenArc<[(u32, u64)]>,
        sum: u128,
        min: u64,
        max: u64,
        invalid: u64,
    ) -> HistogramSnapshot {
        debug_assert!(buckets.windows(2).all(|w| w[0].0 < w[1].0));
        debug_assert!(buckets.iter().all(|&(_, c)| c > 0));
        let count = buckets.iter().fold(0u64, |a, &(_, c)| a.wrapping_add(c));
        let (min, max) = match (buckets.first(), buckets.last()) {
            (Some(&(lo, _)), Some(&(hi, _))) => {
                let (lo, hi) = (lo as usize, hi as usize);
                (
                    min.clamp(precision.lower_bound(lo), precision.upper_bound(lo)),
                    max.clamp(precision.lower_bound(hi), precision.upper_bound(hi)),
                )
            }
            _ => (0, 0),
        };
        let mut before = 0u64;
        let skips = buckets
            .iter()
            .enumerate()
            .filter_map(|(k, &(index, c))| {
                let skip = (k % SKIP == 0).then_some((index, before));
                before = before.wrapping_add(c);
                skip
            })
            .collect();
        HistogramSnapshot {
            precision,
            count,
            sum,
            min,
            max,
            invalid,
            buckets,
            skips,
        }
    }

    /// The same observations with `invalid` rejected ones; shares the
    /// buckets.
    pub(crate) fn with_invalid(&self, invalid: u64) -> HistogramSnapshot {
        HistogramSnapshot {
            invalid,
            ..self.clone()
        }
    }

    /// Observations in the buckets of index below `limit` (the classic
    /// `le` buckets' rule, see `export/samples.rs`).
    #[cfg(test)]
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
        let skips = &self.skips[..];
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
        let end = (start + SKIP).min(self.buckets.len());
        self.buckets[start..end]
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

    /// Exact sum of the observations.
    pub fn sum(&self) -> u128 {
        self.sum
    }

    /// Smallest observation, `None` if empty.
    pub fn min(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest observation, `None` if empty.
    pub fn max(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    /// Arithmetic mean, `None` if empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// Observations rejected by `record_f64` (NaN, infinite, negative).
    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    /// The bucket precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The value at quantile `q` (0.5 for the median, 0.99 for p99):
    /// the observation of rank `ceil(q * count)`, reported as its bucket's
    /// midpoint clamped into `[min, max]`, so within
    /// [`Precision::relative_error`] of the exact answer.
    ///
    /// `q` is clamped into `[0, 1]`; `None` if empty or `q` is NaN.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 || q.is_nan() {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        // Rank is 1-based; q = 0 means the smallest observation.
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for &(index, c) in self.buckets.iter() {
            seen += c;
            if seen >= rank {
                let v = self.precision.representative(index as usize);
                return Some(v.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    /// The non-empty buckets, by increasing value.
    pub fn buckets(&self) -> impl Iterator<Item = Bucket> + '_ {
        self.buckets.iter().map(|&(i, count)| Bucket {
            lower: self.precision.lower_bound(i as usize),
            upper: self.precision.upper_bound(i as usize),
            count,
        })
    }

    /// Observations `<= value` (exact when `value` is a bucket's upper bound;
    /// otherwise buckets straddling `value` count as above it). This is the
    /// rule used to derive classic `le` buckets.
    pub fn count_at_or_below(&self, value: u64) -> u64 {
        self.buckets()
            .take_while(|b| b.upper <= value)
            .map(|b| b.count)
            .sum()
    }

    /// The observations of both `self` and `other` (histograms of one
    /// precision: the shapes of one name); `self` if the precisions differ.
    pub(crate) fn merged(&self, other: &HistogramSnapshot) -> HistogramSnapshot {
        if other.precision != self.precision || other.count == 0 {
            return self.with_invalid(self.invalid.wrapping_add(other.invalid));
        }
        let mut out = Vec::with_capacity(self.buckets.len() + other.buckets.len());
        let (mut a, mut b) = (&self.buckets[..], &other.buckets[..]);
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
        let (min, max) = if self.count == 0 {
            (other.min, other.max)
        } else {
            (self.min.min(other.min), self.max.max(other.max))
        };
        HistogramSnapshot::from_parts(
            self.precision,
            out,
            self.sum.wrapping_add(other.sum),
            min,
            max,
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
        let mut out = Vec::with_capacity(self.buckets.len());
        let mut old = earlier.buckets.iter().peekable();
        for &(index, count) in self.buckets.iter() {
            while old.next_if(|&&(i, _)| i < index).is_some() {}
            let before = old.next_if(|&&(i, _)| i == index).map_or(0, |&(_, c)| c);
            let d = count.saturating_sub(before);
            if d > 0 {
                out.push((index, d));
            }
        }
        HistogramSnapshot::from_parts(
            self.precision,
            out,
            self.sum.saturating_sub(earlier.sum),
            self.min,
            self.max,
            self.invalid.saturating_sub(earlier.invalid),
        )
    }
}

impl fmt::Debug for HistogramSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistogramSnapshot")
            .field("count", &self.count)
            .field("sum", &self.sum)
            .field("min", &self.min())
            .field("max", &self.max())
            .field("p50", &self.quantile(0.5))
            .field("p99", &self.quantile(0.99))
            .field("invalid", &self.invalid)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_values(values: &[u64]) -> HistogramSnapshot {
        let p = Precision::DEFAULT;
        let mut map = std::collections::BTreeMap::new();
        for &v in values {
            *map.entry(p.index(v) as u32).or_insert(0u64) += 1;
        }
        HistogramSnapshot::from_parts(
            p,
            map.into_iter().collect(),
            values.iter().map(|&v| v as u128).sum(),
            values.iter().copied().min().unwrap_or(u64::MAX),
            values.iter().copied().max().unwrap_or(0),
            0,
        )
    }

    #[test]
    fn merged_holds_the_observations_of_both() {
        let (a, b) = (&[3, 900, 70_000][..], &[5, 900, 1_000_000][..]);
        let both: Vec<u64> = a.iter().chain(b).copied().collect();
        let m = from_values(a).merged(&from_values(b));
        assert_eq!(m, from_values(&both));
        assert_eq!(from_values(&[]).merged(&from_values(b)), from_values(b));
        assert_eq!(from_values(a).merged(&from_values(&[])), from_values(a));
    }

    #[test]
    fn empty() {
        let h = from_values(&[]);
        assert!(h.is_empty());
        assert_eq!(
            (h.min(), h.max(), h.mean(), h.quantile(0.5)),
            (None, None, None, None)
        );
    }

    #[test]
    fn small_values_are_exact() {
        let h = from_values(&[1, 2, 3, 4, 100]);
        assert_eq!(h.count(), 5);
        assert_eq!(h.sum(), 110);
        assert_eq!(h.mean(), Some(22.0));
        assert_eq!(h.quantile(0.0), Some(1));
        assert_eq!(h.quantile(0.5), Some(3));
        assert_eq!(h.quantile(0.8), Some(4));
        assert_eq!(h.quantile(1.0), Some(100));
        assert_eq!(h.quantile(7.0), Some(100));
        assert_eq!(h.quantile(f64::NAN), None);
        assert_eq!(h.count_at_or_below(4), 4);
    }

    #[test]
    fn min_max_are_clamped_into_outer_buckets() {
        let p = Precision::DEFAULT;
        let i = p.index(1_000_000) as u32;
        // A racing record made min/max wider than the buckets seen.
        let h = HistogramSnapshot::from_parts(p, vec![(i, 2)], 2_000_000, 3, u64::MAX, 0);
        assert_eq!(h.min(), Some(p.lower_bound(i as usize)));
        assert_eq!(h.max(), Some(p.upper_bound(i as usize)));
    }

    #[test]
    fn count_below_matches_a_pass_over_every_bucket() {
        let values: Vec<u64> = (0..3000)
            .map(|k| (50.0 * 1.003f64.powi(k)) as u64)
            .collect();
        // Under Miri (`scripts/miri.sh`) fewer sizes and every 37th limit:
        // the full pass is some 10 million bucket reads.
        let (sizes, step): (&[usize], usize) = if cfg!(miri) {
            (&[0, 17, 40], 37)
        } else {
            (&[0, 1, 15, 16, 17, 40, 3000], 1)
        };
        for &n in sizes {
            let h = from_values(&values[..n]);
            let mut skip = 0;
            for limit in (0..=Precision::DEFAULT.bucket_count()).step_by(step) {
                let want: u64 = h
                    .buckets
                    .iter()
                    .filter(|&&(i, _)| (i as usize) < limit)
                    .map(|&(_, c)| c)
                    .sum();
                assert_eq!(h.count_below(limit), want, "{n} values, limit {limit}");
                // Increasing limits, reading on from the last one.
                assert_eq!(h.count_below_from(limit, &mut skip), want, "{n}, {limit}");
            }
        }
    }

    #[test]
    fn delta_subtracts() {
        let a = from_values(&[10, 20, 1_000]);
        let b = from_values(&[10, 20, 1_000, 20, 5_000]);
        let d = b.delta(&a);
        assert_eq!(d.count(), 2);
        assert_eq!(d.sum(), 5_020);
        assert_eq!(d.min(), Some(20));
        assert_eq!(d.max(), Some(5_000));
        assert_eq!(b.delta(&b).count(), 0);
        // Not an earlier state: returned unchanged.
        assert_eq!(a.delta(&b), a);
    }
}
