//! Figures and their spread: medians, percentiles, min–max over runs, batch
//! timing, and process figures (RSS, CPU time).

use serde::Serialize;

/// `VmRSS` from `/proc/self/status`, in bytes (0 where unavailable).
pub fn rss_bytes() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb * 1024.0)
}

/// User + system CPU seconds of this process (from `/proc/self/stat`, 10 ms
/// ticks; 0 where unavailable).
pub fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

/// One measured figure: the median over runs and its min–max.
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    pub name: String,
    pub unit: String,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Figure {
    /// The median and min–max of `values` (one per run).
    pub fn of(name: impl Into<String>, unit: &str, values: &[f64]) -> Figure {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let (median, min, max) = if v.is_empty() {
            (0.0, 0.0, 0.0)
        } else {
            (percentile(&v, 0.5), v[0], v[v.len() - 1])
        };
        Figure {
            name: name.into(),
            unit: unit.to_string(),
            median,
            min,
            max,
            runs: v.len(),
        }
    }

    /// As `"1.23 (1.20–1.31) unit"`.
    pub fn show(&self) -> String {
        format!(
            "{} ({}–{}) {}",
            num(self.median),
            num(self.min),
            num(self.max),
            self.unit
        )
    }
}

/// A readable number: thousands separators for large values, 3 significant
/// digits for small ones.
pub fn num(v: f64) -> String {
    if v.abs() >= 10_000.0 {
        let s = format!("{:.0}", v.abs());
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if v < 0.0 {
            format!("-{out}")
        } else {
            out
        }
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 0.1 || v == 0.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// The `q` percentile of sorted `v` (nearest rank, interpolated).
pub fn percentile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Sorted copy.
pub fn sorted(v: &[f64]) -> Vec<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// Times `batches` batches of `batch` runs of an operation and returns the
/// nanoseconds per run of each batch (`Vec<f64>`).
///
/// `batch_ns!(batches, batch, |i| body)` expands `body` (with `i` the
/// running operation number) straight into the timing loop, so the
/// compiler inlines the operation as it would in a caller's own loop. A
/// closure called through a generic function was not always inlined: the
/// operation then paid a call, and an implementation that inlines deeply
/// paid register saves on top, a cost of the harness that no caller pays.
/// `batch_ns!(batches, batch, op)` calls `op(i)` for an `op` held in a
/// variable.
macro_rules! batch_ns {
    ($batches:expr, $batch:expr, |$i:pat_param| $body:expr) => {{
        let (batches, batch): (usize, u64) = ($batches, $batch);
        let mut out: Vec<f64> = Vec::with_capacity(batches);
        let mut n = 0u64;
        for _ in 0..batches {
            let start = std::time::Instant::now();
            for _ in 0..batch {
                let $i: u64 = n;
                $body;
                n = n.wrapping_add(1);
            }
            out.push(start.elapsed().as_nanos() as f64 / batch as f64);
        }
        out
    }};
    ($batches:expr, $batch:expr, $op:expr) => {{
        let op = $op;
        $crate::stats::batch_ns!($batches, $batch, |i| op(i))
    }};
}
pub(crate) use batch_ns;

/// A spread of latency-like values `i` maps to: 1 µs to ~1 ms, skewed.
#[inline(always)]
pub fn value_of(i: u64) -> u64 {
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    1_000 + ((x >> 40) >> ((x >> 10) & 7))
}
