//! Recording handles: cheap to clone, `Send + Sync`, lock-free.

mod core;
mod counter;
mod gauge;
mod histogram;
mod timer;

pub use counter::{Counter, LocalCounter};
pub use gauge::{FloatGauge, Gauge};
pub use histogram::{Histogram, LocalHistogram};
pub use timer::{TimedFuture, Timer};

#[cfg(not(all(loom, feature = "loom")))]
pub(crate) use self::core::global;
pub(crate) use self::core::Core;
