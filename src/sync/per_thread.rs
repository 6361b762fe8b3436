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
//! same contract: values live as long as the `PerThread`, thread ids are
//! handed out and recycled like the crate's (through a loom mutex, so the
//! model sees the ordering the recycling relies on), owner lookups go through
//! loom's own thread-locals (invisible to the model, like the real crate's),
//! and creation and iteration go through a loom mutex.

cfg_not_loom! {
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

            /// This thread's value, if it has one already.
            #[inline(always)]
            pub(crate) fn get(&self) -> Option<&T> {
                self.inner.get()
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
}

cfg_loom! {
    mod imp {
        use crate::sync::{lock, Arc, Mutex};
        use std::cell::RefCell;
        use std::fmt;

        /// Thread ids of one `PerThread`: the smallest free one is handed out,
        /// and a thread's id is freed when it exits, as `thread_local` does.
        #[derive(Default)]
        struct Ids {
            next: usize,
            free: Vec<usize>,
        }

        impl Ids {
            fn alloc(&mut self) -> usize {
                match self.free.iter().enumerate().min_by_key(|&(_, id)| *id) {
                    Some((i, _)) => self.free.swap_remove(i),
                    None => {
                        self.next += 1;
                        self.next - 1
                    }
                }
            }
        }

        /// This thread's id and value in one `PerThread`.
        struct Mine {
            /// The instance's id allocator, which also names the instance: this
            /// reference keeps its address from being reused by another one.
            ids: Arc<Mutex<Ids>>,
            id: usize,
            /// Address of the value, in a `Box` owned by the instance.
            addr: usize,
        }

        /// This thread's entries; frees their ids when the thread exits.
        struct Registered(Vec<Mine>);

        impl Drop for Registered {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    // A failed model is being torn down outside loom's execution,
                    // where loom objects cannot be touched: leak them instead of
                    // turning the failure into an abort.
                    std::mem::forget(std::mem::take(&mut self.0));
                    return;
                }
                for m in self.0.drain(..) {
                    // The lock, like `thread_local`'s id allocator mutex, makes
                    // everything this thread did happen-before the next thread
                    // that is handed its id (and with it, its value).
                    lock(&m.ids).free.push(m.id);
                }
            }
        }

        loom::thread_local! {
            /// One thread-local map serves every instance.
            static MINE: RefCell<Registered> = RefCell::new(Registered(Vec::new()));
        }

        pub(crate) struct PerThread<T: Send> {
            ids: Arc<Mutex<Ids>>,
            /// Values by thread id; a value is never removed or moved while
            /// `self` lives.
            all: Mutex<Vec<Option<Box<T>>>>,
        }

        impl<T: Send> PerThread<T> {
            pub(crate) fn new() -> Self {
                PerThread {
                    ids: Arc::new(Mutex::new(Ids::default())),
                    all: Mutex::new(Vec::new()),
                }
            }

            pub(crate) fn get(&self) -> Option<&T> {
                let addr = MINE.with(|m| {
                    m.borrow()
                        .0
                        .iter()
                        .find(|m| Arc::ptr_eq(&m.ids, &self.ids))
                        .map(|m| m.addr)
                })?;
                // SAFETY: `addr` points into a `Box<T>` owned by `self.all`, which
                // never removes or moves its boxes while `self` lives.
                Some(unsafe { &*(addr as *const T) })
            }

            pub(crate) fn get_or(&self, create: impl FnOnce() -> T) -> &T {
                if let Some(v) = self.get() {
                    return v;
                }
                // As in `thread_local`: take the smallest free id, then the value
                // a thread that exited left under it, or a new one. The `all`
                // lock stands for the crate's Release/Acquire publication of a
                // new value; the allocator's lock is not held past `alloc`.
                let id = lock(&self.ids).alloc();
                let addr = {
                    let mut all = lock(&self.all);
                    if all.len() <= id {
                        all.resize_with(id + 1, || None);
                    }
                    let value = all[id].get_or_insert_with(|| Box::new(create()));
                    &**value as *const T as usize
                };
                MINE.with(|m| {
                    m.borrow_mut().0.push(Mine {
                        ids: self.ids.clone(),
                        id,
                        addr,
                    })
                });
                // SAFETY: `addr` is the address of the `Box<T>` just found
                // or put in `self.all[id]`, which never removes or moves its
                // boxes while `self` lives (the borrow is tied to `&self`).
                unsafe { &*(addr as *const T) }
            }
        }

        impl<T: Send + Sync> PerThread<T> {
            pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
                for v in lock(&self.all).iter().flatten() {
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
}

pub(crate) use imp::PerThread;

#[cfg(all(test, loom, feature = "loom"))]
mod loom_model {
    //! White-box model of the per-thread store (the loom stand-in, which
    //! keeps `thread_local`'s contract): one writer per value at a time,
    //! values of exited threads kept and handed to later threads.

    use super::PerThread;
    use crate::sync::{run_model, Arc, AtomicU64, Ordering};
    use loom::thread;

    /// Adds `n` to this thread's value the way the storage's single-writer
    /// cells do, with a load and a store rather than a read-modify-write:
    /// two threads ever sharing a value at once would lose an update.
    fn add(values: &PerThread<AtomicU64>, n: u64) {
        let cell = values.get_or(|| AtomicU64::new(0));
        // Relaxed: this thread is the value's only writer.
        let v = cell.load(Ordering::Relaxed);
        cell.store(v + n, Ordering::Relaxed);
    }

    /// The sum over every value, and how many values there are.
    fn total(values: &PerThread<AtomicU64>) -> (u64, usize) {
        let (mut sum, mut count) = (0, 0);
        // Relaxed: a sum that may miss concurrent adds, as a collection is.
        values.for_each(|v| {
            sum += v.load(Ordering::Relaxed);
            count += 1;
        });
        (sum, count)
    }

    /// Two threads add 1 and 2 while the main thread sums; the second may
    /// be handed the first one's value once the first has exited. Both
    /// outcomes (one value, two values) must occur among the executions.
    #[test]
    fn values_have_one_writer_and_outlive_their_thread() {
        // Outside the model: which outcomes some execution produced.
        static OUTCOMES: [std::sync::atomic::AtomicBool; 2] =
            [const { std::sync::atomic::AtomicBool::new(false) }; 2];
        run_model("per_thread values_have_one_writer", || {
            let values = Arc::new(PerThread::new());
            let threads: Vec<_> = [1, 2]
                .into_iter()
                .map(|n| {
                    let values = values.clone();
                    thread::spawn(move || add(&values, n))
                })
                .collect();
            let (sum, _) = total(&values);
            assert!(sum <= 3, "counted more than was added: {sum}");
            for t in threads {
                t.join().unwrap();
            }
            let (sum, count) = total(&values);
            assert_eq!(sum, 3, "an add was lost, or an exited thread's value");
            assert!((1..=2).contains(&count), "{count} values for two threads");
            OUTCOMES[count - 1].store(true, Ordering::Relaxed);
            add(&values, 4);
            assert_eq!(total(&values).0, 7);
        });
        for (i, seen) in OUTCOMES.iter().enumerate() {
            let what = ["an exited thread's value handed on", "two values"][i];
            assert!(seen.load(Ordering::Relaxed), "never explored: {what}");
        }
    }
}
