//! What an application gets: hotmetrics called from this separate crate,
//! built with the default bench profile (release without LTO, default
//! codegen units), every operation made from a request handler that is a
//! function of its own (`user::handle`, `#[inline(never)]`), with
//! latencies drawn from a log-normal table (`user::requests`). Each group
//! puts hotmetrics beside the same peers and the limits:
//!
//! - `user_counter/*`: one shared counter, `inc` per request;
//! - `user_histogram/*`: one shared histogram, one latency per request;
//! - `user_labeled/*`: a counter and a histogram by three label values
//!   (route, method, status; 64 label sets), resolved on every request:
//!   `hotmetrics_separate` (two dynamic lookups; `_static`: the values as
//!   `StaticStr`, found by address), `hotmetrics_pair` (one
//!   `FamilyPair` lookup), `hotmetrics_pair_static` (the same, the values
//!   said to be `'static`: found by their addresses), `hotmetrics_prebound`
//!   (handles bound up front),
//!   peers by `&'static str` values, except `measured` (enum labels);
//! - `user_record_response/*`: `ResponseTracker::record_response` (four
//!   families: requests, latency, errors on failure, cache hit or miss;
//!   `hotmetrics_static` with the route and method as `StaticStr`)
//!   beside the same four families in `measured` and `prometheus`;
//! - `user_scrape_1k/*` and `user_scrape_10k/*`: one `/metrics` scrape of
//!   1,000 counters + 100 histograms (and ten times as many), the data and
//!   contenders of `benches/export.rs`: hotmetrics `collect()` then render
//!   (what its endpoint does on every scrape unless it collects on a
//!   timer), each peer's encode (which reads its atomics as it goes), each
//!   from a function of its own (`serve_scrape`).
//!
//! `none` is the handler alone; `limit_*` are what a recording cannot beat:
//! a plain single-writer store, an array record.
//!
//! `cargo bench -p hotmetrics-bench --bench user_build` (about a minute;
//! filter by group or contender name).

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use hotmetrics::{CacheStatus, FamilyPair, Registry, StaticStr, Unit};
use hotmetrics_bench::labeled::{AtomicRecorder, LABELS};
use hotmetrics_bench::measured_labels as ml;
use hotmetrics_bench::render::{Renderers, CONTENDERS};
use hotmetrics_bench::user::{handle, requests, Request, REQUESTS};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Values kept past this many are dropped, as a periodic drain would
/// (`metrics-util`'s buckets keep every value).
const DRAIN_EVERY: u64 = 1 << 20;

/// Times `record` on every request of the table in turn, each from
/// [`handle`].
fn run<F: Fn(&Request)>(g: &mut Group<'_>, name: &str, reqs: &[Request], record: F) {
    g.bench_function(name, |b| {
        let mut i = 0;
        let mut acc = 0;
        b.iter(|| {
            i = (i + 1) & (REQUESTS - 1);
            acc = handle(&reqs[i], acc, &record);
        })
    });
}

/// Prometheus' default buckets, in seconds.
fn buckets() -> impl Iterator<Item = f64> {
    prometheus::DEFAULT_BUCKETS.iter().copied()
}

/// A `metrics` counter and histogram handle over `metrics-util`'s atomic storage.
fn metrics_pair(name: &str) -> (metrics::Counter, metrics::Histogram, impl Fn()) {
    let reg = std::sync::Arc::new(metrics_util::registry::Registry::atomic());
    let key = metrics::Key::from_name(name.to_string());
    let c = metrics::Counter::from_arc(reg.get_or_create_counter(&key, |a| a.clone()));
    let h = metrics::Histogram::from_arc(reg.get_or_create_histogram(&key, |a| a.clone()));
    (c, h, move || reg.visit_histograms(|_, h| h.clear()))
}

/// An OpenTelemetry SDK meter with a pull reader and nothing exporting.
fn otel_meter() -> (
    opentelemetry_sdk::metrics::SdkMeterProvider,
    opentelemetry::metrics::Meter,
) {
    let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build())
        .build();
    let meter = provider.meter("user_build");
    (provider, meter)
}

fn counter(c: &mut Criterion) {
    let reqs = requests();
    let mut g = c.benchmark_group("user_counter");
    run(&mut g, "none", &reqs, |_| {});
    let reg = Registry::new();
    let hm = reg.counter("requests", "Requests").unwrap();
    run(&mut g, "hotmetrics_shared", &reqs, |_| hm.inc());
    let local = hm.local();
    run(&mut g, "hotmetrics_local", &reqs, |_| local.inc());
    let prom = prometheus::IntCounter::new("requests", "Requests").unwrap();
    run(&mut g, "prometheus", &reqs, |_| prom.inc());
    let pc: prometheus_client::metrics::counter::Counter = Default::default();
    run(&mut g, "prometheus_client", &reqs, |_| {
        pc.inc();
    });
    let (mc, _, _) = metrics_pair("requests");
    run(&mut g, "metrics_util", &reqs, |_| mc.increment(1));
    let fm = <fastmetrics::metrics::counter::Counter>::default();
    run(&mut g, "fastmetrics", &reqs, |_| fm.inc());
    let me = measured::Counter::new();
    run(&mut g, "measured", &reqs, |_| me.inc());
    let (provider, meter) = otel_meter();
    let oc = meter.u64_counter("requests").build();
    run(&mut g, "opentelemetry_sdk", &reqs, |_| oc.add(1, &[]));
    let _ = provider.shutdown();
    let atomic = AtomicU64::new(0);
    run(&mut g, "limit_fetch_add", &reqs, |_| {
        atomic.fetch_add(1, Relaxed);
    });
    // One writer: a load and a store, no read-modify-write.
    run(&mut g, "limit_single_writer", &reqs, |_| {
        atomic.store(atomic.load(Relaxed) + 1, Relaxed)
    });
    g.finish();
}

/// The limit of a histogram record: one bucket per power of two, a load
/// and a store (one writer).
struct ArrayHistogram([AtomicU64; 65]);

impl ArrayHistogram {
    fn new() -> ArrayHistogram {
        ArrayHistogram(std::array::from_fn(|_| AtomicU64::new(0)))
    }

    #[inline(always)]
    fn record(&self, v: u64) {
        let b = &self.0[(64 - v.leading_zeros()) as usize];
        b.store(b.load(Relaxed) + 1, Relaxed);
    }
}

fn histogram(c: &mut Criterion) {
    let reqs = requests();
    let mut g = c.benchmark_group("user_histogram");
    run(&mut g, "none", &reqs, |_| {});
    let reg = Registry::new();
    let hm = reg
        .histogram("latency", "Latency", Unit::Nanoseconds)
        .unwrap();
    run(&mut g, "hotmetrics_shared", &reqs, |r| hm.record(r.nanos));
    let local = hm.local();
    run(&mut g, "hotmetrics_local", &reqs, |r| local.record(r.nanos));
    let prom =
        prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("latency", "Latency"))
            .unwrap();
    run(&mut g, "prometheus", &reqs, |r| prom.observe(r.secs()));
    let pc = prometheus_client::metrics::histogram::Histogram::new(buckets());
    run(&mut g, "prometheus_client", &reqs, |r| pc.observe(r.secs()));
    // With the default buckets (5 ms to 10 s) every latency of this
    // workload (median 50 µs) falls in the first one, so the search for
    // its bucket ends at the first bound. Buckets that cover the data, as
    // `measured` is given (1 µs doubling, 21 bounds up to about 1 s):
    let covering = prometheus_client::metrics::histogram::exponential_buckets(1e-6, 2.0, 21);
    let pc_cover = prometheus_client::metrics::histogram::Histogram::new(covering);
    run(&mut g, "prometheus_client_covering_buckets", &reqs, |r| {
        pc_cover.observe(r.secs())
    });
    let (_, mh, drain) = metrics_pair("latency");
    let n = Cell::new(0u64);
    run(&mut g, "metrics_util", &reqs, |r| {
        n.set(n.get() + 1);
        if n.get() % DRAIN_EVERY == 0 {
            drain();
        }
        mh.record(r.secs())
    });
    let fm = fastmetrics::metrics::histogram::Histogram::new(buckets());
    run(&mut g, "fastmetrics", &reqs, |r| fm.observe(r.secs()));
    let me = measured::Histogram::<{ ml::BUCKETS }>::with_metadata(ml::thresholds());
    run(&mut g, "measured", &reqs, |r| me.observe(r.secs()));
    let (provider, meter) = otel_meter();
    let oh = meter
        .f64_histogram("latency")
        .with_boundaries(prometheus::DEFAULT_BUCKETS.to_vec())
        .build();
    run(&mut g, "opentelemetry_sdk", &reqs, |r| {
        oh.record(r.secs(), &[])
    });
    let _ = provider.shutdown();
    let hdr =
        Mutex::new(hdrhistogram::Histogram::<u64>::new_with_max(3_600_000_000_000, 3).unwrap());
    run(&mut g, "hdrhistogram_mutex", &reqs, |r| {
        hdr.lock().unwrap().saturating_record(r.nanos)
    });
    let array = ArrayHistogram::new();
    run(&mut g, "limit_array_record", &reqs, |r| {
        array.record(r.nanos)
    });
    g.finish();
}

fn labeled(c: &mut Criterion) {
    let reqs = requests();
    let mut g = c.benchmark_group("user_labeled");
    run(&mut g, "none", &reqs, |_| {});
    let reg = Registry::new();
    let count = reg.counter_family("requests", "Requests", &LABELS).unwrap();
    let latency = reg
        .histogram_family("latency", "Latency", Unit::Nanoseconds, &LABELS)
        .unwrap();
    run(&mut g, "hotmetrics_separate", &reqs, |r| {
        count.inc(&r.labels);
        latency.record(&r.labels, r.nanos);
    });
    run(&mut g, "hotmetrics_separate_static", &reqs, |r| {
        let labels = r.labels.map(StaticStr);
        count.inc(&labels);
        latency.record(&labels, r.nanos);
    });
    let pair = FamilyPair::new(&count, &latency).unwrap();
    run(&mut g, "hotmetrics_pair", &reqs, |r| {
        pair.inc_and_record(&r.labels, r.nanos)
    });
    run(&mut g, "hotmetrics_pair_static", &reqs, |r| {
        pair.inc_and_record(&r.labels.map(StaticStr), r.nanos)
    });
    let bound: Vec<_> = (hotmetrics_bench::labeled::label_sets().iter())
        .map(|l| pair.with(l))
        .collect();
    run(&mut g, "hotmetrics_prebound", &reqs, |r| {
        let (c, h) = &bound[r.set];
        c.inc();
        h.record(r.nanos);
    });
    peers_labeled(&mut g, &reqs);
    let limit: Vec<(AtomicU64, ArrayHistogram)> = (0..64)
        .map(|_| (AtomicU64::new(0), ArrayHistogram::new()))
        .collect();
    run(&mut g, "limit_array_record", &reqs, |r| {
        let (c, h) = &limit[r.set];
        c.store(c.load(Relaxed) + 1, Relaxed);
        h.record(r.nanos);
    });
    g.finish();
}

fn peers_labeled(g: &mut Group<'_>, reqs: &[Request]) {
    let opts = prometheus::Opts::new("requests", "Requests");
    let prom_c = prometheus::IntCounterVec::new(opts, &LABELS).unwrap();
    let hopts = prometheus::HistogramOpts::new("latency", "Latency");
    let prom_h = prometheus::HistogramVec::new(hopts, &LABELS).unwrap();
    run(g, "prometheus", reqs, |r| {
        prom_c.with_label_values(&r.labels).inc();
        prom_h.with_label_values(&r.labels).observe(r.secs());
    });
    use prometheus_client::metrics::{counter::Counter, family::Family, histogram::Histogram};
    let pc_c = Family::<[&'static str; 3], Counter>::default();
    let pc_h =
        Family::<[&'static str; 3], Histogram>::new_with_constructor(|| Histogram::new(buckets()));
    run(g, "prometheus_client", reqs, |r| {
        pc_c.get_or_create(&r.labels).inc();
        pc_h.get_or_create(&r.labels).observe(r.secs());
    });
    let recorder = AtomicRecorder::new();
    let n = Cell::new(0u64);
    metrics::with_local_recorder(&recorder, || {
        run(g, "metrics_util", reqs, |r| {
            n.set(n.get() + 1);
            if n.get() % DRAIN_EVERY == 0 {
                recorder.clear_histograms();
            }
            let [route, method, status] = r.labels;
            metrics::counter!("requests", "route" => route, "method" => method, "status" => status)
                .increment(1);
            metrics::histogram!("latency", "route" => route, "method" => method, "status" => status)
                .record(r.secs());
        })
    });
    use fastmetrics::metrics::{counter::Counter as FCounter, family::Family as FFamily};
    let fm_c = FFamily::<[&'static str; 3], FCounter>::default();
    let fm_h = FFamily::<[&'static str; 3], _>::new(|| {
        fastmetrics::metrics::histogram::Histogram::new(buckets())
    });
    run(g, "fastmetrics", reqs, |r| {
        fm_c.with_or_new(&r.labels, |c| c.inc());
        fm_h.with_or_new(&r.labels, |h| h.observe(r.secs()));
    });
    let me = ml::Pair::new();
    let sets: Vec<ml::RequestLabels> = (hotmetrics_bench::labeled::label_sets().into_iter())
        .map(ml::enums)
        .collect();
    run(g, "measured_enum_labels", reqs, |r| {
        let l = sets[r.set];
        me.requests.inc(l);
        me.latency.observe(l, r.secs());
    });
    let (provider, meter) = otel_meter();
    let oc = meter.u64_counter("requests").build();
    let oh = meter
        .f64_histogram("latency")
        .with_boundaries(prometheus::DEFAULT_BUCKETS.to_vec())
        .build();
    run(g, "opentelemetry_sdk", reqs, |r| {
        let [route, method, status] = r.labels;
        let attrs = [
            KeyValue::new("route", route),
            KeyValue::new("method", method),
            KeyValue::new("status", status),
        ];
        oc.add(1, &attrs);
        oh.record(r.secs(), &attrs);
    });
    let _ = provider.shutdown();
}

fn record_response(c: &mut Criterion) {
    let reqs = requests();
    let mut g = c.benchmark_group("user_record_response");
    let reg = Registry::new();
    let rt = reg.response_tracker("api").unwrap();
    run(&mut g, "hotmetrics", &reqs, |r| {
        let elapsed = Duration::from_nanos(r.nanos);
        rt.record_response(r.labels[0], r.labels[1], elapsed, &r.outcome(), r.cache());
    });
    run(&mut g, "hotmetrics_static", &reqs, |r| {
        let elapsed = Duration::from_nanos(r.nanos);
        let [route, intent, _] = r.labels.map(StaticStr);
        rt.record_response(&route, &intent, elapsed, &r.outcome(), r.cache());
    });
    let me = ml::Tracker::new();
    let sets: Vec<ml::RequestLabels> = (hotmetrics_bench::labeled::label_sets().into_iter())
        .map(ml::enums)
        .collect();
    run(&mut g, "measured_enum_labels", &reqs, |r| {
        let l = sets[r.set];
        let outcome = if r.failed {
            ml::Outcome::Error
        } else {
            ml::Outcome::Success
        };
        let (route, intent) = (l.route, l.method);
        me.latency.observe(ml::Latency { route, outcome }, r.secs());
        me.requests.inc(ml::Tracked {
            route,
            intent,
            outcome,
        });
        if r.failed {
            let category = ml::Category::Server;
            me.errors.inc(ml::Errors { route, category });
        }
        let cache = match r.cache() {
            CacheStatus::Miss => ml::Cache::Miss,
            _ => ml::Cache::Hit,
        };
        me.cache.inc(ml::Cached { route, cache });
    });
    prometheus_tracker(&mut g, &reqs);
    g.finish();
}

/// The tracker's four families in `prometheus`, by `&str` values.
fn prometheus_tracker(g: &mut Group<'_>, reqs: &[Request]) {
    let vec = |name: &str, labels: &[&str]| {
        prometheus::IntCounterVec::new(prometheus::Opts::new(name, name), labels).unwrap()
    };
    let requests = vec("requests", &["route", "intent", "outcome"]);
    let errors = vec("errors", &["route", "category"]);
    let cache = vec("cache_requests", &["route", "cache"]);
    let hopts = prometheus::HistogramOpts::new("latency", "Latency");
    let latency = prometheus::HistogramVec::new(hopts, &["route", "outcome"]).unwrap();
    run(g, "prometheus", reqs, |r| {
        let [route, intent, _] = r.labels;
        let outcome = if r.failed { "error" } else { "success" };
        latency
            .with_label_values(&[route, outcome])
            .observe(r.secs());
        requests.with_label_values(&[route, intent, outcome]).inc();
        if r.failed {
            errors.with_label_values(&[route, "server"]).inc();
        }
        let hit = if matches!(r.cache(), CacheStatus::Miss) {
            "miss"
        } else {
            "hit"
        };
        cache.with_label_values(&[route, hit]).inc();
    });
}

/// A `/metrics` handler: one scrape with contender `k`.
#[inline(never)]
fn serve_scrape(r: &mut Renderers, k: usize) -> usize {
    r.scrape(k)
}

/// The same, after one more observation in every histogram.
#[inline(never)]
fn serve_scrape_changed(r: &mut Renderers) -> usize {
    r.scrape_changed()
}

fn scrape(c: &mut Criterion) {
    for (group, counters, histograms) in [
        ("user_scrape_1k", 1000, 100),
        ("user_scrape_10k", 10_000, 1000),
    ] {
        let mut r = Renderers::new(counters, histograms);
        let mut g = c.benchmark_group(group);
        for (k, contender) in CONTENDERS.iter().enumerate() {
            let id = contender.id.replace("hotmetrics_", "hotmetrics_collect_");
            g.bench_function(id, |b| b.iter(|| black_box(serve_scrape(&mut r, k))));
        }
        // Every histogram changed since the last scrape (the peers' encode
        // costs the same either way).
        g.bench_function("hotmetrics_collect_prometheus_changed", |b| {
            b.iter(|| black_box(serve_scrape_changed(&mut r)))
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800))
        .sample_size(30);
    targets = counter, histogram, labeled, record_response, scrape
}
criterion_main!(benches);
