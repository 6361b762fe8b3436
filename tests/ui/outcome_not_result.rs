#[hotmetrics::track_latency(outcome)]
fn lookup() -> u32 {
    7
}

fn main() {
    lookup();
}
