#[hotmetrics::track_latency(nmae = "db_query_duration")]
fn query() {}

fn main() {
    query();
}
