//! A scrape's work, for an instruction-counting profiler: `collect()` then
//! the Prometheus (or OpenMetrics) text render, of the render bench's data
//! (`bench/src/render.rs`): COUNTERS counters, HISTOGRAMS histograms of
//! 1,000 log-spread latencies each, the 11 default `le` bounds.
//!
//! ```text
//! cargo build --release --example scrape_cost
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*scrape_cost::measured_scrape' \
//!     target/release/examples/scrape_cost 1000 100 10 prometheus touched
//! ```
//!
//! The instruction count `callgrind_annotate` reports is that of SCRAPES
//! scrapes (`measured_scrape`), after a first one that is not counted
//! (`warm_up`). With `touched`, every counter
//! and histogram is recorded into between scrapes (outside the count), so
//! that each scrape folds changed cells; without it nothing changes, as in
//! the criterion bench. Prints the output's size, so that a run can be
//! checked against the bench's.

use hotmetrics::export::{openmetrics, prometheus, TextOptions};
use hotmetrics::{Counter, Histogram, Registry, Unit};
use std::hint::black_box;

/// Prometheus' default buckets, in seconds (`bench/src/render.rs`).
const LE: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn main() {
    let mut args = std::env::args().skip(1);
    let mut num = |default: usize| {
        args.next()
            .map_or(default, |a| a.parse().expect("a number"))
    };
    let (counters, histograms, scrapes) = (num(1000), num(100), num(10));
    let openmetrics = args.next().is_some_and(|f| f == "openmetrics");
    let touched = args.next().is_some_and(|t| t == "touched");

    let reg = Registry::new();
    let cs: Vec<Counter> = (0..counters)
        .map(|i| {
            let c = reg.counter(&format!("render_counter_{i}"), "A counter");
            let c = c.expect("a new name");
            c.add(i as u64 * 7 + 1);
            c
        })
        .collect();
    let obs: Vec<u64> = (0..1000)
        .map(|k| (100_000.0 * 1.0101f64.powi(k)) as u64)
        .collect();
    let hs: Vec<Histogram> = (0..histograms)
        .map(|i| {
            let name = format!("render_latency_{i}");
            let h = reg.histogram(&name, "A latency", Unit::Nanoseconds);
            let h = h.expect("a new name");
            obs.iter().for_each(|&v| h.record(v));
            h
        })
        .collect();
    let opts = TextOptions::new().buckets(&LE);
    let mut buf = String::new();
    // The first collection folds everything; it is not counted.
    warm_up(&reg, &opts, &mut buf, openmetrics);
    for k in 0..scrapes {
        if touched {
            touch(&cs, &hs, obs[k % obs.len()]);
        }
        measured_scrape(&reg, &opts, &mut buf, openmetrics);
    }
    println!("{} bytes", buf.len());
}

#[inline(never)]
fn warm_up(reg: &Registry, opts: &TextOptions, buf: &mut String, openmetrics: bool) {
    let snap = reg.collect();
    if openmetrics {
        openmetrics::render_into(&snap, buf, opts);
    } else {
        prometheus::render_into(&snap, buf, opts);
    }
}

/// One scrape into `buf`, its capacity reused.
#[inline(never)]
fn measured_scrape(reg: &Registry, opts: &TextOptions, buf: &mut String, openmetrics: bool) {
    buf.clear();
    let snap = reg.collect();
    if openmetrics {
        openmetrics::render_into(&snap, buf, opts);
    } else {
        prometheus::render_into(&snap, buf, opts);
    }
    black_box(&buf);
}

#[inline(never)]
fn touch(cs: &[Counter], hs: &[Histogram], v: u64) {
    cs.iter().for_each(|c| c.inc());
    hs.iter().for_each(|h| h.record(v));
}
