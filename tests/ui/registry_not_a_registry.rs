#[hotmetrics::track_latency(registry = "global")]
fn lookup() {}

fn main() {
    lookup();
}
