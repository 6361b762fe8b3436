//! [`Kind`]: what each kind of metric tells the registry — how it is made
//! from a registration and how it folds into a snapshot.
//!
//! Registration and collection are written once, generically over this
//! trait; the catalog keeps each metric as a [`Registered`] trait object
//! and hands a re-registration back its concrete type by downcasting, so
//! no code path matches over kinds. Adding a kind of metric is one type
//! implementing [`Kind`] here (plus how the exporters write its
//! [`MetricValue`]).
//!
//! The trait is crate-private, so it is sealed: the public API registers
//! through the typed methods of [`Registry`](super::Registry).

use super::catalog::Catalog;
use super::collect::Fold;
use super::options::Options;
use super::RegistryError;
use crate::descriptor::MetricKind;
use crate::family::{CellAccess, Eviction, Family, SeriesCtx, SeriesMetric, StateSet};
use crate::handle::{Counter, FloatGauge, Gauge, Histogram};
use crate::snapshot::{LabelSet, MetricValue};
use crate::sync::FrozenArc;
use std::any::Any;

/// What a registration carries besides name, unit and precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Labeling {
    /// Nothing: one unlabeled series.
    Unlabeled,
    /// Label names ([`Options::labels`]): a family.
    LabelNames,
    /// A list of states ([`Options::labels`]): a state set.
    States,
    /// Label names and values, alternating ([`Options::labels`]): an info
    /// metric, whose labels are its facts.
    Pairs,
}

/// Where the collector pushes a metric's series: label set and value.
pub(crate) type Push<'a> = dyn FnMut(LabelSet, MetricValue) + 'a;

/// A kind of registered metric.
pub(crate) trait Kind: Clone + Send + Sync + 'static {
    /// The kind it is registered and exported as.
    const KIND: MetricKind;
    /// What its registration carries.
    const LABELING: Labeling;
    /// Whether its value is computed by a callback at collection
    /// (`callback.rs`): such a metric is registered once, never handed to
    /// another registration.
    const COMPUTED: bool = false;

    /// Collection phase 1, before any cell is read (see
    /// `family/evict.rs`); nothing for most kinds.
    fn prepare(&self) {}

    /// Collection phase 2: pushes the metric's series.
    fn fold(&self, fold: &mut Fold<'_>, push: &mut Push<'_>);
}

/// A kind the catalog makes from a registration alone (a callback metric
/// also needs its callback, so it is made by its registration instead).
pub(crate) trait Make: Kind {
    /// A new metric for a registration the catalog has not seen yet.
    fn make(r: &mut Registration<'_>) -> Result<Self, RegistryError>;
}

/// A metric with cells of its own, plain or as a family's series: how the
/// collector reads its value.
pub(crate) trait Cells: SeriesMetric {
    /// The kind it is registered as.
    const KIND: MetricKind;

    /// The total of its cells; `None` for a metric registered after the
    /// collection started.
    fn read(&self, fold: &mut Fold<'_>) -> Option<MetricValue>;

    /// Frees what its cells allocated as they were recorded into (nothing
    /// but for a histogram) and returns the metric to recycle. Only for a
    /// family's reclaimed series (see `CellAccess::release`).
    fn release(&self, _fold: &mut Fold<'_>) -> Self {
        self.clone()
    }
}

/// A family's access to its series' cells during a collection.
struct SeriesCells<'f, 'a>(&'f mut Fold<'a>);

impl<M: Cells> CellAccess<M> for SeriesCells<'_, '_> {
    fn read(&mut self, metric: &M) -> Option<MetricValue> {
        metric.read(self.0)
    }

    fn release(&mut self, metric: &M) -> M {
        metric.release(self.0)
    }
}

/// A registration in progress: the options, the label names or states
/// (empty when unlabeled), what makes cells, and the catalog (for the
/// counters a family registers beside itself).
pub(crate) struct Registration<'a> {
    pub(super) catalog: &'a mut Catalog,
    pub(super) options: &'a Options,
    pub(super) labels: FrozenArc<[String]>,
    pub(super) ctx: SeriesCtx,
}

impl Registration<'_> {
    /// Registers (or finds) the plain counter `name` beside the metric
    /// being registered.
    fn companion(&mut self, name: String, help: String) -> Result<Counter, RegistryError> {
        let mut options = Options::new(name, help);
        options.const_labels = self.options.const_labels.clone();
        let family = Some(self.options.name.as_str());
        self.catalog
            .register::<Counter>(&self.ctx, &options, None, family)
    }
}

macro_rules! cells_kind {
    ($($ty:ty => $kind:ident),* $(,)?) => {$(
        impl Make for $ty {
            fn make(r: &mut Registration<'_>) -> Result<Self, RegistryError> {
                <$ty as SeriesMetric>::make(&r.ctx).ok_or(RegistryError::Full)
            }
        }

        impl Kind for $ty {
            const KIND: MetricKind = MetricKind::$kind;
            const LABELING: Labeling = Labeling::Unlabeled;

            fn fold(&self, fold: &mut Fold<'_>, push: &mut Push<'_>) {
                if let Some(v) = self.read(fold) {
                    push(LabelSet::empty(), v);
                }
            }
        }
    )*};
}

cells_kind!(
    Counter => Counter,
    Gauge => Gauge,
    FloatGauge => FloatGauge,
    Histogram => Histogram,
);

impl Cells for Counter {
    const KIND: MetricKind = MetricKind::Counter;

    fn read(&self, fold: &mut Fold<'_>) -> Option<MetricValue> {
        fold.counter(self).map(MetricValue::Counter)
    }
}

impl Cells for Gauge {
    const KIND: MetricKind = MetricKind::Gauge;

    fn read(&self, _: &mut Fold<'_>) -> Option<MetricValue> {
        Some(MetricValue::Gauge(self.get()))
    }
}

impl Cells for FloatGauge {
    const KIND: MetricKind = MetricKind::FloatGauge;

    fn read(&self, _: &mut Fold<'_>) -> Option<MetricValue> {
        Some(MetricValue::FloatGauge(self.get()))
    }
}

impl Cells for Histogram {
    const KIND: MetricKind = MetricKind::Histogram;

    fn read(&self, fold: &mut Fold<'_>) -> Option<MetricValue> {
        fold.histogram(self).map(MetricValue::Histogram)
    }

    fn release(&self, fold: &mut Fold<'_>) -> Histogram {
        // SAFETY: called only through `CellAccess::release`, whose contract
        // is that of `release_histogram`: the histogram's series was
        // reclaimed (no guard that could reach it is left, so nothing
        // records into it), and it is recorded into again only as the
        // metric of a new series, taken from the family's free list under
        // its lock after this call and published to lookups by the
        // table's Release store.
        // The collector (this thread) is the only other reader of the
        // cells, and reads them again only after `forget_histogram`.
        unsafe { fold.storage().release_histogram(self.slot()) };
        fold.forget_histogram(self);
        // Under a new key: a thread's cache of the freed cells, filed under
        // this handle's key, is never asked for again.
        self.renamed()
    }
}

impl<M: Cells> Make for Family<M> {
    fn make(r: &mut Registration<'_>) -> Result<Self, RegistryError> {
        let name = &r.options.name;
        let overflowed = r.companion(
            format!("{name}_overflow"),
            format!(
                "Lookups of `{name}` that found its series limit reached (recorded into its overflow=\"true\" series)"
            ),
        )?;
        let after = u64::from(r.options.evict_after);
        let counter = if after == 0 {
            None
        } else {
            Some(r.companion(
                format!("{name}_evicted"),
                format!(
                    "Final values of evicted `{name}` series (for a gauge family: how many were evicted)"
                ),
            )?)
        };
        Family::new(
            name.clone(),
            r.labels.clone(),
            r.options.max_series,
            overflowed,
            Eviction { after, counter },
            r.ctx.clone(),
        )
        .ok_or(RegistryError::Full)
    }
}

impl<M: Cells> Kind for Family<M> {
    const KIND: MetricKind = <M as Cells>::KIND;
    const LABELING: Labeling = Labeling::LabelNames;

    fn prepare(&self) {
        Family::prepare(self);
    }

    fn fold(&self, fold: &mut Fold<'_>, push: &mut Push<'_>) {
        let overflowed = fold.counter(self.overflowed());
        self.collect(&mut SeriesCells(fold), overflowed, push);
    }
}

impl Make for StateSet {
    fn make(r: &mut Registration<'_>) -> Result<Self, RegistryError> {
        Ok(StateSet::new(r.labels.clone()))
    }
}

impl Kind for StateSet {
    const KIND: MetricKind = MetricKind::StateSet;
    const LABELING: Labeling = Labeling::States;

    fn fold(&self, _: &mut Fold<'_>, push: &mut Push<'_>) {
        push(LabelSet::empty(), MetricValue::StateSet(self.read()));
    }
}

/// A registered metric as the catalog keeps it: any [`Kind`], behind one
/// trait object.
pub(crate) trait Registered: Send + Sync {
    /// [`Kind::prepare`].
    fn prepare(&self);
    /// [`Kind::fold`].
    fn fold(&self, fold: &mut Fold<'_>, push: &mut Push<'_>);
    /// The concrete metric, for a re-registration to downcast.
    fn as_any(&self) -> &dyn Any;
}

impl<K: Kind> Registered for K {
    fn prepare(&self) {
        Kind::prepare(self);
    }

    fn fold(&self, fold: &mut Fold<'_>, push: &mut Push<'_>) {
        Kind::fold(self, fold, push);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
