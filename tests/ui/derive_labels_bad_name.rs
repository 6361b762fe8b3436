#[derive(hotmetrics::Labels)]
struct Request<'a> {
    route: &'a str,
    #[label = "__reserved"]
    kind: &'a str,
}

fn main() {}
