// The default name (`__internal_duration`) is reserved by Prometheus.
#[hotmetrics::track_latency]
fn __internal() {}

fn main() {
    __internal();
}
