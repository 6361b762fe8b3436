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
