//! Exposition render: one scrape of the same 1,000 counters and 100
//! histograms by hotmetrics and by five peer exporters. hotmetrics' scrape
//! is `collect()` + render, what its endpoint pays per scrape by default.

use super::Ctx;
use crate::model::Section;
use crate::stats::{num, percentile, sorted, Figure};
use crate::svg::{self, Chart, Series};
use hotmetrics_bench::render::{Renderers, CONTENDERS};
use std::hint::black_box;
use std::time::Instant;

pub fn run(ctx: &Ctx<'_>) -> Section {
    let cfg = ctx.cfg;
    let iters = if cfg.quick { 20 } else { 200 };
    let mut s = ctx.section(format!(
        "The same data in every contender: 1,000 counters and 100 histograms, each \
             histogram holding the same 1,000 observations (100 µs to 2.3 s, log-spread), \
             written with the 11 Prometheus default `le` bounds plus `+Inf`. A hotmetrics \
             scrape is what its `/metrics` endpoint pays by default (it collects on every \
             scrape unless configured to collect on a timer): `Registry::collect()`, then \
             `export::prometheus::render_into` / `export::openmetrics::render_into` into a \
             reused String (nothing recorded between scrapes); prometheus: \
             `gather()` + `TextEncoder::encode_utf8`; prometheus-client: `encoding::text::\
             encode`; metrics-exporter-prometheus: `PrometheusHandle::render` (no HTTP \
             listener); fastmetrics: `format::text::encode` (Prometheus 0.0.4); measured: \
             `collect_family_into` per metric with its help text. One more row: the \
             hotmetrics Prometheus text scrape after one more observation in every \
             histogram (a busy service's scrape; a peer's encode costs the same either \
             way). Per run, each contender \
             renders 3 times untimed, then {iters} times timed one by one, contenders \
             interleaved; median µs per run, then median and min–max over {} runs.",
        cfg.runs
    ));
    let mut r = Renderers::new(1000, 100);
    // The contenders, then hotmetrics with every histogram changed.
    let n = CONTENDERS.len() + 1;
    let scrape = |r: &mut Renderers, k: usize| match k {
        k if k < CONTENDERS.len() => r.scrape(k),
        _ => r.scrape_changed(),
    };
    let mut t: Vec<Vec<f64>> = vec![vec![]; n];
    let mut size = vec![0usize; n];
    for run in 0..cfg.runs {
        ctx.progress(&format!("render run {}/{}", run + 1, cfg.runs));
        for (k, t) in t.iter_mut().enumerate() {
            for _ in 0..3 {
                black_box(scrape(&mut r, k));
            }
            let mut v = Vec::with_capacity(iters);
            for _ in 0..iters {
                let t0 = Instant::now();
                size[k] = black_box(scrape(&mut r, k));
                v.push(t0.elapsed().as_secs_f64() * 1e6);
            }
            t.push(percentile(&sorted(&v), 0.5));
        }
    }
    let names: Vec<&str> = CONTENDERS.iter().map(|c| c.name).chain([CHANGED]).collect();
    let mut rows = Vec::new();
    for (k, name) in names.iter().enumerate() {
        let f = s.fig(Figure::of(format!("{name}: scrape"), "µs", &t[k]));
        s.fig(Figure::of(
            format!("{name}: output"),
            "KiB",
            &[size[k] as f64 / 1024.0],
        ));
        rows.push(f);
    }
    let peers = 2..CONTENDERS.len();
    for (name, f) in names[peers.clone()].iter().zip(&rows[peers.clone()]) {
        s.versus("peer", &rows[0], f, name);
    }
    for (name, f) in names[peers.clone()].iter().zip(&rows[peers]) {
        s.versus("peer, every histogram changed", &rows[n - 1], f, name);
    }
    s.console
        .push("Exposition scrape (hotmetrics: collect + render), 1,000 counters + 100 histograms (median µs):".to_string());
    for (name, f) in names.iter().zip(&rows) {
        s.console.push(format!("{name:<50} {:>10}", num(f.median)));
    }
    plot(&mut s, &names, &rows);
    s
}

/// The row of hotmetrics' scrape after a record in every histogram.
const CHANGED: &str = "hotmetrics Prometheus text, every histogram changed";

/// One bar per contender.
fn plot(s: &mut Section, names: &[&str], rows: &[Figure]) {
    let cats: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let series = [Series {
        name: "scrape".into(),
        values: rows.iter().map(|f| Some(f.point())).collect(),
    }];
    let chart = Chart {
        title: "A scrape of 1,000 counters + 100 histograms as text (hotmetrics: collect + render)",
        y_label: "µs per scrape",
        caption: "bars: median over runs; whiskers: min–max over runs",
        log: false,
    };
    s.plot("render.svg", svg::bars(&chart, &cats, &series, &[]));
}
