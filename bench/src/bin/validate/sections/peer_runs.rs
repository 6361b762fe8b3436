//! The peers measured side by side with hotmetrics: single-thread ns/op of a
//! counter increment and a histogram record, and 2-thread throughput of
//! histogram records, each measured the same way for every peer.

use crate::harness::{batch_ns, throughput, Tput};
use crate::stats::{percentile, sorted};
use hotmetrics::{Registry, Unit};
use hotmetrics_bench::workload::{secs_of as secs, value_of};
use std::sync::Mutex;
use std::time::Duration;

/// One contender of the peers section.
pub struct Peer {
    /// The name in the report, with the version measured.
    pub name: &'static str,
    /// A shorter one for plot labels, with the version.
    pub short: &'static str,
}

/// The contenders, in report order; [`sample`] takes an index into it.
pub const PEERS: [Peer; 9] = [
    Peer {
        name: "hotmetrics (shared handle)",
        short: "hotmetrics shared",
    },
    Peer {
        name: "hotmetrics (local handle)",
        short: "hotmetrics local",
    },
    Peer {
        name: hotmetrics_bench::peer!("prometheus", prometheus),
        short: hotmetrics_bench::peer!("prometheus", prometheus),
    },
    Peer {
        name: hotmetrics_bench::peer!("prometheus-client", prometheus_client),
        short: hotmetrics_bench::peer!("prometheus-client", prometheus_client),
    },
    Peer {
        name: concat!(
            hotmetrics_bench::peer!("metrics", metrics),
            " + ",
            hotmetrics_bench::peer!("metrics-util", metrics_util),
            " (AtomicStorage)"
        ),
        short: hotmetrics_bench::peer!("metrics-util", metrics_util),
    },
    Peer {
        name: hotmetrics_bench::peer!("fastmetrics", fastmetrics),
        short: hotmetrics_bench::peer!("fastmetrics", fastmetrics),
    },
    Peer {
        name: concat!(
            hotmetrics_bench::peer!("opentelemetry_sdk", opentelemetry_sdk),
            " (ManualReader)"
        ),
        short: hotmetrics_bench::peer!("opentelemetry_sdk", opentelemetry_sdk),
    },
    Peer {
        name: concat!(
            hotmetrics_bench::peer!("hdrhistogram", hdrhistogram),
            " in a Mutex"
        ),
        short: hotmetrics_bench::peer!("hdrhistogram", hdrhistogram),
    },
    Peer {
        name: "Mutex<Vec<f64>> (replaced design)",
        short: "Mutex<Vec<f64>>",
    },
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

/// Values past this many per thread are dropped, as a periodic drain would
/// (`metrics-util`'s bucket and the `Vec` design keep every value).
const DRAIN_EVERY: u64 = 1 << 20;

/// Runs `f` in a function of its own: each timing loop in a small function
/// of its own compiles as a caller's loop would (inlined into a large
/// function, the loops were compiled worse: spilled registers, a
/// thread-local accessor left as a call).
#[inline(never)]
fn isolated<R>(f: impl FnOnce() -> R) -> R {
    f()
}

fn med(v: Vec<f64>) -> f64 {
    percentile(&sorted(&v), 0.5)
}

/// Times an operation as `batch_ns!` does, after a warm-up run of the same
/// loop, in a function of its own (see [`isolated`]).
macro_rules! bn {
    ($p:expr, $($op:tt)*) => {
        isolated(|| {
            batch_ns!($p.batches / 10 + 1, $p.batch, $($op)*); // warm-up
            med(batch_ns!($p.batches, $p.batch, $($op)*))
        })
    };
}

/// Measures peer number `peer` (an index into [`PEERS`]) once.
pub fn sample(peer: usize, p: &Params) -> Sample {
    match peer {
        0 | 1 => hotmetrics(peer, p),
        2 => prometheus(p),
        3 => prometheus_client(p),
        4 => metrics_util(p),
        5 => fastmetrics(p),
        6 => opentelemetry(p),
        7 => hdrhistogram(p),
        _ => mutex_vec(p),
    }
}

/// hotmetrics through shared handles (`peer` 0) or local ones (1).
fn hotmetrics(peer: usize, p: &Params) -> Sample {
    let reg = Registry::new();
    let c = reg.counter("peer_counter", "Peer counter").unwrap();
    let h = reg
        .histogram("peer_histogram", "Peer histogram", Unit::Nanoseconds)
        .unwrap();
    if peer == 0 {
        Sample {
            counter_ns: Some(bn!(p, |_| c.inc())),
            hist_ns: Some(bn!(p, |i| h.record(value_of(i)))),
            tput2: throughput(2, p.window, || {
                let h = &h;
                move |i| h.record(value_of(i))
            }),
        }
    } else {
        let (lc, lh) = (c.local(), h.local());
        Sample {
            counter_ns: Some(bn!(p, |_| lc.inc())),
            hist_ns: Some(bn!(p, |i| lh.record(value_of(i)))),
            tput2: throughput(2, p.window, || {
                let lh = h.local();
                move |i| lh.record(value_of(i))
            }),
        }
    }
}

/// prometheus: `IntCounter`, `Histogram` with the default buckets.
fn prometheus(p: &Params) -> Sample {
    let c = prometheus::IntCounter::new("peer_counter", "Peer counter").unwrap();
    let h = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new(
        "peer_histogram",
        "Peer histogram",
    ))
    .unwrap();
    Sample {
        counter_ns: Some(bn!(p, |_| c.inc())),
        hist_ns: Some(bn!(p, |i| h.observe(secs(i)))),
        tput2: throughput(2, p.window, || {
            let h = &h;
            move |i| h.observe(secs(i))
        }),
    }
}

/// prometheus-client: `Counter<u64>`, `Histogram` with the default buckets.
fn prometheus_client(p: &Params) -> Sample {
    let c: prometheus_client::metrics::counter::Counter = Default::default();
    let h = prometheus_client::metrics::histogram::Histogram::new(
        prometheus::DEFAULT_BUCKETS.iter().copied(),
    );
    Sample {
        counter_ns: Some(bn!(p, |_| {
            c.inc();
        })),
        hist_ns: Some(bn!(p, |i| h.observe(secs(i)))),
        tput2: throughput(2, p.window, || {
            let h = &h;
            move |i| h.observe(secs(i))
        }),
    }
}

/// metrics handles over metrics-util's `AtomicStorage`, its bucket drained every [`DRAIN_EVERY`] values.
fn metrics_util(p: &Params) -> Sample {
    let reg = metrics_util::registry::Registry::atomic();
    let c = metrics::Counter::from_arc(
        reg.get_or_create_counter(&metrics::Key::from_name("peer_counter"), |a| a.clone()),
    );
    let bucket =
        reg.get_or_create_histogram(&metrics::Key::from_name("peer_histogram"), |a| a.clone());
    let h = metrics::Histogram::from_arc(bucket.clone());
    let counter_ns = Some(bn!(p, |_| c.increment(1)));
    bucket.clear();
    let hist_ns = Some(bn!(p, |i| {
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

/// fastmetrics: `Counter`, `Histogram` with the default buckets.
fn fastmetrics(p: &Params) -> Sample {
    let c = <fastmetrics::metrics::counter::Counter>::default();
    let h = fastmetrics::metrics::histogram::Histogram::new(
        prometheus::DEFAULT_BUCKETS.iter().copied(),
    );
    Sample {
        counter_ns: Some(bn!(p, |_| c.inc())),
        hist_ns: Some(bn!(p, |i| h.observe(secs(i)))),
        tput2: throughput(2, p.window, || {
            let h = &h;
            move |i| h.observe(secs(i))
        }),
    }
}

/// opentelemetry_sdk: `u64_counter`, `f64_histogram`, no attributes, `ManualReader`.
fn opentelemetry(p: &Params) -> Sample {
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
        counter_ns: Some(bn!(p, |_| c.add(1, &[]))),
        hist_ns: Some(bn!(p, |i| h.record(secs(i), &[]))),
        tput2: throughput(2, p.window, || {
            let h = &h;
            move |i| h.record(secs(i), &[])
        }),
    };
    let _ = provider.shutdown();
    sample
}

/// hdrhistogram behind a `Mutex` (no counter).
fn hdrhistogram(p: &Params) -> Sample {
    let h = Mutex::new(hdrhistogram::Histogram::<u64>::new_with_max(3_600_000_000_000, 3).unwrap());
    Sample {
        counter_ns: None,
        hist_ns: Some(bn!(p, |i| {
            h.lock().unwrap().saturating_record(value_of(i))
        })),
        tput2: throughput(2, p.window, || {
            let h = &h;
            move |i| h.lock().unwrap().saturating_record(value_of(i))
        }),
    }
}

/// The replaced design: lock a `Vec<f64>` and push (no counter).
fn mutex_vec(p: &Params) -> Sample {
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
        hist_ns: Some(bn!(p, push)),
        tput2: throughput(2, p.window, || push),
    }
}
