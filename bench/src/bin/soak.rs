//! A soak run (not in CI; `scripts/soak.sh` builds and runs it): for
//! `--duration SECS` (default 600) it keeps up, all at once,
//!
//! - thread churn: batches of short-lived threads, each recording into a
//!   counter and a histogram and emitting two telemetry events, then ending;
//! - label churn with eviction: a family limited to 64 series, idle series
//!   evicted after 2 collections, fed an endless stream of new label sets;
//! - scrapes: collect, then render Prometheus text and OpenMetrics, in a
//!   loop, each scrape emitting a telemetry event;
//! - telemetry: every event goes to a loopback receiver (testkit's sink).
//!
//! It prints the resident set size (`VmRSS`) every 10 s and ends by checking
//! totals exactly: what the threads recorded against the final snapshot,
//! and the telemetry accounting against what was emitted and received. It
//! exits non-zero if any differ.

use hotmetrics::export::{openmetrics, prometheus};
use hotmetrics::telemetry::Client;
use hotmetrics::{Options, Registry, Unit};
use hotmetrics_testkit::sink::Sink;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The system allocator, counting the bytes live on the heap, so that the
/// RSS lines can tell what is still allocated from what the allocator keeps.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_BLOCKS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counters only
// observe the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Relaxed);
            LIVE_BLOCKS.fetch_add(1, Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Relaxed);
            LIVE_BLOCKS.fetch_add(1, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE_BYTES.fetch_sub(layout.size(), Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size, Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Heap bytes and blocks live now, in KiB and blocks.
fn heap() -> (usize, usize) {
    (LIVE_BYTES.load(Relaxed) / 1024, LIVE_BLOCKS.load(Relaxed))
}

const THREADS_PER_BATCH: usize = 8;
const RECORDS_PER_THREAD: u64 = 2_000;
const FAMILY_LIMIT: usize = 64;

/// What the workers did, counted outside the library.
#[derive(Default)]
struct Tally {
    adds: AtomicU64,
    records: AtomicU64,
    labels: AtomicU64,
    events: AtomicU64,
    scrapes: AtomicU64,
    threads: AtomicU64,
}

fn duration_arg() -> Duration {
    let args: Vec<String> = std::env::args().collect();
    let secs = match args.iter().position(|a| a == "--duration") {
        Some(i) => args
            .get(i + 1)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| {
                eprintln!("usage: soak [--duration SECS]");
                std::process::exit(2)
            }),
        None => 600,
    };
    Duration::from_secs(secs)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Batches of short-lived threads until `stop`.
fn thread_churn(reg: &Registry, client: &Client, tally: &Tally, stop: &AtomicBool) {
    let ops = reg
        .counter("soak_thread_ops", "Adds by churned threads")
        .unwrap();
    let lat = reg
        .histogram(
            "soak_thread_latency",
            "Records by churned threads",
            Unit::Nanoseconds,
        )
        .unwrap();
    let mut session = 0u64;
    while !stop.load(Relaxed) {
        std::thread::scope(|s| {
            for _ in 0..THREADS_PER_BATCH {
                session += 1;
                let (ops, lat, id) = (&ops, &lat, session);
                s.spawn(move || {
                    client.session_opened(id);
                    for i in 0..RECORDS_PER_THREAD {
                        ops.inc();
                        lat.record(1_000 + i * 37);
                    }
                    client.session_closed(id);
                    tally.adds.fetch_add(RECORDS_PER_THREAD, Relaxed);
                    tally.records.fetch_add(RECORDS_PER_THREAD, Relaxed);
                    tally.events.fetch_add(2, Relaxed);
                    tally.threads.fetch_add(1, Relaxed);
                });
            }
        });
    }
}

/// An endless stream of new label sets through a small evicting family,
/// each also counted in a plain counter.
fn label_churn(reg: &Registry, tally: &Tally, stop: &AtomicBool) {
    let fam = reg
        .counter_family_with(
            Options::new("soak_keys", "Label churn")
                .labels(&["key"])
                .max_series(FAMILY_LIMIT)
                .evict_idle_after(2),
        )
        .unwrap();
    let all = reg
        .counter("soak_key_records", "Label sets recorded")
        .unwrap();
    let mut key = 0u64;
    while !stop.load(Relaxed) {
        for _ in 0..256 {
            key += 1;
            fam.inc(&vec![key.to_string()]);
            all.inc();
        }
        tally.labels.fetch_add(256, Relaxed);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Collect and render both formats until `stop`.
fn scrapes(reg: &Registry, client: &Client, tally: &Tally, stop: &AtomicBool) {
    let mut n = 0u64;
    while !stop.load(Relaxed) {
        let snap = reg.collect();
        let text = prometheus::render(&snap);
        let om = openmetrics::render(&snap);
        assert!(!text.is_empty() && om.ends_with("# EOF\n"));
        n += 1;
        client.session_opened(u64::MAX - n);
        tally.events.fetch_add(1, Relaxed);
        tally.scrapes.fetch_add(1, Relaxed);
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() {
    let duration = duration_arg();
    let reg = Registry::new();
    let sink = Sink::start();
    sink.discard_bodies();
    let client = Client::builder()
        .events_endpoint(sink.url("/events"))
        .start()
        .expect("telemetry client");
    let tally = Tally::default();
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    println!(
        "soak: {} s, rss at start {} KiB",
        duration.as_secs(),
        rss_kib()
    );
    std::thread::scope(|s| {
        s.spawn(|| thread_churn(&reg, &client, &tally, &stop));
        s.spawn(|| label_churn(&reg, &tally, &stop));
        s.spawn(|| scrapes(&reg, &client, &tally, &stop));
        let mut next = Duration::from_secs(10);
        while start.elapsed() < duration {
            std::thread::sleep(Duration::from_millis(100).min(duration - start.elapsed()));
            if start.elapsed() >= next {
                let (heap_kib, blocks) = heap();
                println!(
                    "t={:>4} s rss {:>7} KiB heap {:>6} KiB in {:>6} blocks cells {:>6} KiB \
                     threads {:>8} label sets {:>9} scrapes {:>6}",
                    next.as_secs(),
                    rss_kib(),
                    heap_kib,
                    blocks,
                    reg.cell_bytes() / 1024,
                    tally.threads.load(Relaxed),
                    tally.labels.load(Relaxed),
                    tally.scrapes.load(Relaxed),
                );
                next += Duration::from_secs(10);
            }
        }
        stop.store(true, Relaxed);
    });
    std::process::exit(check(&reg, client, &sink, &tally));
}

/// Prints one check; 1 if it failed.
fn expect(what: &str, got: Option<u64>, want: u64) -> i32 {
    let ok = got == Some(want);
    println!(
        "{} {what}: {got:?} (expected {want})",
        if ok { "ok  " } else { "FAIL" }
    );
    i32::from(!ok)
}

/// Compares the totals; the number of mismatches.
fn check(reg: &Registry, client: Client, sink: &Sink, tally: &Tally) -> i32 {
    let snap = reg.collect();
    let mut bad = 0;
    bad += expect(
        "counter soak_thread_ops",
        snap.counter_with("soak_thread_ops", &[]),
        tally.adds.load(Relaxed),
    );
    bad += expect(
        "histogram soak_thread_latency count",
        snap.histogram("soak_thread_latency").map(|h| h.count()),
        tally.records.load(Relaxed),
    );
    bad += expect(
        "counter soak_key_records",
        snap.counter_with("soak_key_records", &[]),
        tally.labels.load(Relaxed),
    );
    let live = snap.series("soak_keys").len();
    println!("     family soak_keys: {live} live series (limit {FAMILY_LIMIT}, + overflow)");
    bad += i32::from(live > FAMILY_LIMIT + 1);
    let acc = client.shutdown(Duration::from_secs(5));
    bad += expect(
        "telemetry accepted",
        Some(acc.accepted),
        tally.events.load(Relaxed),
    );
    bad += expect(
        "telemetry delivered + dropped",
        Some(acc.delivered + acc.dropped()),
        acc.accepted,
    );
    bad += expect(
        "telemetry lines received",
        Some(sink.line_count()),
        acc.delivered,
    );
    println!("     telemetry: {acc:?}");
    println!("     rss at end {} KiB", rss_kib());
    bad
}
