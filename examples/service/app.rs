//! The instrumented service: a pool of worker threads serving simulated
//! requests, a cache in front of a flaky dependency, a circuit breaker
//! guarding the dependency, telemetry events for every simulated client
//! session and request, and its own HTTP server (`web.rs`: an axum router
//! with `/healthz` and `/metrics` mounted from hotmetrics' scrape handler).
//!
//! Shared by `main.rs` (the example binary) and `tests/service_example.rs`
//! (which runs it in-process and checks its `/metrics` with `promtool`).
//!
//! What it records, all in `hotmetrics::global()`:
//!
//! | metric | how |
//! |---|---|
//! | `service_requests`, `service_request_duration`, `service_errors`, `service_cache_requests` | `ResponseTracker::record_response` per request, route from a `#[derive(LabelValue)]` enum |
//! | `dependency_call_duration` | `#[track_latency]` on the dependency call |
//! | `cache_lookup_duration` | a `Histogram::start_timer` guard |
//! | `dependency_breaker_state` | a `StateSet`: closed / open / half_open |
//! | `dependency_breaker_transitions` | a counter family by target state |
//! | `service_workers_busy` | a gauge |
//! | `dependency_client_attempts` | recorded by the dependency's client with `metrics::counter!`, through the `metrics` facade |
//! | `telemetry_events_*`, `telemetry_events_breaker`, `telemetry_breaker_transitions` | the telemetry client's self-metrics (it registers them in the same registry) |
//!
//! Telemetry events (a [`hotmetrics::telemetry::Client`], JSON lines to
//! `Config::events_endpoint`): each worker plays one client connection after
//! another, a session of 20 to 200 requests, with `session_opened` and
//! `session_closed` around it and a `query_executed` per request (latency,
//! rows, outcome: `ok`, `error`, or `cancelled` for a dependency timeout).

#[path = "web.rs"]
mod web;

use hotmetrics::telemetry::{Accounting, Client, OtlpConfig, QueryEvent, QueryOutcome};
use hotmetrics::{
    Arity, CacheStatus, CounterFamily, Gauge, Histogram, LabelValue, ResponseTracker, StateSet,
    Unit,
};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the service is asked to do.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where `/metrics` listens (`127.0.0.1:0`: any free port).
    pub addr: String,
    /// Worker threads.
    pub workers: usize,
    /// Fraction of dependency calls that fail outside outages.
    pub failure_rate: f64,
    /// Where telemetry events are POSTed (`None`: the client is disabled
    /// and emits nothing).
    pub events_endpoint: Option<String>,
    /// Where the registry is pushed by OTLP/HTTP (`.../v1/metrics`), every
    /// `otlp_interval` (`None`: no OTLP push).
    pub otlp_endpoint: Option<String>,
    /// How often the OTLP push exports.
    pub otlp_interval: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            addr: "127.0.0.1:9464".to_string(),
            workers: 4,
            failure_rate: 0.05,
            events_endpoint: None,
            otlp_endpoint: None,
            otlp_interval: Duration::from_secs(10),
        }
    }
}

/// How long stopping waits for the telemetry client to send what is queued.
const TELEMETRY_DEADLINE: Duration = Duration::from_secs(2);

#[derive(LabelValue, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Search,
    Product,
    Checkout,
}

const ROUTES: [Route; 3] = [Route::Search, Route::Product, Route::Checkout];

/// Why a dependency call failed.
#[derive(Debug)]
pub enum DependencyError {
    /// The dependency did not answer in time.
    Timeout,
    /// The dependency answered 503.
    Unavailable,
    /// The breaker is open: the call was not made.
    CircuitOpen,
}

impl fmt::Display for DependencyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DependencyError::Timeout => "dependency timed out",
            DependencyError::Unavailable => "dependency returned 503 Service Unavailable",
            DependencyError::CircuitOpen => "circuit open: dependency unavailable",
        })
    }
}

impl std::error::Error for DependencyError {}

/// A small xorshift generator: simulated traffic needs no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// The flaky dependency: a client library instrumented with the `metrics`
/// facade, as a third-party crate would be.
mod dependency {
    use super::{DependencyError, Rng};
    use std::time::Duration;

    /// One call: 50–550 µs; fails with probability `failure_rate`, and
    /// always during an outage.
    #[hotmetrics::track_latency(
        name = "dependency_call_duration",
        help = "Dependency call latency"
    )]
    pub fn call(rng: &mut Rng, failure_rate: f64, outage: bool) -> Result<u64, DependencyError> {
        metrics::counter!("dependency_client_attempts", "client" => "catalog").increment(1);
        std::thread::sleep(Duration::from_micros(50 + rng.below(500)));
        if outage || rng.chance(failure_rate) {
            return Err(if rng.chance(0.5) {
                DependencyError::Timeout
            } else {
                DependencyError::Unavailable
            });
        }
        Ok(rng.next())
    }
}

const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;

/// A circuit breaker: open after `threshold` consecutive failures, half
/// open after `cool_down` (one probe call), closed again on a success.
/// Its state is mirrored into a `StateSet` (index = state).
struct Breaker {
    state: AtomicU8,
    failures: AtomicU64,
    opened_at: Mutex<Instant>,
    threshold: u64,
    cool_down: Duration,
    states: StateSet,
    transitions: CounterFamily<Arity<1>>,
}

impl Breaker {
    /// Whether a call may go through now.
    fn allow(&self) -> bool {
        match self.state.load(Ordering::Acquire) {
            CLOSED => true,
            OPEN => {
                let opened = *self.opened_at.lock().unwrap_or_else(|p| p.into_inner());
                // Only one caller wins the probe.
                opened.elapsed() >= self.cool_down && self.transition(OPEN, HALF_OPEN)
            }
            _ => false, // half open: a probe is in flight
        }
    }

    fn on_result(&self, ok: bool) {
        if ok {
            self.failures.store(0, Ordering::Relaxed);
            self.transition(HALF_OPEN, CLOSED);
        } else if self.state.load(Ordering::Acquire) == HALF_OPEN {
            self.open(HALF_OPEN);
        } else if self.failures.fetch_add(1, Ordering::Relaxed) + 1 >= self.threshold {
            self.open(CLOSED);
        }
    }

    fn open(&self, from: u8) {
        *self.opened_at.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        if self.transition(from, OPEN) {
            self.failures.store(0, Ordering::Relaxed);
        }
    }

    fn transition(&self, from: u8, to: u8) -> bool {
        let moved = self
            .state
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if moved {
            self.states.set(usize::from(to));
            let name = ["closed", "open", "half_open"][usize::from(to)];
            self.transitions.inc(&[name]);
        }
        moved
    }
}

/// Everything a worker records into, and the shared state it works on.
struct Shared {
    stop: AtomicBool,
    config: Config,
    tracker: ResponseTracker,
    cache_lookup: Histogram,
    busy: Gauge,
    breaker: Breaker,
    cache: Mutex<HashMap<u64, u64>>,
    started: Instant,
    /// The next simulated client session's id.
    sessions: AtomicU64,
}

/// A running service: its workers, its telemetry client and its HTTP
/// server (`/metrics`, `/healthz`).
pub struct Service {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    /// Shared with the workers; taken (and shut down) by
    /// [`drain`](Self::drain).
    telemetry: Option<Arc<Client>>,
    server: web::Web,
}

impl Service {
    /// Registers the metrics, starts the telemetry client (its
    /// self-metrics in the same registry), `config.workers` workers and the
    /// `/metrics` endpoint. One service per process: a second one would
    /// find the telemetry self-metrics already registered.
    pub fn start(config: Config) -> Result<Service, Box<dyn std::error::Error>> {
        let reg = hotmetrics::global();
        let mut builder = Client::builder()
            .registry(reg)
            .shutdown_deadline(TELEMETRY_DEADLINE);
        if let Some(url) = &config.otlp_endpoint {
            let mut otlp = OtlpConfig::new(url.as_str());
            otlp.interval = config.otlp_interval;
            otlp.set_resource("service.name".into(), "hotmetrics-example-service".into());
            builder = builder.otlp(otlp);
        }
        let telemetry = match &config.events_endpoint {
            Some(url) => builder.events_endpoint(url.as_str()).start()?,
            None if config.otlp_endpoint.is_some() => builder.start()?,
            None => Client::builder().enabled(false).start()?,
        };
        let telemetry = Arc::new(telemetry);
        // Route `metrics` macros (the dependency client's) into the same
        // registry; another recorder installed first keeps them.
        let _ = hotmetrics::facade::install_with(reg);
        metrics::describe_counter!(
            "dependency_client_attempts",
            "Calls the dependency client attempted"
        );
        let states = reg.state_set(
            "dependency_breaker_state",
            "Circuit breaker in front of the dependency",
            &["closed", "open", "half_open"],
        )?;
        states.set(usize::from(CLOSED));
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            tracker: reg.response_tracker("service")?,
            cache_lookup: reg.histogram(
                "cache_lookup_duration",
                "Cache lookup latency",
                Unit::Nanoseconds,
            )?,
            busy: reg.gauge("service_workers_busy", "Workers serving a request")?,
            breaker: Breaker {
                state: AtomicU8::new(CLOSED),
                failures: AtomicU64::new(0),
                opened_at: Mutex::new(Instant::now()),
                threshold: 5,
                cool_down: Duration::from_millis(200),
                states,
                transitions: reg.counter_family(
                    "dependency_breaker_transitions",
                    "Circuit breaker state changes, by new state",
                    &["state"],
                )?,
            },
            cache: Mutex::new(HashMap::new()),
            started: Instant::now(),
            sessions: AtomicU64::new(1),
            config,
        });
        let server = web::Web::start(reg, shared.config.addr.as_str())?;
        let workers = (0..shared.config.workers)
            .map(|i| {
                let shared = shared.clone();
                let telemetry = telemetry.clone();
                std::thread::Builder::new()
                    .name(format!("worker-{i}"))
                    .spawn(move || {
                        work(&shared, &telemetry, 0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1))
                    })
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Service {
            shared,
            workers,
            telemetry: Some(telemetry),
            server,
        })
    }

    /// Where `/metrics` is served.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Stops the workers (each closes its session) and shuts the telemetry
    /// client down, which sends what is queued (for up to 2 s); `/metrics`
    /// keeps serving, now with the final telemetry self-metrics. Returns
    /// where the events went (`pending` is 0); `None` if already drained.
    pub fn drain(&mut self) -> Option<Accounting> {
        self.shared.stop.store(true, Ordering::Relaxed);
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        let telemetry = self.telemetry.take()?;
        // The workers are joined, so this is the last handle; if one were
        // left, dropping this one would leave the flush to the last `Drop`.
        Some(match Arc::try_unwrap(telemetry) {
            Ok(client) => client.shutdown(TELEMETRY_DEADLINE),
            Err(shared) => shared.accounting(),
        })
    }

    /// Drains (see [`drain`](Self::drain)) and stops the server. Returns
    /// the telemetry accounting if this call drained.
    pub fn stop(mut self) -> Option<Accounting> {
        let acct = self.drain();
        self.server.shutdown();
        acct
    }
}

/// How a request's result is reported as a query outcome.
fn outcome(result: &Result<u64, DependencyError>) -> QueryOutcome {
    match result {
        Ok(_) => QueryOutcome::Ok,
        Err(DependencyError::Timeout) => QueryOutcome::Cancelled,
        Err(_) => QueryOutcome::Error,
    }
}

/// A worker: serves requests until told to stop, as a series of client
/// sessions of 20 to 200 requests.
fn work(shared: &Shared, telemetry: &Client, seed: u64) {
    let mut rng = Rng(seed);
    let mut session = None;
    while !shared.stop.load(Ordering::Relaxed) {
        let (id, left) = match session {
            Some((id, left)) if left > 0 => (id, left),
            _ => {
                if let Some((id, _)) = session {
                    telemetry.session_closed(id);
                }
                // Relaxed: a unique id is all that is needed.
                let id = shared.sessions.fetch_add(1, Ordering::Relaxed);
                telemetry.session_opened(id);
                (id, 20 + rng.below(181))
            }
        };
        session = Some((id, left - 1));
        let route = ROUTES[rng.below(3) as usize];
        // 200 distinct keys: the cache warms up, then mostly hits.
        let key = rng.below(200);
        let start = Instant::now();
        shared.busy.inc();
        let (result, cache) = serve(shared, &mut rng, route, key);
        shared.busy.dec();
        let elapsed = start.elapsed();
        shared
            .tracker
            .record_response(&route, "lookup", elapsed, &result, cache);
        telemetry.query_executed(QueryEvent {
            session: id,
            latency: elapsed,
            // A lookup returns one row, or a few from the dependency.
            rows: match (&result, cache) {
                (Ok(_), CacheStatus::Hit) => 1,
                (Ok(v), _) => 1 + v % 8,
                (Err(_), _) => 0,
            },
            outcome: outcome(&result),
        });
        // Idle between requests: about 2,000 requests per second per worker.
        std::thread::sleep(Duration::from_micros(100 + rng.below(400)));
    }
    if let Some((id, _)) = session {
        telemetry.session_closed(id);
    }
}

fn serve(
    shared: &Shared,
    rng: &mut Rng,
    route: Route,
    key: u64,
) -> (Result<u64, DependencyError>, CacheStatus) {
    // Checkout is never cached.
    if route != Route::Checkout {
        let hit = {
            let _t = shared.cache_lookup.start_timer();
            shared
                .cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&key)
                .copied()
        };
        if let Some(v) = hit {
            return (Ok(v), CacheStatus::Hit);
        }
    }
    let cache = if route == Route::Checkout {
        CacheStatus::NotCached
    } else {
        CacheStatus::Miss
    };
    if !shared.breaker.allow() {
        return (Err(DependencyError::CircuitOpen), cache);
    }
    // An outage of 300 ms every 3 s trips the breaker.
    let outage = shared.started.elapsed().as_millis() % 3_000 < 300;
    let result = dependency::call(rng, shared.config.failure_rate, outage);
    shared.breaker.on_result(result.is_ok());
    if let Ok(v) = result {
        if route != Route::Checkout {
            let mut cache = shared.cache.lock().unwrap_or_else(|p| p.into_inner());
            // Expire everything now and then, so misses keep happening.
            if cache.len() >= 150 {
                cache.clear();
            }
            cache.insert(key, v);
        }
    }
    (result, cache)
}
