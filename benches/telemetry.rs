//! Telemetry emit cost and per-client memory.
//!
//! - `emit/room`: a clock read plus `Channel::emit` (the whole work of
//!   `Client::emit`) into a queue with room, single emitter; the queue is
//!   drained outside the timed region every 32,768 emits.
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
use hotmetrics::telemetry::{Channel, Client, Event, QueryEvent, QueryOutcome};
use hotmetrics::{Clock, Registry};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::VecDeque;
use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Counts live heap bytes and allocations, process-wide except for the
/// threads of the local receiver (marked with `NOT_COUNTED`).
struct Counting;

thread_local! {
    static NOT_COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    !NOT_COUNTED.try_with(Cell::get).unwrap_or(false)
}

static LIVE: AtomicI64 = AtomicI64::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; the counters are
// plain atomics, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            LIVE.fetch_add(layout.size() as i64, Relaxed);
            ALLOCS.fetch_add(1, Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Freed by the thread that allocated it in every case here (the
        // receiver keeps its buffers to itself).
        if counted() {
            LIVE.fetch_sub(layout.size() as i64, Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            LIVE.fetch_add(new_size as i64 - layout.size() as i64, Relaxed);
            ALLOCS.fetch_add(1, Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A receiver answering 200 (or stalling for `delay`) to every request.
fn sink(delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        NOT_COUNTED.with(|c| c.set(true));
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            std::thread::spawn(move || {
                NOT_COUNTED.with(|c| c.set(true));
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end().to_ascii_lowercase();
                        if l.is_empty() {
                            break;
                        }
                        if let Some(v) = l.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    std::thread::sleep(delay);
                    if conn
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    format!("http://127.0.0.1:{port}/events")
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
    let url = sink(Duration::ZERO);
    let app = Registry::new();
    // Let the receiver's accept thread start before the baseline.
    std::thread::sleep(Duration::from_millis(50));
    let before = LIVE.load(Relaxed);
    let mut builder = Client::builder().events_endpoint(url);
    if shared {
        builder = builder.registry(&app);
    }
    let client = builder.start().unwrap();
    let started = LIVE.load(Relaxed) - before;
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
    let steady = LIVE.load(Relaxed) - before;
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
    let client = Client::builder()
        .events_endpoint(sink(Duration::ZERO))
        .start()
        .unwrap();
    let allocs_before = ALLOCS.load(Relaxed);
    for i in 0..100_000 {
        client.query_executed(query(i));
    }
    // Includes whatever the exporter thread allocated meanwhile (JSON
    // bodies, HTTP), so an upper bound for the emitting thread.
    let emit_allocs = ALLOCS.load(Relaxed) - allocs_before;
    drop(client);
    println!(
        "telemetry: allocations during 100,000 emits, exporter thread included: {emit_allocs}"
    );
}

fn emit(c: &mut Criterion) {
    const CHUNK: u64 = 1 << 15;
    let mut g = c.benchmark_group("emit");
    g.throughput(Throughput::Elements(1));

    let clock = Clock::new();
    let ch = Channel::new(CHUNK as usize);
    let mut batch = Vec::with_capacity(CHUNK as usize);
    g.bench_function("room", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(CHUNK);
                let t = Instant::now();
                for i in 0..n {
                    let _at = black_box(clock.raw());
                    ch.emit(Event::query_executed(query(i)));
                }
                spent += t.elapsed();
                let taken = ch.take(&mut batch, usize::MAX);
                ch.delivered(taken);
                batch.clear();
                left -= n;
            }
            spent
        })
    });

    let stalled = Client::builder()
        .events_endpoint(sink(Duration::from_secs(3600)))
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
