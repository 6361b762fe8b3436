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

#[cfg(all(test, loom, feature = "loom"))]
mod loom_model {
    //! White-box model of publication (the loom stand-in, which keeps
    //! `arc-swap`'s contract).

    use super::Publish;
    use crate::sync::{run_model, Arc, AtomicU64, Ordering};
    use loom::thread;

    /// A published value: its generation, and a payload derived from it.
    struct Generation {
        number: u64,
        payload: AtomicU64,
    }

    fn generation(number: u64) -> Arc<Generation> {
        let payload = AtomicU64::new(number * 10);
        Arc::new(Generation { number, payload })
    }

    /// Reads the published value and checks that it is whole.
    fn read(p: &Publish<Generation>) -> u64 {
        let g = p.load();
        // Relaxed: the value was complete before it was published.
        assert_eq!(
            g.payload.load(Ordering::Relaxed),
            g.number * 10,
            "torn value"
        );
        g.number
    }

    /// A reader loads twice while the main thread publishes generations 1
    /// and 2: every value it sees is whole, never older than the one before,
    /// and the last publication is what remains.
    #[test]
    fn readers_see_whole_values_in_order() {
        run_model("publish readers_see_whole_values_in_order", || {
            let p = Arc::new(Publish::new(generation(0)));
            let reader = {
                let p = p.clone();
                thread::spawn(move || {
                    let first = read(&p);
                    let second = read(&p);
                    assert!(first <= second, "generation {second} after {first}");
                })
            };
            p.store(generation(1));
            p.store(generation(2));
            reader.join().unwrap();
            assert_eq!(read(&p), 2, "a publication was lost");
        });
    }
}
