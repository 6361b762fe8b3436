use super::*;
use crate::{Precision, Registry, Unit};
use proptest::prelude::*;

/// `bound(8, i) < v <= bound(8, i + 1)` up to the rounding of `bound`.
fn brackets(v: f64) -> bool {
    // In the log domain, where subnormals are as precise as the rest.
    let (i, x) = (f64::from(index8(v)), v.log2() * 256.0);
    let slack = 1e-9 * x.abs().max(1.0);
    i < x + slack && x <= i + 1.0 + slack
}

/// The conversion alone.
fn convert(
    buckets: Vec<Source>,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    max_buckets: usize,
) -> NativeHistogram {
    convert_at_start(buckets, sum, min, max, max_buckets).0
}

/// Buckets with no keys known: converted as they come.
fn keyless(buckets: &[(f64, f64, u64)]) -> Vec<Source> {
    buckets.iter().map(|&b| (b, None)).collect()
}

#[test]
fn the_key_tables_change_no_conversion() {
    // Integer and float records in every unit the tables serve, with the
    // outermost buckets clamped to min and max: the same histogram as
    // when every key is worked out directly.
    for (unit, divisor) in [(Unit::Nanoseconds, 1e9), (Unit::Bytes, 1.0)] {
        let reg = Registry::new();
        let h = reg.histogram("t", "T", unit).unwrap();
        let f = reg.histogram("f", "F", Unit::Seconds).unwrap();
        for k in 0..3_000u32 {
            let x = (f64::from(k) / 97.0).exp2();
            h.record(x as u64);
            f.record_f64(x * 1e-7);
        }
        let snap = reg.collect();
        for (h, divisor) in [
            (snap.histogram("t").unwrap(), divisor),
            (snap.histogram("f").unwrap(), 1.0),
        ] {
            let scale = |v: f64| v / divisor;
            let (min, max) = (h.min_f64().map(scale), h.max_f64().map(scale));
            let direct: Vec<_> = h
                .float_buckets()
                .map(|b| (scale(b.lower), scale(b.upper), b.count, None))
                .collect();
            for cap in [20, 160, 10_000] {
                let want = convert(
                    clamped(direct.iter().copied(), min, max),
                    scale(h.sum_f64()),
                    min,
                    max,
                    cap,
                );
                assert_eq!(native_histogram_scaled(h, divisor, cap), want, "cap {cap}");
            }
        }
    }
}

#[test]
fn index_table() {
    // (value, index at schema 8)
    let cases: &[(f64, i32)] = &[
        (1.0, -1),
        (2.0, 255),
        (0.5, -257),
        (1.5, 149),
        (1.0 + f64::EPSILON, 0),
        (f64::MAX, 1024 * 256 - 1),
        (f64::MIN_POSITIVE, -1022 * 256 - 1),
        (5e-324, -1074 * 256 - 1),
    ];
    for &(v, i) in cases {
        assert_eq!(index8(v), i, "index8({v:e})");
        assert!(brackets(v), "{v:e}");
    }
    assert_eq!(Key::of(0.0), Key::Zero);
    assert_eq!(Key::of(-1.5), Key::Neg(149));
    assert_eq!(Key::of(f64::INFINITY), Key::Pos(1024 * 256 - 1));
    assert_eq!(Key::of(f64::NAN), Key::Zero);
}

#[test]
fn inside_is_exact_straddling_goes_by_midpoint() {
    // Schema 0: buckets (2^i, 2^(i+1)].
    assert_eq!(place(1.1, 1.9, 0), Key::Pos(0));
    assert_eq!(place(1.5, 2.0, 0), Key::Pos(0));
    // (0.9, 1.5): midpoint 1.2 is in (1, 2].
    assert_eq!(place(0.9, 1.5, 0), Key::Pos(0));
    // (0.6, 1.1): midpoint 0.85 is in (0.5, 1].
    assert_eq!(place(0.6, 1.1, 0), Key::Pos(-1));
    assert_eq!(place(-1.9, -1.1, 0), Key::Neg(0));
    assert_eq!(place(-1.1, -0.6, 0), Key::Neg(-1));
    assert_eq!(place(0.0, 0.0, 0), Key::Zero);
    // A bucket across zero goes by its midpoint's sign.
    assert_eq!(place(-1.0, 5.0, 0), Key::Pos(0));
    assert_eq!(place(-1.0, 3.0, 0), Key::Pos(-1));
    assert_eq!(place(-1.0, 1.0, 0), Key::Zero);
}

#[test]
fn negative_zero_and_positive_counts_are_exact() {
    let buckets = vec![
        (-300.0, -200.0, 3),
        (-1.5, -1.25, 2),
        (0.0, 0.0, 7),
        (1e-300, 1e-300, 1),
        (3.0, 3.5, 4),
        (1e300, 1.1e300, 5),
    ];
    for max_buckets in [0, 4, 10, 160, 10_000] {
        let n = convert(
            keyless(&buckets),
            1.0,
            Some(-300.0),
            Some(1.1e300),
            max_buckets,
        );
        assert_eq!(n.count, 22);
        assert_eq!(n.zero_count, 7);
        assert_eq!(n.zero_threshold, 0.0);
        assert_eq!(n.negative.iter().sum::<u64>(), 5);
        assert_eq!(n.positive.iter().sum::<u64>(), 10);
        if max_buckets >= 10_000 {
            // Fine enough to keep every source bucket apart.
            assert_eq!(n.positive.first().copied(), Some(1));
            assert_eq!(n.positive.last().copied(), Some(5));
            assert_eq!(n.negative.first().copied(), Some(2));
            assert_eq!(n.negative.last().copied(), Some(3));
        }
        let total = n.positive.len() + n.negative.len();
        assert!(total <= max_buckets || n.schema == MIN_SCHEMA, "{n:?}");
        assert!(n.schema < MAX_SCHEMA);
    }
}

#[test]
fn start_schema_follows_the_recorded_width() {
    // Exact integers (points) do not limit the schema.
    assert_eq!(
        start_schema([(5.0, 5.0, 1), (0.0, 0.0, 1)].into_iter()),
        MAX_SCHEMA
    );
    // Default precision: buckets up to 1/64 = 1.56 % wide: schema 5
    // (2.19 %), not 6 (1.09 %).
    let p = Precision::DEFAULT;
    let widest = 1.0 / f64::from(1u32 << p.bits());
    assert_eq!(
        start_schema([(64.0, 64.0 * (1.0 + widest), 1)].into_iter()),
        5
    );
    assert_eq!(start_schema([(1.0, 1e300, 1)].into_iter()), MIN_SCHEMA);
}

#[test]
fn empty_histogram() {
    let reg = Registry::new();
    let _h = reg.histogram("h", "h", Unit::None).unwrap();
    let snap = reg.collect();
    let n = native_histogram(snap.histogram("h").unwrap(), 160);
    assert_eq!(n.count, 0);
    assert!(n.positive.is_empty() && n.negative.is_empty());
    assert_eq!((n.min, n.max, n.sum), (None, None, 0.0));
}

/// What Prometheus answers for quantile `q` of positive buckets: the
/// bucket its rank falls in, interpolated linearly.
fn estimate(n: &NativeHistogram, q: f64) -> f64 {
    let rank = q * n.count as f64;
    let mut seen = n.zero_count as f64;
    if seen >= rank {
        return 0.0;
    }
    for (k, &c) in n.positive.iter().enumerate() {
        if seen + c as f64 >= rank {
            let (lo, hi) = n.bucket_bounds(n.positive_offset + k as i32);
            return lo + (hi - lo) * (rank - seen) / c as f64;
        }
        seen += c as f64;
    }
    f64::NAN
}

/// Quantiles from the exported buckets of recorded data are within the
/// stated bound: exported relative width plus half the recorded one.
fn check_quantiles(values: &mut [u64], divisor: f64, max_buckets: usize) {
    let reg = Registry::new();
    let h = reg.histogram("h", "h", Unit::None).unwrap();
    for &v in values.iter() {
        h.record(v);
    }
    let snap = reg.collect();
    let hs = snap.histogram("h").unwrap();
    let n = native_histogram_scaled(hs, divisor, max_buckets);
    assert_eq!(n.count, values.len() as u64);
    assert!(n.positive.len() + n.negative.len() <= max_buckets);
    assert_eq!(n.sum, hs.sum() as f64 / divisor);
    values.sort_unstable();
    let e = hs.precision().relative_error();
    for q in [0.01, 0.5, 0.9, 0.99, 1.0] {
        let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
        let exact = values[rank - 1] as f64 / divisor;
        let got = estimate(&n, q);
        let bound = exact * ((1.0 + e) * n.relative_width() + e) + 1e-12;
        assert!(
            (got - exact).abs() <= bound,
            "q={q}: {got} vs {exact} (bound {bound}, schema {})",
            n.schema
        );
    }
}

#[test]
fn quantiles_within_the_bound_on_known_distributions() {
    // Uniform over 1 µs .. 10 ms in ns, exported in seconds.
    let mut uniform: Vec<u64> = (0..20_000u64).map(|i| 1_000 + i * 499).collect();
    check_quantiles(&mut uniform, 1e9, 160);
    check_quantiles(&mut uniform, 1e9, 20);
    // Geometric: 1 .. 2^40.
    let mut geometric: Vec<u64> = (0..4_000u32)
        .map(|i| (f64::from(i) / 100.0).exp2() as u64)
        .collect();
    check_quantiles(&mut geometric, 1.0, 160);
    check_quantiles(&mut geometric, 1e3, 40);
}

#[test]
fn spans_and_deltas_skip_long_gaps_only() {
    let (spans, deltas) = spans_and_deltas(-2, &[1, 0, 0, 2, 0, 0, 0, 5, 4]);
    assert_eq!(spans, vec![(-2, 4), (3, 2)]);
    assert_eq!(deltas, vec![1, -1, 0, 2, 3, -1]);
    assert_eq!(spans_and_deltas(7, &[]), (vec![], vec![]));
    assert_eq!(spans_and_deltas(0, &[0, 3]), (vec![(1, 1)], vec![3]));
}

fn bucket() -> impl Strategy<Value = (f64, f64, u64)> {
    let magnitude = prop_oneof![
        Just(0.0),
        (-40.0f64..40.0).prop_map(f64::exp2),
        (-1070.0f64..1023.0).prop_map(f64::exp2),
    ];
    (magnitude, 0.0f64..0.2, any::<bool>(), 1u64..1000).prop_map(|(m, w, neg, c)| {
        let (l, u) = (m, m * (1.0 + w));
        if neg {
            (-u, -l, c)
        } else {
            (l, u, c)
        }
    })
}

proptest! {
    #[test]
    fn index_brackets_every_positive_value(bits in 1u64..0x7ff0_0000_0000_0000) {
        let v = f64::from_bits(bits);
        prop_assert!(brackets(v), "{v:e} -> {}", index8(v));
    }

    #[test]
    fn reducing_equals_converting_at_that_schema(
        buckets in prop::collection::vec(bucket(), 0..40),
        fine in -2i32..=8,
        down in 0i32..=10,
    ) {
        let coarse = (fine - down).max(MIN_SCHEMA);
        let reduced = convert_at(&buckets, fine).reduce_to(coarse);
        let direct = convert_at(&buckets, coarse);
        prop_assert_eq!(&reduced, &direct);
        let total: u64 = buckets.iter().map(|b| b.2).sum();
        let counted = direct.zero_count
            + direct.positive.iter().sum::<u64>()
            + direct.negative.iter().sum::<u64>();
        prop_assert_eq!(direct.count, total);
        prop_assert_eq!(counted, total);
    }

    #[test]
    fn the_cap_is_met_by_the_finest_schema_that_fits(
        buckets in prop::collection::vec(bucket(), 0..40),
        max_buckets in 6usize..200,
    ) {
        let n = convert(keyless(&buckets), 0.0, None, None, max_buckets);
        let total: u64 = buckets.iter().map(|b| b.2).sum();
        prop_assert_eq!(n.count, total);
        prop_assert!(n.positive.len() + n.negative.len() <= max_buckets);
        prop_assert_eq!(&convert_at(&buckets, n.schema), &NativeHistogram {
            sum: 0.0, min: None, max: None, ..n.clone()
        });
        let start = start_schema(buckets.iter().copied());
        prop_assert!(n.schema <= start);
        if n.schema < start {
            let finer = convert_at(&buckets, n.schema + 1);
            prop_assert!(finer.positive.len() + finer.negative.len() > max_buckets);
        }
    }
}

#[test]
fn every_schema_8_bound_is_the_upper_end_of_its_bucket() {
    // Each table bound, scaled into octaves far apart, is the upper bound
    // of bucket k - 1; the next float up is in bucket k. (A table off by
    // one slice, or a comparison the wrong way round, fails here.)
    for k in 1..256 {
        let b = (f64::from(k) / 256.0).exp2();
        for e in [-1000i32, -3, 0, 1, 700] {
            let v = b * f64::from(e).exp2();
            let base = e * 256;
            assert_eq!(index8(v), base + k - 1, "2^({k}/256) * 2^{e}");
            let up = f64::from_bits(v.to_bits() + 1);
            assert_eq!(index8(up), base + k, "just above 2^({k}/256) * 2^{e}");
            let down = f64::from_bits(v.to_bits() - 1);
            assert_eq!(index8(down), base + k - 1, "just below 2^({k}/256) * 2^{e}");
        }
    }
}

#[test]
fn a_changed_histogram_carries_its_native_buckets_unless_they_could_differ() {
    let reg = Registry::new();
    let h = reg.histogram("lat", "l", Unit::Nanoseconds).unwrap();
    for v in [1_000, 50_000, 2_000_000, 90_000_000] {
        h.record(v);
    }
    let converted = |snap: &crate::Snapshot| {
        let s = snap.histogram("lat").unwrap();
        let fresh = convert_snapshot(s, 1e9, DEFAULT_MAX_BUCKETS).hist;
        let kept = matches!(native_of(s, 1e9, DEFAULT_MAX_BUCKETS), Cow::Borrowed(_));
        let n = native_of(s, 1e9, DEFAULT_MAX_BUCKETS).into_owned();
        assert_eq!(n, fresh, "what is read back is what a conversion gives");
        kept
    };
    assert!(!converted(&reg.collect()), "the first render converts");
    // Records between the extremes, in known buckets and in new ones no
    // wider than those (a wider one would lower the start schema): carried.
    for v in [2_000_000, 2_000_000, 50_000, 2_050_000, 60_000] {
        h.record(v);
    }
    assert!(converted(&reg.collect()), "carried over");
    // A new maximum moves a clamped bound: converted afresh.
    h.record(500_000_000);
    assert!(!converted(&reg.collect()), "converted afresh");
    h.record(60_000);
    assert!(converted(&reg.collect()), "carried over again");
}
