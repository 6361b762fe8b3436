//! A collection re-reads only the histogram chunks recorded into since the
//! last one, and carries the classic counts a render kept over to the new
//! snapshot. Whatever the records and wherever they happen (threads that
//! come and go, so shards are handed over), every snapshot must equal the
//! one a fresh registry makes of the same records in one go: same buckets,
//! totals and extremes, and the same text and protobuf expositions (the
//! native buckets are carried over too).

use hotmetrics::export::prometheus;
use hotmetrics::{Registry, Unit};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Value {
    Int(u64),
    Float(f64),
}

#[derive(Clone, Debug)]
enum Step {
    /// Records on the test's thread, or on a thread made for them.
    Record {
        new_thread: bool,
        values: Vec<Value>,
    },
    /// Collects (and renders) both registries and compares.
    Collect,
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0u64..64).prop_map(Value::Int),
        4 => (0u32..40, 0u64..1000).prop_map(|(shift, v)| Value::Int(v << shift)),
        1 => Just(Value::Int(u64::MAX)),
        // Quarters: exact in binary, so every order of summing them gives
        // the same float sum.
        3 => (-4000i32..4000).prop_map(|q| Value::Float(f64::from(q) / 4.0)),
        1 => (-30i32..30).prop_map(|e| Value::Float(2f64.powi(e * 8))),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (any::<bool>(), prop::collection::vec(value(), 1..12))
            .prop_map(|(new_thread, values)| Step::Record { new_thread, values }),
        1 => Just(Step::Collect),
    ]
}

/// A registry with the histogram the steps record into.
fn registry() -> Registry {
    let reg = Registry::new();
    reg.histogram("lat", "Latency", Unit::None).unwrap();
    reg
}

fn record(reg: &Registry, values: &[Value]) {
    let h = reg.histogram("lat", "Latency", Unit::None).unwrap();
    for v in values {
        match *v {
            Value::Int(n) => h.record(n),
            Value::Float(x) => h.record_f64(x),
        }
    }
}

/// `reg`'s snapshot, its text and (with the `protobuf` feature) its
/// protobuf exposition with native buckets, each rendered twice (the second render reads back what the
/// first kept).
fn collected(reg: &Registry) -> (hotmetrics::HistogramSnapshot, String, Vec<u8>) {
    let snap = reg.collect();
    let text = prometheus::render(&snap);
    assert_eq!(prometheus::render(&snap), text);
    #[cfg(feature = "protobuf")]
    let proto = hotmetrics::export::protobuf::render(&snap);
    #[cfg(feature = "protobuf")]
    assert_eq!(hotmetrics::export::protobuf::render(&snap), proto);
    #[cfg(not(feature = "protobuf"))]
    let proto = Vec::new();
    (snap.histogram("lat").unwrap().clone(), text, proto)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_collection_equals_a_fresh_one(steps in prop::collection::vec(step(), 1..30)) {
        let reg = registry();
        let mut all = Vec::new();
        for step in steps.iter().chain([&Step::Collect]) {
            match step {
                Step::Record { new_thread: true, values } => {
                    std::thread::scope(|s| {
                        s.spawn(|| record(&reg, values));
                    });
                    all.extend_from_slice(values);
                }
                Step::Record { new_thread: false, values } => {
                    record(&reg, values);
                    all.extend_from_slice(values);
                }
                Step::Collect => {
                    let fresh = registry();
                    record(&fresh, &all);
                    let (got, got_text, got_proto) = collected(&reg);
                    let (want, want_text, want_proto) = collected(&fresh);
                    prop_assert_eq!(&got, &want);
                    prop_assert_eq!(got.sum_f64().to_bits(), want.sum_f64().to_bits());
                    prop_assert_eq!(got_text, want_text);
                    prop_assert_eq!(got_proto, want_proto);
                }
            }
        }
    }
}
