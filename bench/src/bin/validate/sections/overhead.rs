//! Timer overhead on a ~1 ms function: a busy spin called plain, inside
//! `Histogram::time` and as a `#[track_latency]` function.

use super::Ctx;
use crate::model::Section;
use crate::stats::{num, percentile, sorted, Figure};
use hotmetrics::{Registry, Unit};
use std::hint::black_box;
use std::time::Instant;

/// The duration the section's title states: 1 ms.
const TARGET_NS: f64 = 1e6;

/// Deterministic busy work, `iters` dependent multiply-adds.
#[inline(never)]
fn spin(iters: u64) -> u64 {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..iters {
        x = black_box(
            x.wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407),
        );
    }
    x
}

#[inline(never)]
fn spin_plain(iters: u64) -> u64 {
    spin(iters)
}

#[hotmetrics::track_latency(name = "validate_spin_duration", help = "Timed busy spin")]
#[inline(never)]
fn spin_tracked(iters: u64) -> u64 {
    spin(iters)
}

/// The fastest of 5 calls of `spin(iters)`, in ns: the call undisturbed
/// by other work on the machine.
fn fastest_ns(iters: u64) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            black_box(spin(black_box(iters)));
            t.elapsed().as_nanos().max(1) as f64
        })
        .fold(f64::MAX, f64::min)
}

/// Iterations for a [`TARGET_NS`] call, and what the last calibration
/// round measured. Each round scales the iterations by target / fastest
/// call; the fastest of 5 calls, not one call, so that a preemption during
/// calibration does not shrink the work (one timed call per round made a
/// full run's plain call 0.22 ms).
fn calibrate() -> (u64, f64) {
    let mut iters = 100_000u64;
    let mut ns = fastest_ns(iters);
    for _ in 0..10 {
        iters = ((iters as f64) * TARGET_NS / ns).max(1.0) as u64;
        ns = fastest_ns(iters);
        if (ns / TARGET_NS - 1.0).abs() < 0.02 {
            break;
        }
    }
    (iters, ns)
}

pub fn run(ctx: &Ctx<'_>) -> Section {
    let cfg = ctx.cfg;
    let calls = if cfg.quick { 20 } else { 200 };
    let (iters, calibrated_ns) = calibrate();
    let mut s = ctx.section(format!(
        "A busy spin of {iters} dependent multiply-adds, calibrated to {} ms (its fastest of 5 \
         calls took {} ms after calibration), is called {calls} times per run in three forms, \
         interleaved call by call: plain, inside `Histogram::time(..)`, and as a \
         `#[hotmetrics::track_latency]` function. Each call is timed with `Instant`; per run, \
         overhead = (median timed call / median plain call − 1) × 100. {} runs; figures are \
         the median and min–max over runs.",
        num(TARGET_NS / 1e6),
        num(calibrated_ns / 1e6),
        cfg.runs
    ));
    let reg = Registry::new();
    let h = reg
        .histogram("spin_duration", "Timed busy spin", Unit::Nanoseconds)
        .unwrap();
    let (mut plain_ms, mut time_pct, mut macro_pct, mut time_ns, mut macro_ns) =
        (vec![], vec![], vec![], vec![], vec![]);
    black_box(spin_tracked(iters)); // registers the histogram
    for _ in 0..cfg.runs {
        let mut v: [Vec<f64>; 3] = Default::default();
        for k in 0..calls {
            for j in 0..3 {
                let which = (j + k) % 3;
                let t = Instant::now();
                match which {
                    0 => black_box(spin_plain(black_box(iters))),
                    1 => black_box(h.time(|| spin(black_box(iters)))),
                    _ => black_box(spin_tracked(black_box(iters))),
                };
                v[which].push(t.elapsed().as_nanos() as f64);
            }
        }
        let m: Vec<f64> = v.iter().map(|x| percentile(&sorted(x), 0.5)).collect();
        plain_ms.push(m[0] / 1e6);
        time_pct.push((m[1] / m[0] - 1.0) * 100.0);
        macro_pct.push((m[2] / m[0] - 1.0) * 100.0);
        time_ns.push(m[1] - m[0]);
        macro_ns.push(m[2] - m[0]);
    }
    let plain = s.fig(Figure::of("plain call", "ms", &plain_ms));
    let a = s.fig(Figure::of("Histogram::time overhead", "%", &time_pct));
    let b = s.fig(Figure::of("#[track_latency] overhead", "%", &macro_pct));
    s.fig(Figure::of("Histogram::time added time", "ns", &time_ns));
    s.fig(Figure::of("#[track_latency] added time", "ns", &macro_ns));
    s.bound("time", &a);
    s.bound("macro", &b);
    let snap = hotmetrics::global().collect();
    let timed = snap
        .histogram("validate_spin_duration")
        .map_or(0, |h| h.count());
    s.notes.push(format!(
        "The plain call took {} ms (median over runs; the machine's other work lengthens \
         calls beyond the calibrated fastest one). The differences are within the run-to-run \
         noise of a 1 ms call on a shared machine; negative values mean the timed form was \
         faster in that run. `validate_spin_duration` holds {timed} timed calls.",
        num(plain.median)
    ));
    s
}
