//! A small instrumented service: worker threads serve simulated requests
//! through a cache and a circuit breaker in front of a flaky dependency,
//! and `/metrics` serves what they record.
//!
//! ```text
//! cargo run --release --example service --features http,metrics-facade
//! curl localhost:9464/metrics
//! ```
//!
//! Options: `--port N` (or `HOTMETRICS_SERVICE_PORT`; default 9464; `0`
//! picks a free port), `--workers N` (default 4), `--duration SECS` (run
//! that long, then print a summary and exit; without it the service runs
//! until interrupted with Ctrl-C). The bound address is printed first:
//! `listening on http://127.0.0.1:PORT/metrics`.
//!
//! What is recorded, and how, is listed in `app.rs`.

mod app;

use std::time::{Duration, Instant};

fn usage() -> ! {
    eprintln!("usage: service [--port N] [--workers N] [--duration SECS]");
    std::process::exit(2)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut port: u16 = match std::env::var("HOTMETRICS_SERVICE_PORT") {
        Ok(p) => p.parse().unwrap_or_else(|_| usage()),
        Err(_) => 9464,
    };
    let mut config = app::Config::default();
    let mut duration = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--port" => port = value().parse().unwrap_or_else(|_| usage()),
            "--workers" => config.workers = value().parse().unwrap_or_else(|_| usage()),
            "--duration" => {
                let secs: f64 = value().parse().unwrap_or_else(|_| usage());
                duration = Some(Duration::from_secs_f64(secs.max(0.0)));
            }
            _ => usage(),
        }
    }
    config.addr = format!("127.0.0.1:{port}");

    let service = app::Service::start(config)?;
    println!("listening on http://{}/metrics", service.local_addr());
    let started = Instant::now();
    match duration {
        Some(d) => std::thread::sleep(d),
        // Until interrupted: Ctrl-C ends the process.
        None => loop {
            std::thread::sleep(Duration::from_secs(3_600));
        },
    }
    service.stop();

    let snap = hotmetrics::global().collect();
    let requests: u64 = snap
        .series("service_requests")
        .iter()
        .filter_map(|m| match m.value() {
            hotmetrics::MetricValue::Counter(n) => Some(*n),
            _ => None,
        })
        .sum();
    println!(
        "served {requests} requests in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
