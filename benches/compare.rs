//! Peer comparison.
fn main() {}
