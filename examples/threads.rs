//! Records from several threads into counters, gauges and a latency
//! histogram, collects while they run, and prints the snapshot summary.
//!
//! `cargo run --release --example threads [THREADS] [OPS_PER_THREAD]`

use hotmetrics::{Registry, Unit};
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: u64 = parse(args.next(), 4, "THREADS");
    let ops: u64 = parse(args.next(), 2_000_000, "OPS_PER_THREAD");

    let reg = Registry::new();
    let requests = reg.counter("requests", "Requests handled").unwrap();
    let in_flight = reg.gauge("in_flight", "Workers running").unwrap();
    let latency = reg
        .histogram(
            "request_duration",
            "Simulated request latency",
            Unit::Nanoseconds,
        )
        .unwrap();

    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (requests, in_flight, latency) = (&requests, &in_flight, &latency);
            s.spawn(move || {
                in_flight.inc();
                let local = latency.local();
                let mut x = 0x2545_F491_4F6C_DD1Du64.wrapping_mul(t + 1);
                for _ in 0..ops {
                    // xorshift: a skewed, log-spread "latency" of 1 µs to ~1 s.
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    local.record(1_000 + (x >> (34 + (x & 15))));
                    requests.inc();
                }
                in_flight.dec();
            });
        }
        // Collect while the writers run: they are never paused.
        s.spawn(|| {
            while start.elapsed() < Duration::from_millis(50) {
                let snap = reg.collect();
                std::hint::black_box(snap.counter("requests"));
            }
        });
    });
    let elapsed = start.elapsed();

    let snap = reg.collect();
    println!("{snap}");
    let total = snap.counter("requests").unwrap_or(0);
    println!(
        "{threads} threads x {ops} ops: {total} requests recorded (expected {}), \
         {:.1} M records/s, {} KiB of per-thread cells",
        threads * ops,
        2.0 * total as f64 / elapsed.as_secs_f64() / 1e6,
        reg.cell_bytes() / 1024
    );
    if total != threads * ops {
        eprintln!("error: lost updates");
        std::process::exit(1);
    }
}

fn parse(arg: Option<String>, default: u64, what: &str) -> u64 {
    match arg {
        None => default,
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!("error: {what} must be a whole number, got {s:?}");
            std::process::exit(2);
        }),
    }
}
