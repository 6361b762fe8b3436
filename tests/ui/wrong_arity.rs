// A family registered with two label names takes two values, no other
// number: each call below is a compile error.
use hotmetrics::{Registry, Unit};

fn main() {
    let reg = Registry::new();
    let requests = reg
        .counter_family("requests", "Requests", &["route", "status"])
        .unwrap();
    requests.inc(&["only_one"]);
    requests.inc(&("a", "b", "c"));
    let _ = requests.with(&["x"]);
    let latency = reg
        .histogram_family("latency", "Latency", Unit::Nanoseconds, &["route", "status"])
        .unwrap();
    latency.record(&("search",), 5);
}
