//! Telemetry emit cost and per-client memory.
//!
//! - `emit/room`: `Client::query_executed` (a clock read and a queue push)
//!   on a client whose loopback endpoint answers at once, its queue with
//!   room for 32,768 events, single emitter; the exporter thread drains the
//!   queue meanwhile, and each chunk's drain is waited for outside the
//!   timed region.
//! - `emit/full_queue`: `Client::query_executed` on a client whose endpoint
//!   stalls, so its queue is full and every emit is a counted drop.
//! - `emit/mutex_vecdeque_condvar`: the replaced design: a bounded
//!   `Mutex<VecDeque>` plus `Condvar::notify_one` per event.
//! - `emit/atomic_fetch_add`: one relaxed `fetch_add`, the reference for
//!   ratios.
//!
//! Before the benches it prints the heap bytes one client holds at the
//! default settings after delivering a few thousand events (a counting
//! allocator), and how many allocations 100,000 emits made.
//!
//! Run with `cargo bench --bench telemetry --features telemetry`.

use criterion::{criterion_group, Criterion, Throughput};
use hotmetrics::telemetry::{Client, Event, QueryEvent, QueryOutcome};
use hotmetrics::Registry;
use hotmetrics_testkit::alloc::{allocations, live_bytes, not_counted};
use hotmetrics_testkit::{CountingAlloc, Sink};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Counts live heap bytes and allocations, process-wide except for the
/// threads of the local receiver (marked as not counted).
#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// A receiver answering 200 (or stalling for `delay`) to every request, on
/// threads left out of the counts; its URL is `sink.url("/events")`.
fn sink(delay: Duration) -> Sink {
    let sink = Sink::start_with(not_counted);
    sink.discard_bodies();
    sink.set_delay(delay);
    sink
}

fn query(i: u64) -> QueryEvent {
    QueryEvent {
        session: i & 7,
        latency: Duration::from_nanos(1_000 + (i & 1023)),
        rows: i & 63,
        outcome: QueryOutcome::Ok,
    }
}

/// Heap bytes one client holds after start and after delivering 4,000
/// events, at the default settings; `shared` puts its self-metrics into an
/// application registry made beforehand (not counted) instead of a registry
/// of its own.
fn client_memory(shared: bool) -> (i64, i64, u64) {
    let receiver = sink(Duration::ZERO);
    let app = Registry::new();
    // Let the receiver's accept thread start before the baseline.
    std::thread::sleep(Duration::from_millis(50));
    let before = live_bytes();
    let mut builder = Client::builder().events_endpoint(receiver.url("/events"));
    if shared {
        builder = builder.registry(&app);
    }
    let client = builder.start().unwrap();
    let started = live_bytes() - before;
    for round in 0..20u64 {
        for i in 0..200 {
            client.query_executed(query(round * 200 + i));
        }
        std::thread::sleep(Duration::from_millis(60));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.accounting().delivered + client.accounting().dropped() < 4_000
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let steady = live_bytes() - before;
    let delivered = client.accounting().delivered;
    drop(client);
    (started, steady, delivered)
}

fn memory_report() {
    for shared in [false, true] {
        let (started, steady, delivered) = client_memory(shared);
        println!(
            "telemetry memory ({}): client heap at start {started} B, after delivering \
             {delivered} events {steady} B (default settings: queue 512, batch 64; plus a \
             256 KiB reserved exporter stack)",
            if shared {
                "self-metrics in the application's registry"
            } else {
                "a registry of its own"
            }
        );
    }
    let receiver = sink(Duration::ZERO);
    let client = Client::builder()
        .events_endpoint(receiver.url("/events"))
        .start()
        .unwrap();
    let allocs_before = allocations();
    for i in 0..100_000 {
        client.query_executed(query(i));
    }
    // Includes whatever the exporter thread allocated meanwhile (JSON
    // bodies, HTTP), so an upper bound for the emitting thread.
    let emit_allocs = allocations() - allocs_before;
    drop(client);
    println!(
        "telemetry: allocations during 100,000 emits, exporter thread included: {emit_allocs}"
    );
}

fn emit(c: &mut Criterion) {
    const CHUNK: u64 = 1 << 15;
    let mut g = c.benchmark_group("emit");
    g.throughput(Throughput::Elements(1));

    // A client whose endpoint answers at once, with room for a whole chunk:
    // emits into a queue with room while its exporter thread drains it, as
    // in an application; the drain of each chunk is waited for outside the
    // timed region.
    let healthy = sink(Duration::ZERO);
    let client = Client::builder()
        .events_endpoint(healthy.url("/events"))
        .queue_capacity(CHUNK as usize)
        .start()
        .unwrap();
    g.bench_function("room", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(CHUNK);
                let t = Instant::now();
                for i in 0..n {
                    client.query_executed(query(i));
                }
                spent += t.elapsed();
                while client.accounting().pending > 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
                left -= n;
            }
            spent
        })
    });
    drop(client);

    let stalling = sink(Duration::from_secs(3600));
    let stalled = Client::builder()
        .events_endpoint(stalling.url("/events"))
        .queue_capacity(64)
        .timeout(Duration::from_secs(3600))
        .shutdown_deadline(Duration::from_millis(10))
        .start()
        .unwrap();
    for i in 0..1_000 {
        stalled.query_executed(query(i));
    }
    let mut i = 0u64;
    g.bench_function("full_queue", |b| {
        b.iter(|| {
            i += 1;
            stalled.query_executed(query(i));
        })
    });
    drop(stalled);

    let baseline: (Mutex<VecDeque<Event>>, Condvar) = (
        Mutex::new(VecDeque::with_capacity(CHUNK as usize)),
        Condvar::new(),
    );
    g.bench_function("mutex_vecdeque_condvar", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(CHUNK);
                let t = Instant::now();
                for i in 0..n {
                    let mut q = baseline.0.lock().unwrap();
                    if q.len() < CHUNK as usize {
                        q.push_back(Event::query_executed(query(i)));
                    }
                    drop(q);
                    baseline.1.notify_one();
                }
                spent += t.elapsed();
                baseline.0.lock().unwrap().clear();
                left -= n;
            }
            spent
        })
    });

    let counter = AtomicU64::new(0);
    g.bench_function("atomic_fetch_add", |b| {
        b.iter(|| counter.fetch_add(1, Relaxed))
    });
    g.finish();
}

criterion_group!(benches, emit);

fn main() {
    memory_report();
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
