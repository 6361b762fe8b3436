//! Labeled series: a pre-bound series handle against the plain metric, and
//! a dynamic 3-label lookup against `prometheus` and `metrics`.

use super::labeled_cases::{self, CASES};
use super::Ctx;
use crate::model::Section;
use crate::stats::{num, Figure};

pub fn run(ctx: &Ctx<'_>) -> Section {
    let cfg = ctx.cfg;
    let (batches, batch) = (if cfg.quick { 100 } else { 1_000 }, 1_000u64);
    let mut s = ctx.section(format!(
        "Single thread, median over {} batches of 1,000 operations of the ns per \
             operation, per run; {} runs, figures are the median and min–max over runs. \
             Label sets: 4 routes × 4 methods × 4 statuses of `&'static str`, visited in a \
             scrambled order; \"1 label set\" repeats the first one. Pre-bound: the \
             `Counter` from `family.with(&labels)`. Dynamic: `family.inc(&labels)`; by \
             `StaticStr`: the same values wrapped in `StaticStr`, which the family finds \
             by address and then records into the thread's own cell. \
             prometheus: `IntCounterVec::with_label_values(&labels).inc()`. metrics: \
             `counter!(name, \"route\" => r, \"method\" => m, \"status\" => s).increment(1)` \
             inside `with_local_recorder` over a recorder backed by \
             `metrics_util::registry::Registry::atomic()`. Every implementation's totals \
             are checked afterwards.",
        num(batches as f64),
        cfg.runs
    ));
    let mut v: Vec<Vec<f64>> = vec![vec![]; CASES.len()];
    for r in 0..cfg.runs {
        ctx.progress(&format!("labeled series run {}/{}", r + 1, cfg.runs));
        for (k, x) in labeled_cases::sample(batches, batch)
            .into_iter()
            .enumerate()
        {
            v[k].push(x);
        }
    }
    let f: Vec<Figure> = CASES
        .iter()
        .zip(&v)
        .map(|(name, xs)| s.fig(Figure::of(*name, "ns/op", xs)))
        .collect();
    s.versus("prebound", &f[1], &f[0], "plain counter inc");
    s.versus("prometheus", &f[3], &f[6], "prometheus' with_label_values");
    s.versus("metrics", &f[3], &f[7], "metrics' counter! with labels");
    s.notes.push(format!(
        "Ratios in this run: pre-bound / plain = {:.2}; dynamic (64 sets) / plain = {:.1}; \
         prometheus / hotmetrics dynamic = {:.1}; metrics / hotmetrics dynamic = {:.1}; \
         eviction on / off = {:.2} (a family that evicts pins an epoch per lookup); \
         by `&str` / by `StaticStr` = {:.2}.",
        f[1].median / f[0].median,
        f[3].median / f[0].median,
        f[6].median / f[3].median,
        f[7].median / f[3].median,
        f[4].median / f[3].median,
        f[3].median / f[5].median,
    ));
    s
}
