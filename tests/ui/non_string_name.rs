const NAME: &str = "db_query_duration";

#[hotmetrics::track_latency(name = NAME)]
fn query() {}

fn main() {
    query();
}
