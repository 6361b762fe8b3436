//! `Reclaim`: when an evicted series can no longer be reached by a reader.
//!
//! Dynamic lookups into a family that evicts run inside a [`Guard`]. The
//! collector, after unlinking a series from the table, [`retire`]s it; the
//! series becomes [`take_ready`] once every guard that was held at the time
//! of the retirement has been dropped. From then on no thread can still be
//! looking at the series or be about to record into its cells.
//!
//! In production this is `crossbeam-epoch`: `pin()` on each lookup, and a
//! deferred function per retired series that flags it ready once the epoch
//! has advanced past every thread pinned at retirement. Under loom a stand-in
//! keeps the same contract with a loom mutex (a guard is an entry in a list
//! of live guards; a retired value is ready when no guard older than it is
//! left), so the models check the family's eviction protocol against every
//! interleaving, not `crossbeam-epoch` itself.
//!
//! [`retire`]: Reclaim::retire
//! [`take_ready`]: Reclaim::take_ready
#![forbid(unsafe_code)]

cfg_not_loom! {
    mod imp {
        use crate::sync::{lock, AtomicU8, FrozenArc, Mutex, Ordering};
        use std::marker::PhantomData;

        /// Held while a lookup may use a series it found (see the module docs).
        pub(crate) struct Guard<'a> {
            _epoch: crossbeam_epoch::Guard,
            _reclaim: PhantomData<&'a ()>,
        }

        pub(crate) struct Reclaim<T> {
            /// Retired values with the flag their deferred function sets.
            retired: Mutex<Vec<(FrozenArc<AtomicU8>, T)>>,
        }

        impl<T> Reclaim<T> {
            pub(crate) fn new() -> Self {
                Reclaim {
                    retired: Mutex::new(Vec::new()),
                }
            }

            #[inline]
            pub(crate) fn pin(&self) -> Guard<'_> {
                Guard {
                    _epoch: crossbeam_epoch::pin(),
                    _reclaim: PhantomData,
                }
            }

            /// Hands over `value`, already unreachable for new lookups.
            pub(crate) fn retire(&self, value: T) {
                let ready = FrozenArc::new(AtomicU8::new(0));
                let flag = ready.clone();
                let guard = crossbeam_epoch::pin();
                // Runs once every thread pinned now has unpinned. Release: pairs
                // with the Acquire in `take_ready`, so the collector sees every
                // record those threads made (crossbeam orders their unpinning
                // before this call).
                guard.defer(move || flag.store(1, Ordering::Release));
                guard.flush();
                lock(&self.retired).push((ready, value));
            }

            /// The retired values no reader can reach any more.
            pub(crate) fn take_ready(&self) -> Vec<T> {
                // Moves this thread's deferred functions to the global queue and
                // runs those whose epoch has passed.
                crossbeam_epoch::pin().flush();
                let mut retired = lock(&self.retired);
                let mut ready = Vec::new();
                let mut i = 0;
                while i < retired.len() {
                    // Acquire: see `retire`.
                    if retired[i].0.load(Ordering::Acquire) != 0 {
                        ready.push(retired.swap_remove(i).1);
                    } else {
                        i += 1;
                    }
                }
                ready
            }

            /// Number of values retired and not yet ready.
            pub(crate) fn pending(&self) -> usize {
                lock(&self.retired).len()
            }
        }
    }
}

cfg_loom! {
    mod imp {
        use crate::sync::{lock, Mutex};

        struct State<T> {
            next: u64,
            /// Ids of the guards alive now.
            live: Vec<u64>,
            /// Values with the first guard id that can no longer see them.
            retired: Vec<(u64, T)>,
        }

        pub(crate) struct Reclaim<T> {
            state: Mutex<State<T>>,
        }

        pub(crate) struct Guard<'a> {
            state: &'a dyn Unpinner,
            id: u64,
        }

        /// Object-safe access to a `Reclaim`'s guard list, whatever its `T`.
        trait Unpinner {
            fn unpin(&self, id: u64);
        }

        impl<T> Unpinner for Mutex<State<T>> {
            fn unpin(&self, id: u64) {
                lock(self).live.retain(|&g| g != id);
            }
        }

        impl Drop for Guard<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    // A failed model is being torn down outside loom's execution.
                    return;
                }
                self.state.unpin(self.id);
            }
        }

        impl<T> Reclaim<T> {
            pub(crate) fn new() -> Self {
                Reclaim {
                    state: Mutex::new(State {
                        next: 0,
                        live: Vec::new(),
                        retired: Vec::new(),
                    }),
                }
            }

            pub(crate) fn pin(&self) -> Guard<'_> {
                let mut s = lock(&self.state);
                let id = s.next;
                s.next += 1;
                s.live.push(id);
                Guard {
                    state: &self.state,
                    id,
                }
            }

            pub(crate) fn retire(&self, value: T) {
                let mut s = lock(&self.state);
                let stamp = s.next;
                s.retired.push((stamp, value));
            }

            pub(crate) fn take_ready(&self) -> Vec<T> {
                let mut s = lock(&self.state);
                let oldest = s.live.iter().copied().min().unwrap_or(u64::MAX);
                let mut ready = Vec::new();
                let mut i = 0;
                while i < s.retired.len() {
                    if s.retired[i].0 <= oldest {
                        ready.push(s.retired.swap_remove(i).1);
                    } else {
                        i += 1;
                    }
                }
                ready
            }

            pub(crate) fn pending(&self) -> usize {
                lock(&self.state).retired.len()
            }
        }
    }
}

pub(crate) use imp::{Guard, Reclaim};

#[cfg(all(test, loom, feature = "loom"))]
mod loom_model {
    //! White-box model of reclamation (the loom stand-in, which keeps
    //! `crossbeam-epoch`'s contract) as the family uses it: unlink, retire,
    //! then free only what `take_ready` returns.

    use super::Reclaim;
    use crate::sync::{run_model, Arc, AtomicU8, Ordering};
    use loom::thread;

    const LINKED: u8 = 0;
    const UNLINKED: u8 = 1;
    const FREED: u8 = 2;

    /// A reader that finds the value still linked, inside a guard, uses it
    /// while the collector unlinks, retires and tries to free it: the value
    /// is never freed under the reader, and is freed once the guard is gone.
    #[test]
    fn no_value_is_freed_under_a_guard() {
        run_model("reclaim no_value_is_freed_under_a_guard", || {
            let reclaim = Arc::new(Reclaim::new());
            // The value's life: linked, then unlinked, then freed.
            let state = Arc::new(AtomicU8::new(LINKED));
            let reader = {
                let (reclaim, state) = (reclaim.clone(), state.clone());
                thread::spawn(move || {
                    let guard = reclaim.pin();
                    // Acquire: pairs with the collector's Release stores.
                    if state.load(Ordering::Acquire) == LINKED {
                        // Found linked: the value is in use until the guard
                        // drops.
                        thread::yield_now();
                        let now = state.load(Ordering::Acquire);
                        assert_ne!(now, FREED, "freed under a guard");
                    }
                    drop(guard);
                })
            };
            // The collector: unlink, retire, free what is ready, twice.
            // Release: a reader that sees a state sees what came before.
            state.store(UNLINKED, Ordering::Release);
            reclaim.retire(());
            let mut freed = 0;
            for _ in 0..2 {
                for () in reclaim.take_ready() {
                    state.store(FREED, Ordering::Release);
                    freed += 1;
                }
            }
            reader.join().unwrap();
            freed += reclaim.take_ready().len();
            assert_eq!(freed, 1, "the value was not freed exactly once");
            assert_eq!(reclaim.pending(), 0);
        });
    }
}
