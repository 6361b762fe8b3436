//! White-box models of the per-thread store: the very code that ships,
//! with loom's atomics and thread-locals (`thread_state.rs` declares them
//! through loom under `cfg(loom)`); a thread's exit guard runs when the
//! model thread ends, or earlier through `exit_now`, after which the thread
//! records as a later thread-local destructor would.

use super::thread_state::exit_now;
use super::{bind, bound, PartKey, PerThread};
use crate::sync::{run_model, Arc, AtomicU64, Ordering};
use loom::thread;

/// Adds `n` to this thread's value the way the storage's single-writer
/// cells do, with a load and a store rather than a read-modify-write: two
/// threads ever writing one value at once would lose an update.
fn add(values: &PerThread<AtomicU64>, n: u64) {
    values.with(|| AtomicU64::new(0), |cell| bump(cell, n));
}

/// As [`add`], through the part cache: the part is the whole value, found
/// by a plain function, cached under `key`.
fn add_part(values: &PerThread<AtomicU64>, key: PartKey, n: u64) {
    // SAFETY: the part is the value itself, which lives as long as `values`.
    unsafe { values.with_part(key, || AtomicU64::new(0), (), |v, ()| v, |c| bump(c, n)) }
}

/// As [`add_part`], through this thread's bindings: the first add binds
/// the part under `key`, later ones find it there.
fn add_bound(values: &PerThread<AtomicU64>, key: PartKey, n: u64) {
    const LABELS: [u64; 3] = [1, 2, 3];
    if let Some([cell]) = bound(key, &LABELS) {
        // SAFETY: `key` is bound only here, to this thread's value, which
        // lives as long as `values`.
        bump(unsafe { &*cell.cast::<AtomicU64>() }, n);
    } else {
        let bind_and_bump = |c: &AtomicU64| {
            // SAFETY: `c` is this thread's value, reached under the token it
            // holds during this call.
            unsafe { bind(key, &LABELS, [(c as *const AtomicU64).cast()]) };
            bump(c, n);
        };
        // SAFETY: as in `add_part`.
        unsafe { values.with_part(key, || AtomicU64::new(0), (), |v, ()| v, bind_and_bump) }
    }
}

fn bump(cell: &AtomicU64, n: u64) {
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

/// Which outcomes some execution produced (outside the model).
type Seen = [std::sync::atomic::AtomicBool; 2];

fn assert_explored(seen: &Seen, what: [&str; 2]) {
    for (i, s) in seen.iter().enumerate() {
        assert!(s.load(Ordering::Relaxed), "never explored: {}", what[i]);
    }
}

/// Two threads add 1 and 2 while the main thread sums; the second may be
/// handed the first one's token, and with it its value, while or after
/// the first exits. Both outcomes (one value, two values) must occur.
#[test]
fn values_have_one_writer_and_outlive_their_thread() {
    static SEEN: Seen = [const { std::sync::atomic::AtomicBool::new(false) }; 2];
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
        SEEN[count - 1].store(true, Ordering::Relaxed);
        add(&values, 4);
        assert_eq!(total(&values).0, 7);
    });
    assert_explored(&SEEN, ["a value handed on", "two values"]);
}

/// A thread adds 1, its exit guard runs, then it adds 2 as a later
/// thread-local destructor would; meanwhile a second thread adds 4 (and
/// may be handed the first one's token as soon as the guard gave it up)
/// and the main thread sums. Nothing is lost: the late add takes a token
/// of its own for the call instead of writing through its stale cache.
#[test]
fn exit_while_a_later_destructor_records() {
    static SEEN: Seen = [const { std::sync::atomic::AtomicBool::new(false) }; 2];
    let name = "per_thread exit_while_a_later_destructor_records";
    exit_then_record(name, &SEEN, |v, _, n| add(v, n));
}

/// The same, every add made through the part cache under one key (as a
/// histogram handle shared by both threads): the exit empties it too.
#[test]
fn exit_while_a_later_destructor_records_a_part() {
    static SEEN: Seen = [const { std::sync::atomic::AtomicBool::new(false) }; 2];
    let name = "per_thread exit_while_a_later_destructor_records_a_part";
    exit_then_record(name, &SEEN, add_part);
}

/// The same through the bindings: the exit empties them too, so the late
/// add records to the value of the token it claims for the call.
#[test]
fn exit_while_a_later_destructor_records_a_bound_part() {
    static SEEN: Seen = [const { std::sync::atomic::AtomicBool::new(false) }; 2];
    let name = "per_thread exit_while_a_later_destructor_records_a_bound_part";
    exit_then_record(name, &SEEN, add_bound);
}

/// The body of the three models above, adding with `add`.
fn exit_then_record(name: &str, seen: &'static Seen, add: fn(&PerThread<AtomicU64>, PartKey, u64)) {
    run_model(name, move || {
        let values = Arc::new(PerThread::new());
        let key = PartKey::new();
        let exiting = {
            let values = values.clone();
            thread::spawn(move || {
                add(&values, key, 1);
                exit_now();
                add(&values, key, 2);
            })
        };
        let other = {
            let values = values.clone();
            thread::spawn(move || add(&values, key, 4))
        };
        assert!(total(&values).0 <= 7);
        exiting.join().unwrap();
        other.join().unwrap();
        let (sum, count) = total(&values);
        assert_eq!(sum, 7, "an add was lost");
        // Never more values than tokens held or being claimed at once:
        // two holders, and a third index when the late add takes the
        // second thread's fresh index before it does (`Tokens::claim`).
        assert!((1..=3).contains(&count), "{count} values");
        seen[count.min(2) - 1].store(true, Ordering::Relaxed);
    });
    assert_explored(seen, ["a value handed on", "two values or more"]);
}

/// A thread binds a handle to its value (a hold, as `local()` takes), its
/// exit guard runs, and it adds through the handle afterwards, as a
/// handle kept in a thread-local would; a second thread adds meanwhile.
/// The hold keeps the token: the second thread is handed the value only
/// once the hold is dropped.
#[test]
fn a_hold_outlives_the_exit_guard() {
    run_model("per_thread a_hold_outlives_the_exit_guard", || {
        let values = Arc::new(PerThread::new());
        let exiting = {
            let values = values.clone();
            thread::spawn(move || {
                let (hold, cell) = values.hold(|| AtomicU64::new(0));
                bump(cell, 1);
                exit_now();
                bump(cell, 2);
                drop(hold);
            })
        };
        let other = {
            let values = values.clone();
            thread::spawn(move || add(&values, 4))
        };
        assert!(total(&values).0 <= 7);
        exiting.join().unwrap();
        other.join().unwrap();
        assert_eq!(total(&values).0, 7, "an add was lost");
    });
}
