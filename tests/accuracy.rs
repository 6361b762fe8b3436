//! Guarantee 5: quantiles stay within the stated relative error of the exact
//! answer (the value of the same rank in the sorted samples).

use hotmetrics::{Options, Precision, Registry};
use proptest::prelude::*;

#[path = "common/exact.rs"]
mod exact;
use exact::exact;

fn check(values: &[u64], precision: Precision) -> Result<(), TestCaseError> {
    let reg = Registry::new();
    let h = reg
        .histogram_with(Options::new("h", "h").precision(precision))
        .unwrap();
    for &v in values {
        h.record(v);
    }
    let snap = reg.collect();
    let hist = snap.histogram("h").unwrap();
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    prop_assert_eq!(hist.count(), values.len() as u64);
    prop_assert_eq!(hist.min(), sorted.first().copied());
    prop_assert_eq!(hist.max(), sorted.last().copied());
    prop_assert_eq!(
        hist.sum(),
        values.iter().map(|&v| u128::from(v)).sum::<u128>()
    );
    for q in [0.0, 0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
        let want = exact(&sorted, q);
        let got = hist.quantile(q).unwrap();
        let err = (got as f64 - want as f64).abs() / (want.max(1) as f64);
        prop_assert!(
            err <= precision.relative_error() * (1.0 + 1e-9),
            "q={} exact={} got={} err={} bound={}",
            q,
            want,
            got,
            err,
            precision.relative_error()
        );
    }
    Ok(())
}

/// Log-normal-ish: exp of a sum of uniforms, scaled to nanoseconds.
fn log_normal() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(prop::array::uniform4(0.0f64..1.0), 1..2_000).prop_map(|v| {
        v.into_iter()
            .map(|u| (((u.iter().sum::<f64>() - 2.0) * 2.0).exp() * 1e6) as u64)
            .collect()
    })
}

fn bimodal() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec((any::<bool>(), 0u64..1_000), 1..2_000).prop_map(|v| {
        v.into_iter()
            .map(|(slow, x)| {
                if slow {
                    50_000_000 + x * 997
                } else {
                    20_000 + x * 13
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 2 } else { 64 }))]

    #[test]
    fn uniform(values in prop::collection::vec(0u64..10_000_000, 1..2_000), bits in 0u8..=10) {
        check(&values, Precision::new(bits).unwrap())?;
    }

    #[test]
    fn full_range(values in prop::collection::vec(any::<u64>(), 1..500)) {
        check(&values, Precision::DEFAULT)?;
    }

    #[test]
    fn log_normal_default(values in log_normal()) {
        check(&values, Precision::DEFAULT)?;
    }

    #[test]
    fn bimodal_default(values in bimodal(), bits in 4u8..=8) {
        check(&values, Precision::new(bits).unwrap())?;
    }

    #[test]
    fn constant(v in any::<u64>(), n in 1usize..500) {
        check(&vec![v; n], Precision::DEFAULT)?;
    }
}

#[test]
fn extremes() {
    check(&[0, u64::MAX], Precision::DEFAULT).unwrap();
    check(&[0; 10], Precision::DEFAULT).unwrap();
    check(&[u64::MAX; 10], Precision::MIN).unwrap();
    check(&[0, 1, u64::MAX - 1, u64::MAX], Precision::MAX).unwrap();
}
