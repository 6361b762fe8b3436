//! Immutable snapshots and how they are published.
//!
//! The collector (in [`crate::registry`]) folds every thread's cells into a
//! [`Snapshot`] and publishes it through [`Publish`]; readers take the latest
//! one without a lock. Exporters see only these types.

mod histogram_snapshot;
mod labels;
mod publish;
#[allow(clippy::module_inception)]
mod snapshot;

pub use histogram_snapshot::{Bucket, HistogramSnapshot};
pub use labels::LabelSet;
pub(crate) use publish::Publish;
pub use snapshot::{MetricSnapshot, MetricValue, Snapshot};
