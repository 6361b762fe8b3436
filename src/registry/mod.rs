//! Names, help and units; registration; collection into snapshots.
//!
//! - `options.rs`: [`Options`], what a registration asks for;
//! - `kind.rs`: the `Kind` trait each kind of metric implements (how it is
//!   made, how it folds into a snapshot);
//! - `catalog.rs`: the registered metrics by name, and the matching of a
//!   re-registration against them;
//! - `collect.rs`: the collector; `fold_histogram.rs`: how it merges a
//!   histogram over all threads (reusing the last collection's result when
//!   nothing was recorded since);
//! - `registry.rs`: [`Registry`], the typed registration methods, and
//!   [`global()`](crate::global);
//! - `family_builder.rs`: [`FamilyBuilder`], a family's registration with
//!   named arguments;
//! - `info.rs`: info metrics ([`Registry::info`]);
//! - `error.rs`, `name.rs`: what a registration can be refused for.

mod catalog;
mod collect;
mod error;
mod family_builder;
mod fold_histogram;
mod info;
mod kind;
mod name;
mod options;
#[allow(clippy::module_inception)]
mod registry;

pub use error::{Conflict, RegistryError};
pub use family_builder::FamilyBuilder;
pub use options::Options;
crate::sync::cfg_not_loom! {
    pub use registry::global;
}
pub use registry::Registry;
