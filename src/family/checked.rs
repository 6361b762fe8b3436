//! The checked form of a [`Dyn`] family: label names known only at run
//! time, so the number of values is checked when a label set is new.
#![forbid(unsafe_code)]

use super::family::Family;
use super::labels::{Dyn, LabelValues, Labels};
use super::series_ref::SeriesRef;
use std::error::Error;
use std::fmt;

/// A label set with another number of values than its family has label
/// names, refused by a [`Dyn`] family's [`try_get`](Family::try_get) or
/// [`try_with`](Family::try_with).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelError {
    metric: String,
    names: Vec<String>,
    given: usize,
}

impl LabelError {
    /// The family's name.
    pub fn metric(&self) -> &str {
        &self.metric
    }

    /// The number of label values the family takes.
    pub fn expected(&self) -> usize {
        self.names.len()
    }

    /// The number of label values given.
    pub fn given(&self) -> usize {
        self.given
    }
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expected = self.names.len();
        write!(
            f,
            "metric {:?} takes {expected} label value{} ({}), {} given",
            self.metric,
            if expected == 1 { "" } else { "s" },
            self.names.join(", "),
            self.given
        )
    }
}

impl Error for LabelError {}

impl<M: Clone> Family<M, Dyn> {
    /// The series of `labels` (see [`Family::get`]), or an error naming the
    /// metric, the expected and the given number of values if `labels` has
    /// another number of values than the family has label names.
    ///
    /// Finding an existing series is lock-free and allocation-free, as in
    /// a typed family; the count is one comparison.
    ///
    /// ```
    /// use hotmetrics::{Options, Registry};
    ///
    /// let reg = Registry::new();
    /// // Label names read from a configuration file at run time.
    /// let names: Vec<String> = vec!["queue".into(), "priority".into()];
    /// let jobs = reg.counter_family_with(Options::new("jobs", "Jobs").labels(&names)).unwrap();
    ///
    /// jobs.try_get(&["mail", "high"]).unwrap().inc();
    /// let err = jobs.try_get(&["mail"]).unwrap_err();
    /// assert_eq!((err.expected(), err.given()), (2, 1));
    /// assert_eq!(err.to_string(), r#"metric "jobs" takes 2 label values (queue, priority), 1 given"#);
    ///
    /// // Where no `Result` can be returned, the refusal is counted:
    /// jobs.inc(&vec!["mail"]);
    /// let snap = reg.collect();
    /// assert_eq!(snap.counter_with("hotmetrics_label_arity_errors", &[("metric", "jobs")]), Some(1));
    /// assert_eq!(snap.counter_with("jobs", &[("queue", "mail"), ("priority", "high")]), Some(1));
    /// ```
    #[inline]
    pub fn try_get<L: Labels<Dyn> + ?Sized>(
        &self,
        labels: &L,
    ) -> Result<SeriesRef<'_, M>, LabelError> {
        self.check(labels)?;
        match self.lookup(labels) {
            Some(series) => Ok(series),
            // Unreachable: the count was checked.
            None => Err(self.error(labels.label_count())),
        }
    }

    /// A handle to the series of `labels` (see [`Family::with`]), or an
    /// error if `labels` has another number of values than the family has
    /// label names.
    pub fn try_with<L: Labels<Dyn> + ?Sized>(&self, labels: &L) -> Result<M, LabelError> {
        self.check(labels)?;
        Ok(self.bind(labels))
    }

    #[inline]
    fn check<L: LabelValues + ?Sized>(&self, labels: &L) -> Result<(), LabelError> {
        let given = labels.label_count();
        if given == self.label_names().len() {
            Ok(())
        } else {
            Err(self.error(given))
        }
    }

    #[cold]
    fn error(&self, given: usize) -> LabelError {
        LabelError {
            metric: self.name().to_owned(),
            names: self.label_names().to_vec(),
            given,
        }
    }
}
