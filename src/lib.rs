//! Lock-free, per-thread metrics for hot paths.
//!
//! Recording a metric costs about as much as a memory write: every thread
//! writes its own cells (no shared cache line, no lock, no read-modify-write),
//! and a collector folds them into an immutable [`Snapshot`] that is swapped
//! in atomically for readers.
//!
//! - [`Registry`] names metrics and collects them; [`global()`] is the
//!   process-wide one.
//! - [`Counter`], [`Gauge`], [`FloatGauge`] and [`Histogram`] record; their
//!   [`LocalCounter`] / [`LocalHistogram`] forms skip the per-thread lookup.
//! - [`Snapshot`] and [`HistogramSnapshot`] read: totals, quantiles, buckets,
//!   deltas between snapshots.
//! - [`Precision`] sets a histogram's bucket resolution and error bound.
//!
//! ```
//! use hotmetrics::{Registry, Unit};
//!
//! let reg = Registry::new();
//! let requests = reg.counter("http_requests", "Requests served").unwrap();
//! let latency = reg.histogram("http_request_duration", "Latency", Unit::Nanoseconds).unwrap();
//!
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| {
//!             for i in 0..1000 {
//!                 requests.inc();
//!                 latency.record(1_000 + i);
//!             }
//!         });
//!     }
//! });
//!
//! let snap = reg.collect();
//! assert_eq!(snap.counter("http_requests"), Some(4000));
//! let h = snap.histogram("http_request_duration").unwrap();
//! assert_eq!(h.count(), 4000);
//! assert!(h.quantile(0.99).unwrap() >= 1_980);
//! ```
//!
//! The design, every memory ordering and what the loom models prove are in
//! `docs/design.md`.
#![deny(unsafe_op_in_unsafe_fn, missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

mod buckets;
mod clock;
mod descriptor;
mod metrics;
mod registry;
mod snapshot;
mod storage;
mod sync;

pub use buckets::{Precision, PrecisionError};
pub use clock::Clock;
pub use descriptor::{Descriptor, MetricKind, Unit};
pub use metrics::{
    Counter, FloatGauge, Gauge, Histogram, LocalCounter, LocalHistogram, TimedFuture, Timer,
};
#[cfg(not(all(loom, feature = "loom")))]
pub use registry::{global, is_enabled, set_enabled};
pub use registry::{Options, Registry, RegistryError};
pub use snapshot::{Bucket, HistogramSnapshot, MetricSnapshot, MetricValue, Snapshot};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
