//! Unit tests of a `FamilyPair` and of families recording `'static` label
//! sets through each thread's bound cells (`family/cell_binding.rs`), with
//! a registry to record into. Run under Miri too (`scripts/miri.sh`), on a
//! fixed clock.

use crate::{FamilyPair, Registry, StaticStr, Unit};

/// Threads record label sets of `'static` values through a pair, each
/// from its own bound cells after the first record, while the main
/// thread collects; then a new round of threads is handed the exited
/// threads' cells (and binds them anew). Every record is counted.
/// (Also run under Miri: `scripts/miri.sh`.)
#[test]
fn threads_record_through_their_bound_cells() {
    let (threads, ops) = if cfg!(miri) { (2, 20) } else { (4, 2_000) };
    let reg = Registry::on_fixed_clock();
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

/// The same through a counter family and a histogram family of their own,
/// each binding its series' cells (`inc`, `add`, `record`,
/// `record_duration` by `'static` values).
#[test]
fn families_record_through_their_bound_cells() {
    let (threads, ops) = if cfg!(miri) { (2, 20) } else { (4, 2_000) };
    let reg = Registry::on_fixed_clock();
    let requests = reg.counter_family("requests", "R", &["route"]).unwrap();
    let latency = (reg.histogram_family("latency", "L", Unit::Nanoseconds, &["route"])).unwrap();
    let routes = [[StaticStr("/a")], [StaticStr("/b")]];
    std::thread::scope(|s| {
        for t in 0..threads {
            let (requests, latency, routes) = (&requests, &latency, &routes);
            s.spawn(move || {
                for i in 0..ops {
                    let route = &routes[(i + t) % 2];
                    requests.inc(route);
                    requests.add(route, 2);
                    latency.record(route, 100);
                    latency.record_duration(route, std::time::Duration::from_nanos(7));
                }
            });
        }
        let _ = reg.collect();
    });
    let snap = reg.collect();
    let per_route = threads as u64 * ops as u64 / 2;
    for route in ["/a", "/b"] {
        let set = [("route", route)];
        assert_eq!(snap.counter_with("requests", &set), Some(3 * per_route));
        let h = snap.histogram_with("latency", &set).unwrap();
        assert_eq!(h.count(), 2 * per_route);
        assert_eq!(h.sum(), 107 * u128::from(per_route));
    }
}
