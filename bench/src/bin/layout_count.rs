//! Runs one bucket index over 4,096 log-normal values, 256 times, for an
//! instruction count under `valgrind --tool=callgrind` (deterministic on
//! a busy machine, unlike time):
//!
//! ```sh
//! for k in none log_linear_u64 exponential_u64 log_linear_f64 exponential_f64; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/layout_count $k 2>&1 | grep refs
//! done
//! ```
//!
//! Instructions per record: (refs(k) - refs(none)) / 1,048,576.

use hotmetrics::Precision;
use hotmetrics_bench::layout::{log_linear_f64, log_linear_u64, log_normal, Exponential};
use std::hint::black_box;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let p = Precision::DEFAULT;
    let exp = Exponential::new(u32::from(p.bits()));
    let floats = log_normal(4096);
    let ints: Vec<u64> = floats.iter().map(|&x| x as u64).collect();
    let mut counts = vec![0u64; 2048 << 10];
    for _ in 0..256 {
        match which.as_str() {
            "log_linear_u64" => ints
                .iter()
                .for_each(|&v| counts[log_linear_u64(p, black_box(v))] += 1),
            "exponential_u64" => ints
                .iter()
                .for_each(|&v| counts[exp.index_u64(black_box(v))] += 1),
            "log_linear_f64" => floats
                .iter()
                .for_each(|&x| counts[log_linear_f64(p, black_box(x))] += 1),
            "exponential_f64" => floats
                .iter()
                .for_each(|&x| counts[exp.index_f64(black_box(x))] += 1),
            _ => ints
                .iter()
                .for_each(|&v| counts[black_box(v) as usize & 1023] += 1),
        }
    }
    println!("{}", counts.iter().sum::<u64>());
}
