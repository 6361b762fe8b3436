//! [`Catalog`]: every registered metric by name, and registration itself:
//! a new name makes a metric, a known one hands back the same metric if
//! the registration matches it, or says what differs.
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
    by_name: HashMap<String, usize>,
    /// Every exported name (family and sample names) → the entry using it.
    exported: HashMap<String, usize>,
    /// How many times entries were removed: a collector holding a copy of
    /// `entries` starts over when it changed (otherwise entries only grow).
    removals: u64,
}

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
        match self.by_name.get(name) {
            Some(&i)
                if self.entries[i].owner.is_none()
                    && self.entries[i].const_labels == *const_labels => {}
            _ => return false,
        }
        self.entries
            .retain(|e| e.descriptor.name != name && e.owner.as_deref() != Some(name));
        self.by_name.clear();
        self.exported.clear();
        for (i, e) in self.entries.iter().enumerate() {
            self.by_name.insert(e.descriptor.name.clone(), i);
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
        if let Some(&i) = self.by_name.get(&options.name) {
            let e = &self.entries[i];
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
            return e.same::<K>(options, precision, labels);
        }
        let descriptor = Arc::new(Descriptor {
            name: options.name.clone(),
            help: help_or_default(options),
            unit: options.unit,
            kind: K::KIND,
            precision,
        });
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
        let metric = make(&mut Registration {
            catalog: self,
            options,
            labels: labels.clone().unwrap_or_default(),
            ctx: SeriesCtx {
                precision: options.precision,
                unit: options.unit,
                ..ctx.clone()
            },
        })?;
        let index = self.entries.len();
        self.by_name.insert(descriptor.name.clone(), index);
        for name in exported {
            self.exported.insert(name, index);
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

    /// Replaces the help text of the `kind` metric `name`; `false` (and no
    /// change) if there is no such metric.
    pub(crate) fn set_help(&mut self, name: &str, kind: MetricKind, help: &str) -> bool {
        let Some(&i) = self.by_name.get(name) else {
            return false;
        };
        let e = &mut self.entries[i];
        if e.descriptor.kind != kind {
            return false;
        }
        if e.descriptor.help != help {
            let mut d = (*e.descriptor).clone();
            d.help = help.to_owned();
            e.descriptor = Arc::new(d);
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
        if self.computed || K::COMPUTED {
            return Err(conflict(Conflict::Callback));
        }
        if self.const_labels != options.const_labels {
            return Err(conflict(Conflict::ConstLabels));
        }
        if d.unit != options.unit {
            return Err(conflict(Conflict::Unit));
        }
        if d.precision != precision {
            return Err(conflict(Conflict::Precision));
        }
        if self.labels != labels {
            return Err(conflict(match (&self.labels, K::LABELING) {
                (None, _) => Conflict::Labeled,
                (Some(_), Labeling::States) => Conflict::States,
                (Some(_), _) => Conflict::LabelNames,
            }));
        }
        // Same kind and labeling: the same type (a family and a plain
        // metric of one kind differ in `labels`, caught above).
        match self.metric.as_any().downcast_ref::<K>() {
            Some(metric) => Ok(metric.clone()),
            None => Err(conflict(Conflict::Labeled)),
        }
    }
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
