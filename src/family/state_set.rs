//! [`StateSet`]: which of a fixed list of states a component is in.
#![forbid(unsafe_code)]

use crate::sync::{Arc, AtomicU64, FrozenArc, Ordering};
use std::fmt;

/// The most states a [`StateSet`] can have (one bit each in one atomic).
pub const MAX_STATES: usize = 64;

/// A component's state out of a fixed list, such as a circuit breaker's
/// `closed` / `open` / `half_open`; exported as an OpenMetrics `stateset`
/// (one boolean per state).
///
/// Exclusive: [`set`](Self::set) makes one state current and clears the
/// others, in one atomic store, so a snapshot never shows two states (or
/// none, after the first `set`). The state bits live in one `AtomicU64`;
/// every operation is lock-free.
///
/// ```
/// let reg = hotmetrics::Registry::new();
/// let breaker = reg
///     .state_set("breaker_state", "Circuit breaker", &["closed", "open", "half_open"])
///     .unwrap();
/// breaker.set(0);
/// assert!(breaker.set_name("open"));
/// assert!(!breaker.set_name("melted")); // unknown: nothing changes
/// assert_eq!(breaker.current(), Some(1));
///
/// let snap = reg.collect();
/// let states = snap.state_set("breaker_state").unwrap();
/// assert_eq!(states[1], ("open".to_string(), true));
/// assert!(!states[0].1 && !states[2].1);
/// ```
#[derive(Clone)]
pub struct StateSet {
    inner: Arc<Inner>,
}

struct Inner {
    states: FrozenArc<[String]>,
    /// Bit `i` set while state `i` is current.
    bits: AtomicU64,
}

impl StateSet {
    pub(crate) fn new(states: FrozenArc<[String]>) -> StateSet {
        debug_assert!(states.len() <= MAX_STATES);
        StateSet {
            inner: Arc::new(Inner {
                states,
                bits: AtomicU64::new(0),
            }),
        }
    }

    /// Makes state `index` the current one (an index past the last state
    /// clears every state).
    #[inline]
    pub fn set(&self, index: usize) {
        let bits = if index < self.inner.states.len() {
            1u64 << index
        } else {
            0
        };
        // Relaxed: one location, whose readers want its latest value; no
        // other data is published through it.
        self.inner.bits.store(bits, Ordering::Relaxed);
    }

    /// Makes the state called `name` current; `false` (and no change) if
    /// there is no such state.
    pub fn set_name(&self, name: &str) -> bool {
        match self.inner.states.iter().position(|s| s == name) {
            Some(i) => {
                self.set(i);
                true
            }
            None => false,
        }
    }

    /// The current state's index (`None` before the first `set`).
    pub fn current(&self) -> Option<usize> {
        // Relaxed: as in `set`.
        let bits = self.inner.bits.load(Ordering::Relaxed);
        (bits != 0).then(|| bits.trailing_zeros() as usize)
    }

    /// The state names, in declared order.
    pub fn states(&self) -> &[String] {
        &self.inner.states
    }

    /// Every state with whether it is set (for the collector).
    pub(crate) fn read(&self) -> Vec<(String, bool)> {
        // Relaxed: as in `set`; one load gives a consistent set of bits.
        let bits = self.inner.bits.load(Ordering::Relaxed);
        self.inner
            .states
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), bits & (1 << i) != 0))
            .collect()
    }
}

impl fmt::Debug for StateSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateSet")
            .field("states", &self.inner.states)
            .field("current", &self.current())
            .finish()
    }
}
