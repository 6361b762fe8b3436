//! The schema-8 keys of the recorded buckets, worked out once per
//! precision and unit divisor and shared by every histogram that has them.
//!
//! A scrape in the protobuf format, a remote write and an OTLP export
//! re-bin every non-empty bucket of every histogram into native buckets
//! (see [`super::native`]). Where a bucket goes depends only on its bounds
//! in the exported unit, that is on its index, the precision and the
//! divisor, so the keys of its bounds and midpoint at schema 8 are kept in
//! a table per (precision, divisor): a conversion reads three keys per
//! bucket instead of working them out (a logarithm's worth each).
//!
//! The table covers positive recorded values from 2^-32 to 2^64 (every
//! `u64` record and `f64` records down to nanoseconds in seconds), at
//! precisions up to [`MAX_PRECISION`]; at most [`MAX_TABLES`] are kept.
//! Other buckets, and buckets narrowed to the observed min and max, are
//! worked out as they come. The tables are filled on first use, under a
//! lock taken once per converted histogram: none of this is on the
//! recording path.
#![forbid(unsafe_code)]

use super::native::Keys8;
use crate::buckets::Precision;
// shim-exempt: a render-time memo, off the recording path (loom models
// the recording and collection protocols, not the exporters' caches).
use std::sync::{Arc, Mutex, PoisonError}; // shim-exempt: see above

/// Tables kept at most (one per precision and divisor in use).
pub(super) const MAX_TABLES: usize = 16;

/// The finest precision given a table (2^7 buckets per octave: 96 octaves
/// of 24-byte entries, 295 KiB).
pub(super) const MAX_PRECISION: u8 = 7;

/// The keys of the buckets from index `first` on.
pub(super) struct KeyTable {
    first: usize,
    keys: Box<[Keys8]>,
}

impl KeyTable {
    /// The keys of bucket `index`, if the table covers it.
    #[inline]
    pub(super) fn get(&self, index: usize) -> Option<Keys8> {
        self.keys.get(index.wrapping_sub(self.first)).copied()
    }
}

/// The table for buckets of precision `p` divided by `divisor`, made on
/// first use; `None` past [`MAX_PRECISION`] or [`MAX_TABLES`].
pub(super) fn table(p: Precision, divisor: f64) -> Option<Arc<KeyTable>> {
    static TABLES: Mutex<Vec<(u8, u64, Arc<KeyTable>)>> = Mutex::new(Vec::new());
    if p.bits() > MAX_PRECISION {
        return None;
    }
    let key = (p.bits(), divisor.to_bits());
    let mut tables = TABLES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, _, t)) = tables.iter().find(|(b, d, _)| (*b, *d) == key) {
        return Some(Arc::clone(t));
    }
    if tables.len() >= MAX_TABLES {
        return None;
    }
    let t = Arc::new(build(p, divisor));
    tables.push((key.0, key.1, Arc::clone(&t)));
    Some(t)
}

/// The keys of every bucket of positive values in `[2^-32, 2^64)`, as
/// the direct conversion works them out (bounds divided by `divisor`).
fn build(p: Precision, divisor: f64) -> KeyTable {
    let index = |v: f64| {
        p.float_index(v)
            .expect("a finite positive value has a bucket")
    };
    let (first, last) = (index(2f64.powi(-32)), index(2f64.powi(64)));
    let keys = (first..=last)
        .map(|i| {
            let (l, u) = p.float_bounds(i);
            Keys8::of(l / divisor, u / divisor)
        })
        .collect();
    KeyTable { first, keys }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_holds_the_keys_worked_out_directly() {
        for bits in [0, 3, 6, MAX_PRECISION] {
            let p = Precision::new(bits).unwrap();
            for divisor in [1.0, 1e3, 1e9] {
                let t = build(p, divisor);
                assert_eq!(t.get(t.first - 1), None);
                for (n, k) in t.keys.iter().enumerate() {
                    let (l, u) = p.float_bounds(t.first + n);
                    assert_eq!(*k, Keys8::of(l / divisor, u / divisor));
                    assert_eq!(t.get(t.first + n), Some(*k));
                }
                assert_eq!(t.get(t.first + t.keys.len()), None);
            }
        }
    }

    #[test]
    fn one_table_per_precision_and_divisor() {
        let p = Precision::DEFAULT;
        let t = table(p, 1e9).unwrap();
        assert!(Arc::ptr_eq(&t, &table(p, 1e9).unwrap()));
        assert!(!Arc::ptr_eq(&t, &table(p, 1e6).unwrap()));
        let finer = Precision::new(MAX_PRECISION + 1).unwrap();
        assert!(table(finer, 1.0).is_none());
    }
}
