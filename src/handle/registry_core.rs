//! `Core`: what every handle of a registry points at: the per-thread
//! storage, the clock timers read, and the on/off switch.

use crate::clock::Clock;
use crate::storage::Storage;
use crate::sync::{Arc, AtomicU8, Ordering};
use std::fmt;

/// Set when this registry is switched off.
const REGISTRY_OFF: u8 = 1;
/// Set while recording is switched off process-wide.
// (The process-wide switch is not built under loom.)
#[cfg_attr(all(loom, feature = "loom"), allow(dead_code))]
const GLOBAL_OFF: u8 = 2;

// repr(C), flags first: the flag shares a cache line with the per-thread
// store's id, which every record on a shared handle reads next (`Storage`
// and `PerThread` are `repr(C)` with the id first; a test checks it).
#[repr(C)]
pub(crate) struct Core {
    /// `REGISTRY_OFF | GLOBAL_OFF`; recording happens only when zero, so the
    /// switch costs one load and one branch on every record path.
    flags: AtomicU8,
    pub(crate) storage: Storage,
    pub(crate) clock: Clock,
}

impl Core {
    pub(crate) fn new(clock: Clock) -> Arc<Core> {
        let core = Arc::new(Core {
            flags: AtomicU8::new(0),
            storage: Storage::new(),
            clock,
        });
        switch::track(&core);
        core
    }

    /// Whether records should be kept.
    #[inline(always)]
    pub(crate) fn enabled(&self) -> bool {
        // Relaxed: the flag guards no other data. A record racing a switch
        // is either kept or dropped whole, both correct; the switch becomes
        // visible to every thread promptly (cache coherence).
        self.flags.load(Ordering::Relaxed) == 0
    }

    pub(crate) fn set_enabled(&self, on: bool) {
        self.set_flag(REGISTRY_OFF, !on);
    }

    pub(crate) fn registry_enabled(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & REGISTRY_OFF == 0
    }

    fn set_flag(&self, flag: u8, set: bool) {
        // Relaxed: as in `enabled`; the RMW keeps the other bit intact.
        if set {
            self.flags.fetch_or(flag, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!flag, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("enabled", &self.enabled())
            .field("clock", &self.clock)
            .finish()
    }
}

crate::sync::cfg_not_loom! {
    /// The process-wide switch: a list of every live registry's core, so that
    /// switching sets a bit in each and the hot path still reads one flag.
    pub(crate) mod switch {
        use super::{Core, GLOBAL_OFF};
        // The switch list is touched only when a registry is created and when
        // the switch is flipped, never when recording; it is not modelled.
        use std::sync::{Arc, Mutex, MutexGuard, Weak}; // shim-exempt: switch list, not on the hot path

        struct Switch {
            off: bool,
            cores: Vec<Weak<Core>>,
        }

        static SWITCH: Mutex<Switch> = Mutex::new(Switch {
            off: false,
            cores: Vec::new(),
        });

        fn switch() -> MutexGuard<'static, Switch> {
            // A panic cannot leave `Switch` half-updated (single field writes).
            SWITCH.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// Remembers `core` and applies the current switch position to it.
        pub(crate) fn track(core: &Arc<Core>) {
            let mut s = switch();
            s.cores.retain(|w| w.strong_count() > 0);
            core.set_flag(GLOBAL_OFF, s.off);
            s.cores.push(Arc::downgrade(core));
        }

        /// Switches recording off (or back on) in every registry of the process, at
        /// any time from any thread. Each registry's own
        /// [`Registry::set_enabled`](crate::Registry::set_enabled) still applies: a
        /// metric records only while both are on. While off, a record costs one
        /// relaxed load and a branch.
        pub fn set_enabled(on: bool) {
            let mut s = switch();
            s.off = !on;
            s.cores.retain(|w| match w.upgrade() {
                Some(core) => {
                    core.set_flag(GLOBAL_OFF, !on);
                    true
                }
                None => false,
            });
        }

        /// Whether recording is switched on process-wide (see [`set_enabled`]).
        pub fn is_enabled() -> bool {
            !switch().off
        }
    }
}

crate::sync::cfg_loom! {
    pub(crate) mod switch {
        use super::Core;
        use crate::sync::Arc;

        /// The process-wide switch is not modelled under loom.
        pub(crate) fn track(_core: &Arc<Core>) {}
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Core;

    #[test]
    fn the_switch_and_the_per_thread_lookup_share_a_cache_line() {
        let core = Core::new(crate::clock::Clock::from_fn(|| 0));
        let flags = &core.flags as *const _ as usize;
        let id = core.storage.lookup_address();
        assert!(id > flags && id - flags <= 8, "{flags:#x} {id:#x}");
        assert_eq!(flags / 64, id / 64, "{flags:#x} {id:#x}");
    }
}
