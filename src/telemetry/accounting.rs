//! [`Accounting`]: where every emitted event went, and the [`Channel`]
//! (queue plus counters) that emitters and the exporter share.
//!
//! # The identity, and when a reader sees it
//!
//! `accepted = delivered + dropped + pending`, where `dropped` is the sum of
//! its three reasons and `pending` is what sits in the queue or in the
//! exporter's current batch.
//!
//! - Every emitter increments `accepted` *before* it pushes (or, on a full
//!   queue, before it increments `dropped_queue_full`), and the exporter
//!   increments `delivered` / `dropped_*` only after popping the events,
//!   which happens-after their push. [`Channel::accounting`] loads the
//!   outcome counters with `Acquire` first and `accepted` last, so every
//!   accepted increment behind an outcome it counted is visible to it:
//!   **a reader always sees `accepted ≥ delivered + dropped`.**
//! - `pending` is read last of all and is exact only when nobody emits and
//!   the exporter is between batches (*quiescent*): then **`accepted =
//!   delivered + dropped + pending`**. After a shutdown, `pending = 0` and
//!   `accepted = delivered + dropped` exactly.
//!
//! The loom models at the end of this file check both claims in every
//! interleaving of two emitters (one meeting a full queue) and the
//! exporter.
#![forbid(unsafe_code)]

use super::event::Event;
use crate::sync::{AtomicU64, AtomicUsize, Mutex, Ordering, Queue};

/// Counts of where emitted events went (see the module docs for when the
/// identity `accepted = delivered + dropped + pending` holds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accounting {
    /// Events emitted (every call of an emit method while enabled).
    pub accepted: u64,
    /// Events the endpoint acknowledged.
    pub delivered: u64,
    /// Dropped at emission: the queue was full.
    pub dropped_queue_full: u64,
    /// Dropped by the exporter: the endpoint refused the batch, or it still
    /// failed after the retries.
    pub dropped_rejected: u64,
    /// Dropped at shutdown: still queued when the deadline passed.
    pub dropped_shutdown: u64,
    /// Queued or in the exporter's current batch.
    pub pending: u64,
}

impl Accounting {
    /// All dropped events, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full + self.dropped_rejected + self.dropped_shutdown
    }

    /// `accepted == delivered + dropped + pending`.
    pub fn balanced(&self) -> bool {
        self.accepted == self.delivered + self.dropped() + self.pending
    }
}

/// The queue between emitters and the exporter, with its accounting:
/// emitters call [`emit`](Self::emit), the exporter
/// [`take`](Self::take)s a batch and settles it with
/// [`delivered`](Self::delivered) / [`rejected`](Self::rejected) /
/// [`shutdown_dropped`](Self::shutdown_dropped).
// Under loom only the models beside it use it.
#[cfg_attr(all(loom, feature = "loom", not(test)), allow(dead_code))]
#[derive(Debug)]
pub(crate) struct Channel {
    queue: Queue<Event>,
    accepted: AtomicU64,
    delivered: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_rejected: AtomicU64,
    dropped_shutdown: AtomicU64,
    /// Events taken by the exporter and not yet settled.
    in_flight: AtomicUsize,
    /// Held while settling (never by an emitter); `true` once the client
    /// gave up on the exporter and settled everything itself, after which
    /// the exporter's settlements are ignored.
    abandoned: Mutex<bool>,
}

#[cfg_attr(all(loom, feature = "loom"), allow(dead_code))]
impl Channel {
    /// A channel holding at most `capacity` queued events.
    pub(crate) fn new(capacity: usize) -> Channel {
        Channel {
            queue: Queue::new(capacity),
            accepted: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            dropped_queue_full: AtomicU64::new(0),
            dropped_rejected: AtomicU64::new(0),
            dropped_shutdown: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            abandoned: Mutex::new(false),
        }
    }

    /// Queues `event`, or drops and counts it if the queue is full. Never
    /// blocks, never allocates, never fails.
    #[inline]
    pub(crate) fn emit(&self, event: Event) {
        // Relaxed: the push below (a release in the queue) or the Release
        // increment of `dropped_queue_full` publishes this increment to
        // whoever counts the event's outcome.
        self.accepted.fetch_add(1, Ordering::Relaxed);
        if let Err(event) = self.queue.push(event) {
            // Release: a reader that sees this drop (Acquire) sees the
            // `accepted` increment above.
            self.dropped_queue_full.fetch_add(1, Ordering::Release);
            drop(event);
        }
    }

    /// Moves up to `max` queued events into `batch` (the exporter's), and
    /// returns how many it moved. They stay pending until settled.
    pub(crate) fn take(&self, batch: &mut Vec<Event>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some(e) = self.queue.pop() else { break };
            // Relaxed: `in_flight` is only an estimate for readers; the
            // exporter settles with the Release counters below. Counted
            // before the event leaves `queue.len()` would be better, but a
            // reader reading both is quiescent-exact only anyway.
            self.in_flight.fetch_add(1, Ordering::Relaxed);
            batch.push(e);
            n += 1;
        }
        n
    }

    fn settle(&self, counter: &AtomicU64, n: usize) {
        // A lock on the exporter's side only (uncontended but for a
        // shutdown that gives up): it makes "settle" and "abandon"
        // exclusive, so no event is counted twice.
        let abandoned = crate::sync::lock(&self.abandoned);
        if *abandoned {
            return;
        }
        // Release: a reader that sees this outcome (Acquire) sees the
        // `accepted` increments of these events (they happen-before their
        // pop, which happens-before this).
        counter.fetch_add(n as u64, Ordering::Release);
        // Relaxed: an estimate, exact when quiescent (see the module docs).
        self.in_flight.fetch_sub(n, Ordering::Relaxed);
    }

    /// `n` taken events were acknowledged by the endpoint.
    pub(crate) fn delivered(&self, n: usize) {
        self.settle(&self.delivered, n);
    }

    /// `n` taken events were refused, or failed after the retries.
    pub(crate) fn rejected(&self, n: usize) {
        self.settle(&self.dropped_rejected, n);
    }

    /// `n` taken events were abandoned at the shutdown deadline.
    pub(crate) fn shutdown_dropped(&self, n: usize) {
        self.settle(&self.dropped_shutdown, n);
    }

    /// Drops everything still queued at the shutdown deadline, counting it;
    /// returns how many.
    pub(crate) fn drain_at_deadline(&self) -> usize {
        let abandoned = crate::sync::lock(&self.abandoned);
        if *abandoned {
            return 0;
        }
        let mut n = 0;
        while let Some(e) = self.queue.pop() {
            drop(e);
            n += 1;
        }
        // Release: as in `settle`.
        self.dropped_shutdown.fetch_add(n as u64, Ordering::Release);
        n
    }

    /// Settles everything still pending as dropped at shutdown, for a
    /// client that stops waiting for its exporter; later settlements by the
    /// exporter are ignored. Call only once no emitter is left.
    pub(crate) fn abandon(&self) {
        let mut abandoned = crate::sync::lock(&self.abandoned);
        if *abandoned {
            return;
        }
        *abandoned = true;
        let mut n = 0u64;
        while let Some(e) = self.queue.pop() {
            drop(e);
            n += 1;
        }
        // Relaxed: the lock orders this against the exporter's settlements.
        n += self.in_flight.swap(0, Ordering::Relaxed) as u64;
        // Release: as in `settle`.
        self.dropped_shutdown.fetch_add(n, Ordering::Release);
    }

    /// Events queued now (a racy estimate while others push).
    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The counters, read so that `accepted ≥ delivered + dropped` always
    /// holds in the result (see the module docs).
    pub(crate) fn accounting(&self) -> Accounting {
        // Acquire on each outcome: pairs with the Release that counted it,
        // so the `accepted` increments behind it are visible below.
        let delivered = self.delivered.load(Ordering::Acquire);
        let dropped_queue_full = self.dropped_queue_full.load(Ordering::Acquire);
        let dropped_rejected = self.dropped_rejected.load(Ordering::Acquire);
        let dropped_shutdown = self.dropped_shutdown.load(Ordering::Acquire);
        // Relaxed: read after the Acquire loads above, it sees at least the
        // increments they made visible (read-read coherence).
        let accepted = self.accepted.load(Ordering::Relaxed);
        // Relaxed: estimates, exact when quiescent.
        let pending = self.queue.len() as u64 + self.in_flight.load(Ordering::Relaxed) as u64;
        Accounting {
            accepted,
            delivered,
            dropped_queue_full,
            dropped_rejected,
            dropped_shutdown,
            pending,
        }
    }
}

#[cfg(all(test, loom, feature = "loom"))]
mod loom_model {
    //! Telemetry emitters against the exporter draining the queue.
    //!
    //! Two emitters push into a queue of capacity 1 (so one of them meets a
    //! full queue in many interleavings) while the exporter takes events one at
    //! a time and settles them, alternately as delivered and as rejected. Every
    //! party that reads the accounting checks `accepted ≥ delivered + dropped`
    //! (what `Channel::accounting` promises at every instant), and after the
    //! joins the identity is exact: `accepted = delivered + dropped + pending`,
    //! and after a final drain `pending = 0` and all three emits are accounted.
    //!
    //! Under loom the queue is the mutex-guarded stand-in (crossbeam-queue does
    //! not know loom), so this checks the counters' protocol around the queue
    //! (which counter moves before which, and with which ordering), not the
    //! ring's own atomics.

    use super::{Accounting, Channel};
    use crate::sync::{run_model, Arc};
    use crate::telemetry::Event;
    use loom::thread;

    fn check(a: &Accounting, at: &str) {
        assert!(
            a.accepted >= a.delivered + a.dropped(),
            "{at}: more settled than accepted: {a:?}"
        );
    }

    #[test]
    fn emitters_vs_exporter_accounting() {
        run_model("telemetry accounting", || {
            let ch = Arc::new(Channel::new(1));

            let a = {
                let ch = ch.clone();
                thread::spawn(move || ch.emit(Event::session_opened(1)))
            };
            let b = {
                let ch = ch.clone();
                thread::spawn(move || {
                    ch.emit(Event::session_opened(2));
                    ch.emit(Event::session_closed(2));
                    check(&ch.accounting(), "emitter");
                })
            };

            // The exporter: two passes of take-one-and-settle.
            let mut batch = Vec::new();
            for pass in 0..2 {
                let n = ch.take(&mut batch, 1);
                check(&ch.accounting(), "after take");
                if n > 0 {
                    if pass == 0 {
                        ch.delivered(n);
                    } else {
                        ch.rejected(n);
                    }
                    batch.clear();
                }
                check(&ch.accounting(), "after settle");
            }

            a.join().unwrap();
            b.join().unwrap();

            // Quiescent: exact.
            let q = ch.accounting();
            assert!(q.balanced(), "quiescent: {q:?}");
            assert_eq!(q.accepted, 3);
            // Shutdown: what is left is dropped and counted.
            ch.drain_at_deadline();
            let end = ch.accounting();
            assert_eq!(end.pending, 0, "{end:?}");
            assert_eq!(end.accepted, end.delivered + end.dropped(), "{end:?}");
            assert!(end.dropped_queue_full <= 2);
        });
    }

    /// A shutdown that gives up on the exporter (`abandon`) while it settles:
    /// every event is counted exactly once, whichever runs first.
    #[test]
    fn abandon_vs_settle_counts_once() {
        run_model("telemetry abandon", || {
            let ch = Arc::new(Channel::new(2));
            ch.emit(Event::session_opened(1));
            ch.emit(Event::session_opened(2));
            let mut batch = Vec::new();
            assert_eq!(ch.take(&mut batch, 1), 1);

            let exporter = {
                let ch = ch.clone();
                thread::spawn(move || {
                    ch.delivered(batch.len());
                    check(&ch.accounting(), "exporter");
                })
            };
            ch.abandon();
            check(&ch.accounting(), "client");
            exporter.join().unwrap();

            let end = ch.accounting();
            assert_eq!(end.pending, 0, "{end:?}");
            assert_eq!(end.accepted, 2);
            assert_eq!(end.accepted, end.delivered + end.dropped(), "{end:?}");
        });
    }

    /// A reader that touches nothing else: it synchronises with the emitter and
    /// the exporter only through the counters it reads, so this is the model
    /// that needs the settle's Release and the reader's Acquire (in the model
    /// above every reader also takes the queue stand-in's mutex, which orders
    /// more than the real ring does).
    #[test]
    fn bystander_reader_never_sees_more_settled_than_accepted() {
        run_model("telemetry bystander reader", || {
            let ch = Arc::new(Channel::new(1));
            let emitter = {
                let ch = ch.clone();
                thread::spawn(move || {
                    ch.emit(Event::session_opened(1));
                    ch.emit(Event::session_opened(2));
                })
            };
            let reader = {
                let ch = ch.clone();
                thread::spawn(move || check(&ch.accounting(), "bystander"))
            };
            let mut batch = Vec::new();
            let n = ch.take(&mut batch, 1);
            ch.delivered(n);
            emitter.join().unwrap();
            reader.join().unwrap();
            let end = ch.accounting();
            assert!(end.balanced(), "{end:?}");
        });
    }
}
