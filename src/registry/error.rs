//! [`RegistryError`]: why a metric could not be registered.
#![forbid(unsafe_code)]

use crate::descriptor::MetricKind;
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
    /// The name is taken by a metric of the same kind with another unit or
    /// precision.
    Conflict {
        /// The name.
        name: String,
        /// Which property differs.
        what: &'static str,
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
            RegistryError::Full => f.write_str("the registry has no room for more metrics"),
        }
    }
}

impl std::error::Error for RegistryError {}
