//! Thread-safety integrity: exact totals from 10 threads recording through
//! shared handles.

use super::Ctx;
use crate::model::Section;
use crate::stats::{num, Figure};
use hotmetrics::{Registry, Unit};
use hotmetrics_bench::workload::value_of;
use std::time::Instant;

pub fn run(ctx: &Ctx<'_>) -> Section {
    let cfg = ctx.cfg;
    let big: u64 = if cfg.quick { 100_000 } else { 1_000_000 };
    let mut s = ctx.section(format!(
        "10 threads × 100 operations and 10 threads × {} operations{}, each operation a \
             counter inc and a histogram record through shared handles; the totals are read \
             from one collect after the threads join and compared with the expected values \
             computed independently. {} runs.",
        num(big as f64),
        if cfg.quick {
            " (--quick; the full run uses 1,000,000)"
        } else {
            ""
        },
        cfg.runs
    ));
    for ops in [100u64, big] {
        let mut secs = Vec::new();
        let mut ok = true;
        let expected_sum: u128 = (0..10u64)
            .flat_map(|t| (0..ops).map(move |i| value_of(t * ops + i) as u128))
            .sum();
        for _ in 0..cfg.runs {
            let reg = Registry::new();
            let c = reg.counter("ops", "ops").unwrap();
            let h = reg.histogram("vals", "vals", Unit::None).unwrap();
            let t0 = Instant::now();
            std::thread::scope(|sc| {
                for t in 0..10u64 {
                    let (c, h) = (&c, &h);
                    sc.spawn(move || {
                        for i in 0..ops {
                            c.inc();
                            h.record(value_of(t * ops + i));
                        }
                    });
                }
            });
            secs.push(t0.elapsed().as_secs_f64() * 1e3);
            let snap = reg.collect();
            let hs = snap.histogram("vals").unwrap();
            ok &= snap.counter("ops") == Some(10 * ops)
                && hs.count() == 10 * ops
                && hs.sum() == expected_sum;
        }
        s.exact(
            "exact",
            Some(format!(
                "10 × {}: counter = histogram count = {} and exact sum, all runs",
                num(ops as f64),
                num((10 * ops) as f64)
            )),
            ok,
        );
        s.fig(Figure::of(
            format!("10 × {} wall time", num(ops as f64)),
            "ms",
            &secs,
        ));
        s.fig(Figure::of(
            format!("10 × {} runs with exact totals", num(ops as f64)),
            "runs",
            &[if ok { cfg.runs as f64 } else { 0.0 }],
        ));
    }
    s
}
