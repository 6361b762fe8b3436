//! The cheapest each `metrics` macro path has been seen to run, through
//! hotmetrics' recorder and through `metrics-exporter-prometheus`': for
//! every case, the minimum over many short runs of the mean ns per call
//! (see `record_floor.rs` for why a floor: on a shared, busy machine it is
//! what the code costs with a core to itself). The same cases as
//! `bench/benches/facade.rs`; the exporter's upkeep runs between runs, outside
//! the timing.
//!
//! `cargo run --release -p hotmetrics-bench --bin facade_floor`

use hotmetrics::facade::FacadeRecorder;
use hotmetrics::Registry;
use metrics::Recorder;
use metrics_exporter_prometheus::PrometheusBuilder;
use std::hint::black_box;
use std::time::Instant;

const ROUTES: [&str; 4] = ["search", "checkout", "profile", "cart"];

/// Runs `f(n)` `runs` times, `upkeep()` after each; returns the smallest
/// mean ns per call.
fn floor_ns(runs: usize, n: u64, upkeep: &dyn Fn(), mut f: impl FnMut(u64)) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        f(n);
        best = best.min(t.elapsed().as_nanos() as f64 / n as f64);
        upkeep();
    }
    best
}

/// The six cases through `recorder`: ns per call each.
fn cases(recorder: &dyn Recorder, upkeep: &dyn Fn(), values: &[f64]) -> [f64; 6] {
    let (runs, n) = (200, 65_536);
    let value = |i: u64| black_box(values[(i & 1023) as usize]);
    metrics::with_local_recorder(recorder, || {
        let counter = metrics::counter!("requests", "route" => "search");
        let histogram = metrics::histogram!("request_duration_seconds", "route" => "search");
        [
            floor_ns(runs, n, upkeep, |n| {
                (0..n).for_each(|_| metrics::counter!("requests", "route" => "search").increment(1))
            }),
            floor_ns(runs, n, upkeep, |n| {
                (0..n).for_each(|i| {
                    let route = black_box(ROUTES[(i & 3) as usize]);
                    metrics::counter!("requests", "route" => route).increment(1)
                })
            }),
            floor_ns(runs, n, upkeep, |n| {
                (0..n).for_each(|_| black_box(&counter).increment(1))
            }),
            floor_ns(runs, n, upkeep, |n| {
                (0..n).for_each(|i| {
                    metrics::histogram!("request_duration_seconds", "route" => "search")
                        .record(value(i))
                })
            }),
            floor_ns(runs, n, upkeep, |n| {
                (0..n).for_each(|i| {
                    let route = black_box(ROUTES[(i & 3) as usize]);
                    metrics::histogram!("request_duration_seconds", "route" => route)
                        .record(value(i))
                })
            }),
            floor_ns(runs, n, upkeep, |n| {
                (0..n).for_each(|i| black_box(&histogram).record(value(i)))
            }),
        ]
    })
}

fn main() {
    // 1,024 latencies in seconds over 10 µs..10 ms, as in the bench.
    let values: Vec<f64> = (0..1024u32)
        .map(|i| 1e-5 * 1000f64.powf((f64::from(i) * 0.618_033_988_75).fract()))
        .collect();
    let reg = Registry::new();
    let ours = FacadeRecorder::new(&reg);
    let prom = PrometheusBuilder::new().build_recorder();
    let handle = prom.handle();
    let hot = cases(&ours, &|| {}, &values);
    let theirs = cases(&prom, &|| handle.run_upkeep(), &values);
    // What the macros cost before any recorder work: building the key
    // (with a run-time label, a `Vec` allocation and a hash per call) and
    // calling a recorder that returns no-op handles.
    let noop = cases(&metrics::NoopRecorder, &|| {}, &values);
    println!(
        "{:<34} {:>11} {:>13} {:>7} {:>14}",
        "case (ns/call, floor)", "hotmetrics", "prom-exporter", "ratio", "noop recorder"
    );
    let names = [
        "counter! literal label",
        "counter! run-time label",
        "counter handle kept",
        "histogram! literal label",
        "histogram! run-time label",
        "histogram handle kept",
    ];
    for (((name, h), p), z) in names.iter().zip(hot).zip(theirs).zip(noop) {
        println!("{name:<34} {h:>11.2} {p:>13.2} {:>6.2}x {z:>14.2}", p / h);
    }
    black_box(reg.collect());
}
