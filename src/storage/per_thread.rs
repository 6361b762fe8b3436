//! `PerThread<T>`: one `T` per thread, reachable by its owner without a lock
//! and iterable by anyone.
//!
//! In production this is the `thread_local` crate's `ThreadLocal`. When a
//! thread exits its value is kept, and a later thread may be handed the same
//! value (thread ids are recycled): nothing recorded is ever dropped, and the
//! number of values is bounded by the peak number of live threads. The
//! recycling is ordered by the crate's id allocator (a thread's id is freed
//! after it stops running), so a value still has a single writer at a time.
//!
//! `thread_local` does not know loom, so under loom a small stand-in keeps the
//! same contract: values live as long as the `PerThread`, owner lookups go
//! through loom's own thread-locals (invisible to the model, like the real
//! crate's), and creation and iteration go through a loom mutex.

#[cfg(not(all(loom, feature = "loom")))]
mod imp {
    use std::fmt;

    /// One `T` per thread (see the module docs).
    pub(crate) struct PerThread<T: Send> {
        inner: thread_local::ThreadLocal<T>,
    }

    impl<T: Send> PerThread<T> {
        pub(crate) fn new() -> Self {
            PerThread {
                inner: thread_local::ThreadLocal::new(),
            }
        }

        /// This thread's value, created by `create` on first use.
        #[inline]
        pub(crate) fn get_or(&self, create: impl FnOnce() -> T) -> &T {
            self.inner.get_or(create)
        }
    }

    impl<T: Send + Sync> PerThread<T> {
        /// Every thread's value, including those of threads that exited.
        pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
            self.inner.iter().for_each(&mut f);
        }
    }

    impl<T: Send> fmt::Debug for PerThread<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("PerThread { .. }")
        }
    }
}

#[cfg(all(loom, feature = "loom"))]
mod imp {
    use crate::sync::{lock, Mutex};
    use std::cell::RefCell;
    use std::fmt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Ids of `PerThread` instances, so one thread-local map serves them all.
    static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

    loom::thread_local! {
        /// (instance id, address of this thread's value in that instance).
        static MINE: RefCell<Vec<(usize, usize)>> = RefCell::new(Vec::new());
    }

    pub(crate) struct PerThread<T: Send> {
        id: usize,
        all: Mutex<Vec<Box<T>>>,
    }

    impl<T: Send> PerThread<T> {
        pub(crate) fn new() -> Self {
            PerThread {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                all: Mutex::new(Vec::new()),
            }
        }

        fn get(&self) -> Option<&T> {
            let addr = MINE.with(|m| {
                m.borrow()
                    .iter()
                    .find(|(id, _)| *id == self.id)
                    .map(|&(_, a)| a)
            })?;
            // SAFETY: `addr` points into a `Box<T>` owned by `self.all`, which
            // never removes or moves its boxes while `self` lives.
            Some(unsafe { &*(addr as *const T) })
        }

        pub(crate) fn get_or(&self, create: impl FnOnce() -> T) -> &T {
            if let Some(v) = self.get() {
                return v;
            }
            let boxed = Box::new(create());
            let addr = &*boxed as *const T as usize;
            lock(&self.all).push(boxed);
            MINE.with(|m| m.borrow_mut().push((self.id, addr)));
            // SAFETY: as in `get`; the box was just pushed to `self.all`.
            unsafe { &*(addr as *const T) }
        }
    }

    impl<T: Send + Sync> PerThread<T> {
        pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
            for v in lock(&self.all).iter() {
                f(v);
            }
        }
    }

    impl<T: Send> fmt::Debug for PerThread<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("PerThread { .. }")
        }
    }
}

pub(crate) use imp::PerThread;
