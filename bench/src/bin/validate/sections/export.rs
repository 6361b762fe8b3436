//! Summary export: collect + JSON summary of 1,500 metrics, latency and
//! size.

use super::Ctx;
use crate::model::Section;
use crate::stats::{percentile, sorted, Figure};
use hotmetrics::export::json;
use hotmetrics::{Registry, Unit};
use hotmetrics_bench::workload::value_of;
use std::time::Instant;

pub fn run(ctx: &Ctx<'_>) -> Section {
    let cfg = ctx.cfg;
    let iters = if cfg.quick { 10 } else { 50 };
    let mut s = ctx.section(format!(
        "`hotmetrics::export::json::to_writer` (schema version {}: per series name, type, \
             help, unit, labels, and for histograms count/sum/min/max/mean/p50/p95/p99/p999) \
             into a reused byte vector. 1,000 counters and 500 histograms (1,000 recorded \
             values each, from 2 threads). Per run, {iters} exports (`collect()` then \
             serialise) are timed one by one; latency median, p95 and p99 per run (p99 is the \
             largest of {iters} below 100), then median and min–max over {} runs. The size is \
             the compact JSON's.",
        json::SCHEMA_VERSION,
        cfg.runs
    ));
    let reg = Registry::new();
    let counters: Vec<_> = (0..1000)
        .map(|i| reg.counter(&format!("export_counter_{i}"), "c").unwrap())
        .collect();
    let hists: Vec<_> = (0..500)
        .map(|i| {
            reg.histogram(&format!("export_histogram_{i}"), "h", Unit::Nanoseconds)
                .unwrap()
        })
        .collect();
    std::thread::scope(|sc| {
        for t in 0..2u64 {
            let (counters, hists) = (&counters, &hists);
            sc.spawn(move || {
                for (i, c) in counters.iter().enumerate() {
                    c.add(i as u64 + t);
                }
                for h in hists {
                    for v in 0..500 {
                        h.record(value_of(t * 1000 + v));
                    }
                }
            });
        }
    });
    let (mut p50, mut p95, mut p99, mut bytes) = (vec![], vec![], vec![], vec![]);
    let mut out = Vec::new();
    for _ in 0..cfg.runs {
        let mut t = Vec::new();
        for _ in 0..iters {
            let t0 = Instant::now();
            out.clear();
            json::to_writer(&mut out, &reg.collect()).unwrap();
            t.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        bytes.push(out.len() as f64 / 1024.0);
        let t = sorted(&t);
        p50.push(percentile(&t, 0.5));
        p95.push(percentile(&t, 0.95));
        p99.push(percentile(&t, 0.99));
    }
    // The output is the library's documented schema.
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    s.exact(
        "schema",
        None,
        doc["version"] == json::SCHEMA_VERSION
            && doc["metrics"].as_array().map_or(0, Vec::len) == 1_500,
    );
    s.fig(Figure::of("export median", "ms", &p50));
    let f = s.fig(Figure::of("export p99", "ms", &p99));
    s.fig(Figure::of("export p95", "ms", &p95));
    s.fig(Figure::of("export size", "KiB", &bytes));
    s.bound("p99", &f);
    s
}
