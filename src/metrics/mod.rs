//! Recording handles: cheap to clone, `Send + Sync`, lock-free.

mod counter;
mod gauge;
mod histogram;

pub use counter::{Counter, LocalCounter};
pub use gauge::{FloatGauge, Gauge};
pub use histogram::{Histogram, LocalHistogram};
