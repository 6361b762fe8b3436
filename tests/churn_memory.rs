//! Memory of a churning histogram family levels off: its evicted series'
//! cells are recycled for new label sets, and a recycled histogram does not
//! keep the bucket chunks its predecessors touched. Alone in its binary, so
//! that the process-wide allocation count is this test's.

use hotmetrics::{HistogramFamily, Options, Registry, Unit};

#[global_allocator]
static GLOBAL: hotmetrics_testkit::CountingAlloc = hotmetrics_testkit::CountingAlloc;

const LIMIT: usize = 50;

/// Label sets `from..to`, `LIMIT` at a time: each records one value, in a
/// bucket chunk that depends on the label set (spread over the whole
/// range), then is seen once and idle once (evicted).
fn churn(reg: &Registry, fam: &HistogramFamily, from: usize, to: usize) {
    for batch in (from..to).step_by(LIMIT) {
        for i in batch..batch + LIMIT {
            let value = 1.09f64.powi((i % 450) as i32) as u64;
            fam.record(&[i.to_string().as_str()], value);
        }
        reg.collect();
        reg.collect();
    }
}

/// Collects until every evicted series is reclaimed and settled; then the
/// live bytes of the process.
fn settled(reg: &Registry, fam: &HistogramFamily) -> i64 {
    for _ in 0..10_000 {
        if fam.pending_evictions() == 0 && fam.is_empty() {
            break;
        }
        reg.collect();
    }
    assert_eq!(fam.pending_evictions(), 0, "evictions never reclaimed");
    reg.collect();
    hotmetrics_testkit::alloc::live_bytes()
}

/// 10,000 label sets through a histogram family limited to 50 series:
/// the memory after 10,000 is within 1.5× of that after 1,000 (every
/// slot recycled many times by then), and the counts stay exact.
#[test]
fn a_churning_histogram_family_levels_off() {
    let reg = Registry::new();
    let fam = reg
        .histogram_family_with(
            Options::new("lat", "Latency")
                .unit(Unit::Nanoseconds)
                .labels(&["id"])
                .max_series(LIMIT)
                .evict_idle_after(1),
        )
        .unwrap();
    churn(&reg, &fam, 0, 1_000);
    let (early, early_cells) = (settled(&reg, &fam), reg.cell_bytes());
    churn(&reg, &fam, 1_000, 10_000);
    let (late, late_cells) = (settled(&reg, &fam), reg.cell_bytes());
    println!("live bytes {early} -> {late}, cell bytes {early_cells} -> {late_cells}");
    assert!(
        late_cells * 2 <= early_cells * 3,
        "cell memory grew from {early_cells} to {late_cells} bytes"
    );
    assert!(
        late * 2 <= early * 3,
        "live memory grew from {early} to {late} bytes"
    );
    let snap = reg.collect();
    assert_eq!(snap.counter("lat_evicted"), Some(10_000), "records lost");
}
