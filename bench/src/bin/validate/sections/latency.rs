//! Per-operation latency: p50/p95/p99 of batch means of counter, histogram
//! and timer operations, and of a snapshot with a summary.

use super::Ctx;
use crate::harness::batch_ns;
use crate::model::Section;
use crate::stats::{percentile, sorted, Figure};
use crate::svg::{self, Chart, Series};
use hotmetrics::{MetricValue, Registry, Snapshot, Unit};
use hotmetrics_bench::workload::value_of;
use std::hint::black_box;

/// The operations, and the threshold of the section table each one's p99
/// is held to.
const OPS: [(&str, &str); 6] = [
    ("counter inc (shared)", "record"),
    ("counter inc (local)", "record"),
    ("histogram record (shared)", "record"),
    ("histogram record (local)", "record"),
    ("timer start+stop", "timer"),
    ("snapshot (collect + summary)", "snapshot"),
];

/// Per-run p50/p95/p99 of one operation.
struct OpLatency {
    name: &'static str,
    p: [Vec<f64>; 3],
}

fn summarise(snap: &Snapshot) -> u64 {
    let mut acc = 0u64;
    for m in snap.metrics() {
        match m.value() {
            MetricValue::Counter(c) => acc = acc.wrapping_add(*c),
            MetricValue::Histogram(h) => {
                acc = acc
                    .wrapping_add(h.count())
                    .wrapping_add(h.quantile(0.5).unwrap_or(0))
                    .wrapping_add(h.quantile(0.99).unwrap_or(0));
            }
            _ => {}
        }
    }
    acc
}

pub fn run(ctx: &Ctx<'_>) -> Section {
    let cfg = ctx.cfg;
    let batches = if cfg.quick { 200 } else { 2_000 };
    let snap_batches = if cfg.quick { 20 } else { 200 };
    let mut s = ctx.section(format!(
        "A single operation is below the clock's resolution, so each sample is a batch: \
             1,000 operations timed with `Instant` and divided by 1,000 (snapshots: batches \
             of 10). Per run, {batches} batches ({snap_batches} for snapshots) give the \
             p50/p95/p99 of the per-operation time; a batch's figure is its mean, so these \
             percentiles describe batch means, not single operations, and the tails include \
             preemption by the scheduler. The snapshot registry holds 8 counters and 8 \
             histograms with 10,000 values each; the summary reads every counter and count, \
             p50 and p99 of every histogram. {} runs; figures are the median and min–max of \
             each percentile over runs.",
        cfg.runs
    ));
    let reg = Registry::new();
    let c = reg.counter("lat_counter", "Counter").unwrap();
    let h = reg
        .histogram("lat_histogram", "Histogram", Unit::Nanoseconds)
        .unwrap();
    let snap_reg = Registry::new();
    for i in 0..8 {
        let c = snap_reg.counter(&format!("c{i}"), "c").unwrap();
        let h = snap_reg
            .histogram(&format!("h{i}"), "h", Unit::Nanoseconds)
            .unwrap();
        c.add(10_000);
        for v in 0..10_000u64 {
            h.record(value_of(v));
        }
    }
    let mut out: Vec<OpLatency> = OPS
        .iter()
        .map(|&(name, _)| OpLatency {
            name,
            p: Default::default(),
        })
        .collect();
    let lc = c.local();
    let lh = h.local();
    for _ in 0..cfg.runs {
        for (k, o) in out.iter_mut().enumerate() {
            let v = match k {
                0 => batch_ns!(batches, 1000, |_| c.inc()),
                1 => batch_ns!(batches, 1000, |_| lc.inc()),
                2 => batch_ns!(batches, 1000, |i| h.record(value_of(i))),
                3 => batch_ns!(batches, 1000, |i| lh.record(value_of(i))),
                4 => batch_ns!(batches, 1000, |_| {
                    black_box(h.start_timer().stop());
                }),
                _ => batch_ns!(snap_batches, 10, |_| {
                    black_box(summarise(&snap_reg.collect()));
                }),
            };
            let v = sorted(&v);
            for (j, q) in [0.5, 0.95, 0.99].into_iter().enumerate() {
                o.p[j].push(percentile(&v, q));
            }
        }
    }
    for (o, (_, limit)) in out.iter().zip(OPS) {
        for (j, q) in ["p50", "p95", "p99"].iter().enumerate() {
            let f = s.fig(Figure::of(format!("{} {q}", o.name), "ns", &o.p[j]));
            if j == 2 {
                s.bound(limit, &f);
            }
        }
    }
    plot(&mut s, &out);
    s
}

/// Bars of p50/p95/p99 per operation, each operation's p99 limit drawn.
fn plot(s: &mut Section, out: &[OpLatency]) {
    let cats: Vec<String> = out.iter().map(|o| o.name.to_string()).collect();
    let series: Vec<Series> = ["p50", "p95", "p99"]
        .iter()
        .enumerate()
        .map(|(j, q)| Series {
            name: q.to_string(),
            values: out
                .iter()
                .map(|o| Some(Figure::of("", "", &o.p[j]).point()))
                .collect(),
        })
        .collect();
    let limits: Vec<Option<f64>> = OPS
        .iter()
        .map(|(_, id)| s.spec.threshold(id).bound_value())
        .collect();
    let chart = Chart {
        title: "Per-operation latency (batch means)",
        y_label: "ns per operation (log scale)",
        caption: "bars: median over runs; whiskers: min–max over runs; dashed: the p99 limit",
        log: true,
    };
    s.plot("latency.svg", svg::bars(&chart, &cats, &series, &limits));
}
