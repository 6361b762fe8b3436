//! The telemetry client's memory profile, as the replaced client's was
//! measured: 10 client cycles, each one start (default settings), a session
//! opened, 5 queries, the session closed, and a shutdown; the peak live heap
//! above the baseline over all cycles, and what is left after them.
//!
//! A counting global allocator keeps the live heap bytes and, while a
//! measurement is on, their peak. The local receiver's one thread marks
//! itself as not counted, so the figures are the client's own (its
//! exporter thread included). One test in this binary, so that nothing else
//! allocates while it measures.
//!
//! The replaced client peaked at about 586 KB over the same profile. The
//! target: the peak, less the queue's own bound (capacity × slot size),
//! under 100 KB (100,000 bytes).

use hotmetrics::telemetry::{Client, Config, Event, QueryEvent, QueryOutcome};
use hotmetrics_testkit::alloc::{live_bytes, not_counted, peak_bytes, track_peak};
use hotmetrics_testkit::{CountingAlloc, Sink};
use std::time::Duration;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const CYCLES: usize = 10;
const QUERIES: u64 = 5;
/// The target for the peak beyond the queue's bound.
const TARGET: i64 = 100_000;
/// What the cycles may leave behind for good: one-time state made in the
/// first cycle (the clock's calibration, thread-id bookkeeping; about
/// 1.3 KB when measured).
const RETAINED_TOLERANCE: i64 = 4 * 1024;
/// How much more may be live after the last cycle than after the first
/// (measured: nothing): under 29 bytes per cycle, so a leak of any
/// allocation per cycle but the tiniest shows.
const GROWTH_TOLERANCE: i64 = 256;

/// One cycle of the old driver profile: open, 5 queries, close.
fn cycle(url: &str, n: u64) -> hotmetrics::telemetry::Accounting {
    let client = Client::builder().events_endpoint(url).start().unwrap();
    client.session_opened(n);
    for q in 0..QUERIES {
        client.query_executed(QueryEvent {
            session: n,
            latency: Duration::from_micros(250 + 100 * q),
            rows: q,
            outcome: QueryOutcome::Ok,
        });
    }
    client.session_closed(n);
    client.shutdown(Duration::from_secs(10))
}

#[test]
fn ten_client_cycles_stay_under_100_kb_beyond_the_queue_and_leave_nothing() {
    // One receiver thread for all connections (the clients connect one
    // after another), marked as not counted before it allocates anything.
    let sink = Sink::start_serial(not_counted);
    let url = sink.url("/events");
    // The queue's own bound: `capacity` slots of an event plus the ring's
    // stamp (crossbeam's `ArrayQueue` slot), allocated once at start.
    let capacity = Config::default().queue_capacity;
    let slot = std::mem::size_of::<Event>() + std::mem::size_of::<usize>();
    let queue_bound = (capacity * slot) as i64;

    let mut retained = [0i64; CYCLES];
    let mut accts = Vec::with_capacity(CYCLES);
    let base = live_bytes();
    track_peak(true);
    for (n, kept) in retained.iter_mut().enumerate() {
        accts.push(cycle(&url, n as u64));
        *kept = live_bytes() - base;
    }
    track_peak(false);
    let peak = peak_bytes() - base;
    let after = live_bytes() - base;

    // Every cycle delivered its 7 events, and the receiver has them.
    for (n, a) in accts.iter().enumerate() {
        assert_eq!(a.accepted, QUERIES + 2, "cycle {n}: {a:?}");
        assert_eq!(a.delivered, a.accepted, "cycle {n}: {a:?}");
        assert_eq!((a.dropped(), a.pending), (0, 0), "cycle {n}: {a:?}");
    }
    assert_eq!(sink.line_count(), CYCLES as u64 * (QUERIES + 2));

    eprintln!(
        "telemetry memory, {CYCLES} client cycles (start, session_opened, {QUERIES} \
         query_executed, session_closed, shutdown), default settings: peak {peak} B above \
         the baseline; queue bound {capacity} × {slot} B = {queue_bound} B; peak beyond the \
         queue {} B (target < {TARGET} B); live after cycle 1 {} B, after cycle {CYCLES} \
         {after} B",
        peak - queue_bound,
        retained[0],
    );
    eprintln!("retained after each cycle (B): {retained:?}");

    // Not vacuous: the cycles did allocate, at least the ring.
    assert!(
        peak >= queue_bound,
        "peak {peak} B is below the ring's own {queue_bound} B: not measured"
    );
    assert!(
        peak - queue_bound < TARGET,
        "peak {peak} B − queue bound {queue_bound} B = {} B ≥ {TARGET} B",
        peak - queue_bound
    );
    assert!(
        after <= RETAINED_TOLERANCE,
        "{after} B still live after {CYCLES} cycles (tolerance {RETAINED_TOLERANCE} B)"
    );
    assert!(
        after - retained[0] <= GROWTH_TOLERANCE,
        "live heap grew by {} B from cycle 1 to cycle {CYCLES}: a leak per cycle \
         (retained after each: {retained:?})",
        after - retained[0]
    );
}
