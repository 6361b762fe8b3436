//! Names, help and units; registration; collection into snapshots.

mod error;
mod name;
#[allow(clippy::module_inception)]
mod registry;

pub use error::RegistryError;
#[cfg(not(all(loom, feature = "loom")))]
pub use registry::global;
pub use registry::{Options, Registry};
