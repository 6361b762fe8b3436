#[hotmetrics::track_latency(name = "db_query_duration", labels(table = "users"))]
fn query() {}

fn main() {
    query();
}
