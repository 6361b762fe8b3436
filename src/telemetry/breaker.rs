//! [`Breaker`]: a circuit breaker around an endpoint, as a pure state
//! machine. Time and randomness come in as arguments (milliseconds on any
//! monotonic scale, and a jitter draw in `[0, 1)`), so tests drive it
//! deterministically; the exporter feeds it its clock and a xorshift.
//!
//! ```text
//!            N consecutive failures, or failure rate ≥ r over the window
//!  Closed ─────────────────────────────────────────────────────────► Open
//!    ▲                                                             │  ▲
//!    │ probe succeeds                     cool-down elapsed        │  │ probe fails
//!    │                                    (base · 2^k, ± jitter)   ▼  │ (k += 1)
//!    └───────────────────────────────────────────────────────── HalfOpen
//! ```
//!
//! While half-open, one request at a time is let through as a probe.
#![forbid(unsafe_code)]

use std::time::Duration;

/// The breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Requests flow.
    Closed,
    /// Requests are held until the cool-down ends.
    Open,
    /// One probe at a time is let through.
    HalfOpen,
}

impl BreakerState {
    /// The state names, in the order of the exported state set.
    pub const NAMES: [&'static str; 3] = ["closed", "open", "half_open"];

    /// The index of this state in [`NAMES`](Self::NAMES).
    pub fn index(self) -> usize {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
        }
    }
}

/// When the breaker opens and how long it stays open.
///
/// ```
/// use hotmetrics::telemetry::BreakerConfig;
/// use std::time::Duration;
///
/// let c = BreakerConfig::default();
/// assert_eq!(c.consecutive_failures, 5);
/// assert_eq!(c.base_cooldown, Duration::from_secs(1));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BreakerConfig {
    /// Open after this many failures in a row (default 5).
    pub consecutive_failures: u32,
    /// Open when at least this share of the last `window` requests failed
    /// (default 0.5)...
    pub failure_rate: f64,
    /// ...over a window of this many requests, once it is full (default 20).
    pub window: u32,
    /// The first cool-down (default 1 s).
    pub base_cooldown: Duration,
    /// The longest cool-down (default 60 s); each failed probe doubles it.
    pub max_cooldown: Duration,
    /// Each cool-down is scaled by a random factor in `[1 − j, 1 + j]`
    /// (default 0.2), so that many clients do not probe in step.
    pub jitter: f64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            consecutive_failures: 5,
            failure_rate: 0.5,
            window: 20,
            base_cooldown: Duration::from_secs(1),
            max_cooldown: Duration::from_secs(60),
            jitter: 0.2,
        }
    }
}

/// A transition, for the exported counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Closed or half-open → open.
    Opened,
    /// Open → half-open.
    HalfOpened,
    /// Half-open → closed.
    Closed,
}

/// The circuit breaker (see the module docs).
///
/// ```
/// use hotmetrics::telemetry::{Breaker, BreakerConfig, BreakerState};
/// use std::time::Duration;
///
/// let mut b = Breaker::new(BreakerConfig {
///     consecutive_failures: 2,
///     jitter: 0.0,
///     ..BreakerConfig::default()
/// });
/// assert!(b.allow(0));
/// b.on_failure(0, 0.5);
/// b.on_failure(1, 0.5);
/// assert_eq!(b.state(), BreakerState::Open);
/// assert!(!b.allow(500));
/// assert!(b.allow(1_001)); // cool-down of 1 s over: a probe
/// assert_eq!(b.state(), BreakerState::HalfOpen);
/// b.on_success(1_002);
/// assert_eq!(b.state(), BreakerState::Closed);
/// ```
#[derive(Clone, Debug)]
pub struct Breaker {
    config: BreakerConfig,
    state: BreakerState,
    consecutive: u32,
    /// Outcomes of the last `window` requests, one bit each (1 = failure).
    window_bits: u64,
    window_len: u32,
    /// Failed probes in a row: the cool-down exponent.
    reopenings: u32,
    open_until: u64,
    probe_in_flight: bool,
    last: Option<Transition>,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(mut config: BreakerConfig) -> Breaker {
        config.window = config.window.clamp(1, 64);
        Breaker {
            config,
            state: BreakerState::Closed,
            consecutive: 0,
            window_bits: 0,
            window_len: 0,
            reopenings: 0,
            open_until: 0,
            probe_in_flight: false,
            last: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// The last transition since the previous call, if any.
    pub fn take_transition(&mut self) -> Option<Transition> {
        self.last.take()
    }

    /// When (ms) an open breaker lets the next probe through.
    pub fn open_until(&self) -> u64 {
        self.open_until
    }

    /// Whether a request may be sent at `now_ms`; moves an open breaker
    /// whose cool-down is over to half-open and lets one probe through.
    pub fn allow(&mut self, now_ms: u64) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open if now_ms >= self.open_until => {
                self.state = BreakerState::HalfOpen;
                self.last = Some(Transition::HalfOpened);
                self.probe_in_flight = true;
                true
            }
            BreakerState::Open => false,
            BreakerState::HalfOpen if !self.probe_in_flight => {
                self.probe_in_flight = true;
                true
            }
            BreakerState::HalfOpen => false,
        }
    }

    /// The request let through succeeded.
    pub fn on_success(&mut self, _now_ms: u64) {
        self.consecutive = 0;
        self.record(false);
        if self.state == BreakerState::HalfOpen {
            self.state = BreakerState::Closed;
            self.last = Some(Transition::Closed);
            self.reopenings = 0;
            self.window_bits = 0;
            self.window_len = 0;
        }
        self.probe_in_flight = false;
    }

    /// The request let through failed; `jitter_draw` is uniform in `[0, 1)`.
    pub fn on_failure(&mut self, now_ms: u64, jitter_draw: f64) {
        self.consecutive = self.consecutive.saturating_add(1);
        self.record(true);
        self.probe_in_flight = false;
        match self.state {
            BreakerState::HalfOpen => {
                self.reopenings = self.reopenings.saturating_add(1);
                self.open(now_ms, jitter_draw);
            }
            BreakerState::Closed => {
                let rate_tripped = self.window_len >= self.config.window
                    && f64::from(self.window_bits.count_ones())
                        >= self.config.failure_rate * f64::from(self.config.window);
                if self.consecutive >= self.config.consecutive_failures.max(1) || rate_tripped {
                    self.open(now_ms, jitter_draw);
                }
            }
            BreakerState::Open => {}
        }
    }

    /// The cool-down for the current number of failed probes:
    /// `base · 2^reopenings`, capped, scaled by the jitter factor.
    pub fn cooldown(&self, jitter_draw: f64) -> Duration {
        let base = self.config.base_cooldown.as_secs_f64();
        let raw = (base * 2f64.powi(self.reopenings.min(30) as i32))
            .min(self.config.max_cooldown.as_secs_f64());
        let j = self.config.jitter.clamp(0.0, 1.0);
        let factor = 1.0 - j + 2.0 * j * jitter_draw.clamp(0.0, 1.0);
        Duration::from_secs_f64((raw * factor).max(0.0))
    }

    fn open(&mut self, now_ms: u64, jitter_draw: f64) {
        let cool = self.cooldown(jitter_draw).as_millis() as u64;
        self.state = BreakerState::Open;
        self.open_until = now_ms.saturating_add(cool);
        self.last = Some(Transition::Opened);
    }

    fn record(&mut self, failed: bool) {
        let w = self.config.window;
        let mask = if w >= 64 { u64::MAX } else { (1u64 << w) - 1 };
        self.window_bits = ((self.window_bits << 1) | u64::from(failed)) & mask;
        self.window_len = (self.window_len + 1).min(w);
    }
}

/// A small xorshift generator for the jitter draws (no dependency, no
/// allocation; quality is irrelevant here).
#[derive(Clone, Debug)]
#[cfg_attr(all(loom, feature = "loom"), allow(dead_code))]
pub(crate) struct Jitter(u64);

// Used by the exporter, which the loom build leaves out.
#[cfg_attr(all(loom, feature = "loom"), allow(dead_code))]
impl Jitter {
    pub(crate) fn new(seed: u64) -> Jitter {
        Jitter(seed | 1)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn draw(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BreakerConfig {
        BreakerConfig {
            consecutive_failures: 3,
            failure_rate: 0.5,
            window: 8,
            base_cooldown: Duration::from_millis(100),
            max_cooldown: Duration::from_millis(1_000),
            jitter: 0.0,
        }
    }

    #[test]
    fn opens_after_consecutive_failures_then_probes_and_closes() {
        let mut b = Breaker::new(config());
        for t in 0..2 {
            assert!(b.allow(t));
            b.on_failure(t, 0.5);
            assert_eq!(b.state(), BreakerState::Closed);
        }
        b.on_failure(2, 0.5);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.take_transition(), Some(Transition::Opened));
        assert!(!b.allow(101));
        assert!(b.allow(102));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(!b.allow(103), "one probe at a time");
        b.on_success(104);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.take_transition(), Some(Transition::Closed));
    }

    #[test]
    fn failed_probes_back_off_exponentially_up_to_the_cap() {
        let mut b = Breaker::new(config());
        let mut now = 0;
        for _ in 0..3 {
            b.on_failure(now, 0.5);
        }
        let mut cooldowns = Vec::new();
        for _ in 0..6 {
            let until = b.open_until();
            cooldowns.push(until - now);
            now = until;
            assert!(b.allow(now));
            b.on_failure(now, 0.5);
        }
        assert_eq!(cooldowns, [100, 200, 400, 800, 1_000, 1_000]);
    }

    #[test]
    fn opens_on_failure_rate() {
        let mut b = Breaker::new(config());
        // Alternate: never 3 in a row, but half of a full window fails.
        for t in 0..7 {
            if t % 2 == 0 {
                b.on_failure(t, 0.5);
            } else {
                b.on_success(t);
            }
            assert_eq!(b.state(), BreakerState::Closed, "t = {t}");
        }
        b.on_success(7);
        b.on_failure(8, 0.5);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn jitter_spreads_the_cooldown() {
        let b = Breaker::new(BreakerConfig {
            jitter: 0.2,
            ..config()
        });
        assert_eq!(b.cooldown(0.0), Duration::from_millis(80));
        assert_eq!(b.cooldown(1.0), Duration::from_millis(120));
        let mut j = Jitter::new(42);
        for _ in 0..1000 {
            let d = j.draw();
            assert!((0.0..1.0).contains(&d));
        }
    }
}
