//! `Queue<T>`: a bounded multi-producer queue whose push never blocks.
//!
//! In production this is `crossbeam_queue::ArrayQueue`: a fixed ring of
//! slots allocated once, each with a stamp; a push or pop is a CAS on the
//! tail or head plus a store to the slot, never a lock, never an allocation.
//! A push into a full ring hands the value back. `crossbeam-queue` does not
//! know loom, so under loom a mutex-guarded `VecDeque` with the same bound
//! stands in (as `snapshot/publish.rs` does for arc-swap); the contract is
//! the same: a push either enqueues or returns the value, a pop returns
//! each enqueued value once, and a value pushed happens-before its pop.

cfg_not_loom! {
    pub(crate) struct Queue<T> {
        ring: crossbeam_queue::ArrayQueue<T>,
    }

    impl<T> Queue<T> {
        /// A queue of `capacity` (at least 1) slots, allocated now.
        pub(crate) fn new(capacity: usize) -> Self {
            Queue {
                ring: crossbeam_queue::ArrayQueue::new(capacity.max(1)),
            }
        }

        /// Enqueues `value`, or hands it back if the queue is full.
        #[inline]
        pub(crate) fn push(&self, value: T) -> Result<(), T> {
            self.ring.push(value)
        }

        /// The oldest value, if any.
        #[inline]
        pub(crate) fn pop(&self) -> Option<T> {
            self.ring.pop()
        }

        /// How many values are queued (a racy estimate while others push).
        pub(crate) fn len(&self) -> usize {
            self.ring.len()
        }

        pub(crate) fn capacity(&self) -> usize {
            self.ring.capacity()
        }
    }
}

cfg_loom! {
    pub(crate) struct Queue<T> {
        ring: crate::sync::Mutex<std::collections::VecDeque<T>>,
        capacity: usize,
    }

    impl<T> Queue<T> {
        pub(crate) fn new(capacity: usize) -> Self {
            let capacity = capacity.max(1);
            Queue {
                ring: crate::sync::Mutex::new(std::collections::VecDeque::with_capacity(capacity)),
                capacity,
            }
        }

        pub(crate) fn push(&self, value: T) -> Result<(), T> {
            let mut ring = crate::sync::lock(&self.ring);
            if ring.len() >= self.capacity {
                return Err(value);
            }
            ring.push_back(value);
            Ok(())
        }

        pub(crate) fn pop(&self) -> Option<T> {
            crate::sync::lock(&self.ring).pop_front()
        }

        pub(crate) fn len(&self) -> usize {
            crate::sync::lock(&self.ring).len()
        }

        pub(crate) fn capacity(&self) -> usize {
            self.capacity
        }
    }
}

impl<T> std::fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Queue {{ len: {}, capacity: {} }}",
            self.len(),
            self.capacity()
        )
    }
}

#[cfg(all(test, loom, feature = "loom"))]
mod loom_model {
    //! White-box model of the bounded queue (the loom stand-in, which keeps
    //! `crossbeam_queue::ArrayQueue`'s contract).

    use super::Queue;
    use crate::sync::{run_model, Arc, AtomicU64, Ordering};
    use loom::thread;

    /// A pusher pushes 1, 2, 3 into a queue of 2 while the main thread pops
    /// three times: the bound holds, a refused push hands its value back,
    /// values come out in order, each pushed value exactly once, and whole.
    #[test]
    fn bounded_fifo_hands_back_what_it_refuses() {
        run_model("queue bounded_fifo", || {
            let q = Arc::new(Queue::new(2));
            let pusher = {
                let q = q.clone();
                thread::spawn(move || {
                    let mut accepted = Vec::new();
                    for v in 1..=3u64 {
                        match q.push(Box::new(AtomicU64::new(v))) {
                            Ok(()) => accepted.push(v),
                            // Relaxed: the value never left this thread.
                            Err(back) => assert_eq!(back.load(Ordering::Relaxed), v),
                        }
                        assert!(q.len() <= q.capacity(), "bound exceeded");
                    }
                    accepted
                })
            };
            let mut popped = Vec::new();
            for _ in 0..3 {
                if let Some(v) = q.pop() {
                    // Relaxed: the push happens-before the pop.
                    popped.push(v.load(Ordering::Relaxed));
                }
            }
            let accepted = pusher.join().unwrap();
            while let Some(v) = q.pop() {
                popped.push(v.load(Ordering::Relaxed));
            }
            assert_eq!(popped, accepted, "lost, duplicated or reordered");
            assert!(accepted.len() >= 2, "refused with room: {accepted:?}");
        });
    }
}
