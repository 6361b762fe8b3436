// A family typed by a `#[derive(Labels)]` struct takes that struct only.
use hotmetrics::{Labels, Registry};

#[derive(Labels)]
struct Request<'a> {
    route: &'a str,
    status: u16,
}

#[derive(Labels)]
struct Other {
    route: String,
    status: u16,
}

fn main() {
    let reg = Registry::new();
    let requests = reg
        .counter_family_builder("requests")
        .labels_of::<Request>()
        .build()
        .unwrap();
    requests.inc(&Request { route: "/", status: 200 });
    requests.inc(&("/", 200u16));
    requests.inc(&Other { route: "/".into(), status: 200 });
}
