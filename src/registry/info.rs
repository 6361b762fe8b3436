//! Info metrics: fixed facts about the program (version, commit, build
//! flags) as the labels of one series whose value is 1, the OpenMetrics
//! `info` type; [`Registry::info`] registers them.
#![forbid(unsafe_code)]

use super::collect::Fold;
use super::kind::{Kind, Labeling, Make, Push, Registration};
use super::{Options, Registry, RegistryError};
use crate::descriptor::MetricKind;
use crate::snapshot::{LabelSet, MetricValue};

/// A registered info metric: its labels, fixed at registration.
#[derive(Clone)]
pub(crate) struct Info {
    labels: LabelSet,
}

impl Kind for Info {
    const KIND: MetricKind = MetricKind::Info;
    const LABELING: Labeling = Labeling::Pairs;

    fn fold(&self, _: &mut Fold<'_>, push: &mut Push<'_>) {
        push(self.labels.clone(), MetricValue::Info);
    }
}

impl Make for Info {
    fn make(r: &mut Registration<'_>) -> Result<Self, RegistryError> {
        // `Labeling::Pairs`: names and values alternate.
        let pairs = r
            .labels
            .chunks_exact(2)
            .map(|p| (p[0].as_str(), p[1].as_str()));
        Ok(Info {
            labels: LabelSet::new(pairs),
        })
    }
}

impl Registry {
    /// Registers the info metric `name`: one series with `labels` as its
    /// facts, exported as OpenMetrics `info` (`build_info{version="1.2.3"}
    /// 1`: the sample name ends with `_info`, which `name` may end with
    /// too) and as a gauge `build_info` in Prometheus text.
    ///
    /// The labels are fixed: registering `name` again with the same labels
    /// is a no-op, with others `RegistryError::Conflict`
    /// ([`Conflict::Info`](crate::Conflict::Info)). Label names follow the
    /// rules of a family's; label values may be any UTF-8.
    ///
    /// ```
    /// use hotmetrics::Registry;
    /// let reg = Registry::new();
    /// reg.info("build", "Build information", &[("version", "1.2.3"), ("commit", "4f2a9c1")])?;
    /// let text = hotmetrics::export::prometheus::render(&reg.collect());
    /// assert!(text.contains("\nbuild_info{version=\"1.2.3\",commit=\"4f2a9c1\"} 1\n"));
    /// # Ok::<(), hotmetrics::RegistryError>(())
    /// ```
    pub fn info<K: AsRef<str>, V: AsRef<str>>(
        &self,
        name: &str,
        help: &str,
        labels: &[(K, V)],
    ) -> Result<(), RegistryError> {
        let pairs: Vec<&str> = labels
            .iter()
            .flat_map(|(k, v)| [k.as_ref(), v.as_ref()])
            .collect();
        self.register::<Info>(Options::new(name, help).labels(&pairs))
            .map(drop)
    }
}
