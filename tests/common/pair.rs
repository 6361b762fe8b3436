//! The pair the `FamilyPair` tests record through: `requests` (a counter
//! family) and `latency` (a histogram family in nanoseconds), both by
//! route, method and status, each limited to `limit` series.

use hotmetrics::{Arity, Counter, FamilyPair, Histogram, Registry, Unit};

/// The members' label names.
pub const NAMES: [&str; 3] = ["route", "method", "status"];

/// A pair of the members' type.
pub type Pair = FamilyPair<Counter, Histogram, Arity<3>>;

/// Registers `requests` and `latency` in `reg` and pairs them.
pub fn pair(reg: &Registry, limit: usize) -> Pair {
    let requests = reg
        .counter_family_builder("requests")
        .help("Requests")
        .labels(&NAMES)
        .max_series(limit)
        .build()
        .unwrap();
    let latency = reg
        .histogram_family_builder("latency")
        .help("Latency")
        .unit(Unit::Nanoseconds)
        .labels(&NAMES)
        .max_series(limit)
        .build()
        .unwrap();
    FamilyPair::new(&requests, &latency).unwrap()
}
