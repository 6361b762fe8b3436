//! End-to-end loom models of hotmetrics' synchronisation, in `tests/`; this
//! library holds what they share. The white-box models live beside the code
//! they check (`loom_model` modules under `src/`). `README.md` says what
//! each model proves.
//!
//! Run them with `scripts/loom.sh`, which sets `RUSTFLAGS="--cfg loom"`.
//! Without `--cfg loom` the models and these helpers compile to nothing, so a
//! plain `cargo test --workspace` skips them.
#![cfg(loom)]

use hotmetrics::{Counter, Histogram, HistogramSnapshot, Options, Precision, Registry};

// The runner the white-box models use too.
#[path = "../../src/sync/loom_runner.rs"]
mod loom_runner;

/// Runs `f` under loom with the preemption bound from `LOOM_MAX_PREEMPTIONS`
/// (default 2), and prints how many executions were explored.
pub fn run_model<F>(name: &str, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    loom_runner::run(name, 0, f);
}

/// As [`run_model`], exploring at least `min_preemptions` preemptions: for
/// small models whose interesting interleavings need more than the default
/// bound.
pub fn run_model_at_least<F>(name: &str, min_preemptions: usize, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    loom_runner::run(name, min_preemptions, f);
}

/// A counter whose cells lie past each shard's inline segment 0 (a
/// registry's first 32 counter slots, filled here), so that recording into
/// it allocates and installs a segment (`Segments::grow`) and a collection
/// reads that segment's pointer.
pub fn counter_in_a_grown_segment(reg: &Registry, name: &str) -> Counter {
    for i in 0..32 {
        reg.counter(&format!("{name}_filler_{i}"), "loom model")
            .unwrap();
    }
    reg.counter(name, "loom model").unwrap()
}

/// A histogram with 2 sub-bucket bits (252 buckets, one directory group),
/// so that the modelled state stays small.
pub fn small_histogram(reg: &Registry, name: &str) -> Histogram {
    let options = Options::new(name, "loom model").precision(Precision::new(2).unwrap());
    reg.histogram_with(options).unwrap()
}

/// Checks what any snapshot of a histogram into which each of `recorded` was
/// recorded once (each into a bucket of its own) must satisfy, whatever
/// raced the collection. Returns the values it counted.
pub fn check_histogram(h: &HistogramSnapshot, recorded: &[u64]) -> Vec<u64> {
    let mut seen = Vec::new();
    let mut count = 0;
    let mut sum = 0u128;
    for b in h.buckets() {
        let mut values = recorded.iter().filter(|&&v| b.lower <= v && v <= b.upper);
        let v = *values.next().expect("a bucket nobody recorded into");
        assert!(values.next().is_none(), "model values share a bucket");
        assert_eq!(b.count, 1, "{b:?} counted more than was recorded");
        count += b.count;
        sum += u128::from(v) * u128::from(b.count);
        seen.push(v);
    }
    // `count` is the sum of the bucket counts, and `sum` the sum of exactly
    // the observations those buckets counted: never a bucket without its
    // share of the sum, or a share of the sum without its bucket.
    assert_eq!(h.count(), count, "{h:?}");
    assert_eq!(h.sum(), sum, "{h:?}: sum does not match the buckets");
    if count == 0 {
        assert_eq!((h.min(), h.max()), (None, None), "{h:?}");
    } else {
        let (min, max) = (h.min().unwrap(), h.max().unwrap());
        let first = h.buckets().next().unwrap();
        let last = h.buckets().last().unwrap();
        assert!(min <= max, "{h:?}");
        // Within the outer buckets (the snapshot clamps them into those) ...
        assert!(first.lower <= min && min <= first.upper, "{h:?}");
        assert!(last.lower <= max && max <= last.upper, "{h:?}");
        // ... and enclosing every counted observation: a recorder's min/max
        // stores are published by the same Release store as its bucket.
        assert!(
            seen.iter().all(|&v| min <= v && v <= max),
            "{h:?} counted {seen:?}"
        );
    }
    seen
}
