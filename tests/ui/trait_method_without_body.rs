trait Store {
    #[hotmetrics::track_latency]
    fn get(&self, key: &str) -> Option<String>;
}

fn main() {}
