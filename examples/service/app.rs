//! The instrumented service: a pool of worker threads serving simulated
//! requests, a cache in front of a flaky dependency, a circuit breaker
//! guarding the dependency, and a `/metrics` endpoint.
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

use hotmetrics::export::http;
use hotmetrics::{
    CacheStatus, CounterFamily, Gauge, Histogram, LabelValue, ResponseTracker, StateSet, Unit,
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
}

impl Default for Config {
    fn default() -> Config {
        Config {
            addr: "127.0.0.1:9464".to_string(),
            workers: 4,
            failure_rate: 0.05,
        }
    }
}

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
    transitions: CounterFamily,
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
}

/// A running service: its workers and its `/metrics` server.
pub struct Service {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    server: http::Server,
}

impl Service {
    /// Registers the metrics, starts `config.workers` workers and the
    /// `/metrics` endpoint.
    pub fn start(config: Config) -> Result<Service, Box<dyn std::error::Error>> {
        let reg = hotmetrics::global();
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
            config,
        });
        let server = http::serve(reg, shared.config.addr.as_str())?;
        let workers = (0..shared.config.workers)
            .map(|i| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("worker-{i}"))
                    .spawn(move || work(&shared, 0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1)))
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Service {
            shared,
            workers,
            server,
        })
    }

    /// Where `/metrics` is served.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Stops the workers and the server.
    pub fn stop(self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for w in self.workers {
            let _ = w.join();
        }
        self.server.shutdown();
    }
}

/// A worker: serves requests until told to stop.
fn work(shared: &Shared, seed: u64) {
    let mut rng = Rng(seed);
    while !shared.stop.load(Ordering::Relaxed) {
        let route = ROUTES[rng.below(3) as usize];
        // 200 distinct keys: the cache warms up, then mostly hits.
        let key = rng.below(200);
        let start = Instant::now();
        shared.busy.inc();
        let (result, cache) = serve(shared, &mut rng, route, key);
        shared.busy.dec();
        shared
            .tracker
            .record_response(&route, "lookup", start.elapsed(), &result, cache);
        // Idle between requests: about 2,000 requests per second per worker.
        std::thread::sleep(Duration::from_micros(100 + rng.below(400)));
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
