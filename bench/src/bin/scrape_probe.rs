//! The scrape of `benches/user_build.rs` (`user_scrape_*`), as a plain
//! program for instruction and cache-miss counts, which do not move with
//! the machine's load as timings do:
//!
//! ```text
//! cargo build --release -p hotmetrics-bench --bin scrape_probe
//! valgrind --tool=cachegrind --cache-sim=yes target/release/scrape_probe 10000 5
//! valgrind --tool=cachegrind --cache-sim=yes target/release/scrape_probe 10000 10
//! ```
//!
//! Arguments: the number of counters (a tenth as many histograms are
//! registered beside them, as in the bench) and the number of scrapes,
//! each a `collect()` and a Prometheus text render; `changed` as a third
//! argument records one more observation into every histogram before each
//! scrape, `render` renders the snapshot collected at the start each time
//! instead (the render alone). The difference between the counts of two runs, divided by the
//! difference of their scrape numbers, is the cost of one scrape, set-up
//! excluded.
//!
//! `time` as the third argument times instead: in each of that many rounds
//! (the second argument), ten scrapes of every contender and ten changed
//! scrapes of hotmetrics, one after another, so that a load that comes and
//! goes slows all alike; it prints each one's fastest round, in µs per
//! scrape:
//!
//! ```text
//! target/release/scrape_probe 1000 50 time
//! ```

use hotmetrics_bench::render::{Renderers, CONTENDERS};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut number = |default: usize| {
        args.next().map_or(default, |a| {
            a.parse().expect("a number of counters or scrapes")
        })
    };
    let (counters, scrapes) = (number(10_000), number(10));
    let mode = std::env::args().nth(3);
    let mut r = Renderers::new(counters, counters / 10);
    if mode.as_deref() == Some("time") {
        return time(&mut r, scrapes);
    }
    let mut bytes = 0;
    for _ in 0..scrapes {
        bytes += match mode.as_deref() {
            Some("changed") => r.scrape_changed(),
            Some("render") => r.render(0),
            _ => r.scrape(0),
        };
    }
    println!("{scrapes} scrapes, {} bytes", black_box(bytes));
}

/// Prints every contender's fastest of `rounds` rounds, then hotmetrics'
/// changed scrape's.
fn time(r: &mut Renderers, rounds: usize) {
    const PER_ROUND: u32 = 10;
    let mut best = vec![f64::INFINITY; CONTENDERS.len() + 1];
    for _ in 0..rounds {
        for (k, best) in best.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                black_box(match k {
                    k if k < CONTENDERS.len() => r.scrape(k),
                    _ => r.scrape_changed(),
                });
            }
            let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(PER_ROUND);
            *best = best.min(us);
        }
    }
    let names = CONTENDERS
        .iter()
        .map(|c| c.id)
        .chain(["hotmetrics_changed"]);
    for (name, us) in names.zip(&best) {
        println!("{name:<32} {us:>9.1} µs");
    }
}
