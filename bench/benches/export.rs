//! Rendering a scrape: hotmetrics' exporters against peer crates on the
//! same data, in one criterion run.
//!
//! Data (`export_1k`): 1,000 counters and 100 histograms, each histogram
//! holding the same 1,000 observations (100 µs to 2.3 s, log-spread) and
//! written with the 11 Prometheus default `le` bounds plus `+Inf` (12
//! bucket lines). `export_10k`: ten times as much (10,000 counters, 1,000
//! histograms). Every contender writes into a buffer reused across
//! iterations where its API allows. The contenders are the report's render
//! section's (`hotmetrics_bench::render`).
//!
//! - `hotmetrics_collect_prometheus` / `hotmetrics_collect_openmetrics`:
//!   `collect()` then render, which is what a scrape costs (the endpoint
//!   collects on every scrape by default) and what the peers' calls below
//!   do too (they read their atomics while encoding). Compare these with
//!   the peers.
//! - `hotmetrics_prometheus` / `hotmetrics_openmetrics` / `hotmetrics_json`:
//!   rendering one snapshot (already collected), for the split between
//!   collection and rendering.
//! - `prometheus`: 0.13, `Registry::gather` + `TextEncoder::encode_utf8`.
//! - `prometheus_client`: 0.22, `encoding::text::encode`.
//! - `metrics_exporter_prometheus`: 0.18 (no HTTP listener),
//!   `PrometheusHandle::render`.
//! - `fastmetrics`: 0.7, `format::text::encode`, Prometheus 0.0.4 profile.
//! - `measured`: 0.0.25 (the last release building on this toolchain; 0.1
//!   needs Rust 1.98), one family per metric through
//!   `MetricFamilyEncoding::collect_family_into` with help text, into a
//!   `BufferedTextEncoder`.
//!
//! `cargo bench -p hotmetrics-bench --bench export` (about two minutes).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hotmetrics_bench::render::{Renderers, CONTENDERS};
use std::hint::black_box;
use std::time::Duration;

fn bench_size(c: &mut Criterion, group: &str, counters: usize, histograms: usize) {
    let mut r = Renderers::new(counters, histograms);
    // What each writes, once, so the outputs can be compared for size.
    let sizes: Vec<String> = (0..CONTENDERS.len())
        .map(|k| format!("{} {}", CONTENDERS[k].name, r.render(k)))
        .collect();
    eprintln!(
        "{group} output bytes: {}, hotmetrics json {}",
        sizes.join(", "),
        r.json()
    );
    let mut g = c.benchmark_group(group);
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    let id = |name: &str| BenchmarkId::new(name, counters + histograms);
    for (k, contender) in CONTENDERS.iter().enumerate().take(2) {
        g.bench_function(id(contender.id), |b| b.iter(|| black_box(r.render(k))));
    }
    for (k, contender) in CONTENDERS.iter().enumerate().take(2) {
        let name = contender.id.replace("hotmetrics_", "hotmetrics_collect_");
        g.bench_function(id(&name), |b| b.iter(|| black_box(r.scrape(k))));
    }
    g.bench_function(id("hotmetrics_json"), |b| b.iter(|| black_box(r.json())));
    for (k, contender) in CONTENDERS.iter().enumerate().skip(2) {
        g.bench_function(id(contender.id), |b| b.iter(|| black_box(r.render(k))));
    }
    g.finish();
}

fn export(c: &mut Criterion) {
    bench_size(c, "export_1k", 1000, 100);
    bench_size(c, "export_10k", 10_000, 1000);
}

criterion_group!(benches, export);
criterion_main!(benches);
