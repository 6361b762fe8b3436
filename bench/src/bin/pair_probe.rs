//! The labeled paths of `benches/user_build.rs`, as a plain program for
//! instruction and cache-miss counts, which do not move with the machine's
//! load as timings do:
//!
//! ```text
//! cargo build --release -p hotmetrics-bench --bin pair_probe
//! valgrind --tool=callgrind target/release/pair_probe pair 100000
//! valgrind --tool=callgrind target/release/pair_probe pair 200000
//! ```
//!
//! Each run resolves every one of the 64 label sets first (the series then
//! exist), then handles `N` requests of the user-build table through
//! `user::handle`, as the bench does. The difference between the counts of
//! two runs, divided by the difference of their `N`, is the cost of one
//! request, set-up excluded.
//!
//! Cases: `pair` (`FamilyPair::inc_and_record`), `separate` (two dynamic
//! lookups), `prebound` (handles bound up front), `response`
//! (`ResponseTracker::record_response`), `none` (the handler alone).

use hotmetrics::{
    CacheStatus, ErrorCategory, FamilyPair, MetricValue, Registry, ResponseOutcome, Unit,
};
use hotmetrics_bench::labeled::{label_sets, LABELS};
use hotmetrics_bench::user::{handle, requests, Request, REQUESTS};
use std::hint::black_box;
use std::time::Duration;

/// Handles `n` requests of the table in turn, each through `record`.
fn drive<F: Fn(&Request)>(reqs: &[Request], n: usize, record: F) -> u64 {
    let mut acc = 0;
    for i in 0..n {
        acc = handle(&reqs[i & (REQUESTS - 1)], acc, &record);
    }
    acc
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "pair".to_string());
    let n: usize = match args.next().map(|a| a.parse()) {
        Some(Ok(n)) => n,
        None => 100_000,
        Some(Err(e)) => {
            eprintln!("usage: pair_probe [pair|separate|prebound|response|none] [N]: {e}");
            std::process::exit(2);
        }
    };
    let reqs = requests();
    let reg = Registry::new();
    let count = reg.counter_family("requests", "Requests", &LABELS).unwrap();
    let latency = reg
        .histogram_family("latency", "Latency", Unit::Nanoseconds, &LABELS)
        .unwrap();
    let pair = FamilyPair::new(&count, &latency).unwrap();
    let rt = reg.response_tracker("api").unwrap();
    // Every label set and every request once: series and cells exist.
    let warm = REQUESTS;
    let acc = match case.as_str() {
        "pair" => drive(&reqs, warm + n, |r| pair.inc_and_record(&r.labels, r.nanos)),
        "separate" => drive(&reqs, warm + n, |r| {
            count.inc(&r.labels);
            latency.record(&r.labels, r.nanos);
        }),
        "prebound" => {
            let bound: Vec<_> = label_sets().iter().map(|l| pair.with(l)).collect();
            drive(&reqs, warm + n, |r| {
                let (c, h) = &bound[r.set];
                c.inc();
                h.record(r.nanos);
            })
        }
        "response" => drive(&reqs, warm + n, |r| {
            let outcome = if r.failed {
                ResponseOutcome::Error(ErrorCategory::Server)
            } else {
                ResponseOutcome::Success
            };
            let cache = if r.nanos & 3 == 0 {
                CacheStatus::Miss
            } else {
                CacheStatus::Hit
            };
            let elapsed = Duration::from_nanos(r.nanos);
            rt.record_response(r.labels[0], r.labels[1], elapsed, &outcome, cache);
        }),
        "none" => drive(&reqs, warm + n, |_| {}),
        other => {
            eprintln!("unknown case {other:?}: pair, separate, prebound, response or none");
            std::process::exit(2);
        }
    };
    black_box(acc);
    let snap = reg.collect();
    let total: u64 = (snap.series("requests").iter())
        .filter_map(|s| match s.value() {
            MetricValue::Counter(c) => Some(*c),
            _ => None,
        })
        .sum();
    println!("{case}: {n} requests, requests total {total}");
}
