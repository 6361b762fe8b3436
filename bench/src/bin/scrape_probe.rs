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

use hotmetrics_bench::render::Renderers;
use std::hint::black_box;

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
