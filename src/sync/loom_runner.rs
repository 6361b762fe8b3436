//! How every loom model runs: the white-box ones beside the code (through
//! `crate::sync::run_model`) and the end-to-end ones in `loom-tests/`, which
//! include this file by path, so both suites share one runner.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Runs `f` under loom with the preemption bound from `LOOM_MAX_PREEMPTIONS`
/// (default 2), raised to at least `min_preemptions`, and prints how many
/// executions were explored.
pub(crate) fn run<F>(name: &str, min_preemptions: usize, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let preemptions = std::env::var("LOOM_MAX_PREEMPTIONS")
        .ok()
        .map(|v| v.parse().expect("LOOM_MAX_PREEMPTIONS must be a number"))
        .unwrap_or(2)
        .max(min_preemptions);
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    // A collection loads every slot of every allocated segment, so even a
    // small model takes more than loom's default 1,000 branches.
    builder.max_branches = 20_000;

    // Counted outside the model (loom's atomics exist only inside it).
    let executions = Arc::new(AtomicUsize::new(0));
    let counted = executions.clone();
    let started = Instant::now();
    builder.check(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        f();
    });
    eprintln!(
        "{name}: {} executions in {:.1?} (preemption bound {preemptions})",
        executions.load(Ordering::Relaxed),
        started.elapsed(),
    );
}
