//! The exporter thread: batches events, sends them as JSON lines, pushes
//! snapshots by remote write, each endpoint behind its own [`Breaker`].
//!
//! The loop never blocks emitters (it only pops), never sleeps inside a
//! retry (a failed batch waits for its retry time while the loop goes on),
//! caps every HTTP request at the configured timeout and, when stopping, at
//! what is left of the shutdown deadline. The requests run on the request
//! thread ([`Sender`]): while one is under way this thread keeps the
//! self-metrics current, and at the shutdown deadline it stops waiting for
//! it. A panic anywhere in it is caught by the client, which settles the
//! batch in hand as rejected and restarts the loop.
#![forbid(unsafe_code)]

use super::accounting::Channel;
use super::auth::Authorization;
use super::breaker::{Breaker, Jitter, Transition};
use super::config::Config;
use super::event::Event;
use super::events_json::encode_events;
use super::remote_write;
use super::self_metrics::SelfMetrics;
use super::sender::{Job, Outcome, Sender, Sent};
use crate::export::TextOptions;
use crate::sync::{Arc, AtomicU8, Mutex, Ordering};
use crate::{Clock, Registry};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What emitters and the exporter share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) channel: Channel,
    pub(crate) clock: Clock,
    /// A raw clock reading and the Unix time (ms) it corresponds to.
    epoch_raw: u64,
    epoch_unix_ms: u64,
    /// Set once: stop, flushing until this instant.
    pub(crate) stop: Mutex<Option<Instant>>,
    /// The events breaker's state index, for [`Client::breaker_state`].
    ///
    /// [`Client::breaker_state`]: super::Client::breaker_state
    pub(crate) events_state: AtomicU8,
}

impl Shared {
    pub(crate) fn new(capacity: usize) -> Shared {
        let clock = Clock::new();
        let epoch_raw = clock.raw();
        Shared {
            channel: Channel::new(capacity),
            clock,
            epoch_raw,
            epoch_unix_ms: unix_ms(),
            stop: Mutex::new(None),
            events_state: AtomicU8::new(0),
        }
    }

    pub(super) fn unix_ms_of(&self, raw: u64) -> u64 {
        self.epoch_unix_ms + self.clock.nanos_between(self.epoch_raw, raw) / 1_000_000
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The poll period while events keep arriving: at 100 k events/s the
/// default queue (512) fills in 5 ms, so the exporter must look often.
const BUSY_TICK: Duration = Duration::from_millis(1);

/// One endpoint: its breaker and retry state.
pub(super) struct Endpoint {
    pub(super) url: Arc<str>,
    pub(super) name: &'static str,
    pub(super) breaker: Breaker,
    pub(super) attempts: u32,
    pub(super) retry_at: Option<Instant>,
}

/// The exporter's state, owned by its thread.
pub(crate) struct Exporter {
    pub(super) shared: Arc<Shared>,
    pub(super) config: Config,
    pub(super) registry: Registry,
    /// The pushed histograms' shape; `true`: native histogram series.
    text: (TextOptions, bool),
    pub(crate) metrics: Arc<Mutex<SelfMetrics>>,
    pub(super) sender: Sender,
    events: Option<Endpoint>,
    push: Option<Endpoint>,
    /// The OTLP push: its endpoint, encoder and schedule.
    #[cfg(feature = "otlp")]
    pub(super) otlp: Option<super::otlp_push::OtlpPush>,
    /// The batch being sent: taken from the queue, not yet settled.
    pub(crate) batch: Vec<Event>,
    pub(super) body: Vec<u8>,
    next_flush: Instant,
    next_push: Instant,
    pub(super) jitter: Jitter,
    started: Instant,
}

impl Exporter {
    pub(crate) fn new(
        shared: Arc<Shared>,
        config: Config,
        registry: Registry,
        text: (TextOptions, bool),
        metrics: Arc<Mutex<SelfMetrics>>,
    ) -> Exporter {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(config.timeout))
            // ureq's 128 KiB input and output buffers per connection
            // would be most of a client's memory: a request body is sent
            // from our own buffer and replies are a status line and a few
            // headers.
            .input_buffer_size(8 * 1024)
            .output_buffer_size(4 * 1024)
            .max_response_header_size(8 * 1024)
            // One pooled connection per endpoint.
            .max_idle_connections(2)
            .max_idle_connections_per_host(1)
            .user_agent(concat!("hotmetrics/", env!("CARGO_PKG_VERSION")));
        let agent = with_tls_roots(agent, config.tls_ca_pem.as_deref());
        let agent: ureq::Agent = with_authorization(agent, config.authorization.as_ref())
            .build()
            .into();
        let endpoint = |url: &Option<String>, name| {
            url.as_ref().map(|u| Endpoint {
                url: Arc::from(u.as_str()),
                name,
                breaker: Breaker::new(config.breaker.clone()),
                attempts: 0,
                retry_at: None,
            })
        };
        let now = Instant::now();
        #[cfg(feature = "otlp")]
        let otlp = config.otlp.as_ref().map(|o| {
            let ep = endpoint(&Some(o.endpoint.clone()), "otlp").expect("an endpoint");
            super::otlp_push::OtlpPush::new(o, ep, text.0.clone(), now)
        });
        Exporter {
            #[cfg(feature = "otlp")]
            otlp,
            events: endpoint(&config.events_endpoint, "events"),
            push: endpoint(&config.remote_write, "remote_write"),
            batch: Vec::with_capacity(config.batch_size),
            body: Vec::new(),
            next_flush: now + config.interval,
            next_push: now + config.push_interval,
            jitter: Jitter::new(unix_ms() ^ (std::process::id() as u64) << 32),
            started: now,
            shared,
            config,
            registry,
            text,
            metrics,
            sender: Sender::new(agent),
        }
    }

    pub(super) fn now_ms(&self, now: Instant) -> u64 {
        now.duration_since(self.started).as_millis() as u64
    }

    fn stop_deadline(&self) -> Option<Instant> {
        *crate::sync::lock(&self.shared.stop)
    }

    /// The poll period when nothing is arriving.
    fn idle_tick(&self) -> Duration {
        (self.config.interval / 10).clamp(Duration::from_millis(1), Duration::from_millis(50))
    }

    /// The loop: runs until a stop is requested, then flushes until the
    /// deadline.
    pub(crate) fn run(&mut self) {
        self.publish_states();
        let mut seen = self.shared.channel.accounting().accepted;
        let mut last_arrival = Instant::now();
        loop {
            if let Some(deadline) = self.stop_deadline() {
                self.finish(deadline);
                return;
            }
            let mut now = Instant::now();
            // Send batch after batch while full ones are queued (one batch
            // per poll would cap the rate at batch_size per tick), but not
            // past a push that is due: a steady stream of events must not
            // starve the metrics.
            loop {
                self.step_events(now, None);
                if !self.batch.is_empty()
                    || self.shared.channel.queued() < self.config.batch_size
                    || self.stop_deadline().is_some()
                    || self.push_due(now)
                {
                    break;
                }
                now = Instant::now();
            }
            if self.push.is_some() && now >= self.next_push {
                self.next_push = now + self.config.push_interval;
                self.push_snapshot(now, None);
            }
            #[cfg(feature = "otlp")]
            if self.otlp.as_ref().is_some_and(|o| now >= o.next) {
                self.push_otlp(now, None);
            }
            let acct = self.shared.channel.accounting();
            crate::sync::lock(&self.metrics).update(acct);
            // No emitter ever wakes this thread (that would cost them a
            // syscall): it polls every millisecond while events arrive, and
            // after they stop, at a tenth of the time since the last one,
            // up to a tenth of the interval; a stop unparks it.
            let now = Instant::now();
            if acct.accepted != seen {
                last_arrival = now;
            }
            seen = acct.accepted;
            let quiet = now.saturating_duration_since(last_arrival);
            let tick = (quiet / 10).clamp(BUSY_TICK, self.idle_tick());
            std::thread::park_timeout(tick);
        }
    }

    /// Whether a remote-write or OTLP push is due at `now`.
    fn push_due(&self, now: Instant) -> bool {
        #[cfg(feature = "otlp")]
        if self.otlp.as_ref().is_some_and(|o| now >= o.next) {
            return true;
        }
        self.push.is_some() && now >= self.next_push
    }

    /// Takes a batch if one is due and tries to send it.
    fn step_events(&mut self, now: Instant, deadline: Option<Instant>) {
        if self.events.is_none() {
            // Nowhere to send events: settle them as rejected, so they are
            // accounted for and do not hold the queue.
            let n = self.shared.channel.take(&mut self.batch, usize::MAX);
            self.shared.channel.rejected(n);
            self.batch.clear();
            return;
        }
        if self.batch.is_empty() {
            let queued = self.shared.channel.queued();
            let due = queued >= self.config.batch_size
                || (queued > 0 && (now >= self.next_flush || deadline.is_some()));
            if !due {
                return;
            }
            self.next_flush = now + self.config.interval;
            // Behind (half the queue or more waiting): one request carries
            // up to half the queue, so that the per-request cost does not
            // cap the rate at `batch_size` per round trip.
            let half = self.config.queue_capacity / 2;
            let max = if queued >= half {
                half.max(self.config.batch_size)
            } else {
                self.config.batch_size
            };
            self.shared.channel.take(&mut self.batch, max);
        }
        if !self.batch.is_empty() {
            self.send_batch(now, deadline);
        }
    }

    fn send_batch(&mut self, now: Instant, deadline: Option<Instant>) {
        let now_ms = self.now_ms(now);
        let Some(ep) = self.events.as_mut() else {
            return;
        };
        if ep.retry_at.is_some_and(|t| now < t) || !ep.breaker.allow(now_ms) {
            self.publish_states();
            return;
        }
        let url = ep.url.clone();
        self.publish_states();
        encode_events(&self.shared, &self.batch, &mut self.body);
        let body = std::mem::take(&mut self.body);
        let job = Job {
            url,
            body,
            headers: &[("Content-Type", "application/x-ndjson")],
            extra_headers: None,
            otlp: false,
            timeout: self.config.timeout,
        };
        let Some(sent) = self.request(job, deadline) else {
            // Abandoned at the shutdown deadline: `finish` counts the batch.
            return;
        };
        let n = self.batch.len();
        let ep = self.events.as_mut().expect("checked above");
        // The breaker's new state is published before the batch is
        // settled, so whoever sees the settlement sees the state too.
        match sent {
            Sent::Ok | Sent::Refused => {
                ep.breaker.on_success(now_ms);
                ep.attempts = 0;
                ep.retry_at = None;
                self.publish_states();
                if matches!(sent, Sent::Ok) {
                    self.shared.channel.delivered(n);
                } else {
                    self.shared.channel.rejected(n);
                }
                self.batch.clear();
            }
            Sent::Failed(retry_after) => self.failed_batch(now_ms, retry_after),
        }
        self.body.clear();
        // A batch of large custom events may have grown the buffer: give
        // the excess back rather than hold it for the client's lifetime.
        if self.body.capacity() > 64 * 1024 {
            self.body.shrink_to(16 * 1024);
        }
        self.publish_states();
    }

    /// A failed batch: retried after the back-off, or after the server's
    /// `Retry-After` capped at the breaker's longest cool-down; dropped as
    /// rejected past `max_retries`.
    fn failed_batch(&mut self, now_ms: u64, retry_after: Option<Duration>) {
        let ep = self.events.as_mut().expect("an events endpoint");
        ep.breaker.on_failure(now_ms, self.jitter.draw());
        self.publish_states();
        let ep = self.events.as_mut().expect("an events endpoint");
        ep.attempts += 1;
        if ep.attempts > self.config.max_retries {
            self.shared.channel.rejected(self.batch.len());
            self.batch.clear();
            ep.attempts = 0;
            ep.retry_at = None;
            return;
        }
        // 50 ms · 2^(attempt − 1), at most 5 s, ± 50 % jitter.
        let base = Duration::from_millis(50) * (1u32 << (ep.attempts - 1).min(7));
        let backoff = base
            .min(Duration::from_secs(5))
            .mul_f64(0.5 + self.jitter.draw());
        let wait = match retry_after {
            Some(d) => d.min(self.config.breaker.max_cooldown),
            None => backoff,
        };
        ep.retry_at = Some(Instant::now() + wait);
    }

    /// Runs one request on the request thread, its timeout capped by what
    /// is left of `deadline`, keeping the self-metrics current while it
    /// is under way. `None`: abandoned at the shutdown deadline.
    pub(super) fn request(&mut self, mut job: Job, deadline: Option<Instant>) -> Option<Sent> {
        if let Some(d) = deadline {
            job.timeout = job.timeout.min(d.saturating_duration_since(Instant::now()));
        }
        if job.timeout.is_zero() {
            self.body = job.body;
            return Some(Sent::Failed(None));
        }
        let mut body = Vec::new();
        let nap = self.idle_tick();
        let (shared, metrics) = (&self.shared, &self.metrics);
        let outcome = self.sender.send(
            job,
            &mut body,
            nap,
            || *crate::sync::lock(&shared.stop),
            || crate::sync::lock(metrics).update(shared.channel.accounting()),
        );
        self.body = body;
        match outcome {
            Outcome::Answered(sent) => Some(sent),
            Outcome::Abandoned => None,
        }
    }

    /// Pushes the registry's current totals (cumulative: a failed push loses
    /// nothing, the next one carries the same totals and more).
    fn push_snapshot(&mut self, now: Instant, deadline: Option<Instant>) {
        let now_ms = self.now_ms(now);
        let Some(ep) = self.push.as_mut() else {
            return;
        };
        if ep.retry_at.is_some_and(|t| now < t) || !ep.breaker.allow(now_ms) {
            self.metrics().pushes.with(&["skipped"]).inc();
            self.publish_states();
            return;
        }
        let url = ep.url.clone();
        self.metrics().update(self.shared.channel.accounting());
        let snap = self.registry.collect();
        let (opts, native) = &self.text;
        let encode = [remote_write::encode, remote_write::encode_native][usize::from(*native)];
        let body = encode(&snap, opts, unix_ms() as i64);
        drop(snap);
        // The events' buffer is kept aside: the push's body is its own.
        let events_body = std::mem::take(&mut self.body);
        let job = Job {
            url,
            body,
            headers: &remote_write::HEADERS,
            extra_headers: None,
            otlp: false,
            timeout: self.config.timeout,
        };
        let sent = self.request(job, deadline);
        self.body = events_body;
        let ep = self.push.as_mut().expect("checked above");
        let result = match sent {
            None => return,
            Some(Sent::Ok) => {
                ep.breaker.on_success(now_ms);
                "ok"
            }
            Some(Sent::Refused) => {
                ep.breaker.on_success(now_ms);
                "failed"
            }
            Some(Sent::Failed(retry_after)) => {
                ep.breaker.on_failure(now_ms, self.jitter.draw());
                // The next push waits for the server's `Retry-After` too,
                // capped at the breaker's longest cool-down.
                ep.retry_at = retry_after
                    .map(|d| Instant::now() + d.min(self.config.breaker.max_cooldown));
                "failed"
            }
        };
        self.metrics().pushes.with(&[result]).inc();
        self.publish_states();
    }

    pub(super) fn metrics(&self) -> crate::sync::MutexGuard<'_, SelfMetrics> {
        crate::sync::lock(&self.metrics)
    }

    /// Flushes until the queue is empty or `deadline` passes, then counts
    /// what is left as dropped at shutdown, and pushes a last snapshot if
    /// there is time. Returns by the deadline (give or take a nap's
    /// lateness): a request still under way then is abandoned.
    fn finish(&mut self, deadline: Instant) {
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if self.batch.is_empty() && self.shared.channel.queued() == 0 {
                break;
            }
            self.step_events(now, Some(deadline));
            if !self.batch.is_empty() {
                // Waiting for a retry or a breaker: nap, but not past the
                // deadline.
                let nap = deadline.saturating_duration_since(Instant::now());
                std::thread::sleep(nap.min(Duration::from_millis(5)));
            }
        }
        let n = self.batch.len();
        self.batch.clear();
        self.shared.channel.shutdown_dropped(n);
        self.shared.channel.drain_at_deadline();
        self.metrics().update(self.shared.channel.accounting());
        let now = Instant::now();
        if self.push.is_some() && now < deadline {
            self.push_snapshot(now, Some(deadline));
        }
        #[cfg(feature = "otlp")]
        if self.otlp.is_some() && Instant::now() < deadline {
            self.push_otlp(Instant::now(), Some(deadline));
        }
        self.metrics().update(self.shared.channel.accounting());
        self.sender.close();
    }

    /// Settles a batch abandoned by a panic, so nothing goes unaccounted.
    pub(crate) fn recover(&mut self) {
        let n = self.batch.len();
        self.batch.clear();
        self.shared.channel.rejected(n);
        self.body.clear();
        self.metrics().panics.inc();
    }

    pub(super) fn publish_states(&mut self) {
        let metrics = crate::sync::lock(&self.metrics);
        #[cfg(feature = "otlp")]
        let otlp = self.otlp.as_mut().map(|o| &mut o.endpoint);
        #[cfg(not(feature = "otlp"))]
        let otlp = None;
        for ep in [self.events.as_mut(), self.push.as_mut(), otlp]
            .into_iter()
            .flatten()
        {
            if let Some(t) = ep.breaker.take_transition() {
                let to = match t {
                    Transition::Opened => "open",
                    Transition::HalfOpened => "half_open",
                    Transition::Closed => "closed",
                };
                metrics.transitions.with(&[ep.name, to]).inc();
            }
        }
        if let Some(ep) = &self.events {
            let i = ep.breaker.state().index();
            metrics.events_breaker.set(i);
            // Relaxed: a status flag read by `Client::breaker_state`; no
            // data is published through it.
            self.shared.events_state.store(i as u8, Ordering::Relaxed);
        }
        if let Some(ep) = &self.push {
            metrics.push_breaker.set(ep.breaker.state().index());
        }
        #[cfg(feature = "otlp")]
        if let (Some(o), Some(m)) = (&self.otlp, &metrics.otlp) {
            m.breaker.set(o.endpoint.breaker.state().index());
        }
    }
}

type AgentBuilder = ureq::config::ConfigBuilder<ureq::typestate::AgentScope>;

/// Trusts the certificates of `pem` (instead of Mozilla's roots) for
/// `https://` endpoints, when given.
#[cfg(feature = "telemetry-tls")]
fn with_tls_roots(agent: AgentBuilder, pem: Option<&str>) -> AgentBuilder {
    // `Config::validate` has checked that they parse.
    let Some(Ok(certs)) = pem.map(super::config::tls_ca) else {
        return agent;
    };
    let roots = ureq::tls::RootCerts::Specific(crate::sync::FrozenArc::new(certs));
    agent.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
}

/// Without feature `telemetry-tls` a configuration with CA certificates
/// does not validate.
#[cfg(not(feature = "telemetry-tls"))]
fn with_tls_roots(agent: AgentBuilder, _pem: Option<&str>) -> AgentBuilder {
    agent
}

/// Adds `Authorization: auth` to every request of the agent being built
/// (marked sensitive, so it is never logged).
fn with_authorization(agent: AgentBuilder, auth: Option<&Authorization>) -> AgentBuilder {
    // `Config::validate` has checked that the value is a valid header.
    let Some(Ok(mut value)) = auth.map(|a| ureq::http::HeaderValue::from_str(a.header_value()))
    else {
        return agent;
    };
    value.set_sensitive(true);
    agent.middleware(
        move |mut req: ureq::http::Request<ureq::SendBody<'_>>, next: ureq::middleware::MiddlewareNext<'_>| {
            req.headers_mut()
                .insert(ureq::http::header::AUTHORIZATION, value.clone());
            next.handle(req)
        },
    )
}
