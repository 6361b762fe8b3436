//! The "user build" workload (`benches/user_build.rs`): requests as an
//! application sees them, and the caller every operation is made from.
//!
//! Each request names one of the 64 label sets of [`label_sets`] and
//! carries a latency drawn from a log-normal distribution (median 50 µs,
//! σ = 1), so that recordings spread over many buckets as real latencies
//! do. The table is fixed (a seeded generator), so every contender sees
//! the same sequence.

use crate::labeled::label_sets;
use hotmetrics::{CacheStatus, ErrorCategory, ResponseOutcome};
use std::hint::black_box;

/// One request: its label values, their index in [`label_sets`] (for the
/// contenders that take enums or a pre-resolved slot), and its latency.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// Route, method, status.
    pub labels: [&'static str; 3],
    /// The label set's number in [`label_sets`] (0..64).
    pub set: usize,
    /// Latency in nanoseconds.
    pub nanos: u64,
    /// Whether the request failed (status 500 or 503).
    pub failed: bool,
}

impl Request {
    /// The latency in seconds, for the peers that record `f64` seconds.
    #[inline]
    pub fn secs(&self) -> f64 {
        self.nanos as f64 * 1e-9
    }

    /// How the request ended, for `record_response`: a server error when
    /// it failed.
    #[inline]
    pub fn outcome(&self) -> ResponseOutcome {
        if self.failed {
            ResponseOutcome::Error(ErrorCategory::Server)
        } else {
            ResponseOutcome::Success
        }
    }

    /// The cache result the request gets: a hit for 3 in 4.
    #[inline]
    pub fn cache(&self) -> CacheStatus {
        if self.nanos & 3 == 0 {
            CacheStatus::Miss
        } else {
            CacheStatus::Hit
        }
    }
}

/// Requests in the table (a power of two).
pub const REQUESTS: usize = 4096;

/// The fixed table of [`REQUESTS`] requests.
pub fn requests() -> Vec<Request> {
    let sets = label_sets();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut uniform = move || {
        // xorshift64*: a fixed, seeded sequence (no dependency needed).
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..REQUESTS)
        .map(|i| {
            // The sum of 12 uniforms minus 6 is close to a standard normal.
            let z: f64 = (0..12).map(|_| uniform()).sum::<f64>() - 6.0;
            let nanos = (50_000f64.ln() + z).exp() as u64;
            let set = (i * 37 + i / 64) % sets.len();
            let labels = sets[set];
            Request {
                labels,
                set,
                nanos: nanos.max(1),
                failed: labels[2].starts_with('5'),
            }
        })
        .collect()
}

/// What a request handler does besides recording: enough work that the
/// handler is a real function, not a loop body criterion could fold into
/// its closure. Returns a value the caller keeps.
#[inline(always)]
fn handler_work(req: &Request, acc: u64) -> u64 {
    let mut h = acc ^ req.nanos;
    for b in req.labels[0].bytes().take(4) {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    if req.failed {
        h = h.rotate_left(7);
    }
    h
}

/// Handles one request: the handler's own work, then `record` (the
/// contender's recording of it). Never inlined into the timing loop, as a
/// library call in an application's handler is not; `record` is inlined
/// into it, as the library's inline functions are into a caller.
#[inline(never)]
pub fn handle<F: Fn(&Request)>(req: &Request, acc: u64, record: &F) -> u64 {
    let h = handler_work(req, acc);
    record(black_box(req));
    black_box(h)
}
