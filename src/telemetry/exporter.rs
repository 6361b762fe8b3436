//! The exporter thread: batches events, sends them as JSON lines, pushes
//! snapshots by remote write, each endpoint behind its own [`Breaker`].
//!
//! The loop never blocks emitters (it only pops), never sleeps inside a
//! retry (a failed batch waits for its retry time while the loop goes on),
//! caps every HTTP request at the configured timeout and, when stopping, at
//! what is left of the shutdown deadline. A panic anywhere in it is caught
//! by the client, which settles the batch in hand as rejected and restarts
//! the loop.
#![forbid(unsafe_code)]

use super::accounting::Channel;
use super::auth::Authorization;
use super::breaker::{Breaker, Jitter, Transition};
use super::config::Config;
use super::event::{Event, Kind, Value};
use super::remote_write;
use super::self_metrics::SelfMetrics;
use crate::export::TextOptions;
use crate::sync::{Arc, AtomicU8, Mutex, Ordering};
use crate::{Clock, Registry};
use std::io::Write;
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

    fn unix_ms_of(&self, raw: u64) -> u64 {
        self.epoch_unix_ms + self.clock.nanos_between(self.epoch_raw, raw) / 1_000_000
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// How a request went.
enum Sent {
    Ok,
    /// The server refused the content (4xx other than 408 and 429):
    /// retrying would not help, but the endpoint is up.
    Refused,
    /// Transport error, timeout, 5xx, 408 or 429: worth a retry.
    Failed,
}

/// One endpoint: its breaker and retry state.
struct Endpoint {
    url: String,
    name: &'static str,
    breaker: Breaker,
    attempts: u32,
    retry_at: Option<Instant>,
}

/// The exporter's state, owned by its thread.
pub(crate) struct Exporter {
    shared: Arc<Shared>,
    config: Config,
    registry: Registry,
    text: TextOptions,
    pub(crate) metrics: SelfMetrics,
    agent: ureq::Agent,
    events: Option<Endpoint>,
    push: Option<Endpoint>,
    /// The batch being sent: taken from the queue, not yet settled.
    pub(crate) batch: Vec<Event>,
    body: Vec<u8>,
    next_flush: Instant,
    next_push: Instant,
    jitter: Jitter,
    started: Instant,
}

impl Exporter {
    pub(crate) fn new(
        shared: Arc<Shared>,
        config: Config,
        registry: Registry,
        text: TextOptions,
        metrics: SelfMetrics,
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
                url: u.clone(),
                name,
                breaker: Breaker::new(config.breaker.clone()),
                attempts: 0,
                retry_at: None,
            })
        };
        let now = Instant::now();
        Exporter {
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
            agent,
        }
    }

    fn now_ms(&self, now: Instant) -> u64 {
        now.duration_since(self.started).as_millis() as u64
    }

    fn stop_deadline(&self) -> Option<Instant> {
        *crate::sync::lock(&self.shared.stop)
    }

    /// The loop: runs until a stop is requested, then flushes until the
    /// deadline.
    pub(crate) fn run(&mut self) {
        let tick =
            (self.config.interval / 10).clamp(Duration::from_millis(1), Duration::from_millis(50));
        self.publish_states();
        loop {
            if let Some(deadline) = self.stop_deadline() {
                self.finish(deadline);
                return;
            }
            let mut now = Instant::now();
            // Send batch after batch while full ones are queued (one batch
            // per poll would cap the rate at batch_size per tick).
            loop {
                self.step_events(now, None);
                if !self.batch.is_empty()
                    || self.shared.channel.queued() < self.config.batch_size
                    || self.stop_deadline().is_some()
                {
                    break;
                }
                now = Instant::now();
            }
            if self.push.is_some() && now >= self.next_push {
                self.next_push = now + self.config.push_interval;
                self.push_snapshot(now, None);
            }
            self.metrics.update(self.shared.channel.accounting());
            // No emitter ever wakes this thread (that would cost them a
            // syscall): it polls at a tenth of the interval, and a stop
            // unparks it.
            std::thread::park_timeout(tick);
        }
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
            self.shared
                .channel
                .take(&mut self.batch, self.config.batch_size);
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
        self.publish_states();
        encode_events(&self.shared, &self.batch, &mut self.body);
        let ep = self.events.as_mut().expect("checked above");
        let sent = post(
            &self.agent,
            &ep.url,
            &self.body,
            &[("Content-Type", "application/x-ndjson")],
            self.config.timeout,
            deadline,
        );
        let n = self.batch.len();
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
            Sent::Failed => {
                ep.breaker.on_failure(now_ms, self.jitter.draw());
                self.publish_states();
                let ep = self.events.as_mut().expect("checked above");
                ep.attempts += 1;
                if ep.attempts > self.config.max_retries {
                    self.shared.channel.rejected(n);
                    self.batch.clear();
                    ep.attempts = 0;
                    ep.retry_at = None;
                } else {
                    // 50 ms · 2^(attempt − 1), at most 5 s, ± 50 % jitter.
                    let base = Duration::from_millis(50) * (1u32 << (ep.attempts - 1).min(7));
                    let wait = base
                        .min(Duration::from_secs(5))
                        .mul_f64(0.5 + self.jitter.draw());
                    ep.retry_at = Some(Instant::now() + wait);
                }
            }
        }
        self.body.clear();
        // A batch of large custom events may have grown the buffer: give
        // the excess back rather than hold it for the client's lifetime.
        if self.body.capacity() > 64 * 1024 {
            self.body.shrink_to(16 * 1024);
        }
        self.publish_states();
    }

    /// Pushes the registry's current totals (cumulative: a failed push loses
    /// nothing, the next one carries the same totals and more).
    fn push_snapshot(&mut self, now: Instant, deadline: Option<Instant>) {
        let now_ms = self.now_ms(now);
        let Some(ep) = self.push.as_mut() else {
            return;
        };
        if !ep.breaker.allow(now_ms) {
            self.metrics.pushes.with(&["skipped"]).inc();
            self.publish_states();
            return;
        }
        self.metrics.update(self.shared.channel.accounting());
        let snap = self.registry.collect();
        let body = remote_write::encode(&snap, &self.text, unix_ms() as i64);
        drop(snap);
        let ep = self.push.as_mut().expect("checked above");
        let sent = post(
            &self.agent,
            &ep.url,
            &body,
            &remote_write::HEADERS,
            self.config.timeout,
            deadline,
        );
        match sent {
            Sent::Ok => {
                ep.breaker.on_success(now_ms);
                self.metrics.pushes.with(&["ok"]).inc();
            }
            Sent::Refused => {
                ep.breaker.on_success(now_ms);
                self.metrics.pushes.with(&["failed"]).inc();
            }
            Sent::Failed => {
                ep.breaker.on_failure(now_ms, self.jitter.draw());
                self.metrics.pushes.with(&["failed"]).inc();
            }
        }
        self.publish_states();
    }

    /// Flushes until the queue is empty or `deadline` passes, then counts
    /// what is left as dropped at shutdown, and pushes a last snapshot if
    /// there is time.
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
        self.metrics.update(self.shared.channel.accounting());
        let now = Instant::now();
        if self.push.is_some() && now < deadline {
            self.push_snapshot(now, Some(deadline));
        }
        self.metrics.update(self.shared.channel.accounting());
    }

    /// Settles a batch abandoned by a panic, so nothing goes unaccounted.
    pub(crate) fn recover(&mut self) {
        let n = self.batch.len();
        self.batch.clear();
        self.shared.channel.rejected(n);
        self.body.clear();
        self.metrics.panics.inc();
    }

    fn publish_states(&mut self) {
        for ep in [self.events.as_mut(), self.push.as_mut()]
            .into_iter()
            .flatten()
        {
            if let Some(t) = ep.breaker.take_transition() {
                let to = match t {
                    Transition::Opened => "open",
                    Transition::HalfOpened => "half_open",
                    Transition::Closed => "closed",
                };
                self.metrics.transitions.with(&[ep.name, to]).inc();
            }
        }
        if let Some(ep) = &self.events {
            let i = ep.breaker.state().index();
            self.metrics.events_breaker.set(i);
            // Relaxed: a status flag read by `Client::breaker_state`; no
            // data is published through it.
            self.shared.events_state.store(i as u8, Ordering::Relaxed);
        }
        if let Some(ep) = &self.push {
            self.metrics.push_breaker.set(ep.breaker.state().index());
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

/// POSTs `body`, with the request timeout capped by what is left of
/// `deadline`.
fn post(
    agent: &ureq::Agent,
    url: &str,
    body: &[u8],
    headers: &[(&str, &str)],
    timeout: Duration,
    deadline: Option<Instant>,
) -> Sent {
    let timeout = match deadline {
        Some(d) => timeout.min(d.saturating_duration_since(Instant::now())),
        None => timeout,
    };
    if timeout.is_zero() {
        return Sent::Failed;
    }
    let mut req = agent
        .post(url)
        .config()
        .timeout_global(Some(timeout))
        .build();
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    match req.send(body) {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            // Read (a bounded amount of) the reply so the connection can be
            // reused.
            let _ = resp.body_mut().with_config().limit(64 * 1024).read_to_vec();
            match status {
                200..=299 => Sent::Ok,
                408 | 429 => Sent::Failed,
                400..=499 => Sent::Refused,
                _ => Sent::Failed,
            }
        }
        Err(_) => Sent::Failed,
    }
}

/// The batch as JSON lines, one object per event:
/// `{"ts":<unix ms>,"event":"<name>",...fields}`.
pub(crate) fn encode_events(shared: &Shared, batch: &[Event], out: &mut Vec<u8>) {
    for e in batch {
        let ts = shared.unix_ms_of(e.at);
        let _ = write!(out, "{{\"ts\":{ts},\"event\":");
        json_str(out, e.name());
        let _ = match &e.kind {
            Kind::SessionOpened { session } | Kind::SessionClosed { session } => {
                write!(out, ",\"session\":{session}")
            }
            Kind::QueryExecuted {
                session,
                latency_ns,
                rows,
                outcome,
            } => write!(
                out,
                ",\"session\":{session},\"latency_ns\":{latency_ns},\"rows\":{rows},\"outcome\":\"{}\"",
                outcome.as_str()
            ),
            Kind::Custom { attrs, .. } => {
                out.extend_from_slice(b",\"attrs\":{");
                for (i, (k, v)) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json_str(out, k);
                    out.push(b':');
                    match v {
                        Value::U64(n) => drop(write!(out, "{n}")),
                        Value::I64(n) => drop(write!(out, "{n}")),
                        Value::F64(x) if x.is_finite() => drop(write!(out, "{x}")),
                        Value::F64(_) => out.extend_from_slice(b"null"),
                        Value::Bool(b) => drop(write!(out, "{b}")),
                        Value::Str(s) => json_str(out, s),
                        Value::String(s) => json_str(out, s),
                    }
                }
                out.push(b'}');
                Ok(())
            }
        };
        out.extend_from_slice(b"}\n");
    }
}

fn json_str(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes exactly as JSON requires; writing into a Vec
    // cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}
