//! Sustained throughput: threads looping on a counter inc and a histogram
//! record through shared handles, at each thread count.

use super::Ctx;
use crate::harness::{cores, throughput};
use crate::model::Section;
use crate::stats::{num, Figure};
use crate::svg::{self, Chart, Series};
use hotmetrics::{Registry, Unit};
use hotmetrics_bench::workload::value_of;
use std::time::Duration;

pub fn run(ctx: &Ctx<'_>) -> Section {
    let cfg = ctx.cfg;
    let window = Duration::from_secs_f64(cfg.duration / cfg.runs as f64);
    let mut s = ctx.section(
        format!(
            "{} s per thread count (`--duration`), split into {} runs of {:.2} s; \
             thread counts {:?}. Every thread loops on `counter.inc(); hist.record(v)` through \
             shared handles of one counter and one histogram, checking a stop flag every 256 \
             operations; ops/s = all threads' operations / wall time from just before the \
             start barrier releases them to the last join. \"CPU busy\" is the process's CPU time (utime + stime from \
             /proc/self/stat, 10 ms ticks) over the wall time of the run: how many cores the \
             threads actually got on this shared machine. The machine has {} cores, so thread counts above that \
             time-share them. Figures are the median and min–max over runs.",
            num(cfg.duration),
            cfg.runs,
            window.as_secs_f64(),
            cfg.threads,
            cores()
        ),
    );
    let mut per_t = Vec::new();
    for (k, &t) in cfg.threads.iter().enumerate() {
        ctx.progress(&format!(
            "throughput {t} thread{} ({}/{})",
            if t == 1 { "" } else { "s" },
            k + 1,
            cfg.threads.len()
        ));
        let th = if t == 1 { "thread" } else { "threads" };
        let reg = Registry::new();
        let c = reg.counter("tput_ops", "Operations").unwrap();
        let h = reg
            .histogram("tput_latency", "Latency", Unit::Nanoseconds)
            .unwrap();
        let mut v = Vec::new();
        let mut busy = Vec::new();
        for _ in 0..cfg.runs {
            let r = throughput(t, window, || {
                let (c, h) = (&c, &h);
                move |i| {
                    c.inc();
                    h.record(value_of(i));
                }
            });
            v.push(r.ops_per_s);
            busy.push(r.busy);
        }
        let snap = reg.collect();
        let counted = snap.counter("tput_ops").unwrap_or(0);
        let hcount = snap.histogram("tput_latency").map_or(0, |h| h.count());
        s.exact(
            "exact",
            Some(format!(
                "{t} {th}: the counter total equals the histogram count ({})",
                num(counted as f64)
            )),
            counted == hcount,
        );
        let f = s.fig(Figure::of(format!("{t} {th}"), "ops/s", &v));
        s.fig(Figure::of(
            format!("{t} {th} per minute"),
            "ops/min",
            &v.iter().map(|x| x * 60.0).collect::<Vec<_>>(),
        ));
        s.fig(Figure::of(
            format!("{t} {th}: CPU busy (process CPU time / wall time)"),
            "cores",
            &busy,
        ));
        s.bound("ops", &f);
        per_t.push(f);
    }
    plot(&mut s, &cfg.threads, &per_t);
    s
}

/// Operations per second over thread counts, the threshold drawn.
fn plot(s: &mut Section, threads: &[usize], per_t: &[Figure]) {
    let xs: Vec<f64> = threads.iter().map(|&t| t as f64).collect();
    let chart = Chart {
        title: "Sustained throughput, counter inc + histogram record per operation",
        y_label: "operations per second",
        caption:
            "points: median over runs; whiskers: min–max over runs; dashed: the required minimum",
        log: false,
    };
    let series = [Series {
        name: "hotmetrics".into(),
        values: per_t.iter().map(|f| Some(f.point())).collect(),
    }];
    let limit = s.spec.threshold("ops").bound_value();
    s.plot(
        "throughput.svg",
        svg::lines(&chart, "threads", &xs, &series, limit),
    );
}
