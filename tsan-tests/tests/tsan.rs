//! The library's concurrency tests, compiled into one binary for
//! ThreadSanitizer by `scripts/tsan.sh` (`RUSTFLAGS="-Zsanitizer=thread
//! --cfg hotmetrics_tsan"`, `-Zbuild-std`). Without `--cfg hotmetrics_tsan`
//! this binary is empty: `cargo test --workspace` runs the same files from
//! `tests/` natively.
//!
//! Under `hotmetrics_tsan` the tests use the smaller iteration counts they
//! also use under Miri (instrumented code runs 5–15× slower).
#![cfg(hotmetrics_tsan)]

/// Gauges set while the collector evicts their series (crossbeam-epoch's
/// reclamation included: it detects `-Zsanitizer=thread` and replaces its
/// fences, which ThreadSanitizer does not model, with acquire loads).
#[path = "../../tests/churn.rs"]
mod churn;

/// Totals from many threads and from 2,000 short-lived ones (cells handed
/// from exited threads to new ones).
#[path = "../../tests/exact_counts.rs"]
mod exact_counts;

/// Thread-local destructors that record while their thread exits.
#[path = "../../tests/thread_exit_tls.rs"]
mod thread_exit_tls;

/// Snapshots taken while writers record.
#[path = "../../tests/consistency.rs"]
mod consistency;
