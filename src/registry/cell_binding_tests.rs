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

/// Floats by `'static` values through a histogram family's bound cells
/// (`record_f64`): counted, summed and bounded as through the handle; a
/// NaN never reaches the cells but the series' `invalid` count; nothing is
/// recorded while the registry is off.
#[test]
fn floats_record_through_bound_cells_and_nan_counts_as_invalid() {
    let (threads, ops) = if cfg!(miri) { (2, 20) } else { (4, 2_000) };
    let reg = Registry::on_fixed_clock();
    let latency = (reg.histogram_family("latency", "L", Unit::Seconds, &["route"])).unwrap();
    let routes = [[StaticStr("/a")], [StaticStr("/b")]];
    std::thread::scope(|s| {
        for t in 0..threads {
            let (latency, routes) = (&latency, &routes);
            s.spawn(move || {
                for i in 0..ops {
                    let route = &routes[(i + t) % 2];
                    latency.record_f64(route, 0.25);
                    latency.record_f64(route, -1.5);
                    latency.record_f64(route, f64::NAN);
                }
            });
        }
        let _ = reg.collect();
    });
    reg.set_enabled(false);
    latency.record_f64(&routes[0], 0.25);
    latency.record_f64(&routes[0], f64::NAN);
    reg.set_enabled(true);
    let snap = reg.collect();
    let per_route = threads as u64 * ops as u64 / 2;
    for route in ["/a", "/b"] {
        let h = snap.histogram_with("latency", &[("route", route)]).unwrap();
        assert_eq!(h.count(), 2 * per_route, "{route}");
        assert_eq!(h.sum_f64(), -1.25 * per_route as f64, "{route}");
        assert_eq!((h.min_f64(), h.max_f64()), (Some(-1.5), Some(0.25)));
        assert_eq!(h.invalid(), per_route, "{route}");
    }
}
