//! [`SelfMetrics`]: the telemetry client's own metrics (accounting,
//! breaker states, pushes), registered in the client's registry.
#![forbid(unsafe_code)]

use super::accounting::Accounting;
use super::breaker::BreakerState;
use crate::{Arity, Counter, CounterFamily, Gauge, Registry, StateSet};

/// The self-metrics, registered in the client's registry.
#[derive(Debug)]
pub(crate) struct SelfMetrics {
    pub(super) accepted: Counter,
    pub(super) delivered: Counter,
    pub(super) dropped: CounterFamily<Arity<1>>,
    pub(super) pending: Gauge,
    pub(super) events_breaker: StateSet,
    pub(super) push_breaker: StateSet,
    pub(super) transitions: CounterFamily<Arity<2>>,
    pub(super) pushes: CounterFamily<Arity<1>>,
    pub(crate) panics: Counter,
    /// The OTLP push's (when one is configured).
    #[cfg(feature = "otlp")]
    pub(super) otlp: Option<OtlpMetrics>,
    pub(super) last: Accounting,
}

/// The OTLP push's self-metrics.
#[cfg(feature = "otlp")]
#[derive(Debug)]
pub(crate) struct OtlpMetrics {
    pub(super) exports: CounterFamily<Arity<1>>,
    pub(super) points: CounterFamily<Arity<1>>,
    pub(super) breaker: StateSet,
}

impl SelfMetrics {
    /// Registers the self-metrics under prefix `p`; an error if the prefix
    /// is not a valid name or a client already uses it in `reg` (the
    /// registry hands back an existing metric of the same name and kind,
    /// which two clients would then share).
    pub(crate) fn register(reg: &Registry, p: &str, otlp: bool) -> Result<SelfMetrics, &'static str> {
        let before = reg.len();
        let m = Self::register_all(reg, p, otlp).map_err(|e| match e {
            crate::RegistryError::InvalidName { .. } => "not a valid metric name prefix",
            _ => "self-metrics already registered under this prefix",
        })?;
        // As many new entries as the same registration makes in an empty
        // registry, or some already existed.
        let fresh = Registry::new();
        let _ = Self::register_all(&fresh, p, otlp);
        if reg.len() != before + fresh.len() {
            return Err("self-metrics already registered under this prefix");
        }
        Ok(m)
    }

    fn register_all(
        reg: &Registry,
        p: &str,
        #[allow(unused_variables)] otlp: bool,
    ) -> Result<SelfMetrics, crate::RegistryError> {
        let states = BreakerState::NAMES;
        #[cfg(feature = "otlp")]
        let otlp = match otlp {
            true => Some(OtlpMetrics {
                exports: small(
                    reg,
                    format!("{p}_otlp_exports"),
                    "OTLP export attempts, by result (ok, partial, refused, failed, skipped)",
                    &["result"],
                )?,
                points: small(
                    reg,
                    format!("{p}_otlp_data_points"),
                    "Data points of settled OTLP exports, by outcome (delivered, rejected, dropped)",
                    &["outcome"],
                )?,
                breaker: reg.state_set(
                    &format!("{p}_otlp_breaker"),
                    "Circuit breaker of the OTLP endpoint",
                    &states,
                )?,
            }),
            false => None,
        };
        Ok(SelfMetrics {
            #[cfg(feature = "otlp")]
            otlp,
            accepted: reg.counter(&format!("{p}_events_accepted"), "Telemetry events emitted")?,
            delivered: reg.counter(
                &format!("{p}_events_delivered"),
                "Telemetry events acknowledged by the endpoint",
            )?,
            dropped: small(
                reg,
                format!("{p}_events_dropped"),
                "Telemetry events dropped, by reason (queue_full, rejected, shutdown)",
                &["reason"],
            )?,
            pending: reg.gauge(
                &format!("{p}_events_pending"),
                "Telemetry events queued or in the batch being sent",
            )?,
            events_breaker: reg.state_set(
                &format!("{p}_events_breaker"),
                "Circuit breaker of the events endpoint",
                &states,
            )?,
            push_breaker: reg.state_set(
                &format!("{p}_remote_write_breaker"),
                "Circuit breaker of the remote-write endpoint",
                &states,
            )?,
            transitions: small(
                reg,
                format!("{p}_breaker_transitions"),
                "Circuit breaker transitions, by endpoint and new state",
                &["endpoint", "to"],
            )?,
            pushes: small(
                reg,
                format!("{p}_remote_write_pushes"),
                "Remote-write pushes, by result (ok, failed, skipped)",
                &["result"],
            )?,
            panics: reg.counter(
                &format!("{p}_exporter_panics"),
                "Panics caught in the telemetry exporter (the loop restarts)",
            )?,
            last: Accounting::default(),
        })
    }

    /// Brings the counters up to `now` (adds what changed since last time).
    pub(super) fn update(&mut self, now: Accounting) {
        let last = self.last;
        self.accepted
            .add(now.accepted.saturating_sub(last.accepted));
        self.delivered
            .add(now.delivered.saturating_sub(last.delivered));
        for (reason, n, l) in [
            (
                "queue_full",
                now.dropped_queue_full,
                last.dropped_queue_full,
            ),
            ("rejected", now.dropped_rejected, last.dropped_rejected),
            ("shutdown", now.dropped_shutdown, last.dropped_shutdown),
        ] {
            self.dropped.with(&[reason]).add(n.saturating_sub(l));
        }
        self.pending.set(now.pending.min(i64::MAX as u64) as i64);
        // Keep the outcome counters monotonic even if `accepted` is read
        // ahead of them next time (it never is behind, see accounting.rs).
        self.last = now;
    }
}

/// A family with a handful of fixed series (at most 2 endpoints × 3
/// states): a small series limit keeps its table small (the default
/// limit's table is about 18 KiB).
fn small<const N: usize>(
    reg: &Registry,
    name: String,
    help: &str,
    labels: &[&str; N],
) -> Result<CounterFamily<Arity<N>>, crate::RegistryError> {
    reg.counter_family_builder(&name)
        .help(help)
        .labels(labels)
        .max_series(8)
        .build()
}
