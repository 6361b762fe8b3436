//! Lookups after label churn: a family limited to 1,000 series that evicts
//! after one idle collection sees 1,000,000 distinct label sets pass
//! through (1,000 at a time, each batch evicted by two collections), then
//! holds 1,000 live series again. A lookup of a present and of a missing
//! label set (which, the family being full, goes to the overflow series)
//! is timed in it and in a fresh family holding 1,000 series the same way.
//! Tombstone compaction (`sync/table.rs`) keeps the churned figures within
//! 2× of the fresh ones.
//!
//! `cargo bench -p hotmetrics-bench --bench churn` (setting up the churned
//! family takes a few seconds; about 20 s in all).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hotmetrics::{CounterFamily, Options, Registry};
use std::hint::black_box;
use std::time::Duration;

const LIMIT: usize = 1_000;
const CHURNED: usize = 1_000_000;

fn family(reg: &Registry) -> CounterFamily {
    reg.counter_family_with(
        Options::new("churn", "Churn")
            .labels(&["id", "kind"])
            .max_series(LIMIT)
            .evict_idle_after(1),
    )
    .unwrap()
}

/// Records into label sets `from..from + LIMIT` (`id` = the number).
fn fill(fam: &CounterFamily, from: usize) {
    for i in from..from + LIMIT {
        fam.inc(&[i.to_string().as_str(), "k"]);
    }
}

/// A family through which `CHURNED` label sets have passed, full again.
fn churned(reg: &Registry) -> CounterFamily {
    let fam = family(reg);
    for batch in 0..CHURNED / LIMIT {
        fill(&fam, batch * LIMIT);
        // Seen once, then idle once: evicted.
        reg.collect();
        reg.collect();
    }
    // Let the last evictions be reclaimed.
    for _ in 0..10_000 {
        if fam.pending_evictions() == 0 && fam.is_empty() {
            break;
        }
        reg.collect();
    }
    fill(&fam, CHURNED);
    fam
}

fn lookups(c: &mut Criterion) {
    let fresh_reg = Registry::new();
    let fresh = family(&fresh_reg);
    fill(&fresh, CHURNED);
    let churned_reg = Registry::new();
    let churned = churned(&churned_reg);
    assert_eq!((fresh.len(), churned.len()), (LIMIT, LIMIT));

    let present = ["1000500", "k"];
    let missing = ["absent", "k"];
    let mut g = c.benchmark_group("lookup_after_churn");
    g.throughput(Throughput::Elements(1));
    g.bench_function("fresh_present", |b| {
        b.iter(|| fresh.inc(black_box(&present)))
    });
    g.bench_function("churned_present", |b| {
        b.iter(|| churned.inc(black_box(&present)))
    });
    g.bench_function("fresh_missing", |b| {
        b.iter(|| fresh.inc(black_box(&missing)))
    });
    g.bench_function("churned_missing", |b| {
        b.iter(|| churned.inc(black_box(&missing)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = lookups
}
criterion_main!(benches);
