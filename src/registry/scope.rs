//! Registry views: a name prefix and constant labels applied to every
//! metric registered through them ([`Registry::sub`],
//! [`Registry::with_const_labels`]).
#![forbid(unsafe_code)]

use super::kind::Labeling;
use super::{name, Options, Registry, RegistryError};
use crate::descriptor::MetricKind;
use crate::names::{self, NameKind};
use crate::snapshot::LabelSet;
use crate::sync::Arc;

/// What a view applies to the metrics registered through it.
#[derive(Clone, Debug, Default)]
pub(super) struct Scope {
    /// Put before every name, with `_` between; empty for none.
    pub(super) prefix: String,
    /// Put before every series' own labels.
    pub(super) labels: LabelSet,
}

impl Scope {
    /// `name` with the prefix.
    pub(super) fn name(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}_{name}", self.prefix)
        }
    }

    /// `options` as this view registers them: prefixed name, its labels.
    pub(super) fn apply(&self, mut options: Options) -> Options {
        options.name = self.name(&options.name);
        options.const_labels = self.labels.clone();
        options
    }

    /// Refuses a constant label that a metric of `kind` with `labels`
    /// (label names, or states) also writes: the metric's own label names,
    /// a state set's name (its samples' label), a histogram's `le` and
    /// `quantile`.
    pub(super) fn check(
        &self,
        options: &Options,
        kind: MetricKind,
        labeling: Labeling,
    ) -> Result<(), RegistryError> {
        let histogram = kind == MetricKind::Histogram;
        for (label, _) in self.labels.iter() {
            let reason = if labeling == Labeling::LabelNames
                && options.labels.iter().any(|l| l == label)
            {
                Some("it is also a constant label of the registry view registering the metric")
            } else if labeling == Labeling::States && options.name == label {
                Some("a state set's samples carry its name as a label, which is also a constant label of the registry view")
            } else {
                names::reserved_label(label, histogram)
            };
            if let Some(reason) = reason {
                return Err(RegistryError::InvalidLabel {
                    name: options.name.clone(),
                    label: label.to_owned(),
                    reason,
                });
            }
        }
        Ok(())
    }
}

/// Registry views.
impl Registry {
    /// A view of this registry that registers every metric under
    /// `<prefix>_<name>` (nested views join their prefixes the same way),
    /// the equivalent of prometheus-client's `sub_registry_with_prefix`.
    ///
    /// The view is the same registry: its metrics are collected, counted
    /// and exported with all others by [`collect`](Registry::collect) on
    /// any view, and names are unique across views. Only registration,
    /// [`unregister`](Registry::unregister) and the view's own
    /// [`sub`](Registry::sub) and [`with_const_labels`](Registry::with_const_labels)
    /// see the prefix. Refused if `prefix` is not a valid metric name.
    ///
    /// ```
    /// let reg = hotmetrics::Registry::new();
    /// let db = reg.sub("myapp").unwrap().sub("db").unwrap();
    /// db.counter("queries", "Queries run").unwrap().inc();
    /// assert_eq!(reg.collect().counter("myapp_db_queries"), Some(1));
    /// ```
    pub fn sub(&self, prefix: &str) -> Result<Registry, RegistryError> {
        name::validate(prefix)?;
        let scope = Scope {
            prefix: self.scope.name(prefix),
            labels: self.scope.labels.clone(),
        };
        Ok(self.with_scope(scope))
    }

    /// A view of this registry that puts the constant labels `labels`
    /// (after the view's own, if it has some) on every series of every
    /// metric registered through it, before the series' own labels: the
    /// equivalent of prometheus-client's `sub_registry_with_label(s)` and
    /// of the `prometheus` crate's `Opts::const_labels`. A family's
    /// overflow series and internal counters get them too.
    ///
    /// Label names must be valid (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting
    /// with `__`), distinct, and not `overflow`
    /// ([`RegistryError::InvalidConstLabel`]). A metric whose own labels
    /// would repeat one is refused at registration
    /// ([`RegistryError::InvalidLabel`] naming it): a family's label name,
    /// a state set's name, `le` or `quantile` for a histogram.
    ///
    /// Views whose constant labels have the same names but other values
    /// (one per instance, shard or tenant) may each register the same
    /// metric name: each gets its own metric, and the exposition writes
    /// them as one family, one set of series per view. They must agree on
    /// kind, unit, precision and label names (as any re-registration), and
    /// on the constant label names, in order
    /// ([`Conflict::ConstLabels`](crate::Conflict) otherwise, also for a
    /// view without constant labels). Every collection copies the labels
    /// into each series of such a metric (one allocation per series);
    /// recording is not affected.
    ///
    /// ```
    /// let reg = hotmetrics::Registry::new();
    /// let api = reg.with_const_labels(&[("service", "api")]).unwrap();
    /// let req = api.counter_family("requests", "Requests", &["route"]).unwrap();
    /// req.inc(&["search"]);
    /// let snap = reg.collect();
    /// assert_eq!(
    ///     snap.counter_with("requests", &[("service", "api"), ("route", "search")]),
    ///     Some(1)
    /// );
    /// assert!(api.counter_family("other", "Other", &["service"]).is_err());
    ///
    /// // Another instance: the same name, its own series in one family.
    /// let batch = reg.with_const_labels(&[("service", "batch")]).unwrap();
    /// batch.counter_family("requests", "Requests", &["route"]).unwrap().inc(&["search"]);
    /// assert_eq!(reg.collect().series("requests").len(), 2);
    /// ```
    pub fn with_const_labels<K: AsRef<str>, V: AsRef<str>>(
        &self,
        labels: &[(K, V)],
    ) -> Result<Registry, RegistryError> {
        let mut all: Vec<(String, String)> = self.scope.labels.pairs().to_vec();
        for (k, v) in labels {
            let label = k.as_ref();
            let fail = |reason| {
                Err(RegistryError::InvalidConstLabel {
                    label: label.to_owned(),
                    reason,
                })
            };
            if let Err(reason) = names::check(label, NameKind::Label) {
                return fail(reason);
            }
            if let Some(reason) = names::reserved_label(label, false) {
                return fail(reason);
            }
            if all.iter().any(|(n, _)| n == label) {
                return fail("it is given twice (the view's labels include its parents')");
            }
            all.push((label.to_owned(), v.as_ref().to_owned()));
        }
        let scope = Scope {
            prefix: self.scope.prefix.clone(),
            labels: LabelSet::new(all),
        };
        Ok(self.with_scope(scope))
    }

    fn with_scope(&self, scope: Scope) -> Registry {
        Registry {
            inner: self.inner.clone(),
            scope: Arc::new(scope),
        }
    }
}
