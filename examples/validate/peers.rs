//! The peers measured side by side with hotmetrics: single-thread ns/op of a
//! counter increment and a histogram record, and 2-thread throughput of
//! histogram records, each measured the same way for every peer.

use crate::stats::{batch_ns, cpu_seconds, percentile, sorted, value_of};
use hotmetrics::{Registry, Unit};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

/// Peer names, in report order.
pub const NAMES: [&str; 9] = [
    "hotmetrics (shared handle)",
    "hotmetrics (local handle)",
    "prometheus 0.13",
    "prometheus-client 0.22",
    "metrics 0.24 + metrics-util 0.19 (AtomicStorage)",
    "fastmetrics 0.7",
    "opentelemetry_sdk 0.33 (ManualReader)",
    "hdrhistogram 7 in a Mutex",
    "Mutex<Vec<f64>> (replaced design)",
];

/// Short peer names for plot labels, same order as [`NAMES`].
pub const SHORT: [&str; 9] = [
    "hotmetrics shared",
    "hotmetrics local",
    "prometheus",
    "prometheus-client",
    "metrics-util",
    "fastmetrics",
    "opentelemetry",
    "hdrhistogram",
    "Mutex<Vec<f64>>",
];

/// How long each measurement runs.
pub struct Params {
    pub batches: usize,
    pub batch: u64,
    pub window: Duration,
}

/// One run of one peer.
pub struct Sample {
    pub counter_ns: Option<f64>,
    pub hist_ns: Option<f64>,
    pub tput2: Tput,
}

/// A throughput measurement.
#[derive(Clone, Copy, Debug)]
pub struct Tput {
    /// Operations per second, all threads together.
    pub ops_per_s: f64,
    /// Process CPU time over wall time: how many cores the threads got.
    pub busy: f64,
}

/// Values past this many per thread are dropped, as a periodic drain would
/// (`metrics-util`'s bucket and the `Vec` design keep every value).
const DRAIN_EVERY: u64 = 1 << 20;

/// Runs `f` in a function of its own (see `sample`).
#[inline(never)]
fn isolated<R>(f: impl FnOnce() -> R) -> R {
    f()
}

fn med(v: Vec<f64>) -> f64 {
    percentile(&sorted(&v), 0.5)
}

fn secs(i: u64) -> f64 {
    value_of(i) as f64 * 1e-9
}

/// Operations per second of `threads` threads, each running the closure
/// `make` returns in a loop for `window`.
pub fn throughput<W, G>(threads: usize, window: Duration, make: W) -> Tput
where
    W: Fn() -> G + Sync,
    G: FnMut(u64),
{
    let stop = AtomicBool::new(false);
    let total = AtomicU64::new(0);
    let barrier = Barrier::new(threads + 1);
    let mut start = Instant::now();
    let mut cpu0 = 0.0;
    std::thread::scope(|s| {
        for t in 0..threads {
            let (stop, total, barrier, make) = (&stop, &total, &barrier, &make);
            s.spawn(move || {
                let mut op = make();
                barrier.wait();
                let mut i = (t as u64) << 40;
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        op(i);
                        i += 1;
                    }
                    n += 256;
                }
                total.fetch_add(n, Ordering::Relaxed);
            });
        }
        // The clock starts before the workers are released: on a busy
        // machine this thread may be descheduled at the barrier while the
        // workers already run, and their operations must not count against
        // a late start.
        cpu0 = cpu_seconds();
        start = Instant::now();
        barrier.wait();
        std::thread::sleep(window);
        stop.store(true, Ordering::Relaxed);
    });
    let wall = start.elapsed().as_secs_f64();
    Tput {
        ops_per_s: total.load(Ordering::Relaxed) as f64 / wall,
        busy: (cpu_seconds() - cpu0) / wall,
    }
}

/// Measures peer number `peer` (an index into [`NAMES`]) once.
pub fn sample(peer: usize, p: &Params) -> Sample {
    // Each operation expanded into its own timing loop (see `batch_ns!`),
    // after a warm-up run of the same loop, in a function of its own: this
    // one is large, and inlined into it the loops were compiled worse
    // (spilled registers, a thread-local accessor left as a call).
    macro_rules! bn {
        ($($op:tt)*) => {
            isolated(|| {
                batch_ns!(p.batches / 10 + 1, p.batch, $($op)*); // warm-up
                med(batch_ns!(p.batches, p.batch, $($op)*))
            })
        };
    }
    match peer {
        0 | 1 => {
            let reg = Registry::new();
            let c = reg.counter("peer_counter", "Peer counter").unwrap();
            let h = reg
                .histogram("peer_histogram", "Peer histogram", Unit::Nanoseconds)
                .unwrap();
            if peer == 0 {
                Sample {
                    counter_ns: Some(bn!(|_| c.inc())),
                    hist_ns: Some(bn!(|i| h.record(value_of(i)))),
                    tput2: throughput(2, p.window, || {
                        let h = &h;
                        move |i| h.record(value_of(i))
                    }),
                }
            } else {
                let (lc, lh) = (c.local(), h.local());
                Sample {
                    counter_ns: Some(bn!(|_| lc.inc())),
                    hist_ns: Some(bn!(|i| lh.record(value_of(i)))),
                    tput2: throughput(2, p.window, || {
                        let lh = h.local();
                        move |i| lh.record(value_of(i))
                    }),
                }
            }
        }
        2 => {
            let c = prometheus::IntCounter::new("peer_counter", "Peer counter").unwrap();
            let h = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new(
                "peer_histogram",
                "Peer histogram",
            ))
            .unwrap();
            Sample {
                counter_ns: Some(bn!(|_| c.inc())),
                hist_ns: Some(bn!(|i| h.observe(secs(i)))),
                tput2: throughput(2, p.window, || {
                    let h = &h;
                    move |i| h.observe(secs(i))
                }),
            }
        }
        3 => {
            let c: prometheus_client::metrics::counter::Counter = Default::default();
            let h = prometheus_client::metrics::histogram::Histogram::new(
                prometheus::DEFAULT_BUCKETS.iter().copied(),
            );
            Sample {
                counter_ns: Some(bn!(|_| {
                    c.inc();
                })),
                hist_ns: Some(bn!(|i| h.observe(secs(i)))),
                tput2: throughput(2, p.window, || {
                    let h = &h;
                    move |i| h.observe(secs(i))
                }),
            }
        }
        4 => {
            let reg = metrics_util::registry::Registry::atomic();
            let c = metrics::Counter::from_arc(
                reg.get_or_create_counter(&metrics::Key::from_name("peer_counter"), |a| a.clone()),
            );
            let bucket = reg
                .get_or_create_histogram(&metrics::Key::from_name("peer_histogram"), |a| a.clone());
            let h = metrics::Histogram::from_arc(bucket.clone());
            let counter_ns = Some(bn!(|_| c.increment(1)));
            bucket.clear();
            let hist_ns = Some(bn!(|i| {
                if i % DRAIN_EVERY == 0 {
                    bucket.clear();
                }
                h.record(secs(i))
            }));
            bucket.clear();
            let tput2 = throughput(2, p.window, || {
                let (h, bucket) = (&h, &bucket);
                move |i| {
                    if i % DRAIN_EVERY == 0 {
                        bucket.clear();
                    }
                    h.record(secs(i))
                }
            });
            bucket.clear();
            Sample {
                counter_ns,
                hist_ns,
                tput2,
            }
        }
        5 => {
            let c = <fastmetrics::metrics::counter::Counter>::default();
            let h = fastmetrics::metrics::histogram::Histogram::new(
                prometheus::DEFAULT_BUCKETS.iter().copied(),
            );
            Sample {
                counter_ns: Some(bn!(|_| c.inc())),
                hist_ns: Some(bn!(|i| h.observe(secs(i)))),
                tput2: throughput(2, p.window, || {
                    let h = &h;
                    move |i| h.observe(secs(i))
                }),
            }
        }
        6 => {
            use opentelemetry::metrics::MeterProvider as _;
            // A provider with a pull reader and nothing exporting: what is
            // measured is the SDK's recording path alone (no attributes).
            let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
                .with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build())
                .build();
            let meter = provider.meter("validate");
            let c = meter.u64_counter("peer_counter").build();
            let h = meter
                .f64_histogram("peer_histogram")
                .with_unit("s")
                .with_boundaries(prometheus::DEFAULT_BUCKETS.to_vec())
                .build();
            let sample = Sample {
                counter_ns: Some(bn!(|_| c.add(1, &[]))),
                hist_ns: Some(bn!(|i| h.record(secs(i), &[]))),
                tput2: throughput(2, p.window, || {
                    let h = &h;
                    move |i| h.record(secs(i), &[])
                }),
            };
            let _ = provider.shutdown();
            sample
        }
        7 => {
            let h = Mutex::new(
                hdrhistogram::Histogram::<u64>::new_with_max(3_600_000_000_000, 3).unwrap(),
            );
            Sample {
                counter_ns: None,
                hist_ns: Some(bn!(|i| {
                    h.lock().unwrap().saturating_record(value_of(i))
                })),
                tput2: throughput(2, p.window, || {
                    let h = &h;
                    move |i| h.lock().unwrap().saturating_record(value_of(i))
                }),
            }
        }
        _ => {
            let v: Mutex<Vec<f64>> = Mutex::new(Vec::new());
            let push = |i: u64| {
                let mut g = v.lock().unwrap();
                if i % DRAIN_EVERY == 0 {
                    g.clear();
                }
                g.push(secs(i));
            };
            Sample {
                counter_ns: None,
                hist_ns: Some(bn!(push)),
                tput2: throughput(2, p.window, || push),
            }
        }
    }
}
