//! Label sets of `'static` strings (`StaticStr`, derived enums), which a
//! `FamilyPair` finds by the strings' addresses: they land in the series
//! of their text, whichever way the text is given, at whatever address,
//! from many threads, and the aliases that make them fast stay bounded.

use hotmetrics::{MetricValue, Registry, StaticStr};

#[path = "common/pair.rs"]
mod common_pair;
use common_pair::pair;

fn requests(reg: &Registry, route: &str, method: &str, status: &str) -> Option<u64> {
    let set = [("route", route), ("method", method), ("status", status)];
    reg.collect().counter_with("requests", &set)
}

fn latency_count(reg: &Registry, route: &str, method: &str, status: &str) -> Option<u64> {
    let set = [("route", route), ("method", method), ("status", status)];
    Some(reg.collect().histogram_with("latency", &set)?.count())
}

/// `text` copied to a new address that lives for the rest of the program.
fn leaked(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

#[test]
fn static_strings_share_the_series_of_their_text() {
    let reg = Registry::new();
    let pair = pair(&reg, 100);
    let text = ["/search", "GET", "200"];
    pair.inc_and_record(&text.map(StaticStr), 10);
    pair.inc_and_record(&text, 20);
    pair.inc_and_record(&text.map(String::from), 30);
    pair.inc_and_record(&(StaticStr("/search"), "GET", 200u16), 40);
    // The same text at other addresses, and mixed with literals.
    pair.inc_and_record(&text.map(leaked).map(StaticStr), 50);
    pair.inc_and_record(
        &(
            StaticStr(leaked("/search")),
            StaticStr("GET"),
            StaticStr("200"),
        ),
        60,
    );
    pair.inc_and_record(&text.map(StaticStr), 70);
    assert_eq!(requests(&reg, "/search", "GET", "200"), Some(7));
    assert_eq!(latency_count(&reg, "/search", "GET", "200"), Some(7));
    // A prefix of a literal at the literal's address is another label set.
    let long: &'static str = "/searching";
    pair.inc_and_record(
        &[StaticStr(&long[..7]), StaticStr("GET"), StaticStr("200")],
        1,
    );
    pair.inc_and_record(&[StaticStr(long), StaticStr("GET"), StaticStr("200")], 1);
    assert_eq!(requests(&reg, "/search", "GET", "200"), Some(8));
    assert_eq!(requests(&reg, "/searching", "GET", "200"), Some(1));
    assert_eq!(reg.collect().series("requests").len(), 2);
}

#[cfg(feature = "macros")]
#[test]
fn derived_enums_are_static_label_values() {
    use hotmetrics::LabelValue;

    #[derive(LabelValue, Clone, Copy)]
    enum Route {
        Search,
        #[label = "/cart"]
        Cart,
    }
    #[derive(LabelValue, Clone, Copy)]
    enum Method {
        #[label = "GET"]
        Get,
    }
    assert_eq!(Route::Cart.static_value(), Some("/cart"));
    let reg = Registry::new();
    let pair = pair(&reg, 100);
    for _ in 0..3 {
        pair.inc_and_record(&(Route::Search, Method::Get, StaticStr("200")), 5);
        pair.inc_and_record(&(Route::Cart, Method::Get, StaticStr("200")), 5);
    }
    pair.inc_and_record(&("search", "GET", "200"), 5);
    assert_eq!(requests(&reg, "search", "GET", "200"), Some(4));
    assert_eq!(requests(&reg, "/cart", "GET", "200"), Some(3));

    // A derived label set of enums is `'static` as a whole; one with a
    // borrowed `&str` field is not.
    use hotmetrics::{LabelValues, Labels};
    #[derive(Labels)]
    struct ByEnums {
        route: Route,
        method: Method,
    }
    #[derive(Labels)]
    struct ByText<'a> {
        route: &'a str,
        method: Method,
    }
    let enums = ByEnums {
        route: Route::Cart,
        method: Method::Get,
    };
    assert_eq!(enums.static_at(0), Some("/cart"));
    assert_eq!(enums.static_at(1), Some("GET"));
    let text = ByText {
        route: "/cart",
        method: Method::Get,
    };
    assert_eq!((text.static_at(0), text.static_at(1)), (None, Some("GET")));
    let by_enums = reg
        .counter_family_builder("by_enums")
        .help("h")
        .labels_of::<ByEnums>()
        .build()
        .unwrap();
    for _ in 0..3 {
        by_enums.inc(&enums);
    }
    let set = [("route", "/cart"), ("method", "GET")];
    assert_eq!(reg.collect().counter_with("by_enums", &set), Some(3));
}

#[test]
fn aliases_stay_bounded_and_every_record_is_counted() {
    let reg = Registry::new();
    // Two series per family: at most 8 aliases in the pair's index.
    let pair = pair(&reg, 2);
    // The first record makes the series and its alias.
    pair.inc_and_record(&["/a", "GET", "200"].map(StaticStr), 1);
    let one_alias = pair.index_bytes();
    for _ in 0..5 {
        pair.inc_and_record(&["/a", "GET", "200"].map(StaticStr), 1);
    }
    assert_eq!(pair.index_bytes(), one_alias, "an address is aliased once");
    // The same text at 40 more addresses: each is found, the aliases stop
    // growing at their bound.
    let mut sizes = Vec::new();
    for _ in 0..40 {
        let labels = ["/a", "GET", "200"].map(leaked).map(StaticStr);
        for _ in 0..3 {
            pair.inc_and_record(&labels, 1);
        }
        sizes.push(pair.index_bytes());
    }
    assert!(sizes[0] > one_alias, "a second address is aliased too");
    assert_eq!(sizes[39], sizes[10], "aliases past the bound: {sizes:?}");
    assert_eq!(requests(&reg, "/a", "GET", "200"), Some(6 + 120));
    assert_eq!(latency_count(&reg, "/a", "GET", "200"), Some(6 + 120));
}

/// 4 threads record 12 static label sets through a pair limited to 8 series
/// while the main thread collects: every series holds exactly what was
/// recorded into it, and the overflow series the rest.
#[test]
fn exact_totals_across_threads_past_the_limit() {
    const THREADS: u64 = 4;
    const OPS: u64 = 12_000;
    const ROUTES: [&str; 12] = [
        "/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h", "/i", "/j", "/k", "/l",
    ];
    let reg = Registry::new();
    let pair = pair(&reg, 8);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let pair = pair.clone();
            s.spawn(move || {
                for i in 0..OPS {
                    let route = ROUTES[((i + t) % 12) as usize];
                    pair.inc_and_record(&[route, "GET", "200"].map(StaticStr), 1_000 + i);
                }
            });
        }
        for _ in 0..20 {
            let _ = reg.collect();
        }
    });
    let snap = reg.collect();
    let total: u64 = (snap.series("requests").iter())
        .map(|s| match s.value() {
            MetricValue::Counter(v) => *v,
            v => panic!("not a counter: {v:?}"),
        })
        .sum();
    let per_route = THREADS * OPS / 12;
    let counted: Vec<u64> = (ROUTES.iter())
        .filter_map(|r| requests(&reg, r, "GET", "200"))
        .collect();
    assert_eq!(counted.len(), 8, "8 label sets have series of their own");
    assert!(counted.iter().all(|&n| n == per_route), "{counted:?}");
    assert_eq!(
        total,
        THREADS * OPS,
        "every record in a series or the overflow"
    );
    let overflow = [("overflow", "true")];
    assert_eq!(
        snap.counter_with("requests", &overflow),
        Some(4 * per_route)
    );
    let latency = snap.histogram_with("latency", &overflow);
    assert_eq!(latency.map(|h| h.count()), Some(4 * per_route));
}

/// `record_response` with a `'static` route and intent lands where the
/// same text given as `&str` does, in all four families.
#[test]
fn the_tracker_takes_static_routes_and_intents() {
    use hotmetrics::{CacheStatus, ErrorCategory, ResponseOutcome};
    use std::time::Duration;
    let reg = Registry::new();
    let rt = reg.response_tracker("api").unwrap();
    let err = ResponseOutcome::Error(ErrorCategory::Timeout);
    let us = Duration::from_micros(50);
    for _ in 0..3 {
        let (route, intent) = (StaticStr("/search"), StaticStr("GET"));
        rt.record_response(
            &route,
            &intent,
            us,
            &ResponseOutcome::Success,
            CacheStatus::Hit,
        );
        rt.record_response(&route, &intent, us, &err, CacheStatus::Miss);
        let (route, intent) = (StaticStr(leaked("/search")), StaticStr(leaked("GET")));
        rt.record_response(&route, &intent, us, &err, CacheStatus::Miss);
    }
    rt.record_response("/search", "GET", us, &err, CacheStatus::Miss);
    let snap = reg.collect();
    let requests = |outcome| {
        let set = [
            ("route", "/search"),
            ("intent", "GET"),
            ("outcome", outcome),
        ];
        snap.counter_with("api_requests", &set)
    };
    assert_eq!(requests("success"), Some(3));
    assert_eq!(requests("error"), Some(7));
    let timeouts = [("route", "/search"), ("category", "timeout")];
    assert_eq!(snap.counter_with("api_errors", &timeouts), Some(7));
    let hits = [("route", "/search"), ("cache", "hit")];
    assert_eq!(snap.counter_with("api_cache_requests", &hits), Some(3));
    let ok = [("route", "/search"), ("outcome", "success")];
    let latency = snap.histogram_with("api_request_duration", &ok);
    assert_eq!(latency.map(|h| h.count()), Some(3));
}

/// A family that never evicts finds `'static` label sets by address too:
/// the same series as their text, and past the limit the overflow series,
/// with every such lookup counted in `<name>_overflow` (an address is never
/// made an alias of the overflow series). A family that evicts takes them
/// by their bytes, and evicts them as any other.
#[test]
fn families_take_static_label_sets() {
    let reg = Registry::new();
    let hits = reg
        .counter_family_builder("hits")
        .help("Hits")
        .labels(&["cache"])
        .max_series(2)
        .build()
        .unwrap();
    for _ in 0..3 {
        for cache in ["users", "orders", "carts", "sessions"] {
            hits.inc(&[StaticStr(cache)]);
        }
        hits.add(&[StaticStr(leaked("users"))], 10);
    }
    hits.inc(&["users"]);
    // Two series, two addresses of "users" and one of "orders" aliased;
    // past the limit nothing is.
    let bytes = hits.index_bytes();
    hits.inc(&[StaticStr("carts")]);
    hits.inc(&[StaticStr(leaked("orders"))]);
    assert!(
        hits.index_bytes() > bytes,
        "a new address of a series is aliased"
    );
    let bytes = hits.index_bytes();
    hits.inc(&[StaticStr(leaked("carts"))]);
    assert_eq!(
        hits.index_bytes(),
        bytes,
        "nothing aliased to the overflow series"
    );
    let snap = reg.collect();
    assert_eq!(snap.counter_with("hits", &[("cache", "users")]), Some(34));
    assert_eq!(snap.counter_with("hits", &[("cache", "orders")]), Some(4));
    assert_eq!(snap.counter_with("hits", &[("overflow", "true")]), Some(8));
    assert_eq!(snap.counter("hits_overflow"), Some(8));

    let idle = reg
        .counter_family_builder("idle")
        .help("Idle")
        .labels(&["k"])
        .evict_idle_after(1)
        .build()
        .unwrap();
    idle.inc(&[StaticStr("a")]);
    let _ = reg.collect();
    let _ = reg.collect();
    let _ = reg.collect();
    assert_eq!(
        reg.collect().counter_with("idle", &[("k", "a")]),
        None,
        "evicted"
    );
    idle.inc(&[StaticStr("a")]);
    assert_eq!(reg.collect().counter_with("idle", &[("k", "a")]), Some(1));
}

/// A thread binds each `'static` label set it records to its own cells:
/// still per pair (two pairs over the same families both count), under the
/// registry's switch, and exact past the most label sets a thread keeps
/// bound (it starts again). A pair of families in two registries records
/// through the members' handles, each under its own registry's switch.
#[test]
fn bound_label_sets_follow_each_pair_and_switch() {
    use hotmetrics::{FamilyPair, Unit};
    let reg = Registry::new();
    let a = pair(&reg, 100);
    let b = FamilyPair::new(a.first(), a.second()).unwrap();
    let labels = ["/a", "GET", "200"].map(StaticStr);
    for _ in 0..3 {
        a.inc_and_record(&labels, 5);
        b.inc_and_record(&labels, 5);
    }
    assert_eq!(requests_of(&reg, "/a"), Some(6));
    reg.set_enabled(false);
    a.inc_and_record(&labels, 5);
    b.inc_and_record(&labels, 5);
    reg.set_enabled(true);
    a.inc_and_record(&labels, 5);
    assert_eq!(requests_of(&reg, "/a"), Some(7), "nothing while off");
    assert_eq!(latency_count(&reg, "/a", "GET", "200"), Some(7));

    let (one, two) = (Registry::new(), Registry::new());
    let names = ["route", "method", "status"];
    let requests = one.counter_family("requests", "R", &names).unwrap();
    let latency = (two.histogram_family("latency", "L", Unit::Nanoseconds, &names)).unwrap();
    let across = FamilyPair::new(&requests, &latency).unwrap();
    across.inc_and_record(&labels, 5);
    one.set_enabled(false);
    across.inc_and_record(&labels, 5);
    assert_eq!(
        requests_of(&one, "/a"),
        Some(1),
        "the counter's registry is off"
    );
    assert_eq!(latency_count(&two, "/a", "GET", "200"), Some(2));

    // More label sets than a thread keeps bound, each recorded twice in
    // turn, then all of them again.
    let routes: Vec<&'static str> = (0..2_100).map(|i| leaked(&format!("/r{i}"))).collect();
    let wide_reg = Registry::new();
    let wide = pair(&wide_reg, 3_000);
    for _ in 0..2 {
        for r in &routes {
            wide.inc_and_record(&[StaticStr(r), StaticStr("GET"), StaticStr("200")], 1);
            wide.inc_and_record(&[StaticStr(r), StaticStr("GET"), StaticStr("200")], 1);
        }
    }
    let snap = wide_reg.collect();
    let counts: Vec<Option<u64>> = (routes.iter())
        .map(|r| {
            snap.counter_with(
                "requests",
                &[("route", *r), ("method", "GET"), ("status", "200")],
            )
        })
        .collect();
    assert!(counts.iter().all(|c| *c == Some(4)), "{:?}", &counts[..8]);
}

fn requests_of(reg: &Registry, route: &str) -> Option<u64> {
    requests(reg, route, "GET", "200")
}

/// A family records a `'static` label set with a series of its own through
/// each thread's bound cells: under its registry's switch, with a refused
/// label set still counted in `<name>_overflow` on every record, and one of
/// the wrong number of values still counted as an arity error every time.
#[test]
fn families_bind_their_static_label_sets() {
    let reg = Registry::new();
    let options = hotmetrics::Options::new("hits", "Hits").labels(&["cache"]);
    let hits = reg.counter_family_with(options.max_series(2)).unwrap();
    for _ in 0..4 {
        for cache in ["users", "orders", "carts"] {
            hits.add(&[StaticStr(cache)], 2);
        }
        hits.inc(&[StaticStr("users"), StaticStr("extra")]);
    }
    reg.set_enabled(false);
    hits.inc(&[StaticStr("users")]);
    reg.set_enabled(true);
    let snap = reg.collect();
    assert_eq!(snap.counter_with("hits", &[("cache", "users")]), Some(8));
    assert_eq!(snap.counter_with("hits", &[("cache", "orders")]), Some(8));
    assert_eq!(snap.counter_with("hits", &[("overflow", "true")]), Some(8));
    assert_eq!(snap.counter("hits_overflow"), Some(4));
    let arity = [("metric", "hits")];
    assert_eq!(
        snap.counter_with("hotmetrics_label_arity_errors", &arity),
        Some(4)
    );
}
