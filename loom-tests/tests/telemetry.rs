//! Model 8: telemetry emitters against the exporter draining the queue.
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
#![cfg(loom)]

use hotmetrics::telemetry::{Accounting, Channel, Event};
use hotmetrics_loom_tests::run_model;
use loom::sync::Arc;
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
