#[hotmetrics::track_latency(name = "9bad")]
fn query() {}

fn main() {
    query();
}
