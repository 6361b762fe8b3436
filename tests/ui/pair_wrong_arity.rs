// A family pair is typed as its members: a label set of another length is
// a compile error.
use hotmetrics::{FamilyPair, Registry, Unit};

fn main() {
    let reg = Registry::new();
    let names = ["route", "method", "status"];
    let requests = reg.counter_family("requests", "Requests", &names).unwrap();
    let latency = reg
        .histogram_family("latency", "Latency", Unit::Nanoseconds, &names)
        .unwrap();
    let pair = FamilyPair::new(&requests, &latency).unwrap();
    pair.inc_and_record(&("search", "GET"), 5);
}
