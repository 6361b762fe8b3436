//! Rendering a scrape: hotmetrics' exporters against peer crates on the
//! same data, in one criterion run.
//!
//! Data (`export_1k`): 1,000 counters and 100 histograms, each histogram
//! holding the same 1,000 observations (100 µs to 2.3 s, log-spread) and
//! written with the 11 Prometheus default `le` bounds plus `+Inf` (12
//! bucket lines). `export_10k`: ten times as much (10,000 counters, 1,000
//! histograms). Every contender writes into a buffer reused across
//! iterations where its API allows.
//!
//! - `hotmetrics_prometheus` / `hotmetrics_openmetrics` / `hotmetrics_json`:
//!   rendering one snapshot (already collected).
//! - `hotmetrics_collect_prometheus`: `collect()` then render, which is
//!   what a scrape costs and what the peers' calls below do too (they read
//!   their atomics while encoding).
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
//! `cargo bench --bench export` (about two minutes).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hotmetrics::export::{json, openmetrics, prometheus as hm_prom, TextOptions};
use hotmetrics::{Registry, Unit};
use std::hint::black_box;
use std::time::Duration;

/// Prometheus' default buckets, in seconds.
const LE: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The 1,000 observations every histogram holds, in nanoseconds.
fn observations() -> Vec<u64> {
    (0..1000)
        .map(|k| (100_000.0 * 1.0101f64.powi(k)) as u64)
        .collect()
}

fn counter_value(i: usize) -> u64 {
    i as u64 * 7 + 1
}

fn bench_size(c: &mut Criterion, group: &str, counters: usize, histograms: usize) {
    let obs = observations();
    let secs: Vec<f64> = obs.iter().map(|&v| v as f64 * 1e-9).collect();
    let cname = |i: usize| format!("app_counter_{i}");
    let hname = |i: usize| format!("app_latency_{i}");

    // hotmetrics
    let reg = Registry::new();
    for i in 0..counters {
        reg.counter(&cname(i), "A counter")
            .unwrap()
            .add(counter_value(i));
    }
    for i in 0..histograms {
        let h = reg
            .histogram(&hname(i), "A latency", Unit::Nanoseconds)
            .unwrap();
        for &v in &obs {
            h.record(v);
        }
    }
    let snap = reg.collect();
    let opts = TextOptions::new().buckets(&LE);

    // prometheus
    let p_reg = prometheus::Registry::new();
    for i in 0..counters {
        let c = prometheus::IntCounter::new(cname(i) + "_total", "A counter").unwrap();
        c.inc_by(counter_value(i));
        p_reg.register(Box::new(c)).unwrap();
    }
    for i in 0..histograms {
        let h = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(hname(i) + "_seconds", "A latency").buckets(LE.to_vec()),
        )
        .unwrap();
        for &v in &secs {
            h.observe(v);
        }
        p_reg.register(Box::new(h)).unwrap();
    }

    // prometheus-client
    let mut pc_reg = prometheus_client::registry::Registry::default();
    for i in 0..counters {
        let c: prometheus_client::metrics::counter::Counter = Default::default();
        c.inc_by(counter_value(i));
        pc_reg.register(cname(i), "A counter", c);
    }
    for i in 0..histograms {
        let h = prometheus_client::metrics::histogram::Histogram::new(LE.iter().copied());
        for &v in &secs {
            h.observe(v);
        }
        pc_reg.register(hname(i) + "_seconds", "A latency", h);
    }

    // metrics-exporter-prometheus
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&LE)
        .unwrap()
        .build_recorder();
    metrics::with_local_recorder(&recorder, || {
        for i in 0..counters {
            metrics::describe_counter!(cname(i) + "_total", "A counter");
            metrics::counter!(cname(i) + "_total").increment(counter_value(i));
        }
        for i in 0..histograms {
            metrics::describe_histogram!(hname(i) + "_seconds", "A latency");
            let h = metrics::histogram!(hname(i) + "_seconds");
            for &v in &secs {
                h.record(v);
            }
        }
    });
    let handle = recorder.handle();

    // fastmetrics
    let mut fm_reg = fastmetrics::registry::Registry::default();
    for i in 0..counters {
        let c = <fastmetrics::metrics::counter::Counter>::default();
        c.inc_by(counter_value(i));
        fm_reg.register(cname(i), "A counter", c).unwrap();
    }
    for i in 0..histograms {
        let h = fastmetrics::metrics::histogram::Histogram::new(LE);
        for &v in &secs {
            h.observe(v);
        }
        fm_reg
            .register(hname(i) + "_seconds", "A latency", h)
            .unwrap();
    }

    // measured: names must be 'static.
    use measured::metric::group::Encoding;
    use measured::metric::name::MetricName;
    use measured::metric::MetricFamilyEncoding;
    let leak =
        |s: String| -> &'static MetricName { MetricName::from_str(Box::leak(s.into_boxed_str())) };
    let m_counters: Vec<(&'static MetricName, measured::Counter)> = (0..counters)
        .map(|i| {
            let c = measured::Counter::new();
            c.inc_by(counter_value(i));
            (leak(cname(i)), c)
        })
        .collect();
    let m_hists: Vec<(&'static MetricName, measured::Histogram<11>)> = (0..histograms)
        .map(|i| {
            let h = measured::Histogram::with_metadata(
                measured::metric::histogram::Thresholds::with_buckets(LE),
            );
            for &v in &secs {
                h.observe(v);
            }
            (leak(hname(i) + "_seconds"), h)
        })
        .collect();
    let mut m_enc = measured::text::BufferedTextEncoder::new();

    // What each writes, once, so the outputs can be compared for size.
    {
        let mut s = String::new();
        hm_prom::render_into(&snap, &mut s, &opts);
        let hm = s.len();
        s.clear();
        openmetrics::render_into(&snap, &mut s, &opts);
        let om = s.len();
        let js = json::to_string(&snap).len();
        s.clear();
        prometheus::TextEncoder::new()
            .encode_utf8(&p_reg.gather(), &mut s)
            .unwrap();
        let p = s.len();
        s.clear();
        prometheus_client::encoding::text::encode(&mut s, &pc_reg).unwrap();
        let pc = s.len();
        let mep = handle.render().len();
        s.clear();
        fastmetrics::format::text::encode(
            &mut s,
            &fm_reg,
            fastmetrics::format::text::TextProfile::PrometheusV0_0_4,
        )
        .unwrap();
        let fm = s.len();
        eprintln!(
            "{group} output bytes: hotmetrics prometheus {hm}, openmetrics {om}, json {js}; \
             prometheus {p}, prometheus-client {pc}, metrics-exporter-prometheus {mep}, \
             fastmetrics {fm}"
        );
    }
    let mut g = c.benchmark_group(group);
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    let mut buf = String::new();
    let mut bytes = Vec::new();
    let id = |name: &str| BenchmarkId::new(name, counters + histograms);
    g.bench_function(id("hotmetrics_prometheus"), |b| {
        b.iter(|| {
            buf.clear();
            hm_prom::render_into(&snap, &mut buf, &opts);
            black_box(buf.len())
        })
    });
    g.bench_function(id("hotmetrics_openmetrics"), |b| {
        b.iter(|| {
            buf.clear();
            openmetrics::render_into(&snap, &mut buf, &opts);
            black_box(buf.len())
        })
    });
    g.bench_function(id("hotmetrics_collect_prometheus"), |b| {
        b.iter(|| {
            buf.clear();
            hm_prom::render_into(&reg.collect(), &mut buf, &opts);
            black_box(buf.len())
        })
    });
    g.bench_function(id("hotmetrics_json"), |b| {
        b.iter(|| {
            bytes.clear();
            json::to_writer(&mut bytes, &snap).unwrap();
            black_box(bytes.len())
        })
    });
    g.bench_function(id("prometheus"), |b| {
        let enc = prometheus::TextEncoder::new();
        b.iter(|| {
            buf.clear();
            enc.encode_utf8(&p_reg.gather(), &mut buf).unwrap();
            black_box(buf.len())
        })
    });
    g.bench_function(id("prometheus_client"), |b| {
        b.iter(|| {
            buf.clear();
            prometheus_client::encoding::text::encode(&mut buf, &pc_reg).unwrap();
            black_box(buf.len())
        })
    });
    g.bench_function(id("metrics_exporter_prometheus"), |b| {
        b.iter(|| black_box(handle.render().len()))
    });
    g.bench_function(id("fastmetrics"), |b| {
        b.iter(|| {
            buf.clear();
            fastmetrics::format::text::encode(
                &mut buf,
                &fm_reg,
                fastmetrics::format::text::TextProfile::PrometheusV0_0_4,
            )
            .unwrap();
            black_box(buf.len())
        })
    });
    g.bench_function(id("measured"), |b| {
        b.iter(|| {
            for (name, c) in &m_counters {
                m_enc.write_help(*name, "A counter").unwrap();
                c.collect_family_into(*name, &mut m_enc).unwrap();
            }
            for (name, h) in &m_hists {
                m_enc.write_help(*name, "A latency").unwrap();
                h.collect_family_into(*name, &mut m_enc).unwrap();
            }
            black_box(m_enc.finish().len())
        })
    });
    g.finish();
}

fn export(c: &mut Criterion) {
    bench_size(c, "export_1k", 1000, 100);
    bench_size(c, "export_10k", 10_000, 1000);
}

criterion_group!(benches, export);
criterion_main!(benches);
