//! Recording handles: cheap to clone, `Send + Sync`, lock-free.

mod counter;
mod gauge;
mod histogram;
mod registry_core;
mod timer;

pub use counter::{Counter, LocalCounter};
pub use gauge::{FloatGauge, Gauge};
pub use histogram::{Histogram, LocalHistogram};
pub use timer::{OwnedTimer, TimedFuture, Timer};

crate::sync::cfg_not_loom! {
    pub use self::registry_core::switch::{is_enabled, set_enabled};
}
pub(crate) use self::registry_core::Core;
