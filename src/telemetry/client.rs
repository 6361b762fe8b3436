//! [`Client`]: emits events into the queue and owns the exporter thread.
#![forbid(unsafe_code)]

use super::accounting::Accounting;
use super::auth::Authorization;
use super::breaker::{BreakerConfig, BreakerState};
use super::config::{Config, ConfigError};
use super::event::{Event, QueryEvent};
use super::exporter::{Exporter, Shared};
use super::self_metrics::SelfMetrics;
use crate::export::TextOptions;
use crate::sync::{Arc, Mutex, Ordering};
use crate::Registry;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The exporter thread's stack: it runs an HTTP client and the exposition
/// renderer, nothing recursive; with `otlp`, the OTLP messages too, whose
/// construction and encoding in an unoptimised build take large frames.
/// (Reserved address space: only the pages touched are resident.)
const STACK_SIZE: usize = if cfg!(feature = "otlp") {
    1024 * 1024
} else {
    256 * 1024
};

/// How long past its deadline a shutdown waits for an exporter that has
/// not ended (the documented bound).
const MARGIN: Duration = Duration::from_millis(100);

/// The part of [`MARGIN`] kept for the wait's own lateness (a sleep wakes
/// up late on a loaded machine) and for settling what is left: the client
/// never sleeps past `deadline + MARGIN - RESERVE`.
const RESERVE: Duration = Duration::from_millis(10);

/// A telemetry client: cheap, never-blocking emission from any thread, and
/// a background exporter that sends the events and pushes metrics.
///
/// Start it with [`Client::builder`]; stop it with
/// [`shutdown`](Self::shutdown), or let `Drop` flush with the default
/// deadline (2 s, see [`ClientBuilder::shutdown_deadline`]).
///
/// ```no_run
/// use hotmetrics::telemetry::{Client, QueryEvent, QueryOutcome};
/// use std::time::Duration;
///
/// let client = Client::builder()
///     .events_endpoint("http://127.0.0.1:4318/events")
///     .remote_write("http://127.0.0.1:9090/api/v1/write")
///     .start()
///     .unwrap();
/// client.session_opened(1);
/// client.query_executed(QueryEvent {
///     session: 1,
///     latency: Duration::from_micros(800),
///     rows: 3,
///     outcome: QueryOutcome::Ok,
/// });
/// client.session_closed(1);
/// let acct = client.shutdown(Duration::from_secs(1));
/// assert_eq!(acct.accepted, acct.delivered + acct.dropped());
/// ```
#[derive(Debug)]
pub struct Client {
    shared: Arc<Shared>,
    enabled: bool,
    registry: Registry,
    thread: Option<JoinHandle<()>>,
    /// The self-metrics (shared with the exporter; `None` when disabled).
    metrics: Option<Arc<Mutex<SelfMetrics>>>,
    default_deadline: Duration,
}

/// Builds a [`Client`]: settings from code, from the environment, or both.
///
/// ```
/// use hotmetrics::telemetry::{Client, ConfigError};
///
/// // Enabled, but nowhere to send anything:
/// assert_eq!(Client::builder().start().unwrap_err(), ConfigError::NoEndpoint);
/// // Disabled: emitting is a no-op, no thread starts.
/// let off = Client::builder().enabled(false).start().unwrap();
/// off.session_opened(1);
/// assert_eq!(off.accounting().accepted, 0);
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    config: Config,
    registry: Option<Registry>,
    prefix: String,
    text: TextOptions,
    native: bool,
    deadline: Duration,
}

impl Client {
    /// A builder with the default settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            config: Config::default(),
            registry: None,
            prefix: "telemetry".into(),
            text: TextOptions::new(),
            native: false,
            deadline: Duration::from_secs(2),
        }
    }

    /// Emits `event`: queued for the exporter, or dropped and counted if
    /// the queue is full. Never blocks, never fails, allocates nothing.
    #[inline]
    pub fn emit(&self, mut event: Event) {
        if !self.enabled {
            return;
        }
        event.at = self.shared.clock.raw();
        self.shared.channel.emit(event);
    }

    /// Emits `session_opened`.
    #[inline]
    pub fn session_opened(&self, session: u64) {
        self.emit(Event::session_opened(session));
    }

    /// Emits `session_closed`.
    #[inline]
    pub fn session_closed(&self, session: u64) {
        self.emit(Event::session_closed(session));
    }

    /// Emits `query_executed`.
    #[inline]
    pub fn query_executed(&self, query: QueryEvent) {
        self.emit(Event::query_executed(query));
    }

    /// Where the emitted events went so far (see [`Accounting`] for when
    /// the identity is exact).
    pub fn accounting(&self) -> Accounting {
        self.shared.channel.accounting()
    }

    /// The events endpoint's breaker state, as the exporter last set it.
    pub fn breaker_state(&self) -> BreakerState {
        // Relaxed: a status flag (see `Exporter::publish_states`).
        match self.shared.events_state.load(Ordering::Relaxed) {
            1 => BreakerState::Open,
            2 => BreakerState::HalfOpen,
            _ => BreakerState::Closed,
        }
    }

    /// The registry holding the self-metrics and pushed by remote write.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Stops the exporter: it sends what is queued until `deadline` from
    /// now, counts the rest as dropped at shutdown, pushes a last snapshot
    /// if time is left, and ends. Returns the final accounting, with
    /// `pending` 0, and the self-metrics then read the same numbers.
    ///
    /// Returns within `deadline` + 100 ms, whatever the endpoint does: a
    /// request still under way at the deadline (one that started before
    /// the stop with the full timeout, or one that hangs) is abandoned
    /// then, its batch counted as dropped at shutdown, and it finishes on
    /// the request thread on its own. Should the exporter thread still not
    /// have ended 90 ms past the deadline, the client settles what is
    /// pending itself, as dropped at shutdown, and returns.
    pub fn shutdown(mut self, deadline: Duration) -> Accounting {
        self.stop(deadline)
    }

    fn stop(&mut self, deadline: Duration) -> Accounting {
        let Some(thread) = self.thread.take() else {
            return self.accounting();
        };
        let until = Instant::now() + deadline;
        *crate::sync::lock(&self.shared.stop) = Some(until);
        thread.thread().unpark();
        // Wait for the thread, but not past the deadline plus the margin:
        // polled, as std has no join with a timeout. No nap reaches past
        // `give_up`, which leaves `RESERVE` for a late wake-up and for the
        // settling below.
        let give_up = until + (MARGIN - RESERVE);
        loop {
            let now = Instant::now();
            if thread.is_finished() || now >= give_up {
                break;
            }
            std::thread::sleep((give_up - now).min(Duration::from_millis(1)));
        }
        if thread.is_finished() {
            let _ = thread.join();
        } else {
            // A request started before the stop outlives the deadline:
            // count what is still queued or in its batch as dropped at
            // shutdown, and leave the thread to end on its own (its late
            // settlement is then ignored, so nothing is counted twice).
            self.shared.channel.abandon();
        }
        let acct = self.accounting();
        if let Some(m) = &self.metrics {
            crate::sync::lock(m).update(acct);
        }
        acct
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let d = self.default_deadline;
        self.stop(d);
    }
}

impl ClientBuilder {
    /// Replaces every setting with `config`'s.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Applies the `HOTMETRICS_TELEMETRY_*` variables over the defaults
    /// (see [`Config`]); settings made after this call override them.
    pub fn from_env(self) -> Result<Self, ConfigError> {
        Ok(self.config(Config::from_env()?))
    }

    /// Emitting is a no-op and no thread starts when `false`.
    pub fn enabled(mut self, on: bool) -> Self {
        self.config.enabled = on;
        self
    }

    /// Where event batches are POSTed (JSON lines).
    pub fn events_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.events_endpoint = Some(url.into());
        self
    }

    /// Where snapshots are pushed (Prometheus remote write).
    pub fn remote_write(mut self, url: impl Into<String>) -> Self {
        self.config.remote_write = Some(url.into());
        self
    }

    /// Events per batch (see [`Config::batch_size`]).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.config.batch_size = n;
        self
    }

    /// The longest an event waits for a batch to fill.
    pub fn interval(mut self, d: Duration) -> Self {
        self.config.interval = d;
        self
    }

    /// How often a snapshot is pushed.
    pub fn push_interval(mut self, d: Duration) -> Self {
        self.config.push_interval = d;
        self
    }

    /// The timeout of one HTTP request.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.config.timeout = d;
        self
    }

    /// The queue's bound, in events.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.config.queue_capacity = n;
        self
    }

    /// Pushes the registry by OTLP/HTTP (feature `otlp`; see
    /// [`OtlpConfig`](super::OtlpConfig) and [`otlp`](super::otlp)).
    #[cfg(feature = "otlp")]
    pub fn otlp(mut self, config: super::OtlpConfig) -> Self {
        self.config.otlp = Some(config);
        self
    }

    /// Pushes the registry by OTLP/HTTP as the standard `OTEL_*`
    /// environment variables say, if they name an endpoint (feature
    /// `otlp`; see [`OtlpConfig::from_env`](super::OtlpConfig::from_env)).
    #[cfg(feature = "otlp")]
    pub fn otlp_from_env(mut self) -> Result<Self, ConfigError> {
        if let Some(c) = super::OtlpConfig::from_env()? {
            self.config.otlp = Some(c);
        }
        Ok(self)
    }

    /// Retries of a failed batch before it is dropped.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.config.max_retries = n;
        self
    }

    /// Sends `Authorization: Bearer <token>` with every request (events and
    /// remote write); see [`Config::authorization`].
    pub fn bearer_token(mut self, token: &str) -> Self {
        self.config.authorization = Some(Authorization::bearer(token));
        self
    }

    /// Sends HTTP basic credentials with every request (events and remote
    /// write); see [`Config::authorization`].
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.config.authorization = Some(Authorization::basic(user, password));
        self
    }

    /// Trusts these PEM certificates (instead of Mozilla's roots) for
    /// `https://` endpoints (feature `telemetry-tls`); see
    /// [`Config::tls_ca_pem`].
    pub fn tls_ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.config.tls_ca_pem = Some(pem.into());
        self
    }

    /// The circuit breakers' settings.
    pub fn breaker(mut self, b: BreakerConfig) -> Self {
        self.config.breaker = b;
        self
    }

    /// The registry for the self-metrics and the remote-write pushes
    /// (default: a new one, see [`Client::registry`]). Each push collects
    /// it, which counts towards [`Options::evict_idle_after`](crate::Options::evict_idle_after).
    pub fn registry(mut self, reg: &Registry) -> Self {
        self.registry = Some(reg.clone());
        self
    }

    /// The self-metrics' name prefix (default `telemetry`): two clients on
    /// one registry need different ones.
    pub fn metrics_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Classic buckets and summaries for the pushed histograms.
    pub fn text_options(mut self, opts: TextOptions) -> Self {
        self.text = opts;
        self
    }

    /// Push each histogram (not written as a summary) as one native
    /// histogram series (remote write's `histograms` field, see
    /// [`remote_write::encode_native`](super::remote_write::encode_native))
    /// instead of classic `_bucket`, `_count` and `_sum` series (the
    /// default, `false`). The receiver must accept native histograms
    /// (Prometheus: `--enable-feature=native-histograms`).
    pub fn remote_write_native_histograms(mut self, on: bool) -> Self {
        self.native = on;
        self
    }

    /// The deadline `Drop` gives the exporter to flush (default 2 s).
    pub fn shutdown_deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }

    /// Checks the settings, registers the self-metrics and starts the
    /// exporter thread.
    pub fn start(self) -> Result<Client, ConfigError> {
        self.config.validate()?;
        let registry = self.registry.unwrap_or_default();
        let enabled = self.config.enabled;
        let capacity = if enabled {
            self.config.queue_capacity
        } else {
            1
        };
        let shared = Arc::new(Shared::new(capacity));
        let mut client = Client {
            shared: shared.clone(),
            enabled,
            registry: registry.clone(),
            thread: None,
            metrics: None,
            default_deadline: self.deadline,
        };
        if !enabled {
            return Ok(client);
        }
        #[cfg(feature = "otlp")]
        let otlp = self.config.otlp.is_some();
        #[cfg(not(feature = "otlp"))]
        let otlp = false;
        let metrics = SelfMetrics::register(&registry, &self.prefix, otlp).map_err(|reason| {
            ConfigError::Invalid {
                name: "metrics_prefix".into(),
                value: self.prefix.clone(),
                reason,
            }
        })?;
        let metrics = Arc::new(Mutex::new(metrics));
        client.metrics = Some(metrics.clone());
        let mut exporter = Exporter::new(
            shared,
            self.config,
            registry,
            (self.text, self.native),
            metrics,
        );
        let thread = std::thread::Builder::new()
            .name("hotmetrics-telemetry".into())
            .stack_size(STACK_SIZE)
            .spawn(move || {
                // A panic is contained: the batch in hand is settled as
                // rejected and the loop restarts (after a pause, so a
                // panic on every pass does not spin).
                while catch_unwind(AssertUnwindSafe(|| exporter.run())).is_err() {
                    exporter.recover();
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
            .map_err(|e| ConfigError::Spawn(e.to_string()))?;
        client.thread = Some(thread);
        Ok(client)
    }
}
