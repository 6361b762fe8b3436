//! Immutable snapshots and how they are published.
//!
//! The collector (in [`crate::registry`]) folds every thread's cells into a
//! [`Snapshot`] and publishes it through [`Publish`] (in [`crate::sync`]); readers take the latest
//! one without a lock. Exporters see only these types.

mod bucket_list;
mod derived;
mod histogram_snapshot;
mod labels;
#[allow(clippy::module_inception)]
mod snapshot;

pub(crate) use crate::sync::Publish;
pub(crate) use bucket_list::BucketList;
pub(crate) use histogram_snapshot::Totals;
pub use histogram_snapshot::{Bucket, FloatBucket, HistogramSnapshot};
pub use labels::LabelSet;
pub use snapshot::{MetricSnapshot, MetricValue, Snapshot};
