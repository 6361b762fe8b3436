#[hotmetrics::track_latency]
struct Query {
    sql: String,
}

fn main() {
    let q = Query { sql: String::new() };
    let _ = q.sql;
}
