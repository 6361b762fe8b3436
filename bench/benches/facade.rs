//! The `metrics` macros through hotmetrics' recorder against the same
//! macros through `metrics-exporter-prometheus`' recorder, in one run:
//! `counter!("requests", "route" => "search").increment(1)` and
//! `histogram!("request_duration_seconds", "route" => "search").record(v)`,
//! the key looked up on every call as the macros do, plus the same with a
//! handle kept across calls and with a label value chosen at run time.
//!
//! Both recorders are installed with `metrics::with_local_recorder`. The
//! calls run in batches of 65,536; between batches (outside the timing)
//! the exporter's upkeep runs, as its background task would, so that its
//! histogram sample buffers do not grow without bound. Histogram values
//! cycle through 1,024 latencies from 10 µs to 10 ms.
//!
//! `cargo bench -p hotmetrics-bench --bench facade` (about a minute).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hotmetrics::facade::FacadeRecorder;
use hotmetrics::Registry;
use metrics::Recorder;
use metrics_exporter_prometheus::PrometheusBuilder;
use std::hint::black_box;
use std::time::{Duration, Instant};

const BATCH: u64 = 65_536;
const ROUTES: [&str; 4] = ["search", "checkout", "profile", "cart"];

/// 1,024 latencies in seconds, spread geometrically over 10 µs..10 ms in a
/// scrambled order.
fn latencies() -> Vec<f64> {
    (0..1024u32)
        .map(|i| {
            let frac = (f64::from(i) * 0.618_033_988_75).fract();
            1e-5 * 1000f64.powf(frac)
        })
        .collect()
}

/// Times `iters` calls of `body` in batches, running `upkeep` between
/// batches outside the timing.
fn batched(iters: u64, mut body: impl FnMut(u64), upkeep: &dyn Fn()) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = (iters - done).min(BATCH);
        let start = Instant::now();
        for i in done..done + n {
            body(i);
        }
        total += start.elapsed();
        upkeep();
        done += n;
    }
    total
}

struct Contender {
    name: &'static str,
    recorder: Box<dyn Recorder>,
    upkeep: Box<dyn Fn()>,
}

fn contenders() -> Vec<Contender> {
    let reg = Registry::new();
    let ours = FacadeRecorder::new(&reg);
    let prom = PrometheusBuilder::new().build_recorder();
    let handle = prom.handle();
    vec![
        Contender {
            name: "hotmetrics",
            recorder: Box::new(ours),
            upkeep: Box::new(|| {}),
        },
        Contender {
            name: "prometheus_exporter",
            recorder: Box::new(prom),
            upkeep: Box::new(move || handle.run_upkeep()),
        },
    ]
}

fn counters(c: &mut Criterion) {
    let mut g = c.benchmark_group("facade_counter");
    g.throughput(Throughput::Elements(1));
    for ct in contenders() {
        let upkeep = &*ct.upkeep;
        metrics::with_local_recorder(&*ct.recorder, || {
            g.bench_function(BenchmarkId::new("macro", ct.name), |b| {
                b.iter_custom(|iters| {
                    batched(
                        iters,
                        |_| metrics::counter!("requests", "route" => "search").increment(1),
                        upkeep,
                    )
                })
            });
            g.bench_function(BenchmarkId::new("macro_dynamic_label", ct.name), |b| {
                b.iter_custom(|iters| {
                    batched(
                        iters,
                        |i| {
                            let route = black_box(ROUTES[(i & 3) as usize]);
                            metrics::counter!("requests", "route" => route).increment(1)
                        },
                        upkeep,
                    )
                })
            });
            let kept = metrics::counter!("requests", "route" => "search");
            g.bench_function(BenchmarkId::new("handle_kept", ct.name), |b| {
                b.iter_custom(|iters| batched(iters, |_| black_box(&kept).increment(1), upkeep))
            });
        });
    }
    g.finish();
}

fn histograms(c: &mut Criterion) {
    let values = latencies();
    let mut g = c.benchmark_group("facade_histogram");
    g.throughput(Throughput::Elements(1));
    for ct in contenders() {
        let upkeep = &*ct.upkeep;
        let values = &values;
        metrics::with_local_recorder(&*ct.recorder, || {
            g.bench_function(BenchmarkId::new("macro", ct.name), |b| {
                b.iter_custom(|iters| {
                    batched(
                        iters,
                        |i| {
                            let v = black_box(values[(i & 1023) as usize]);
                            metrics::histogram!("request_duration_seconds", "route" => "search")
                                .record(v)
                        },
                        upkeep,
                    )
                })
            });
            g.bench_function(BenchmarkId::new("macro_dynamic_label", ct.name), |b| {
                b.iter_custom(|iters| {
                    batched(
                        iters,
                        |i| {
                            let v = black_box(values[(i & 1023) as usize]);
                            let route = black_box(ROUTES[(i & 3) as usize]);
                            metrics::histogram!("request_duration_seconds", "route" => route)
                                .record(v)
                        },
                        upkeep,
                    )
                })
            });
            let kept = metrics::histogram!("request_duration_seconds", "route" => "search");
            g.bench_function(BenchmarkId::new("handle_kept", ct.name), |b| {
                b.iter_custom(|iters| {
                    batched(
                        iters,
                        |i| black_box(&kept).record(black_box(values[(i & 1023) as usize])),
                        upkeep,
                    )
                })
            });
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = counters, histograms
}
criterion_main!(benches);
