#[hotmetrics::track_latency(name = "a_duration", name = "b_duration")]
fn query() {}

fn main() {
    query();
}
