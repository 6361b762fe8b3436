//! The two candidate bucket indexes of `docs/design.md` ("Bucket layout"),
//! side by side for `benches/layout.rs` and `bin/layout_count.rs`:
//!
//! - log-linear (recorded today): `u64` by a leading-zero count
//!   ([`Precision::index`]), `f64` by `bits >> (52 - p)`: each octave cut
//!   into `2^p` equal buckets;
//! - exponential (Prometheus native / OpenTelemetry): bucket bounds
//!   `2^(j / 2^schema)`, found from the top `schema + 1` mantissa bits by a
//!   table, then one comparison with the next bound. A `u64` is converted
//!   to `f64` first.

use hotmetrics::Precision;

/// Mantissa bits of an `f64`.
const MANTISSA: u64 = (1 << 52) - 1;
/// Table entries: `2^(schema + 1)` for schemas up to 10.
const TABLE: usize = 2048;

/// The exponential index at one schema (buckets per octave `2^schema`).
#[derive(Clone, Debug)]
pub struct Exponential {
    schema: u32,
    /// By the top `schema + 1` mantissa bits: the bucket (within the
    /// octave) holding the smallest mantissa with those bits. Fixed size,
    /// indexed under a mask, so that no bounds check is left.
    table: Box<[u16; TABLE]>,
    /// Mantissa (52 bits) of each bucket's lower bound `2^(j / 2^schema)`,
    /// then `2^52` (past the last bucket).
    bounds: Box<[u64; TABLE]>,
}

impl Exponential {
    /// The index at `schema` (0 to 10).
    pub fn new(schema: u32) -> Exponential {
        let n = 1usize << schema;
        assert!(schema <= 10);
        let mut bounds = Box::new([u64::MAX; TABLE]);
        for (j, b) in bounds.iter_mut().take(n).enumerate() {
            *b = (j as f64 / n as f64).exp2().to_bits() & MANTISSA;
        }
        bounds[n] = 1 << 52;
        // Cells of width 2^-(schema + 1) are narrower than the narrowest
        // bucket (2^(1/n) - 1 > 1/(2n) relative, mantissa at least 1), so a
        // cell holds at most one bound: one comparison finds the bucket.
        let cells = 1usize << (schema + 1);
        let mut table = Box::new([0u16; TABLE]);
        for (t, entry) in table.iter_mut().take(cells).enumerate() {
            let m = (t as u64) << (52 - (schema + 1));
            *entry = (bounds[..=n].partition_point(|&b| b <= m) - 1) as u16;
        }
        Exponential {
            schema,
            table,
            bounds,
        }
    }

    /// Index of a positive normal `x`: biased exponent, then the bucket in
    /// its octave.
    #[inline(always)]
    pub fn index_f64(&self, x: f64) -> usize {
        let bits = x.to_bits();
        let m = bits & MANTISSA;
        // `t < 2^(schema + 1) <= TABLE` and `j < 2^schema`: the masks only
        // let the compiler drop the bounds checks.
        let t = (m >> (52 - (self.schema + 1))) as usize;
        let j = usize::from(self.table[t & (TABLE - 1)]);
        let j = j + usize::from(m >= self.bounds[(j + 1) & (TABLE - 1)]);
        (((bits >> 52) as usize) << self.schema) + j
    }

    /// Index of a `u64` (converted to `f64`, rounding above 2^53).
    #[inline(always)]
    pub fn index_u64(&self, v: u64) -> usize {
        self.index_f64(v as f64)
    }
}

/// The log-linear `f64` key at precision `p`: the biased exponent and the
/// top `p` mantissa bits.
#[inline(always)]
pub fn log_linear_f64(p: Precision, x: f64) -> usize {
    (x.to_bits() >> (52 - u32::from(p.bits()))) as usize
}

/// The log-linear `u64` index (the library's).
#[inline(always)]
pub fn log_linear_u64(p: Precision, v: u64) -> usize {
    p.index(v)
}

/// `n` log-normal values (median ~100 µs in nanoseconds, sigma 1.5), a
/// fixed sequence.
pub fn log_normal(n: usize) -> Vec<f64> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            // Box-Muller.
            let (a, b) = (uniform(), uniform());
            let z = (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos();
            (11.5 + 1.5 * z).exp()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_index_matches_the_definition() {
        for schema in [0, 3, 6, 8] {
            let e = Exponential::new(schema);
            let n = f64::from(1u32 << schema);
            for x in log_normal(20_000) {
                let i = e.index_f64(x);
                let (octave, j) = (
                    (i >> schema) as i32 - 1023,
                    (i & ((1 << schema) - 1)) as f64,
                );
                let lower = (f64::from(octave) + j / n).exp2();
                let upper = (f64::from(octave) + (j + 1.0) / n).exp2();
                assert!(
                    lower * (1.0 - 1e-12) <= x && x < upper * (1.0 + 1e-12),
                    "{x}: {i}"
                );
            }
        }
    }
}
