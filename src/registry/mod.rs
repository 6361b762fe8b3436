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
//! - `callback.rs`: metrics a callback computes at collection, and their
//!   registration methods; `callback_sink.rs`: [`CallbackSink`], where a
//!   labeled one writes its series;
//! - `process.rs`: the standard process metrics, as callbacks reading
//!   `/proc` (Linux);
//! - `registry.rs`: [`Registry`], the typed registration methods, and
//!   [`global()`](crate::global);
//! - `family_builder.rs`: [`FamilyBuilder`], a family's registration with
//!   named arguments;
//! - `info.rs`: info metrics ([`Registry::info`]);
//! - `scope.rs`: registry views, with a name prefix or constant labels;
//! - `error.rs`, `name.rs`: what a registration can be refused for.

mod callback;
mod callback_sink;
mod catalog;
#[cfg(test)]
mod cell_binding_tests;
mod collect;
mod error;
mod family_builder;
mod fold_histogram;
mod info;
mod kind;
mod name;
mod options;
mod process;
#[allow(clippy::module_inception)]
mod registry;
mod scope;

pub use callback_sink::CallbackSink;
pub use error::{Conflict, RegistryError};
pub use family_builder::FamilyBuilder;
pub use options::Options;
crate::sync::cfg_not_loom! {
    pub use registry::global;
}
pub use registry::Registry;
