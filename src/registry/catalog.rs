//! [`Catalog`]: every registered metric by name, and registration itself:
//! a new name makes a metric, a known one hands back the same metric if
//! the registration matches it, or says what differs.
//!
//! One name may have several entries, all exported as one family and
//! sharing one descriptor (kind, unit, precision, help):
//!
//! - **siblings** differ only in their constant labels' values (registered
//!   through views with
//!   [`with_const_labels`](crate::Registry::with_const_labels)); they agree
//!   on label names and constant label names, so their series, each
//!   prefixed by its entry's constant labels, never meet;
//! - **shapes** ([`Catalog::register_shape`]) differ in their label names
//!   (a plain histogram and a family by `outcome`, say), which the
//!   Prometheus data model allows; the collector merges their series
//!   (`collect.rs`).
#![forbid(unsafe_code)]

use super::error::Conflict;
use super::kind::{Kind, Labeling, Make, Registered, Registration};
use super::options::Options;
use super::RegistryError;
use crate::descriptor::{Descriptor, MetricKind};
use crate::family::SeriesCtx;
use crate::snapshot::LabelSet;
use crate::sync::{Arc, FrozenArc};
use std::collections::HashMap;

/// The registered metrics, in registration order (the order of snapshots).
#[derive(Default)]
pub(crate) struct Catalog {
    entries: Vec<Entry>,
    /// Name → the entries of that name (siblings and shapes: see the
    /// module docs), the first registered first.
    by_name: HashMap<String, Vec<usize>>,
    /// Every exported name (family and sample names) → the entry using it.
    exported: HashMap<String, usize>,
    /// How many times entries were removed: a collector holding a copy of
    /// `entries` starts over when it changed (otherwise entries only grow).
    removals: u64,
}

/// Most shapes one name can have, the first included: label names known
/// only at run time cannot make a name's shapes grow without bound.
pub(crate) const MAX_SHAPES: usize = 16;

/// One registered metric.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) descriptor: Arc<Descriptor>,
    /// A family's label names or a state set's states; `None` for an
    /// unlabeled metric. A re-registration must ask for the same.
    labels: Option<FrozenArc<[String]>>,
    // Immutable once registered: nothing about the pointer needs modelling.
    pub(crate) metric: FrozenArc<dyn Registered>,
    /// The family this metric is an internal counter of (`<family>_overflow`,
    /// `<family>_evicted`); `None` for a metric registered by the user.
    owner: Option<String>,
    /// Whether a callback computes it ([`Kind::COMPUTED`]).
    computed: bool,
    /// Labels put before its own on every series it exports (empty but for
    /// a metric registered through a view with constant labels).
    pub(crate) const_labels: LabelSet,
}

impl Catalog {
    /// Every registered metric, in registration order.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// How many times entries were removed ([`unregister`](Self::unregister)).
    pub(crate) fn removals(&self) -> u64 {
        self.removals
    }

    /// Removes metric `name` with the internal counters of a family of that
    /// name; `false` (and no change) if there is no such metric with
    /// constant labels `const_labels`, or it is a family's internal counter
    /// (removed with its family only). Its handles keep recording into
    /// cells no collection reads any more; their slots are not reused.
    pub(crate) fn unregister(&mut self, name: &str, const_labels: &LabelSet) -> bool {
        match self.find(name, const_labels) {
            Some(i) if self.entries[i].owner.is_none() => {}
            _ => return false,
        }
        self.entries.retain(|e| {
            let owned = e.descriptor.name == name || e.owner.as_deref() == Some(name);
            !owned || e.const_labels != *const_labels
        });
        self.by_name.clear();
        self.exported.clear();
        for (i, e) in self.entries.iter().enumerate() {
            let name = e.descriptor.name.clone();
            self.by_name.entry(name).or_default().push(i);
            for n in e.descriptor.exported_names() {
                self.exported.insert(n, i);
            }
        }
        self.removals += 1;
        true
    }

    /// Registers `options` as a `K`, or returns the metric already
    /// registered under that name if it is a `K` with the same unit,
    /// precision and `labels` (a different help text is ignored: the first
    /// one is kept). The caller has validated the names. `owner` names the
    /// family registering one of its internal counters; such a counter is
    /// never handed to another registration, nor merged with one.
    ///
    /// `ctx` carries what makes cells; its precision and unit are replaced
    /// by the options'.
    pub(crate) fn register<K: Make>(
        &mut self,
        ctx: &SeriesCtx,
        options: &Options,
        labels: Option<FrozenArc<[String]>>,
        owner: Option<&str>,
    ) -> Result<K, RegistryError> {
        self.register_made(ctx, options, labels, owner, K::make)
    }

    /// [`register`](Self::register), with `make` making the metric when
    /// the name is new.
    pub(crate) fn register_made<K: Kind>(
        &mut self,
        ctx: &SeriesCtx,
        options: &Options,
        labels: Option<FrozenArc<[String]>>,
        owner: Option<&str>,
        make: impl FnOnce(&mut Registration<'_>) -> Result<K, RegistryError>,
    ) -> Result<K, RegistryError> {
        let precision = (K::KIND == MetricKind::Histogram).then_some(options.precision);
        if let (MetricKind::Histogram, Some(Err(error))) = (K::KIND, &options.buckets) {
            return Err(RegistryError::InvalidBuckets {
                name: options.name.clone(),
                error: *error,
            });
        }
        let sibling = match self.by_name.get(&options.name) {
            Some(ids) => {
                let e = &self.entries[ids[0]];
                if let Some(family) = e.owner.as_deref().or(owner) {
                    // A family's own counter asked for by anyone else, or a
                    // name a family needs taken by someone else: never merged.
                    if e.owner.as_deref() != owner {
                        return Err(RegistryError::Reserved {
                            name: options.name.clone(),
                            family: family.to_owned(),
                        });
                    }
                }
                // The entry with these constant labels and these label
                // names; else one with these constant labels (another
                // shape: an error here, a new shape for `register_shape`).
                let mut same_const = ids
                    .iter()
                    .copied()
                    .filter(|&i| self.entries[i].const_labels == options.const_labels);
                let exact = same_const
                    .clone()
                    .find(|&i| self.entries[i].labels == labels);
                if let Some(i) = exact.or_else(|| same_const.next()) {
                    return self.entries[i].same::<K>(options, precision, labels);
                }
                // A sibling: the shape with these label names (if any) is
                // the one it must match but for the constant labels' values.
                let model = (ids.iter().copied())
                    .find(|&i| self.entries[i].labels == labels)
                    .unwrap_or(ids[0]);
                let e = &self.entries[model];
                e.sibling::<K>(options, precision, &labels)?;
                Some(e.descriptor.clone())
            }
            None => None,
        };
        let new_name = sibling.is_none();
        let descriptor = match sibling {
            Some(d) => d,
            None => self.new_descriptor::<K>(options, precision, owner)?,
        };
        let metric = self.make(ctx, options, &labels, make)?;
        let index = self.entries.len();
        let ids = self.by_name.entry(descriptor.name.clone()).or_default();
        ids.push(index);
        if new_name {
            for name in descriptor.exported_names() {
                self.exported.insert(name, index);
            }
        }
        self.entries.push(Entry {
            descriptor,
            labels,
            metric: FrozenArc::new(metric.clone()),
            owner: owner.map(str::to_owned),
            computed: K::COMPUTED,
            const_labels: options.const_labels.clone(),
        });
        Ok(metric)
    }

    /// [`register`](Self::register), except that a name registered with
    /// other label names (or without labels, or with them where this
    /// registration has none) gets this shape beside the ones it has, if
    /// kind, unit and precision are the same. Refused with
    /// [`Conflict::LabelNames`] when a shape has the same label names in
    /// another order (their series would be the same series), or when the
    /// name has [`MAX_SHAPES`] shapes already.
    #[cfg_attr(
        any(loom, not(any(feature = "metrics-facade", feature = "macros"))),
        allow(dead_code)
    )]
    pub(crate) fn register_shape<K: Make>(
        &mut self,
        ctx: &SeriesCtx,
        options: &Options,
        labels: Option<FrozenArc<[String]>>,
    ) -> Result<K, RegistryError> {
        match self.register::<K>(ctx, options, labels.clone(), None) {
            Err(RegistryError::Conflict {
                what: Conflict::LabelNames | Conflict::Labeled,
                ..
            }) if K::LABELING != Labeling::States => {}
            other => return other,
        }
        // `register` has looked for a shape with these labels already.
        let shapes: Vec<usize> = self.by_name[&options.name]
            .iter()
            .copied()
            .filter(|&i| self.entries[i].const_labels == options.const_labels)
            .collect();
        let wanted = name_set(&labels);
        let reordered = (shapes.iter()).any(|&i| name_set(&self.entries[i].labels) == wanted);
        if reordered || shapes.len() >= MAX_SHAPES {
            return Err(RegistryError::Conflict {
                name: options.name.clone(),
                what: Conflict::LabelNames,
            });
        }
        let descriptor = self.entries[shapes[0]].descriptor.clone();
        let metric = self.make(ctx, options, &labels, K::make)?;
        let index = self.entries.len();
        self.by_name
            .entry(options.name.clone())
            .or_default()
            .push(index);
        self.entries.push(Entry {
            descriptor,
            labels,
            metric: FrozenArc::new(metric.clone()),
            owner: None,
            computed: K::COMPUTED,
            const_labels: options.const_labels.clone(),
        });
        Ok(metric)
    }

    /// A new `K` for `options`, made by `make`; its cells are made by `ctx`
    /// with the options' precision and unit.
    fn make<K>(
        &mut self,
        ctx: &SeriesCtx,
        options: &Options,
        labels: &Option<FrozenArc<[String]>>,
        make: impl FnOnce(&mut Registration<'_>) -> Result<K, RegistryError>,
    ) -> Result<K, RegistryError> {
        make(&mut Registration {
            catalog: self,
            options,
            labels: labels.clone().unwrap_or_default(),
            ctx: SeriesCtx {
                precision: options.precision,
                unit: options.unit,
                ..ctx.clone()
            },
        })
    }

    /// The entry `name` with constant labels `const_labels`.
    fn find(&self, name: &str, const_labels: &LabelSet) -> Option<usize> {
        let ids = self.by_name.get(name)?;
        ids.iter()
            .copied()
            .find(|&i| self.entries[i].const_labels == *const_labels)
    }

    /// The descriptor of a metric with a name not registered yet, unless
    /// one of the names it would export is taken.
    fn new_descriptor<K: Kind>(
        &self,
        options: &Options,
        precision: Option<crate::Precision>,
        owner: Option<&str>,
    ) -> Result<Arc<Descriptor>, RegistryError> {
        let descriptor = Descriptor {
            name: options.name.clone(),
            help: help_or_default(options),
            unit: options.unit,
            kind: K::KIND,
            precision,
            buckets: match (K::KIND, &options.buckets) {
                (MetricKind::Histogram, Some(Ok(b))) => Some(b.clone()),
                _ => None,
            },
            internal: owner.is_some(),
            text: Default::default(),
        };
        let exported = descriptor.exported_names();
        if let Some((name, &i)) = exported
            .iter()
            .find_map(|n| self.exported.get(n).map(|i| (n, i)))
        {
            return Err(RegistryError::Collision {
                name: options.name.clone(),
                existing: self.entries[i].descriptor.name.clone(),
                exported: name.clone(),
            });
        }
        Ok(Arc::new(descriptor))
    }

    /// Replaces the help text of the `kind` metric `name` (of all its
    /// siblings and shapes); `false` (and no change) if there is no such metric.
    pub(crate) fn set_help(&mut self, name: &str, kind: MetricKind, help: &str) -> bool {
        let Some(ids) = self.by_name.get(name) else {
            return false;
        };
        let first = &self.entries[ids[0]].descriptor;
        if first.kind != kind {
            return false;
        }
        if first.help != help {
            let mut d = (**first).clone();
            d.help = help.to_owned();
            let d = Arc::new(d);
            for &i in ids {
                self.entries[i].descriptor = d.clone();
            }
        }
        true
    }
}

impl Entry {
    /// This metric, for a registration of the same name, if it asks for
    /// the same; otherwise what differs.
    fn same<K: Kind>(
        &self,
        options: &Options,
        precision: Option<crate::Precision>,
        labels: Option<FrozenArc<[String]>>,
    ) -> Result<K, RegistryError> {
        let conflict = |what| RegistryError::Conflict {
            name: options.name.clone(),
            what,
        };
        self.matches::<K>(options, precision, &labels)?;
        if self.computed || K::COMPUTED {
            return Err(conflict(Conflict::Callback));
        }
        // Same kind and labeling: the same type (a family and a plain
        // metric of one kind differ in `labels`, caught above).
        match self.metric.as_any().downcast_ref::<K>() {
            Some(metric) => Ok(metric.clone()),
            None => Err(conflict(Conflict::Labeled)),
        }
    }

    /// Whether a registration of this entry's name with other constant
    /// labels can be its sibling: the same family but for the constant
    /// labels' values.
    fn sibling<K: Kind>(
        &self,
        options: &Options,
        precision: Option<crate::Precision>,
        labels: &Option<FrozenArc<[String]>>,
    ) -> Result<(), RegistryError> {
        self.matches::<K>(options, precision, labels)?;
        let names = |l: &LabelSet| l.iter().map(|(k, _)| k.to_owned()).collect::<Vec<_>>();
        if names(&self.const_labels) != names(&options.const_labels) {
            return Err(RegistryError::Conflict {
                name: options.name.clone(),
                what: Conflict::ConstLabels,
            });
        }
        Ok(())
    }

    /// Whether a registration asks for this entry's kind, unit, precision
    /// and labels; otherwise what differs.
    fn matches<K: Kind>(
        &self,
        options: &Options,
        precision: Option<crate::Precision>,
        labels: &Option<FrozenArc<[String]>>,
    ) -> Result<(), RegistryError> {
        let d = &self.descriptor;
        let conflict = |what| RegistryError::Conflict {
            name: options.name.clone(),
            what,
        };
        if d.kind != K::KIND {
            return Err(RegistryError::KindMismatch {
                name: options.name.clone(),
                existing: d.kind,
                requested: K::KIND,
            });
        }
        if d.unit != options.unit {
            return Err(conflict(Conflict::Unit));
        }
        if d.precision != precision {
            return Err(conflict(Conflict::Precision));
        }
        // Bounds asked for must be the registered ones; a registration
        // asking for none takes the metric as it is.
        if let (MetricKind::Histogram, Some(Ok(b))) = (K::KIND, &options.buckets) {
            if d.buckets.as_ref() != Some(b) {
                return Err(conflict(Conflict::Buckets));
            }
        }
        if self.labels != *labels {
            return Err(conflict(match (&self.labels, K::LABELING) {
                (None, _) => Conflict::Labeled,
                (Some(_), Labeling::States) => Conflict::States,
                (Some(_), Labeling::Pairs) => Conflict::Info,
                (Some(_), _) => Conflict::LabelNames,
            }));
        }
        Ok(())
    }
}

/// The label names of `labels`, sorted: two shapes with the same set in
/// another order would export the same series.
fn name_set(labels: &Option<FrozenArc<[String]>>) -> Vec<&str> {
    let mut names: Vec<&str> = labels
        .iter()
        .flat_map(|l| l.iter())
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    names
}

/// The options' help text, or one made from the name when none was given
/// (`jobs_done` → "jobs done"): every family gets a `# HELP` line, which
/// `promtool check metrics` requires.
fn help_or_default(options: &Options) -> String {
    if options.help.trim().is_empty() {
        options.name.replace('_', " ").trim().to_owned()
    } else {
        options.help.clone()
    }
}
