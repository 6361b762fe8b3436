//! Unit tests of a `FamilyPair` recording `'static` label sets through each
//! thread's bound cells (`family/bound_pair.rs`), with a registry to record
//! into. Run under Miri too (`scripts/miri.sh`), on a fixed clock.

use crate::{Clock, FamilyPair, Registry, StaticStr, Unit};

/// Threads record label sets of `'static` values through a pair, each
/// from its own bound cells after the first record, while the main
/// thread collects; then a new round of threads is handed the exited
/// threads' cells (and binds them anew). Every record is counted.
/// (Also run under Miri: `scripts/miri.sh`.)
#[test]
fn threads_record_through_their_bound_cells() {
    let (threads, ops) = if cfg!(miri) { (2, 20) } else { (4, 2_000) };
    let reg = Registry::with_clock(Clock::from_fn(|| 0));
    let names = ["route"];
    let requests = reg.counter_family("requests", "R", &names).unwrap();
    let latency = (reg.histogram_family("latency", "L", Unit::Nanoseconds, &names)).unwrap();
    let pair = FamilyPair::new(&requests, &latency).unwrap();
    let routes = [[StaticStr("/a")], [StaticStr("/b")]];
    for _round in 0..2 {
        std::thread::scope(|s| {
            for t in 0..threads {
                let (pair, routes) = (&pair, &routes);
                s.spawn(move || {
                    for i in 0..ops {
                        pair.inc_and_record(&routes[(i + t) % 2], 100);
                    }
                });
            }
            let _ = reg.collect();
        });
    }
    let snap = reg.collect();
    for route in ["/a", "/b"] {
        let set = [("route", route)];
        let per_route = Some(2 * threads as u64 * ops as u64 / 2);
        assert_eq!(snap.counter_with("requests", &set), per_route);
        let h = snap.histogram_with("latency", &set).unwrap();
        assert_eq!(Some(h.count()), per_route);
    }
}
