//! The values every contender records.

/// A spread of latency-like values `i` maps to: 1 µs to ~1 ms, skewed
/// towards the low end, as latencies are.
#[inline(always)]
pub fn value_of(i: u64) -> u64 {
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    1_000 + ((x >> 40) >> ((x >> 10) & 7))
}

/// [`value_of`] in seconds, for the peers that record `f64` seconds.
#[inline(always)]
pub fn secs_of(i: u64) -> f64 {
    value_of(i) as f64 * 1e-9
}
