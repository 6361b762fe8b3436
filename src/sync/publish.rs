//! `Publish<T>`: the latest `Arc<T>`, replaced atomically, read without locks.
//!
//! In production this is `arc-swap`'s `ArcSwap`: a reader gets the current
//! `Arc` with no lock and no contention with the publisher. `arc-swap` does not
//! know loom, so under loom a mutex-guarded `Arc` stands in (arc-swap keeps
//! such a strategy itself for cross-checking); the contract is the same: a
//! reader sees the last complete value published before it, never a torn one.

use crate::sync::Arc;

cfg_not_loom! {
    pub(crate) struct Publish<T> {
        current: arc_swap::ArcSwap<T>,
    }

    impl<T> Publish<T> {
        pub(crate) fn new(initial: Arc<T>) -> Self {
            Publish {
                current: arc_swap::ArcSwap::new(initial),
            }
        }

        /// The latest published value.
        #[inline]
        pub(crate) fn load(&self) -> Arc<T> {
            self.current.load_full()
        }

        /// Replaces the published value.
        pub(crate) fn store(&self, value: Arc<T>) {
            self.current.store(value);
        }
    }
}

cfg_loom! {
    pub(crate) struct Publish<T> {
        current: crate::sync::Mutex<Arc<T>>,
    }

    impl<T> Publish<T> {
        pub(crate) fn new(initial: Arc<T>) -> Self {
            Publish {
                current: crate::sync::Mutex::new(initial),
            }
        }

        pub(crate) fn load(&self) -> Arc<T> {
            crate::sync::lock(&self.current).clone()
        }

        pub(crate) fn store(&self, value: Arc<T>) {
            *crate::sync::lock(&self.current) = value;
        }
    }
}

impl<T> std::fmt::Debug for Publish<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Publish { .. }")
    }
}
