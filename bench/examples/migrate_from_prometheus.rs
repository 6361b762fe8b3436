//! Migrating from the `prometheus` crate: the same instrumentation written
//! with both, side by side, fed the same simulated requests, and both
//! expositions printed.
//!
//! `cargo run -p hotmetrics-bench --example migrate_from_prometheus`
//!
//! | `prometheus` | hotmetrics |
//! |---|---|
//! | `Registry::new()` + `register(Box::new(metric.clone()))` | `Registry::new()`; `reg.counter_family(...)` registers and returns the handle |
//! | `IntCounterVec::new(Opts, &labels)` | `reg.counter_family(name, help, &labels)` |
//! | `HistogramVec` with `HistogramOpts::buckets(...)` | `reg.histogram_family(name, help, Unit::Nanoseconds, &labels)`: fine log-linear buckets (≤ 0.78 % error); `le` bounds are chosen when exporting (`TextOptions::buckets`) |
//! | `IntGauge` | `reg.gauge(...)` |
//! | `vec.with_label_values(&[a, b]).inc()` | `family.inc(&(a, b))` (no allocation once the series exists) |
//! | keep `vec.with_label_values(...)` | `family.with(&(a, b))`: a plain `Counter` / `Histogram` |
//! | `histogram.observe(secs_f64)` | `histogram.record_duration(elapsed)` (or `record(nanos)`) |
//! | `TextEncoder::new().encode(&registry.gather(), &mut buf)` | `export::prometheus::render(&reg.collect())` |
//!
//! The two expositions agree on every count and sum. A bucket count can be
//! a little lower in hotmetrics' output: an observation within 1/64 of a
//! bound, below it, may be counted above it (the `le` rule in
//! `docs/exposition.md`); counts are never too high.

use std::time::Duration;

/// The `le` bounds both expositions use, in seconds.
const BOUNDS: [f64; 6] = [0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05];

/// What the application reports, whichever library is behind it.
trait Instrumentation {
    fn request_started(&self);
    fn request_finished(&self, route: &str, status: &str, elapsed: Duration);
    fn render(&self) -> String;
}

mod with_prometheus {
    use super::BOUNDS;
    use prometheus::{
        Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
    };
    use std::time::Duration;

    pub struct Metrics {
        registry: Registry,
        requests: IntCounterVec,
        latency: HistogramVec,
        in_flight: IntGauge,
    }

    impl Metrics {
        pub fn new() -> prometheus::Result<Metrics> {
            let registry = Registry::new();
            let requests = IntCounterVec::new(
                Opts::new("http_requests_total", "Requests served"),
                &["route", "status"],
            )?;
            let latency = HistogramVec::new(
                HistogramOpts::new("http_request_duration_seconds", "Request latency")
                    .buckets(BOUNDS.to_vec()),
                &["route"],
            )?;
            let in_flight = IntGauge::new("http_requests_in_flight", "Requests in flight")?;
            registry.register(Box::new(requests.clone()))?;
            registry.register(Box::new(latency.clone()))?;
            registry.register(Box::new(in_flight.clone()))?;
            Ok(Metrics {
                registry,
                requests,
                latency,
                in_flight,
            })
        }
    }

    impl super::Instrumentation for Metrics {
        fn request_started(&self) {
            self.in_flight.inc();
        }

        fn request_finished(&self, route: &str, status: &str, elapsed: Duration) {
            self.in_flight.dec();
            self.requests.with_label_values(&[route, status]).inc();
            self.latency
                .with_label_values(&[route])
                .observe(elapsed.as_secs_f64());
        }

        fn render(&self) -> String {
            let mut buf = Vec::new();
            // Encoding into a Vec cannot fail.
            let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        }
    }
}

mod with_hotmetrics {
    use super::BOUNDS;
    use hotmetrics::export::{prometheus, TextOptions};
    use hotmetrics::{Arity, CounterFamily, Gauge, HistogramFamily, Registry, RegistryError, Unit};
    use std::time::Duration;

    pub struct Metrics {
        registry: Registry,
        requests: CounterFamily<Arity<2>>,
        latency: HistogramFamily<Arity<1>>,
        in_flight: Gauge,
    }

    impl Metrics {
        pub fn new() -> Result<Metrics, RegistryError> {
            let registry = Registry::new();
            // Registering returns the handle; no separate `register` step.
            // Counters are named without `_total` (exposition adds it) and
            // histograms without their unit (exposition appends `_seconds`).
            let requests = registry.counter_family(
                "http_requests",
                "Requests served",
                &["route", "status"],
            )?;
            let latency = registry.histogram_family(
                "http_request_duration",
                "Request latency",
                Unit::Nanoseconds,
                &["route"],
            )?;
            let in_flight = registry.gauge("http_requests_in_flight", "Requests in flight")?;
            Ok(Metrics {
                registry,
                requests,
                latency,
                in_flight,
            })
        }
    }

    impl super::Instrumentation for Metrics {
        fn request_started(&self) {
            self.in_flight.inc();
        }

        fn request_finished(&self, route: &str, status: &str, elapsed: Duration) {
            self.in_flight.dec();
            self.requests.inc(&(route, status));
            self.latency.record_duration(&[route], elapsed);
        }

        fn render(&self) -> String {
            // The same `le` bounds as the prometheus histogram, derived from
            // the fine buckets at render time.
            let opts = TextOptions::new().buckets(&BOUNDS);
            let mut text = String::new();
            prometheus::render_into(&self.registry.collect(), &mut text, &opts);
            text
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let old = with_prometheus::Metrics::new()?;
    let new = with_hotmetrics::Metrics::new()?;
    let both: [&dyn Instrumentation; 2] = [&old, &new];

    // The same simulated traffic into both.
    let routes = ["search", "checkout", "profile"];
    for i in 0..1_000u64 {
        let route = routes[(i % 3) as usize];
        let status = if i % 50 == 0 { "500" } else { "200" };
        // 200 µs .. 20 ms, spread over the bounds.
        let elapsed = Duration::from_micros(200 + (i * 7_919) % 20_000);
        for m in both {
            m.request_started();
            m.request_finished(route, status, elapsed);
        }
    }

    println!("==== prometheus crate ====\n{}", old.render());
    println!("==== hotmetrics ====\n{}", new.render());
    Ok(())
}
