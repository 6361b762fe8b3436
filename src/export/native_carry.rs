//! Carrying a histogram's native buckets over to its next snapshot.
//!
//! A protobuf scrape converts every fine bucket of a histogram into native
//! buckets (`native.rs`), kept with the snapshot. When the histogram
//! changes, the collector knows which fine buckets grew and by how much
//! (`registry/fold_histogram.rs`); most often the conversion of the new
//! snapshot is the old one with those counts added at their native keys.
//! [`carry`] does that when it is sure to give what a fresh conversion
//! gives, and declines (the next render converts afresh) when:
//!
//! - the extremes moved: they clamp the outermost buckets' bounds;
//! - a fine bucket that grew is clamped, has no known schema-8 keys, or is
//!   wider than the start schema's buckets (the start schema would drop);
//! - the buckets would no longer fit in the cap at the current schema (it
//!   would be lowered).
//!
//! Otherwise the start schema and the chosen schema stay what a fresh
//! conversion picks: the start schema is the finest whose buckets are as
//! wide as the widest fine bucket, and the schema the finest at or below
//! it where the spans fit; fine buckets only ever get added, so neither
//! widens nor can the spans shrink.
#![forbid(unsafe_code)]

use super::native_keys::KeyTable;
use super::{bound, spans_at, Key, NativeHistogram, Range, MIN_SCHEMA};
use crate::snapshot::HistogramSnapshot;
use std::any::Any;
use std::sync::Arc; // shim-exempt: an exporter's table, read-only, not on the recording path

/// A conversion, with what carrying it over needs.
#[derive(Clone)]
pub(super) struct Kept {
    pub(super) hist: NativeHistogram,
    /// The start schema, and the extents of the fine buckets' keys there.
    pub(super) start: i32,
    pub(super) ends: (Range, Range),
    pub(super) divisor: f64,
    pub(super) max_buckets: usize,
    /// The schema-8 keys of the fine buckets, as the conversion used them
    /// (held here, so a carry takes no lock).
    pub(super) table: Option<Arc<KeyTable>>,
}

/// `kept` (a [`Kept`]) with the fine buckets `grown` (bucket index, added
/// count; sorted) added, for the snapshot `h` they grew into; `None` where
/// a fresh conversion could differ (see the module docs).
pub(super) fn carry(
    kept: &dyn Any,
    h: &HistogramSnapshot,
    grown: &[(u32, u64)],
) -> Option<Box<dyn Any + Send + Sync>> {
    let old = kept.downcast_ref::<Kept>()?;
    let scale = |v: f64| v / old.divisor;
    let (min, max) = (h.min_f64().map(scale), h.max_f64().map(scale));
    let bits = |v: Option<f64>| v.map(f64::to_bits);
    if bits(min) != bits(old.hist.min) || bits(max) != bits(old.hist.max) {
        return None;
    }
    let (lo, hi) = match (min, max) {
        (Some(lo), Some(hi)) if lo <= hi => (lo, hi),
        _ => (f64::NEG_INFINITY, f64::INFINITY),
    };
    let table = old.table.as_ref()?;
    let (start, widest) = (old.start, bound(old.start, 1) - 1.0);
    let mut new = old.clone();
    let shift = start - new.hist.schema;
    for &(i, n) in grown {
        let (l, u) = h.precision.float_bounds(i as usize);
        let (l, u) = (scale(l), scale(u));
        if l < lo || u > hi {
            return None;
        }
        if (l > 0.0 && u > 0.0) || (l < 0.0 && u < 0.0) {
            let (a, b) = (l.abs().min(u.abs()), l.abs().max(u.abs()));
            if (b - a) / a > widest {
                return None;
            }
        }
        let key = table.get(i as usize)?.at(start);
        widen(&mut new.ends, key);
        add(&mut new.hist, key.shifted(shift), n);
    }
    if new.hist.schema > MIN_SCHEMA && spans_at(new.ends, shift) > new.max_buckets {
        return None;
    }
    new.hist.sum = scale(h.sum_f64());
    Some(Box::new(new))
}

/// Widens the extents to cover `key`.
fn widen((pos, neg): &mut (Range, Range), key: Key) {
    let (range, i) = match key {
        Key::Pos(i) => (pos, i),
        Key::Neg(i) => (neg, i),
        Key::Zero => return,
    };
    *range = Some(range.map_or((i, i), |(a, b)| (a.min(i), b.max(i))));
}

/// Adds `n` observations to the bucket of `key` (at the histogram's
/// schema), growing the dense vectors as needed.
fn add(hist: &mut NativeHistogram, key: Key, n: u64) {
    hist.count = hist.count.saturating_add(n);
    let (offset, counts, i) = match key {
        Key::Zero => {
            hist.zero_count = hist.zero_count.saturating_add(n);
            return;
        }
        Key::Pos(i) => (&mut hist.positive_offset, &mut hist.positive, i),
        Key::Neg(i) => (&mut hist.negative_offset, &mut hist.negative, i),
    };
    if counts.is_empty() {
        *offset = i;
    } else if i < *offset {
        let before = (*offset - i) as usize;
        counts.splice(0..0, std::iter::repeat(0).take(before));
        *offset = i;
    }
    let at = (i - *offset) as usize;
    if at >= counts.len() {
        counts.resize(at + 1, 0);
    }
    counts[at] = counts[at].saturating_add(n);
}
