//! How the report times things: batches of operations, threads released
//! together for a window, and the process's own CPU time and RSS.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

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
        $crate::harness::batch_ns!($batches, $batch, |i| op(i))
    }};
}
pub(crate) use batch_ns;

/// A throughput measurement.
#[derive(Clone, Copy, Debug)]
pub struct Tput {
    /// Operations per second, all threads together.
    pub ops_per_s: f64,
    /// Process CPU time over wall time: how many cores the threads got.
    pub busy: f64,
}

/// Operations per second of `threads` threads, each running the closure
/// `make` returns in a loop for `window`.
pub fn throughput<W, G>(threads: usize, window: Duration, make: W) -> Tput
where
    W: Fn() -> G + Sync,
    G: FnMut(u64),
{
    let stop = AtomicBool::new(false);
    let total = AtomicU64::new(0);
    let barrier = Barrier::new(threads + 1);
    let mut start = Instant::now();
    let mut cpu0 = 0.0;
    std::thread::scope(|s| {
        for t in 0..threads {
            let (stop, total, barrier, make) = (&stop, &total, &barrier, &make);
            s.spawn(move || {
                let mut op = make();
                barrier.wait();
                let mut i = (t as u64) << 40;
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        op(i);
                        i += 1;
                    }
                    n += 256;
                }
                total.fetch_add(n, Ordering::Relaxed);
            });
        }
        // The clock starts before the workers are released: on a busy
        // machine this thread may be descheduled at the barrier while the
        // workers already run, and their operations must not count against
        // a late start.
        cpu0 = cpu_seconds();
        start = Instant::now();
        barrier.wait();
        std::thread::sleep(window);
        stop.store(true, Ordering::Relaxed);
    });
    let wall = start.elapsed().as_secs_f64();
    Tput {
        ops_per_s: total.load(Ordering::Relaxed) as f64 / wall,
        busy: (cpu_seconds() - cpu0) / wall,
    }
}

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

/// Cores available to this process.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The CPU model from `/proc/cpuinfo`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `YYYY-MM-DD HH:MM:SS UTC` from the system clock.
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
