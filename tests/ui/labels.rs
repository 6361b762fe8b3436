#[hotmetrics::track_latency(name = "db_query_duration", labels(le = "users"))]
fn query() {}

fn main() {
    query();
}
