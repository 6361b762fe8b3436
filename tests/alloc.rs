//! Guarantee 3: recording allocates nothing after a thread's first touch of
//! a series, and memory follows series × threads, not operations.

use hotmetrics::{Registry, StaticStr, Unit};

#[global_allocator]
static GLOBAL: hotmetrics_testkit::CountingAlloc = hotmetrics_testkit::CountingAlloc;

/// Allocations made so far by the calling thread.
fn allocs() -> u64 {
    hotmetrics_testkit::alloc::thread_allocations()
}

/// What first touch means for a histogram: a thread allocates a bucket chunk
/// the first time it records into that chunk's 16 buckets, then never again.
#[test]
fn recording_allocates_nothing_after_first_touch() {
    let reg = Registry::new();
    let c = reg.counter("c", "c").unwrap();
    let h = reg.histogram("h", "h", Unit::Nanoseconds).unwrap();
    let values: Vec<u64> = (0..64).map(|i| 1u64 << i).chain(0..1_000).collect();

    // First touch: this thread's shard, its segments, and the bucket chunks
    // (16 buckets each) that these values fall in.
    c.inc();
    for &v in &values {
        h.record(v);
    }
    h.record_f64(f64::NAN);
    // The chunks of a fraction and of a negative value (the outer
    // directory's first use allocates it).
    h.record_f64(12.5);
    h.record_f64(-1.0);
    h.record(3_000);

    let before = allocs();
    for _ in 0..100 {
        c.inc();
        c.add(5);
        c.local().inc();
        let local = h.local();
        for &v in &values {
            h.record(v);
            local.record(v);
        }
        h.record_f64(12.5);
        h.record_f64(-1.0);
        h.record_duration(std::time::Duration::from_micros(3));
    }
    assert_eq!(allocs() - before, 0, "allocations on the recording path");

    // Reading the published snapshot does not allocate either.
    reg.collect();
    let before = allocs();
    for _ in 0..100 {
        let snap = reg.snapshot();
        assert!(snap.counter("c").unwrap() > 0);
    }
    assert_eq!(allocs() - before, 0, "allocations reading the snapshot");
}

#[test]
fn memory_follows_series_not_operations() {
    let reg = Registry::new();
    let h = reg.histogram("h", "h", Unit::Nanoseconds).unwrap();
    let c = reg.counter("c", "c").unwrap();
    for v in 0..1_000u64 {
        h.record(1_000_000 + v * 37);
        c.inc();
    }
    let after_first = reg.cell_bytes();
    for _ in 0..100 {
        for v in 0..1_000u64 {
            h.record(1_000_000 + v * 37);
            c.inc();
        }
    }
    assert_eq!(reg.cell_bytes(), after_first);
}

#[test]
fn a_histogram_touching_a_few_dozen_buckets_costs_under_a_kib_per_thread() {
    let reg = Registry::new();
    let h = reg.histogram("h", "h", Unit::Nanoseconds).unwrap();
    let base = reg.cell_bytes();
    // ~40 buckets around 1 ms: a narrow latency distribution.
    let p = h.precision();
    let first = p.index(1_000_000);
    for i in first..first + 40 {
        h.record(p.lower_bound(i));
    }
    let shard_overhead = {
        let reg2 = Registry::new();
        reg2.counter("x", "x").unwrap().inc();
        reg2.cell_bytes()
    };
    let bytes = reg.cell_bytes() - base - shard_overhead;
    assert!(bytes < 1024, "{bytes} bytes for ~40 buckets");
}

/// A dynamic lookup of an existing series allocates nothing, whatever the
/// label values are made of; neither does recording through a pre-bound
/// handle, the overflow series, a state set or the response tracker.
#[test]
fn labeled_recording_allocates_nothing_once_the_series_exist() {
    let reg = Registry::new();
    let fam = reg
        .counter_family_builder("req")
        .help("r")
        .labels(&["route", "method", "status"])
        .max_series(2)
        .build()
        .unwrap();
    let lat = reg
        .histogram_family("lat", "l", Unit::Nanoseconds, &["route"])
        .unwrap();
    let states = reg.state_set("s", "s", &["a", "b"]).unwrap();
    // A family that evicts pins an epoch per lookup: no allocation either.
    let evicting = reg
        .counter_family_builder("ev")
        .help("e")
        .labels(&["k"])
        .evict_idle_after(1_000)
        .build()
        .unwrap();
    let rt = reg.response_tracker("api").unwrap();
    // A pair over `fam` (full after two label sets) and a histogram family.
    let lat3 = reg
        .histogram_family(
            "lat3",
            "l",
            Unit::Nanoseconds,
            &["route", "method", "status"],
        )
        .unwrap();
    let pair = hotmetrics::FamilyPair::new(&fam, &lat3).unwrap();
    let owned = (
        String::from("search"),
        String::from("GET"),
        String::from("200"),
    );
    // Integer values are formatted on the stack; a `Dyn` family checks the
    // count and refuses without allocating either.
    let statuses = reg
        .counter_family("by_status", "s", &["status", "ok"])
        .unwrap();
    let names = vec![String::from("route")];
    let dynamic = reg
        .counter_family_with(hotmetrics::Options::new("dyn", "d").labels(&names))
        .unwrap();
    let ok: Result<(), std::io::Error> = Ok(());
    let record = || {
        fam.inc(&("search", "GET", "200"));
        fam.inc(&owned);
        fam.add(&["search", "GET", "200"], 2);
        fam.inc(&("checkout", "GET", "200"));
        fam.inc(&("full", "so", "overflow")); // past the limit of 2
        lat.record(&["search"], 1_000);
        states.set(1);
        evicting.inc(&["x"]);
        statuses.inc(&(503u16, false));
        statuses.inc(&(u64::MAX, true));
        dynamic.try_get(&["search"]).unwrap().inc();
        dynamic.inc(&("search", 1u8)); // refused: counted, not recorded
        pair.inc_and_record(&("search", "GET", "200"), 5);
        pair.inc_and_record(&("full", "so", "overflow"), 5);
        // `'static` values: found by address once aliased at first touch.
        lat.record(&[StaticStr("search")], 1_000);
        lat.record_f64(&[StaticStr("search")], 0.5);
        lat.record_f64(&[StaticStr("search")], f64::NAN);
        fam.inc(&[StaticStr("full"), StaticStr("so"), StaticStr("overflow")]);
        pair.inc_and_record(&["search", "GET", "200"].map(StaticStr), 5);
        pair.inc_and_record(&["full", "so", "overflow"].map(StaticStr), 5);
        let us = std::time::Duration::from_micros(3);
        let (route, intent) = (StaticStr("search"), StaticStr("lookup"));
        rt.record_response(&route, &intent, us, &ok, hotmetrics::CacheStatus::Hit);
        rt.record_response(
            "search",
            "lookup",
            std::time::Duration::from_micros(3),
            &ok,
            hotmetrics::CacheStatus::Hit,
        );
    };
    record(); // first touch: series, label strings, cells
    let bound = fam.with(&("search", "GET", "200"));
    let before = allocs();
    // More than 128 epoch pins, so the evicting family's lookups also run
    // crossbeam-epoch's periodic collection.
    for _ in 0..300 {
        record();
        bound.inc();
    }
    assert_eq!(allocs() - before, 0, "allocations on the labeled path");
    let snap = reg.collect();
    let errors = [("metric", "dyn")];
    assert_eq!(
        snap.counter_with("hotmetrics_label_arity_errors", &errors),
        Some(301)
    );
    assert_eq!(
        snap.counter_with("by_status", &[("status", "503"), ("ok", "false")]),
        Some(301)
    );
    assert_eq!(
        reg.collect().counter_with(
            "req",
            &[("route", "search"), ("method", "GET"), ("status", "200")]
        ),
        Some(301 * 6 + 300)
    );
}

/// The `metrics` facade: after the first call with a key, `counter!`,
/// `gauge!` and `histogram!` find its cached handle and record without
/// allocating (keys with literal labels, which the macros build without
/// allocating either).
#[cfg(feature = "metrics-facade")]
#[test]
fn facade_macros_allocate_nothing_after_the_first_call() {
    let reg = Registry::new();
    let recorder = hotmetrics::facade::FacadeRecorder::new(&reg);
    let record = |i: u64| {
        metrics::counter!("requests", "route" => "search").increment(1);
        metrics::counter!("requests", "route" => "checkout").increment(1);
        metrics::counter!("plain").increment(1);
        metrics::gauge!("in_flight", "pool" => "db").set(i as f64);
        metrics::histogram!("request_duration_seconds", "route" => "search")
            .record(0.000_1 * (i % 50) as f64);
        metrics::histogram!("request_duration_seconds", "route" => "checkout").record(0.002);
    };
    metrics::with_local_recorder(&recorder, || {
        for i in 0..64 {
            record(i); // first touch: registration, series, cells, chunks
        }
        let before = allocs();
        for i in 0..1_000 {
            record(i);
        }
        assert_eq!(allocs() - before, 0, "allocations through the facade");
    });
    let snap = reg.collect();
    assert_eq!(
        snap.counter_with("requests", &[("route", "search")]),
        Some(1_064)
    );
}

/// Emitting a typed telemetry event allocates nothing, whether the queue has
/// room or is full (the event is dropped and counted). Only this thread's
/// allocations are counted; the exporter's are its own.
#[cfg(feature = "telemetry")]
#[test]
fn telemetry_emit_allocates_nothing() {
    use hotmetrics::telemetry::{Client, Event, QueryEvent, QueryOutcome};
    use std::time::Duration;

    // Port 9 (discard) on loopback: nothing listens, every send fails; the
    // queue fills and stays full.
    let client = Client::builder()
        .events_endpoint("http://127.0.0.1:9/")
        .queue_capacity(1_000)
        .shutdown_deadline(Duration::from_millis(10))
        .start()
        .unwrap();
    client.session_opened(0);
    let before = allocs();
    for i in 0..5_000u64 {
        client.query_executed(QueryEvent {
            session: i,
            latency: Duration::from_micros(i),
            rows: i,
            outcome: QueryOutcome::Ok,
        });
        client.session_closed(i);
        client.emit(Event::custom("tick"));
    }
    assert_eq!(allocs() - before, 0);
    let acct = client.accounting();
    assert_eq!(acct.accepted, 15_001);
    // The exporter takes a batch now and then (and fails it), so a few
    // more than the 1,000 queued got in.
    assert!(acct.dropped_queue_full >= 10_000, "{acct:?}");
}
