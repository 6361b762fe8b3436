// A family builder has no `build` until its label names are given.
fn main() {
    let reg = hotmetrics::Registry::new();
    let _ = reg.histogram_family_builder("latency").help("Latency").build();
}
