//! Tests of `histogram_snapshot.rs`.

use super::*;

fn from_values(values: &[u64]) -> HistogramSnapshot {
    let p = Precision::DEFAULT;
    let mut map = std::collections::BTreeMap::new();
    for &v in values {
        *map.entry(p.slot_index(p.index(v)) as u32).or_insert(0u64) += 1;
    }
    let totals = Totals::integers(
        values.iter().map(|&v| v as u128).sum(),
        values.iter().copied().min().unwrap_or(u64::MAX),
        values.iter().copied().max().unwrap_or(0),
    );
    HistogramSnapshot::from_parts(p, map.into_iter().collect(), totals, 0)
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
    let u = p.index(1_000_000);
    let i = p.slot_index(u) as u32;
    // A racing record made min/max wider than the buckets seen.
    let totals = Totals::integers(2_000_000, 3, u64::MAX);
    let h = HistogramSnapshot::from_parts(p, vec![(i, 2)], totals, 0);
    assert_eq!(h.min(), Some(p.lower_bound(u)));
    assert_eq!(h.max(), Some(p.upper_bound(u)));
}

#[test]
fn count_below_matches_a_pass_over_every_bucket() {
    let values: Vec<u64> = (0..3000)
        .map(|k| (50.0 * 1.003f64.powi(k)) as u64)
        .collect();
    // Under Miri (`scripts/miri.sh`) fewer sizes and every 37th limit:
    // the full pass is millions of bucket reads.
    let (sizes, step): (&[usize], usize) = if cfg!(miri) {
        (&[0, 17, 40], 37)
    } else {
        (&[0, 1, 15, 16, 17, 40, 3000], 1)
    };
    for &n in sizes {
        let h = from_values(&values[..n]);
        let mut skip = 0;
        let p = Precision::DEFAULT;
        let near = (p.float_index(1.0).unwrap()..p.float_index(1e6).unwrap()).step_by(step);
        let ends = [0, p.zero_index(), p.float_bucket_count()];
        for limit in near.chain(ends) {
            let want: u64 = h
                .buckets
                .get()
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
