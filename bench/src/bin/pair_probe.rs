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
//! Cases: `pair` (`FamilyPair::inc_and_record`), `static` (the same with
//! the values as `StaticStr`, found by address), `separate` (two dynamic
//! lookups), `separate_static` (the same with `StaticStr` values),
//! `separate_static_f64` (the same recording the latency as a float),
//! `prebound` (handles bound up front), `prebound_local` (the same handles
//! bound to this thread with `local()`: no per-thread lookup), `response`
//! (`ResponseTracker::record_response`), `response_static` (the same with
//! the route and method as `StaticStr`), `none` (the handler alone).
//!
//! With `time` as a third argument it times the `N` requests 25 times
//! instead and prints the fastest run's time per request: the floor of two
//! builds, compared by running their binaries alternately on a busy
//! machine (the instruction counts of `pair` and `response` move by up to
//! ±25 between runs, with each run's seeds of the tables' hash).

use hotmetrics::{FamilyPair, MetricValue, Registry, StaticStr, Unit};
use hotmetrics_bench::labeled::{label_sets, LABELS};
use hotmetrics_bench::user::{handle, requests, Request, REQUESTS};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Handles `n` requests of the table in turn, each through `record`.
fn drive<F: Fn(&Request)>(reqs: &[Request], n: usize, record: &F) -> u64 {
    let mut acc = 0;
    for i in 0..n {
        acc = handle(&reqs[i & (REQUESTS - 1)], acc, record);
    }
    acc
}

/// The cases (see the module docs).
const CASES: &str = "pair, static, separate, separate_static, separate_static_f64, prebound, \
                     prebound_local, response, response_static, none";

/// Runs of `n` requests a timed probe takes the fastest of.
const TIMED_RUNS: usize = 25;

/// Handles every request of the table once (so that every label set has
/// its series), then `n` more; when `timed`, `n` more [`TIMED_RUNS`] times
/// instead, printing the fastest run's time per request.
fn measure<F: Fn(&Request)>(reqs: &[Request], n: usize, timed: bool, record: F) -> u64 {
    let mut acc = drive(reqs, REQUESTS, &record);
    if !timed {
        return acc ^ drive(reqs, n, &record);
    }
    let mut best = f64::MAX;
    for _ in 0..TIMED_RUNS {
        let t = Instant::now();
        acc ^= drive(reqs, n, &record);
        best = best.min(t.elapsed().as_nanos() as f64 / n as f64);
    }
    println!("{best:.2} ns per request (fastest of {TIMED_RUNS} runs of {n})");
    acc
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "pair".to_string());
    let n: usize = match args.next().map(|a| a.parse()) {
        Some(Ok(n)) => n,
        None => 100_000,
        Some(Err(e)) => {
            eprintln!("usage: pair_probe CASE [N] [time] (cases: {CASES}): {e}");
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
    let timed = std::env::args().nth(3).as_deref() == Some("time");
    let static_labels = case == "response_static";
    let acc = match case.as_str() {
        "pair" => measure(&reqs, n, timed, |r| pair.inc_and_record(&r.labels, r.nanos)),
        "static" => measure(&reqs, n, timed, |r| {
            pair.inc_and_record(&r.labels.map(StaticStr), r.nanos)
        }),
        "separate" => measure(&reqs, n, timed, |r| {
            count.inc(&r.labels);
            latency.record(&r.labels, r.nanos);
        }),
        "separate_static" => measure(&reqs, n, timed, |r| {
            let labels = r.labels.map(StaticStr);
            count.inc(&labels);
            latency.record(&labels, r.nanos);
        }),
        "separate_static_f64" => measure(&reqs, n, timed, |r| {
            let labels = r.labels.map(StaticStr);
            count.inc(&labels);
            latency.record_f64(&labels, r.nanos as f64);
        }),
        "prebound" => {
            let bound: Vec<_> = label_sets().iter().map(|l| pair.with(l)).collect();
            measure(&reqs, n, timed, |r| {
                let (c, h) = &bound[r.set];
                c.inc();
                h.record(r.nanos);
            })
        }
        "prebound_local" => {
            let bound: Vec<_> = label_sets().iter().map(|l| pair.with(l)).collect();
            let local: Vec<_> = bound.iter().map(|(c, h)| (c.local(), h.local())).collect();
            measure(&reqs, n, timed, |r| {
                let (c, h) = &local[r.set];
                c.inc();
                h.record(r.nanos);
            })
        }
        "response" | "response_static" => measure(&reqs, n, timed, |r| {
            let (outcome, cache) = (r.outcome(), r.cache());
            let elapsed = Duration::from_nanos(r.nanos);
            if static_labels {
                let [route, intent, _] = r.labels.map(StaticStr);
                rt.record_response(&route, &intent, elapsed, &outcome, cache);
            } else {
                rt.record_response(r.labels[0], r.labels[1], elapsed, &outcome, cache);
            }
        }),
        "none" => measure(&reqs, n, timed, |_| {}),
        other => {
            eprintln!("unknown case {other:?}: {CASES}");
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
