#[derive(hotmetrics::LabelValue)]
enum Route {
    Search,
    Item(u32),
}

fn main() {}
