//! A small instrumented service: worker threads serve simulated requests
//! through a cache and a circuit breaker in front of a flaky dependency,
//! emit telemetry events for their simulated client sessions, and
//! `/metrics` serves what they record.
//!
//! ```text
//! cargo run --release --example service --features axum,metrics-facade,telemetry,otlp
//! curl localhost:9464/metrics
//! ```
//!
//! Options: `--port N` (or `HOTMETRICS_SERVICE_PORT`; default 9464; `0`
//! picks a free port), `--workers N` (default 4), `--duration SECS` (run
//! that long, then print a summary and exit; without it the service runs
//! until interrupted with Ctrl-C), `--events URL` (where telemetry events
//! are POSTed as JSON lines; without it a built-in demo endpoint on a free
//! loopback port receives and counts them), `--otlp URL` (push the
//! registry by OTLP/HTTP to this `.../v1/metrics` URL, for example an
//! OpenTelemetry Collector's `http://127.0.0.1:4318/v1/metrics`, every
//! `--otlp-interval SECS`, default 10). The bound address is printed
//! first: `listening on http://127.0.0.1:PORT/metrics`, then where the
//! events go. The telemetry client's self-metrics
//! (`telemetry_events_delivered_total` and the rest) are in `/metrics`.
//!
//! What is recorded, and how, is listed in `app.rs`.

mod app;
mod demo_sink;

use std::time::{Duration, Instant};

fn usage() -> ! {
    eprintln!(
        "usage: service [--port N] [--workers N] [--duration SECS] [--events URL] \
         [--otlp URL] [--otlp-interval SECS]"
    );
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
            "--events" => config.events_endpoint = Some(value()),
            "--otlp" => config.otlp_endpoint = Some(value()),
            "--otlp-interval" => {
                let secs: f64 = value().parse().unwrap_or_else(|_| usage());
                config.otlp_interval = Duration::from_secs_f64(secs.max(0.001));
            }
            _ => usage(),
        }
    }
    config.addr = format!("127.0.0.1:{port}");
    let demo = match config.events_endpoint {
        Some(_) => None,
        None => {
            let sink = demo_sink::DemoSink::start()?;
            config.events_endpoint = Some(sink.url());
            Some(sink)
        }
    };
    let events = config.events_endpoint.clone().unwrap_or_default();
    let otlp = config.otlp_endpoint.clone();

    let mut service = app::Service::start(config)?;
    println!("listening on http://{}/metrics", service.local_addr());
    match &demo {
        Some(_) => println!(
            "telemetry events to {events} (a built-in demo endpoint that counts them; \
             --events URL sends them elsewhere)"
        ),
        None => println!("telemetry events to {events}"),
    }
    if let Some(url) = &otlp {
        println!("OTLP metrics to {url}");
    }
    let started = Instant::now();
    match duration {
        Some(d) => std::thread::sleep(d),
        // Until interrupted: Ctrl-C ends the process.
        None => loop {
            std::thread::sleep(Duration::from_secs(3_600));
        },
    }
    let acct = service.drain();
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
    if let Some(a) = acct {
        println!(
            "telemetry: accepted {}, delivered {}, dropped {} (queue full {}, rejected {}, \
             shutdown {}), pending {}",
            a.accepted,
            a.delivered,
            a.dropped(),
            a.dropped_queue_full,
            a.dropped_rejected,
            a.dropped_shutdown,
            a.pending
        );
    }
    if let Some(sink) = demo {
        println!("demo endpoint received {} events", sink.events());
    }
    Ok(())
}
