//! Native (exponential) histograms: a [`HistogramSnapshot`] in the bucket
//! layout of Prometheus native histograms and OpenTelemetry exponential
//! histograms.
//!
//! At schema `s` the buckets grow by `base = 2^(2^-s)`; positive bucket
//! `i` holds the values `v` with `base^i < v <= base^(i+1)` (negative
//! buckets likewise on `|v|`), and a zero bucket holds the values with
//! `|v| <= zero_threshold`. The layouts nest: bucket `i` at schema `s`
//! is exactly buckets `2i` and `2i + 1` at schema `s + 1`, so lowering
//! the schema ([`NativeHistogram::reduce_to`]) merges neighbours exactly.
//!
//! # Re-binning
//!
//! The recorded buckets (log-linear, see `docs/design.md`) do not nest
//! into exponential ones except at powers of two. Each recorded bucket
//! `[l, u]` (clamped into the recorded `[min, max]`) is placed thus:
//!
//! - if `l` and `u` fall into the same exported bucket, all of its count
//!   goes there: exact;
//! - otherwise (it straddles an exported bound) all of its count goes to
//!   the exported bucket holding its midpoint `(l + u) / 2`.
//!
//! Every observation is thus moved by at most half its recorded bucket's
//! width, into the exported bucket it is counted in. A quantile read from
//! the exported buckets (Prometheus' `histogram_quantile`, which answers
//! a point of the bucket its rank falls in) is therefore off from the
//! exact quantile by at most **the exported bucket's width plus half the
//! recorded bucket's width**: relative to the value, at most
//! `(2^(2^-s) - 1) + 2^-(p+1)` for precision `p` (for the default
//! precision and schema 3: 9.05 % + 0.78 %). Counts are never dropped:
//! the total and every observation's sign are kept.
//!
//! # Schema and zero bucket
//!
//! [`native_histogram`] starts at the finest schema (at most 8) whose
//! buckets are no narrower, relative to their values, than the widest
//! recorded bucket, and lowers it one step at a time (each step halves
//! the number of buckets per power of two) until the positive and
//! negative buckets together, counted from the first non-empty one to
//! the last on each side, number at most `max_buckets`. It stops at
//! schema [`MIN_SCHEMA`], where every finite `f64` fits into three
//! buckets per sign.
//!
//! The zero threshold is `0.0`: only observations equal to zero go to the
//! zero bucket. Recorded values are exact integers (or floats) whose
//! buckets the exported ones can always resolve by lowering the schema,
//! so no observation near zero is moved to zero (a threshold would turn
//! tiny values into zeros and shift low quantiles to 0).
#![forbid(unsafe_code)]

use super::native_keys;
use crate::snapshot::HistogramSnapshot;
use std::borrow::Cow;

/// The finest schema: 256 buckets per power of two (bucket width 0.27 %).
pub const MAX_SCHEMA: i32 = 8;
/// The coarsest schema this module produces (OpenTelemetry's smallest
/// scale): one bucket per `2^1024`. Prometheus accepts schemas down to -4.
pub const MIN_SCHEMA: i32 = -10;
/// The default cap on exported buckets per histogram (positive plus
/// negative), OpenTelemetry's default.
pub const DEFAULT_MAX_BUCKETS: usize = 160;

/// A histogram in the exponential bucket layout shared by Prometheus native
/// histograms and OpenTelemetry exponential histograms: base =
/// 2^(2^-schema).
///
/// OTLP index convention: `positive[k]` counts values `v` with
/// `base^(positive_offset+k) < v <= base^(positive_offset+k+1)`; `negative`
/// likewise on `|v|`. (The Prometheus protobuf index is the OTLP index
/// plus one.)
#[derive(Clone, Debug, PartialEq)]
pub struct NativeHistogram {
    /// The schema: buckets grow by `2^(2^-schema)`.
    pub schema: i32,
    /// Observations with `|v| <= zero_threshold` are in `zero_count`.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// All observations: zero, positive and negative buckets.
    pub count: u64,
    /// Sum of the observations.
    pub sum: f64,
    /// Smallest observation, `None` if empty.
    pub min: Option<f64>,
    /// Largest observation, `None` if empty.
    pub max: Option<f64>,
    /// Index of `positive[0]`.
    pub positive_offset: i32,
    /// Counts of consecutive positive buckets (first and last non-zero).
    pub positive: Vec<u64>,
    /// Index of `negative[0]`.
    pub negative_offset: i32,
    /// Counts of consecutive negative buckets, on `|v|`.
    pub negative: Vec<u64>,
}

/// `h` as a native histogram of at most `max_buckets` positive plus
/// negative buckets, at the finest schema allowed (at most 8) whose bucket
/// count fits, lowering the schema (merging neighbours), never dropping
/// counts. Values are in the recorded unit (see
/// [`native_histogram_scaled`]). See the [module docs](self) for the
/// re-binning rule and its error bound.
///
/// ```
/// use hotmetrics::export::native::native_histogram;
/// let reg = hotmetrics::Registry::new();
/// let h = reg.histogram("size", "Sizes", hotmetrics::Unit::Bytes).unwrap();
/// for v in [0, 1, 1000, 1_000_000] {
///     h.record(v);
/// }
/// let snap = reg.collect();
/// let n = native_histogram(snap.histogram("size").unwrap(), 160);
/// assert_eq!(n.count, 4);
/// assert_eq!(n.zero_count, 1);
/// assert!(n.positive.len() + n.negative.len() <= 160);
/// ```
pub fn native_histogram(h: &HistogramSnapshot, max_buckets: usize) -> NativeHistogram {
    native_histogram_scaled(h, 1.0, max_buckets)
}

/// [`native_histogram`] with every value (bucket bounds, sum, min, max)
/// divided by `divisor` first: `1e9` exports a histogram recorded in
/// nanoseconds in seconds. The buckets are chosen in the divided unit, so
/// the error bound holds there. A `divisor` that is not a positive finite
/// number is taken as `1.0`.
pub fn native_histogram_scaled(
    h: &HistogramSnapshot,
    divisor: f64,
    max_buckets: usize,
) -> NativeHistogram {
    native_of(h, divisor, max_buckets).into_owned()
}

/// [`native_histogram_scaled`], kept with the snapshot's buckets: a
/// histogram nothing was recorded into since is not converted again (see
/// `HistogramSnapshot::derived`).
pub(crate) fn native_of(
    h: &HistogramSnapshot,
    divisor: f64,
    max_buckets: usize,
) -> Cow<'_, NativeHistogram> {
    let divisor = if divisor.is_finite() && divisor > 0.0 {
        divisor
    } else {
        1.0
    };
    let key = (divisor.to_bits(), max_buckets as u64);
    let make = || convert_snapshot(h, divisor, max_buckets);
    match h.derived(key, make, carry::carry) {
        Cow::Borrowed(kept) => Cow::Borrowed(&kept.hist),
        Cow::Owned(kept) => Cow::Owned(kept.hist),
    }
}

/// The conversion itself, `divisor` positive and finite, with what a
/// later snapshot's carries over (see `native_carry.rs`).
fn convert_snapshot(h: &HistogramSnapshot, divisor: f64, max_buckets: usize) -> carry::Kept {
    let scale = |v: f64| v / divisor;
    let (min, max) = (h.min_f64().map(scale), h.max_f64().map(scale));
    let table = native_keys::table(h.precision, divisor);
    let buckets = h.buckets.get().iter().map(|&(i, c)| {
        let (l, u) = h.precision.float_bounds(i as usize);
        (
            scale(l),
            scale(u),
            c,
            table.as_ref().and_then(|t| t.get(i as usize)),
        )
    });
    let (hist, start, ends) = convert_at_start(
        clamped(buckets, min, max),
        scale(h.sum_f64()),
        min,
        max,
        max_buckets,
    );
    carry::Kept {
        hist,
        start,
        ends,
        divisor,
        max_buckets,
        table,
    }
}

/// A bucket `(lower, upper, count)` on the real line, with its schema-8
/// keys when they are known already (see [`super::native_keys`]).
type Source = ((f64, f64, u64), Option<Keys8>);

/// Non-empty buckets, in increasing order, with their bounds clamped into
/// `[min, max]` (the observations lie there), so the outermost buckets are
/// as narrow as the data. A bucket clamped loses its known keys.
fn clamped(
    buckets: impl Iterator<Item = (f64, f64, u64, Option<Keys8>)>,
    min: Option<f64>,
    max: Option<f64>,
) -> Vec<Source> {
    let (lo, hi) = match (min, max) {
        (Some(lo), Some(hi)) if lo <= hi => (lo, hi),
        _ => (f64::NEG_INFINITY, f64::INFINITY),
    };
    buckets
        .filter(|&(_, _, c, _)| c > 0)
        .map(|(l, u, c, keys)| {
            let (cl, cu) = (l.clamp(lo, hi), u.clamp(lo, hi));
            let keys = keys.filter(|_| (cl, cu) == (l, u));
            if cl <= cu {
                ((cl, cu, c), keys)
            } else {
                ((cu, cl, c), None)
            }
        })
        .collect()
}

/// Converts real-line buckets: start schema, then lowered to fit. Also
/// returns the start schema and the extents of the buckets' keys there.
fn convert_at_start(
    buckets: Vec<Source>,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    max_buckets: usize,
) -> (NativeHistogram, i32, (Range, Range)) {
    let start = start_schema(buckets.iter().map(|&(b, _)| b));
    let placed: Vec<(Key, u64)> = buckets
        .iter()
        .map(|&((l, u, c), keys)| match keys {
            Some(k) => (k.at(start), c),
            None => (place(l, u, start), c),
        })
        .collect();
    let mut schema = start;
    let ends = extents(&placed);
    while schema > MIN_SCHEMA && spans_at(ends, start - schema) > max_buckets {
        schema -= 1;
    }
    let placed = placed.iter().map(|&(k, c)| (k.shifted(start - schema), c));
    (build(placed, schema, sum, min, max), start, ends)
}

/// The conversion at a given `schema` (clamped into
/// `MIN_SCHEMA..=MAX_SCHEMA`), whatever the number of buckets.
#[cfg(test)]
fn convert_at(buckets: &[(f64, f64, u64)], schema: i32) -> NativeHistogram {
    let schema = schema.clamp(MIN_SCHEMA, MAX_SCHEMA);
    let placed = buckets.iter().map(|&(l, u, c)| (place(l, u, schema), c));
    build(placed, schema, 0.0, None, None)
}

/// Dense positive and negative vectors from placed counts.
fn build(
    placed: impl Iterator<Item = (Key, u64)> + Clone,
    schema: i32,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
) -> NativeHistogram {
    let dense = |side: fn(Key) -> Option<i32>| {
        let range = placed
            .clone()
            .filter_map(|(k, _)| side(k))
            .fold(None, |r: Range, i| match r {
                None => Some((i, i)),
                Some((lo, hi)) => Some((lo.min(i), hi.max(i))),
            });
        let Some((lo, hi)) = range else {
            return (0, Vec::new());
        };
        let mut counts = vec![0u64; (hi - lo) as usize + 1];
        for (i, c) in placed.clone().filter_map(|(k, c)| side(k).map(|i| (i, c))) {
            let slot = &mut counts[(i - lo) as usize];
            *slot = slot.saturating_add(c);
        }
        (lo, counts)
    };
    let (positive_offset, positive) = dense(|k| match k {
        Key::Pos(i) => Some(i),
        _ => None,
    });
    let (negative_offset, negative) = dense(|k| match k {
        Key::Neg(i) => Some(i),
        _ => None,
    });
    let zero_count = placed
        .clone()
        .filter(|&(k, _)| k == Key::Zero)
        .fold(0u64, |a, (_, c)| a.saturating_add(c));
    let count = placed.fold(0u64, |a, (_, c)| a.saturating_add(c));
    NativeHistogram {
        schema,
        zero_threshold: 0.0,
        zero_count,
        count,
        sum,
        min,
        max,
        positive_offset,
        positive,
        negative_offset,
        negative,
    }
}

impl NativeHistogram {
    /// The same observations at the coarser `schema`, merging neighbouring
    /// buckets exactly (the counts are those a conversion at `schema`
    /// gives). A `schema` at or above the current one, or below
    /// [`MIN_SCHEMA`], is clamped: buckets cannot be split.
    pub fn reduce_to(&self, schema: i32) -> NativeHistogram {
        let schema = schema.clamp(MIN_SCHEMA, self.schema);
        let shift = (self.schema - schema) as u32;
        let merge = |offset: i32, counts: &[u64]| {
            if counts.is_empty() {
                return (0, Vec::new());
            }
            let lo = offset >> shift;
            let hi = (offset + counts.len() as i32 - 1) >> shift;
            let mut out = vec![0u64; (hi - lo) as usize + 1];
            for (k, &c) in counts.iter().enumerate() {
                let slot = &mut out[(((offset + k as i32) >> shift) - lo) as usize];
                *slot = slot.saturating_add(c);
            }
            (lo, out)
        };
        let (positive_offset, positive) = merge(self.positive_offset, &self.positive);
        let (negative_offset, negative) = merge(self.negative_offset, &self.negative);
        NativeHistogram {
            schema,
            positive_offset,
            positive,
            negative_offset,
            negative,
            ..self.clone()
        }
    }

    /// The bounds `(lower, upper]` of bucket `index` at this schema (on
    /// `|v|` for negative buckets).
    pub fn bucket_bounds(&self, index: i32) -> (f64, f64) {
        (bound(self.schema, index), bound(self.schema, index + 1))
    }

    /// The width of an exported bucket relative to its lower bound,
    /// `2^(2^-schema) - 1`: a quantile read from these buckets is within
    /// this fraction of the value (plus the re-binning error, see the
    /// [module docs](self)).
    pub fn relative_width(&self) -> f64 {
        bound(self.schema, 1) - 1.0
    }
}

/// Dense counts as Prometheus spans and deltas: `offset` is the index of
/// `counts[0]` in the Prometheus convention (the OTLP index plus one).
/// Runs of three or more empty buckets end a span (shorter runs cost less
/// as zero deltas than as a new span); the first span's offset is its
/// first index, the next ones' the gap since the previous span. Deltas
/// are each bucket's count minus the previous written bucket's.
#[cfg_attr(
    not(any(feature = "protobuf", feature = "telemetry")),
    allow(dead_code)
)]
pub(crate) fn spans_and_deltas(offset: i32, counts: &[u64]) -> (Vec<(i32, u32)>, Vec<i64>) {
    let (mut spans, mut deltas): (Vec<(i32, u32)>, Vec<i64>) = (Vec::new(), Vec::new());
    let (mut previous, mut end) = (0i64, offset);
    let mut k = 0usize;
    while k < counts.len() {
        if counts[k] == 0 {
            k += 1;
            continue;
        }
        // A span from k to the last non-empty bucket before a gap of 3.
        let start = k;
        let mut last = k;
        while k < counts.len() && k - last <= 3 {
            if counts[k] != 0 {
                last = k;
            }
            k += 1;
        }
        let index = offset + start as i32;
        let gap = if spans.is_empty() { index } else { index - end };
        spans.push((gap, (last - start + 1) as u32));
        end = offset + last as i32 + 1;
        for &c in &counts[start..=last] {
            let c = i64::try_from(c).unwrap_or(i64::MAX);
            deltas.push(c.wrapping_sub(previous));
            previous = c;
        }
        k = last + 1;
    }
    (spans, deltas)
}

/// `base^index` at `schema`: a bucket bound.
fn bound(schema: i32, index: i32) -> f64 {
    (f64::from(index) * (-f64::from(schema)).exp2()).exp2()
}

/// The first and last index seen, if any.
type Range = Option<(i32, i32)>;

/// Where an observation goes: a bucket index at some schema, or zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Neg(i32),
    Zero,
    Pos(i32),
}

impl Key {
    /// The key `shift` schemas coarser: indices halve, rounding down.
    fn shifted(self, shift: i32) -> Key {
        let shift = shift.clamp(0, 31) as u32;
        match self {
            Key::Neg(i) => Key::Neg(i >> shift),
            Key::Zero => Key::Zero,
            Key::Pos(i) => Key::Pos(i >> shift),
        }
    }

    /// The key of a value at [`MAX_SCHEMA`]. Infinities count as the
    /// largest finite values; NaN (which no recorded bound is) as zero.
    fn of(v: f64) -> Key {
        if v > 0.0 {
            Key::Pos(index8(v.min(f64::MAX)))
        } else if v < 0.0 {
            Key::Neg(index8((-v).min(f64::MAX)))
        } else {
            Key::Zero
        }
    }
}

/// The bucket index of a positive finite `v` at schema 8: the `i` with
/// `2^(i/256) < v <= 2^((i+1)/256)`, from the exponent bits and a table on
/// the mantissa (see [`Octave`]). Coarser schemas shift this index right,
/// so every schema agrees on which side of a shared bound a value lies.
fn index8(v: f64) -> i32 {
    if v < f64::MIN_POSITIVE {
        // Subnormal: scaled by 2^64, exactly, into the normal range.
        return index8(v * 18_446_744_073_709_551_616.0) - 64 * 256;
    }
    let bits = v.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let mantissa_bits = bits & ((1u64 << 52) - 1);
    if mantissa_bits == 0 {
        // An exact power of two is the upper bound of its bucket.
        return exponent * 256 - 1;
    }
    exponent * 256 + Octave::get().within(mantissa_bits)
}

/// The 256 buckets of one octave at schema 8, as tables: their bounds
/// `2^(k/256)` and, for each of the 1,024 equal slices of the mantissa
/// range `[1, 2)` (its top ten bits), how many bounds lie below the
/// slice. A bucket is wider than a slice (`2^(1/256) - 1 > 1/1024`), so a
/// slice holds at most one bound and one comparison finishes the index:
/// no logarithm per bucket (a scrape converts every bucket of every
/// histogram).
struct Octave {
    /// `bound[k] = 2^(k/256)`, `k` in `0..=256` (`bound[256] = 2`).
    bound: [f64; 257],
    /// `below[j]`: the bounds `bound[1..=255]` under `1 + j/1024`.
    below: [u16; 1024],
}

impl Octave {
    fn get() -> &'static Octave {
        static TABLES: std::sync::OnceLock<Octave> = std::sync::OnceLock::new();
        TABLES.get_or_init(|| {
            let mut bound = [0.0; 257];
            for (k, b) in bound.iter_mut().enumerate() {
                *b = (k as f64 / 256.0).exp2();
            }
            // Exact ends: a mantissa is never 2, and 1 bounds nothing.
            (bound[0], bound[256]) = (1.0, 2.0);
            let mut below = [0u16; 1024];
            let mut k = 0u16;
            for (j, b) in below.iter_mut().enumerate() {
                let start = 1.0 + j as f64 / 1024.0;
                while k < 255 && bound[usize::from(k) + 1] < start {
                    k += 1;
                }
                *b = k;
            }
            Octave { bound, below }
        })
    }

    /// The bucket within the octave, 0 to 255, of the mantissa `1.m` with
    /// fraction bits `mantissa_bits` (not zero).
    #[inline]
    fn within(&self, mantissa_bits: u64) -> i32 {
        let m = f64::from_bits(mantissa_bits | (1023u64 << 52));
        let k = usize::from(self.below[(mantissa_bits >> 42) as usize]);
        // The bucket is `k` unless the slice's one bound lies below `m`.
        (k + usize::from(self.bound[k + 1] < m)) as i32
    }
}

/// The key at `schema` of a bucket `[l, u]`: its bounds' common bucket,
/// or, when it straddles a bound, its midpoint's.
fn place(l: f64, u: f64, schema: i32) -> Key {
    let shift = MAX_SCHEMA - schema;
    let (kl, ku) = (Key::of(l).shifted(shift), Key::of(u).shifted(shift));
    if kl == ku {
        kl
    } else {
        Key::of(l / 2.0 + u / 2.0).shifted(shift)
    }
}

/// The schema-8 keys of a bucket `[l, u]`: its bounds' and its midpoint's,
/// from which [`at`](Keys8::at) places it at any schema as [`place`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Keys8 {
    lower: Key,
    upper: Key,
    mid: Key,
}

impl Keys8 {
    pub(super) fn of(l: f64, u: f64) -> Keys8 {
        Keys8 {
            lower: Key::of(l),
            upper: Key::of(u),
            mid: Key::of(l / 2.0 + u / 2.0),
        }
    }

    /// The bucket's key at `schema`: [`place`]'s rule.
    #[inline]
    fn at(self, schema: i32) -> Key {
        let shift = MAX_SCHEMA - schema;
        let (kl, ku) = (self.lower.shifted(shift), self.upper.shifted(shift));
        if kl == ku {
            kl
        } else {
            self.mid.shifted(shift)
        }
    }
}

/// The finest schema whose relative bucket width is at least that of the
/// widest source bucket lying on one side of zero.
fn start_schema(buckets: impl Iterator<Item = (f64, f64, u64)>) -> i32 {
    let widest = buckets
        .filter(|&(l, u, _)| (l > 0.0 && u > 0.0) || (l < 0.0 && u < 0.0))
        .map(|(l, u, _)| {
            let (a, b) = (l.abs().min(u.abs()), l.abs().max(u.abs()));
            (b - a) / a
        })
        .fold(0.0f64, f64::max);
    (MIN_SCHEMA..=MAX_SCHEMA)
        .rev()
        .find(|&s| bound(s, 1) - 1.0 >= widest)
        .unwrap_or(MIN_SCHEMA)
}

/// The first and last key on each side of placed keys (positive,
/// negative): one pass, after which the extent at any coarser schema
/// follows by shifting (see [`spans_at`]).
fn extents(placed: &[(Key, u64)]) -> (Range, Range) {
    let (mut pos, mut neg): (Range, Range) = (None, None);
    for &(k, _) in placed {
        let (slot, i) = match k {
            Key::Pos(i) => (&mut pos, i),
            Key::Neg(i) => (&mut neg, i),
            Key::Zero => continue,
        };
        *slot = Some(slot.map_or((i, i), |(lo, hi)| (lo.min(i), hi.max(i))));
    }
    (pos, neg)
}

/// Positive plus negative buckets, first to last non-empty on each side,
/// `shift` schemas coarser than the keys `extents` were taken from
/// (shifting is monotonic, so the ends stay the ends).
fn spans_at((pos, neg): (Range, Range), shift: i32) -> usize {
    // As `Key::shifted` shifts.
    let s = shift.clamp(0, 31) as u32;
    let len = |r: Range| r.map_or(0, |(lo, hi)| ((hi >> s) - (lo >> s)) as usize + 1);
    len(pos) + len(neg)
}

#[path = "native_carry.rs"]
mod carry;

#[cfg(test)]
#[path = "native_tests.rs"]
mod tests;
