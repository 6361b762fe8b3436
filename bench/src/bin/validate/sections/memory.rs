//! Memory: heap and per-thread cells for recorded operations and for
//! series, on one thread and on 16, against the replaced `Mutex<Vec<f64>>`.

use super::Ctx;
use crate::harness::rss_bytes;
use crate::model::Section;
use crate::stats::Figure;
use hotmetrics::{Registry, Unit};
use hotmetrics_bench::workload::value_of;
use hotmetrics_testkit::alloc::live_bytes;
use std::collections::BTreeMap;
use std::sync::Barrier;

/// Operations, and series of each kind.
const N: usize = 1_500;
/// The threads that touch every series in the last step.
const THREADS: usize = 16;

pub fn run(ctx: &Ctx<'_>) -> Section {
    let cfg = ctx.cfg;
    let mut s = ctx.section(format!(
        "A counting global allocator in the report keeps the live heap bytes of the \
             process; each figure is the difference in live bytes around the step, in a fresh \
             registry (registration included), next to `Registry::cell_bytes()` (the \
             per-thread cells only). Recorded values spread from 1 µs to ~1 ms. The replaced \
             design (`Mutex<Vec<f64>>`) is measured the same way. 16 threads: each thread \
             increments all 1,500 counters and records once into all 1,500 histograms, and \
             the figures are read while the threads are alive. VmRSS (from \
             /proc/self/status) before and after the section is process-wide, allocator \
             retention included. {} runs.",
        cfg.runs
    ));
    let rss0 = rss_bytes();
    let f = runs(cfg.runs);
    let rss1 = rss_bytes();
    // (figure key, title, the requirement it is checked against, if any).
    const FIGURES: [(&str, &str, Option<&str>); 9] = [
        (
            "hist_1500_heap",
            "1,500 ops in one histogram, heap",
            Some("ops"),
        ),
        (
            "hist_1500_cells",
            "1,500 ops, one histogram: cell_bytes",
            None,
        ),
        (
            "vec_1500_heap",
            "1,500 ops, Mutex<Vec<f64>> (replaced design): heap",
            None,
        ),
        (
            "counters_heap",
            "1,500 counters, 1 thread, heap",
            Some("counters"),
        ),
        (
            "counters_cells",
            "1,500 counters, 1 thread: cell_bytes",
            None,
        ),
        (
            "hists_heap",
            "1,500 histograms (1 record each), 1 thread, heap",
            Some("histograms"),
        ),
        (
            "hists_cells",
            "1,500 histograms (1 record each), 1 thread: cell_bytes",
            None,
        ),
        (
            "threads16_cells",
            "1,500 counters + 1,500 histograms × 16 more threads, cells (cell_bytes, all threads)",
            Some("threads"),
        ),
        (
            "threads16_heap",
            "1,500 counters + 1,500 histograms × 16 more threads: heap added by the threads",
            None,
        ),
    ];
    let mut bounded = Vec::new();
    for (key, title, bound) in FIGURES {
        let kib: Vec<f64> = f[key].iter().map(|b| b / 1024.0).collect();
        let figure = s.fig(Figure::of(title, "KiB", &kib));
        if let Some(bound) = bound {
            bounded.push((bound, figure));
        }
    }
    s.fig(Figure::of(
        "VmRSS before the section",
        "KiB",
        &[rss0 / 1024.0],
    ));
    s.fig(Figure::of(
        "VmRSS after the section",
        "KiB",
        &[rss1 / 1024.0],
    ));
    for (bound, figure) in &bounded {
        s.bound(bound, figure);
    }
    s
}

/// Per figure key, its value in bytes in each of `runs` runs.
fn runs(runs: usize) -> BTreeMap<&'static str, Vec<f64>> {
    let mut f: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut put = |k: &'static str, v: f64| f.entry(k).or_default().push(v);
    for _ in 0..runs {
        // 1,500 operations into one histogram.
        let base = live_bytes();
        let reg = Registry::new();
        let h = reg
            .histogram("ops", "1,500 ops", Unit::Nanoseconds)
            .unwrap();
        for i in 0..N as u64 {
            h.record(value_of(i));
        }
        put("hist_1500_heap", (live_bytes() - base) as f64);
        put("hist_1500_cells", reg.cell_bytes() as f64);
        drop((h, reg));
        let base = live_bytes();
        let v = std::sync::Mutex::new(Vec::<f64>::new());
        for i in 0..N as u64 {
            v.lock().unwrap().push(value_of(i) as f64);
        }
        put("vec_1500_heap", (live_bytes() - base) as f64);
        drop(v);

        // 1,500 counters, 1,500 histograms, one thread.
        let base = live_bytes();
        let reg = Registry::new();
        let counters: Vec<_> = (0..N)
            .map(|i| reg.counter(&format!("c_{i}"), "series").unwrap())
            .collect();
        for c in &counters {
            c.inc();
        }
        put("counters_heap", (live_bytes() - base) as f64);
        put("counters_cells", reg.cell_bytes() as f64);
        let base = live_bytes();
        let cells0 = reg.cell_bytes();
        let hists: Vec<_> = (0..N)
            .map(|i| {
                reg.histogram(&format!("h_{i}"), "series", Unit::Nanoseconds)
                    .unwrap()
            })
            .collect();
        for (i, h) in hists.iter().enumerate() {
            h.record(value_of(i as u64));
        }
        put("hists_heap", (live_bytes() - base) as f64);
        put("hists_cells", (reg.cell_bytes() - cells0) as f64);

        // The same 3,000 series from 16 threads.
        let base = live_bytes();
        let ready = Barrier::new(THREADS + 1);
        let done = Barrier::new(THREADS + 1);
        std::thread::scope(|sc| {
            for _ in 0..THREADS {
                sc.spawn(|| {
                    for c in &counters {
                        c.inc();
                    }
                    for (i, h) in hists.iter().enumerate() {
                        h.record(value_of(i as u64));
                    }
                    ready.wait();
                    done.wait();
                });
            }
            ready.wait();
            put("threads16_cells", reg.cell_bytes() as f64);
            put("threads16_heap", (live_bytes() - base) as f64);
            done.wait();
        });
    }
    f
}
