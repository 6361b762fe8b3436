//! [`RegistryError`]: why a metric could not be registered.
#![forbid(unsafe_code)]

use crate::descriptor::{BucketsError, MetricKind};
use std::fmt;

/// Why a metric could not be registered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryError {
    /// The name is not valid in the Prometheus data model
    /// (`[a-zA-Z_:][a-zA-Z0-9_:]*`, not starting with `__`).
    InvalidName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The name is taken by a metric of another kind.
    KindMismatch {
        /// The name.
        name: String,
        /// The kind it is registered as.
        existing: MetricKind,
        /// The kind asked for.
        requested: MetricKind,
    },
    /// The name is taken by a metric of the same kind that differs in
    /// another property.
    Conflict {
        /// The name.
        name: String,
        /// Which property differs.
        what: Conflict,
    },
    /// A family's label name (or a state set's state) is not valid.
    InvalidLabel {
        /// The metric being registered.
        name: String,
        /// The rejected label name or state (empty if none was given).
        label: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The metric would be exported under a name another metric's
    /// exposition already uses (counter `dup` writes `dup_total`, so a
    /// counter `dup_total` would write the family `dup` twice; histogram
    /// `h` writes `h_count`, so a gauge `h_count` would land in it):
    /// Prometheus would reject every scrape.
    Collision {
        /// The metric being registered.
        name: String,
        /// The registered metric whose exposition uses the name.
        existing: String,
        /// The exported name both would use.
        exported: String,
    },
    /// The name is one a family registers for its own counters
    /// (`<family>_overflow`, `<family>_evicted`): asked for by another
    /// registration, or already taken when the family registers. Never
    /// merged, so a family's internal counts stay its own.
    Reserved {
        /// The name asked for.
        name: String,
        /// The family it belongs to.
        family: String,
    },
    /// A constant label given to
    /// [`Registry::with_const_labels`](crate::Registry::with_const_labels)
    /// is not valid: not a valid label name, reserved, or given twice
    /// (the view's labels include its parents').
    InvalidConstLabel {
        /// The rejected label name.
        label: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The classic bucket bounds given with
    /// [`Options::buckets`](crate::Options::buckets) are not valid.
    InvalidBuckets {
        /// The histogram being registered.
        name: String,
        /// What is wrong with the bounds.
        error: BucketsError,
    },
    /// The registry has no room for more metrics (about two billion).
    Full,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::InvalidName { name, reason } => {
                write!(f, "invalid metric name {name:?}: {reason}")
            }
            RegistryError::KindMismatch {
                name,
                existing,
                requested,
            } => write!(
                f,
                "metric {name:?} is already registered as a {existing}, not a {requested}"
            ),
            RegistryError::Conflict { name, what } => {
                write!(
                    f,
                    "metric {name:?} is already registered with another {what}"
                )
            }
            RegistryError::InvalidLabel {
                name,
                label,
                reason,
            } => write!(f, "invalid label {label:?} for metric {name:?}: {reason}"),
            RegistryError::Collision {
                name,
                existing,
                exported,
            } => write!(
                f,
                "metric {name:?} would be exported as {exported:?}, a name metric {existing:?} already uses"
            ),
            RegistryError::Reserved { name, family } => write!(
                f,
                "metric name {name:?} is reserved for the internal counters of family {family:?}"
            ),
            RegistryError::InvalidConstLabel { label, reason } => {
                write!(f, "invalid constant label {label:?}: {reason}")
            }
            RegistryError::InvalidBuckets { name, error } => {
                write!(f, "histogram {name:?}: {error}")
            }
            RegistryError::Full => f.write_str("the registry has no room for more metrics"),
        }
    }
}

impl std::error::Error for RegistryError {}

/// Which property of an existing metric a registration asked otherwise
/// ([`RegistryError::Conflict`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Conflict {
    /// Another [`Unit`](crate::Unit).
    Unit,
    /// Another histogram [`Precision`](crate::Precision).
    Precision,
    /// Labels asked of an unlabeled metric, or none of a family.
    Labeled,
    /// Other label names for a family.
    LabelNames,
    /// Another list of states for a state set.
    States,
    /// Other labels for an info metric (its facts are fixed).
    Info,
    /// A metric computed by a callback at collection
    /// ([`Registry::counter_fn`](crate::Registry::counter_fn) and
    /// siblings), asked for again or asked of a plain metric: a callback
    /// metric is registered once, never merged or replaced.
    Callback,
    /// Other constant label names: the name is registered through a view
    /// whose [`with_const_labels`](crate::Registry::with_const_labels)
    /// have other names (or there are none), so the two could not be one
    /// family.
    ConstLabels,
    /// Other classic bucket bounds for a histogram
    /// ([`Options::buckets`](crate::Options::buckets)).
    Buckets,
}

impl Conflict {
    /// What differs, in words (as the error message says it).
    pub fn as_str(self) -> &'static str {
        match self {
            Conflict::Unit => "unit",
            Conflict::Precision => "precision",
            Conflict::Labeled => "shape (it is an unlabeled metric)",
            Conflict::LabelNames => "label names",
            Conflict::States => "list of states",
            Conflict::Info => "labels (an info metric's are fixed)",
            Conflict::Callback => "origin (one of them is computed by a callback)",
            Conflict::ConstLabels => "set of constant label names",
            Conflict::Buckets => "list of classic bucket bounds",
        }
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
