//! [`FamilyBuilder`]: a family's registration with every argument named.
#![forbid(unsafe_code)]

use super::options::Options;
use super::registry::Registry;
use super::RegistryError;
use crate::buckets::Precision;
use crate::descriptor::Unit;
use crate::family::{Arity, Dyn, Family, LabelShape};
use crate::handle::{Counter, FloatGauge, Gauge, Histogram};
use std::fmt;
use std::marker::PhantomData;

/// Registers a family, one named setting at a time: from
/// [`Registry::histogram_family_builder`] (and `counter_`, `gauge_`,
/// `float_gauge_family_builder`).
///
/// The label names decide the family's [`LabelShape`], and
/// [`build`](Self::build) exists only once they are given:
///
/// - [`labels(&["route", "status"])`](Self::labels): typed [`Arity<2>`];
/// - [`labels_of::<Request>()`](Self::labels_of): typed by a struct
///   deriving [`Labels`](derive@crate::Labels), named after its fields;
/// - [`dyn_labels(&names)`](Self::dyn_labels): names known only at run
///   time, a [`Dyn`] family.
///
/// ```
/// use hotmetrics::{Registry, Unit};
///
/// let reg = Registry::new();
/// let latency = reg
///     .histogram_family_builder("http_request_duration")
///     .help("Time to serve a request")
///     .unit(Unit::Nanoseconds)
///     .labels(&["route", "status"])
///     .max_series(200)
///     .build()
///     .unwrap();
/// latency.record(&("/item/:id", 200u16), 12_500);
/// let snap = reg.collect();
/// let h = snap
///     .histogram_with("http_request_duration", &[("route", "/item/:id"), ("status", "200")])
///     .unwrap();
/// assert_eq!(h.count(), 1);
/// ```
#[must_use = "a family builder registers nothing until `build`"]
pub struct FamilyBuilder<'r, M, S> {
    registry: &'r Registry,
    options: Options,
    _family: PhantomData<fn() -> (M, S)>,
}

impl Registry {
    /// A builder for counter family `name` (see [`FamilyBuilder`]).
    pub fn counter_family_builder(
        &self,
        name: impl Into<String>,
    ) -> FamilyBuilder<'_, Counter, ()> {
        FamilyBuilder::new(self, name)
    }

    /// A builder for integer gauge family `name` (see [`FamilyBuilder`]).
    pub fn gauge_family_builder(&self, name: impl Into<String>) -> FamilyBuilder<'_, Gauge, ()> {
        FamilyBuilder::new(self, name)
    }

    /// A builder for float gauge family `name` (see [`FamilyBuilder`]).
    pub fn float_gauge_family_builder(
        &self,
        name: impl Into<String>,
    ) -> FamilyBuilder<'_, FloatGauge, ()> {
        FamilyBuilder::new(self, name)
    }

    /// A builder for histogram family `name` (see [`FamilyBuilder`]):
    /// help, unit, label names and precision named one by one, rather than
    /// [`histogram_family`](Self::histogram_family)'s four positional
    /// arguments.
    pub fn histogram_family_builder(
        &self,
        name: impl Into<String>,
    ) -> FamilyBuilder<'_, Histogram, ()> {
        FamilyBuilder::new(self, name)
    }
}

impl<'r, M> FamilyBuilder<'r, M, ()> {
    fn new(registry: &'r Registry, name: impl Into<String>) -> Self {
        FamilyBuilder {
            registry,
            options: Options::new(name, ""),
            _family: PhantomData,
        }
    }

    /// The label names, typing the family by their number: it takes
    /// tuples and arrays of `N` values.
    pub fn labels<L: AsRef<str>, const N: usize>(
        self,
        names: &[L; N],
    ) -> FamilyBuilder<'r, M, Arity<N>> {
        self.shape(|o| o.labels(names))
    }

    /// The label names of `T`, a struct deriving
    /// [`Labels`](derive@crate::Labels) (its fields, in order): the family
    /// takes `T` and nothing else.
    pub fn labels_of<T: LabelShape>(self) -> FamilyBuilder<'r, M, T> {
        self.shape(|o| o.labels(T::NAMES.unwrap_or_default()))
    }

    /// Label names known only at run time: a [`Dyn`] family, which checks
    /// the number of values of each new label set.
    pub fn dyn_labels<L: AsRef<str>>(self, names: &[L]) -> FamilyBuilder<'r, M, Dyn> {
        self.shape(|o| o.labels(names))
    }

    fn shape<T>(self, labels: impl FnOnce(Options) -> Options) -> FamilyBuilder<'r, M, T> {
        FamilyBuilder {
            registry: self.registry,
            options: labels(self.options),
            _family: PhantomData,
        }
    }
}

impl<M, S> FamilyBuilder<'_, M, S> {
    /// The help text (default: one made from the name).
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.options.help = help.into();
        self
    }

    /// The unit values are recorded in (default: none).
    pub fn unit(mut self, unit: Unit) -> Self {
        self.options = self.options.unit(unit);
        self
    }

    /// The most series the family creates (see [`Options::max_series`]).
    pub fn max_series(mut self, limit: usize) -> Self {
        self.options = self.options.max_series(limit);
        self
    }

    /// Evict idle series (see [`Options::evict_idle_after`]).
    pub fn evict_idle_after(mut self, collections: u32) -> Self {
        self.options = self.options.evict_idle_after(collections);
        self
    }
}

macro_rules! build {
    ($($m:ty),*) => {$(
        impl<S: LabelShape> FamilyBuilder<'_, $m, S> {
            /// Registers (or finds) the family (see
            /// [`Registry::counter_family`] for what a re-registration
            /// returns).
            pub fn build(self) -> Result<Family<$m, S>, RegistryError> {
                self.registry.family(self.options)
            }
        }
    )*};
}

build!(Counter, Gauge, FloatGauge, Histogram);

impl<S> FamilyBuilder<'_, Histogram, S> {
    /// Bucket precision (default: [`Precision::DEFAULT`]).
    pub fn precision(mut self, precision: Precision) -> Self {
        self.options = self.options.precision(precision);
        self
    }

    /// The `le` bounds of the classic buckets, in the exported unit
    /// (seconds for time); see [`Options::buckets`]. Invalid bounds make
    /// [`build`](Self::build) fail with [`RegistryError::InvalidBuckets`].
    pub fn buckets(mut self, le: &[f64]) -> Self {
        self.options = self.options.buckets(le);
        self
    }
}

impl<M, S> fmt::Debug for FamilyBuilder<'_, M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FamilyBuilder")
            .field("options", &self.options)
            .finish()
    }
}
