//! Run-time support for the code `#[track_latency]` generates. Not public
//! API: hidden from the docs, and may change in any release.
//!
//! Each timed function has one `static` site, registered on its first
//! call in the registry the attribute names ([`global()`] by default), as
//! a *shape* of its metric name (see `registry/catalog.rs`): functions
//! sharing a name with the same label names share one histogram; with other
//! label names (a plain site and an `outcome` one, say) each records into
//! series of its own under the same family. A site that cannot be
//! registered at all (the name is another kind of metric, or has another
//! unit) runs untimed, and says so: one warning through the `log` facade
//! and every untimed call counted in
//! `hotmetrics_track_latency_untimed{metric, reason}` of that registry.
#![forbid(unsafe_code)]

use crate::family::{Family, LabelError};
use crate::registry::{Conflict, Options, Registry, RegistryError};
use crate::{global, Counter, Histogram, HistogramFamily, Timer, Unit};
use std::fmt;

// shim-exempt: a one-time lazy registration, not recording state; it is not
// modelled under loom (this module does not exist there).
pub use std::sync::LazyLock;

/// The name of the counter family of untimed calls.
pub const UNTIMED: &str = "hotmetrics_track_latency_untimed";

/// What `registry = ...` of `#[track_latency]` accepts.
#[diagnostic::on_unimplemented(
    message = "`#[track_latency(registry = ...)]` needs a `Registry` or a `&Registry`, not `{Self}`",
    label = "not a registry"
)]
pub trait AsRegistry {
    /// The registry.
    fn as_registry(&self) -> &Registry;
}

impl AsRegistry for Registry {
    fn as_registry(&self) -> &Registry {
        self
    }
}

impl<R: AsRegistry + ?Sized> AsRegistry for &R {
    fn as_registry(&self) -> &Registry {
        (**self).as_registry()
    }
}

impl<R: AsRegistry + ?Sized> AsRegistry for crate::sync::FrozenArc<R> {
    fn as_registry(&self) -> &Registry {
        (**self).as_registry()
    }
}

/// The registry `#[track_latency]` uses when none is given.
pub fn default_registry() -> &'static Registry {
    global()
}

/// Where a function's series were to be registered, for the warning and
/// the untimed counter: `function` is its path (`module::name`).
#[derive(Clone, Copy, Debug)]
pub struct SiteInfo {
    /// The metric name.
    pub name: &'static str,
    /// The help text.
    pub help: &'static str,
    /// The function, as `module_path!()::name`.
    pub function: &'static str,
}

/// The histogram of a function timed by `#[track_latency]` (with or
/// without `labels`), or the counter of its untimed calls.
#[derive(Debug)]
pub struct Site {
    histogram: Result<Histogram, Option<Counter>>,
}

impl Site {
    /// Starts timing a call; `None` (and the call counted as untimed) if
    /// the site could not be registered.
    #[inline]
    pub fn start_timer(&self) -> Option<Timer<'_>> {
        match &self.histogram {
            Ok(h) => Some(h.start_timer()),
            Err(untimed) => {
                if let Some(c) = untimed {
                    c.inc();
                }
                None
            }
        }
    }
}

/// Registers (or finds) the nanosecond histogram `site.name` on
/// `registry`, with label names `keys` and bound to `values` if there are
/// any.
pub fn latency_site(
    registry: impl AsRegistry,
    site: SiteInfo,
    keys: &[&'static str],
    values: &[&'static str],
) -> Site {
    let registry = registry.as_registry();
    let options = Options::new(site.name, site.help).unit(Unit::Nanoseconds);
    let histogram = if keys.is_empty() {
        registry
            .register_shape::<Histogram>(options)
            .map_err(Refusal::Registry)
    } else {
        registry
            .register_shape::<Family<Histogram>>(options.labels(keys))
            .map_err(Refusal::Registry)
            .and_then(|family| family.try_with(values).map_err(Refusal::Labels))
    };
    Site {
        histogram: histogram.map_err(|e| untimed(registry, site, &e)),
    }
}

/// Warns (once per site: registration runs once) that `site` runs
/// untimed, and returns the counter of its untimed calls.
#[cold]
fn untimed(registry: &Registry, site: SiteInfo, error: &Refusal) -> Option<Counter> {
    let reason = error.reason();
    log::warn!(
        "#[track_latency] on `{}`: {error}; its calls are not timed, and are counted in \
         `{UNTIMED}_total{{metric=\"{}\",reason=\"{reason}\"}}`",
        site.function,
        site.name,
    );
    let family = registry
        .counter_family(
            UNTIMED,
            "Calls of functions timed with #[track_latency] whose histogram could not be \
             registered, by metric name and reason",
            &["metric", "reason"],
        )
        .ok()?;
    Some(family.with(&[site.name, reason]))
}

/// Why a site runs untimed.
#[derive(Debug)]
enum Refusal {
    /// The registry refused the histogram (or its family).
    Registry(RegistryError),
    /// The family refused the label values (the macro gives as many values
    /// as names, so this is not expected).
    Labels(LabelError),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Registry(e) => e.fmt(f),
            Refusal::Labels(e) => e.fmt(f),
        }
    }
}

impl Refusal {
    /// The `reason` label of an untimed call.
    fn reason(&self) -> &'static str {
        match self {
            Refusal::Labels(_) => "labels",
            Refusal::Registry(e) => registry_reason(e),
        }
    }
}

/// The `reason` label of a registration refused by the registry.
fn registry_reason(e: &RegistryError) -> &'static str {
    match e {
        RegistryError::KindMismatch { .. } => "kind",
        RegistryError::Conflict {
            what: Conflict::Unit,
            ..
        } => "unit",
        RegistryError::Conflict {
            what: Conflict::Precision,
            ..
        } => "precision",
        RegistryError::Conflict { .. } => "labels",
        RegistryError::Reserved { .. } => "reserved",
        RegistryError::Collision { .. } => "collision",
        RegistryError::Full => "full",
        _ => "invalid_name",
    }
}

/// The three series of a function timed with `#[track_latency(outcome)]`:
/// `outcome="ok"` and `"err"`, bound at registration, and `"panic"`,
/// created by the first panic (so that an exposition has no all-zero
/// series for panics that never happened).
#[derive(Debug)]
pub struct OutcomeSeries {
    ok: Histogram,
    err: Histogram,
    family: HistogramFamily,
    /// The label values of the panic series (`values` and `"panic"`).
    panic: Box<[&'static str]>,
}

/// The series of a function timed with `#[track_latency(outcome)]`, or the
/// counter of its untimed calls.
#[derive(Debug)]
pub struct OutcomeSite {
    series: Result<OutcomeSeries, Option<Counter>>,
}

/// Registers (or finds) the nanosecond histogram family `site.name` with
/// label names `keys` and `outcome` on `registry`, and binds its three
/// series for `values`.
pub fn outcome_site(
    registry: impl AsRegistry,
    site: SiteInfo,
    keys: &[&'static str],
    values: &[&'static str],
) -> OutcomeSite {
    let registry = registry.as_registry();
    let mut names = keys.to_vec();
    names.push("outcome");
    let options = Options::new(site.name, site.help)
        .unit(Unit::Nanoseconds)
        .labels(&names);
    let series = match registry.register_shape::<Family<Histogram>>(options) {
        Ok(family) => {
            let labels = |outcome: &'static str| {
                let mut labels = values.to_vec();
                labels.push(outcome);
                labels
            };
            let series = |outcome: &'static str| {
                family.try_with(&labels(outcome)).map_err(Refusal::Labels)
            };
            series("ok").and_then(|ok| {
                Ok(OutcomeSeries {
                    ok,
                    err: series("err")?,
                    panic: labels("panic").into(),
                    family: family.clone(),
                })
            })
        }
        Err(e) => Err(Refusal::Registry(e)),
    };
    let series = match series {
        Ok(series) => Ok(series),
        Err(e) => Err(untimed(registry, site, &e)),
    };
    OutcomeSite { series }
}

/// What `#[track_latency(outcome)]` can tell ok from err.
#[diagnostic::on_unimplemented(
    message = "`#[track_latency(outcome)]` needs a function returning a `Result`, not `{Self}`",
    label = "not a `Result`"
)]
pub trait IsResult {
    /// Whether this is a success.
    fn is_ok(&self) -> bool;
}

impl<T, E> IsResult for Result<T, E> {
    fn is_ok(&self) -> bool {
        Result::is_ok(self)
    }
}

/// The guard of `#[track_latency(outcome)]`: [`finish`](Self::finish) records
/// into the ok or err series; dropped unfinished (the body unwound), it
/// records into the panic series (looking it up: panics are rare, and the
/// series is created by the first).
#[must_use]
#[derive(Debug)]
pub struct OutcomeTimer<'a> {
    series: Option<&'a OutcomeSeries>,
    /// Raw clock reading; `None` if recording was off when it started.
    start: Option<u64>,
}

impl<'a> OutcomeTimer<'a> {
    /// Starts timing (reads no clock if recording is off; counts the call
    /// as untimed if the site could not be registered).
    #[inline]
    pub fn start(site: &'a OutcomeSite) -> OutcomeTimer<'a> {
        let series = match &site.series {
            Ok(s) => Some(s),
            Err(untimed) => {
                if let Some(c) = untimed {
                    c.inc();
                }
                None
            }
        };
        OutcomeTimer {
            series,
            start: series.and_then(|s| s.ok.start_raw()),
        }
    }

    /// Records the time since `start` as `ok` or `err` by `result`.
    #[inline]
    pub fn finish<R: IsResult>(mut self, result: &R) {
        if let (Some(series), Some(start)) = (self.series, self.start.take()) {
            let h = if result.is_ok() {
                &series.ok
            } else {
                &series.err
            };
            h.record_since(start);
        }
    }
}

impl Drop for OutcomeTimer<'_> {
    fn drop(&mut self) {
        if let (Some(series), Some(start)) = (self.series, self.start.take()) {
            // The panic series has as many values as the family has names
            // (checked when `ok` and `err` were bound).
            if let Ok(panic) = series.family.try_with(&*series.panic) {
                panic.record_since(start);
            }
        }
    }
}
