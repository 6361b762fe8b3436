//! Histograms of `f64` values: recorded as given (negative, zero,
//! subnormal, the whole finite range, infinities), NaN counted as invalid;
//! quantiles within the stated relative error of the exact sorted-rank
//! quantile; `_sum` exact to f64 rounding; the facade and every export
//! keep what was recorded.

use hotmetrics::export::{json, openmetrics, prometheus, TextOptions};
use hotmetrics::facade::FacadeRecorder;
use hotmetrics::{Options, Precision, Registry};
use proptest::prelude::*;

#[path = "common/exact.rs"]
mod exact;
use exact::exact;

/// The sample value of the line starting with `prefix` (name and labels).
fn sample(text: &str, prefix: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn facade_records_f64_as_given_in_every_format() {
    let reg = Registry::new();
    let recorder = FacadeRecorder::new(&reg);
    metrics::with_local_recorder(&recorder, || {
        for v in [0.004, 0.25, 1.7, 3.2] {
            metrics::histogram!("request_latency").record(v);
        }
        metrics::histogram!("payload").record(1234.5);
    });
    let snap = reg.collect();
    let h = snap.histogram("request_latency").unwrap();
    assert_eq!(h.sum_f64(), 5.154);
    assert_eq!(h.min_f64(), Some(0.004));
    let p50 = h.quantile_f64(0.5).unwrap();
    let bound = Precision::DEFAULT.relative_error();
    assert!((p50 - 0.25).abs() <= 0.25 * bound, "p50 {p50}");
    let payload = snap.histogram("payload").unwrap();
    assert_eq!(
        (payload.sum_f64(), payload.max_f64()),
        (1234.5, Some(1234.5))
    );

    let js: serde_json::Value = serde_json::from_str(&json::to_string(&snap)).unwrap();
    let series = js["metrics"]
        .as_array()
        .or_else(|| js.as_array())
        .expect("a list of series");
    let lat = series
        .iter()
        .find(|s| s["name"] == "request_latency")
        .unwrap();
    assert_eq!(lat["sum"].as_f64(), Some(5.154));
    assert_eq!(lat["p50"].as_f64(), Some(p50));
    let pay = series.iter().find(|s| s["name"] == "payload").unwrap();
    assert_eq!(
        (pay["sum"].as_f64(), pay["p50"].as_f64()),
        (Some(1234.5), Some(1234.5))
    );

    let opts = TextOptions::new().summary(&[0.5]);
    for text in [
        prometheus::render(&snap),
        openmetrics::render(&snap),
        {
            let mut out = String::new();
            prometheus::render_into(&snap, &mut out, &opts);
            out
        },
        {
            let mut out = String::new();
            openmetrics::render_into(&snap, &mut out, &opts);
            out
        },
    ] {
        assert_eq!(sample(&text, "request_latency_sum"), 5.154, "{text}");
        assert!(text.contains("request_latency_sum 5.154\n"), "{text}");
        assert_eq!(sample(&text, "payload_sum"), 1234.5);
        if text.contains("quantile=") {
            let q = sample(&text, "request_latency{quantile=\"0.5\"}");
            assert!((q - 0.25).abs() <= 0.25 * bound, "{text}");
            assert_eq!(sample(&text, "payload{quantile=\"0.5\"}"), 1234.5);
        }
    }
}

#[test]
fn classic_buckets_count_fractional_values_by_their_real_value() {
    let reg = Registry::new();
    let h = reg.histogram("h", "h", hotmetrics::Unit::None).unwrap();
    for v in [0.004, 0.25, 1.7, 3.2, -2.0] {
        h.record_f64(v);
    }
    let snap = reg.collect();
    let mut out = String::new();
    let opts = TextOptions::new().buckets(&[0.004, 0.005, 0.5, 2.0, 5.0]);
    prometheus::render_into(&snap, &mut out, &opts);
    let cases = [
        ("0.004", 1.0),
        ("0.005", 2.0),
        ("0.5", 3.0),
        ("2", 4.0),
        ("5", 5.0),
    ];
    for (le, want) in cases {
        assert_eq!(sample(&out, &format!("h_bucket{{le=\"{le}")), want, "{out}");
    }
}

#[test]
fn u64_and_f64_records_of_one_integer_share_a_bucket() {
    let reg = Registry::new();
    let h = reg.histogram("h", "h", hotmetrics::Unit::None).unwrap();
    let ints = [
        0u64,
        1,
        7,
        63,
        64,
        100,
        129,
        1_000_000,
        1 << 40,
        (1 << 53) + 2,
    ];
    for v in ints {
        h.record(v);
        h.record_f64(v as f64);
    }
    let snap = reg.collect();
    let hist = snap.histogram("h").unwrap();
    let buckets: Vec<_> = hist.float_buckets().collect();
    assert_eq!(buckets.len(), ints.len(), "{buckets:?}");
    for (b, v) in buckets.iter().zip(ints) {
        assert_eq!(b.count, 2);
        assert!(b.lower <= v as f64 && v as f64 <= b.upper, "{v} in {b:?}");
    }
    let exact: u128 = ints.iter().map(|&v| 2 * u128::from(v)).sum();
    assert_eq!(hist.sum(), exact);
}

#[test]
fn nan_is_invalid_and_infinities_take_the_outer_buckets() {
    let reg = Registry::new();
    let h = reg.histogram("h", "h", hotmetrics::Unit::None).unwrap();
    for v in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        5e-324,
        f64::MAX,
        -f64::MAX,
    ] {
        h.record_f64(v);
    }
    h.local().record_f64(f64::NAN);
    let snap = reg.collect();
    let hist = snap.histogram("h").unwrap();
    assert_eq!((hist.count(), hist.invalid()), (6, 2));
    let b: Vec<_> = hist.float_buckets().collect();
    assert_eq!((b[0].lower, b[0].count), (f64::NEG_INFINITY, 1));
    assert_eq!(b.last().unwrap().upper, f64::INFINITY);
    assert!(b.iter().any(|b| b.lower == 0.0 && b.upper == 0.0));
    assert_eq!(
        (hist.min_f64(), hist.max_f64()),
        (Some(f64::NEG_INFINITY), Some(f64::INFINITY))
    );
    assert!(hist.sum_f64().is_nan(), "inf + -inf");
    let text = prometheus::render(&snap);
    assert!(text.contains("h_invalid_total 2\n"), "{text}");
}

fn check(values: &[f64], precision: Precision) -> Result<(), TestCaseError> {
    let reg = Registry::new();
    let h = reg
        .histogram_with(Options::new("h", "h").precision(precision))
        .unwrap();
    for &v in values {
        h.record_f64(v);
    }
    let snap = reg.collect();
    let hist = snap.histogram("h").unwrap();
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    let nans = values.len() - sorted.len();
    prop_assert_eq!(hist.count(), sorted.len() as u64);
    prop_assert_eq!(hist.invalid(), nans as u64);
    let total: u64 = hist.float_buckets().map(|b| b.count).sum();
    prop_assert_eq!(total, sorted.len() as u64);
    if sorted.is_empty() {
        prop_assert_eq!(hist.quantile_f64(0.5), None);
        return Ok(());
    }
    prop_assert_eq!(hist.min_f64(), sorted.first().copied());
    prop_assert_eq!(hist.max_f64(), sorted.last().copied());
    for q in [0.0, 0.001, 0.25, 0.5, 0.9, 0.99, 1.0] {
        let want = exact(&sorted, q);
        let got = hist.quantile_f64(q).unwrap();
        if want.is_infinite() {
            prop_assert_eq!(got, want);
        } else if want.abs() >= f64::MIN_POSITIVE {
            let err = ((got - want) / want).abs();
            prop_assert!(
                err <= precision.relative_error(),
                "q={} exact={} got={} err={}",
                q,
                want,
                got,
                err
            );
        } else {
            // Subnormals: buckets of a fixed width; half of it.
            let width = f64::from_bits(1u64 << (52 - precision.bits()));
            prop_assert!(
                (got - want).abs() <= width / 2.0,
                "q={} {} vs {}",
                q,
                want,
                got
            );
        }
    }
    Ok(())
}

/// Every kind of `f64`: signs, zero, subnormals, 1e-300 … 1e300, NaN, ±inf.
fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (-300.0f64..300.0, any::<bool>()).prop_map(|(e, neg)| {
            let v = 10f64.powf(e);
            if neg { -v } else { v }
        }),
        2 => any::<u64>().prop_map(f64::from_bits),
        1 => (1u64..1 << 52).prop_map(f64::from_bits),
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        4 => (0.0f64..1.0).prop_map(|u| (u * 8.0 - 4.0).exp() * 1e-3),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn quantiles_of_any_f64_are_within_the_bound(
        values in prop::collection::vec(any_value(), 0..400),
        bits in 0u8..=10,
    ) {
        check(&values, Precision::new(bits).unwrap())?;
    }

    #[test]
    fn sum_is_exact_to_rounding_for_mixed_magnitudes(
        small in prop::collection::vec(1u32..1000, 1..200),
        big in 1e15f64..1e16,
    ) {
        // `big`, small values, then `-big`: a plain f64 sum loses the small
        // ones to `big`'s rounding; the exact answer is their sum.
        let reg = Registry::new();
        let h = reg.histogram("h", "h", hotmetrics::Unit::None).unwrap();
        h.record_f64(big);
        let mut want = 0.0;
        for &s in &small {
            let v = f64::from(s) / 8.0;
            h.record_f64(v);
            want += v;
        }
        h.record_f64(-big);
        let snap = reg.collect();
        prop_assert_eq!(snap.histogram("h").unwrap().sum_f64(), want);
    }
}
