//! Thread-local destructors that record.
//!
//! A value kept in a `thread_local!` slot is dropped while its thread exits,
//! among the other thread-locals, in an order the program does not choose:
//! before the crate's own per-thread state is torn down or after it. A
//! destructor that records (a flush-on-exit counter, a `Timer` kept in a
//! slot) must be counted either way, in a thread that recorded before and in
//! one that never did, and must not abort the process.
//!
//! Each scenario runs in a child process (this test binary, run again with
//! `CHILD` set), so that an abort is seen as a failure of the parent test
//! instead of taking the whole test binary down.

use hotmetrics::{Counter, FamilyPair, Histogram, Registry, StaticStr, Timer, Unit};
use std::cell::RefCell;
use std::process::Command;

/// Set in the child process: run the scenario named by its value.
const CHILD: &str = "HOTMETRICS_TLS_EXIT_CHILD";

/// What one [`Recorder`] adds when dropped: to the counter, through the
/// shared handle and through a local handle made in the destructor ...
const SHARED_ADD: u64 = 10;
const LOCAL_ADD: u64 = 100;
/// ... and to the histogram: one `record` and one timer.
const HIST_RECORDS: u64 = 2;

/// Records when dropped, as a flush-on-exit counter or a pending timer does.
struct Recorder {
    counter: Counter,
    histogram: &'static Histogram,
    timer: Option<Timer<'static>>,
}

impl Recorder {
    fn new(counter: &Counter, histogram: &'static Histogram) -> Recorder {
        Recorder {
            counter: counter.clone(),
            histogram,
            timer: Some(histogram.start_timer()),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.counter.add(SHARED_ADD);
        self.counter.local().add(LOCAL_ADD);
        self.histogram.record(7);
        drop(self.timer.take());
    }
}

thread_local! {
    /// Touched before the thread first records: its destructor is
    /// registered before the crate's own, so it runs after it.
    static EARLY: RefCell<Option<Recorder>> = const { RefCell::new(None) };
    /// Touched after the thread first records: its destructor runs before
    /// the crate's own.
    static LATE: RefCell<Option<Recorder>> = const { RefCell::new(None) };
}

fn put(slot: &'static std::thread::LocalKey<RefCell<Option<Recorder>>>, r: Recorder) {
    slot.with(|s| *s.borrow_mut() = Some(r));
}

/// The metrics every scenario records into (the histogram is leaked, so
/// that timers borrowing it can sit in thread-local slots).
fn metrics() -> (Registry, Counter, &'static Histogram) {
    let reg = Registry::new();
    let counter = reg
        .counter("exits", "Records made by exiting threads")
        .unwrap();
    let histogram = reg
        .histogram(
            "exit_sizes",
            "Observations of exiting threads",
            Unit::Nanoseconds,
        )
        .unwrap();
    (reg, counter, Box::leak(Box::new(histogram)))
}

/// A thread that records, with one destructor registered before its first
/// record and one after: 1 direct record plus two recorders.
fn recorded_thread(
    counter: &Counter,
    histogram: &'static Histogram,
) -> std::thread::JoinHandle<()> {
    let counter = counter.clone();
    std::thread::spawn(move || {
        put(&EARLY, Recorder::new(&counter, histogram));
        counter.inc();
        histogram.record(3);
        put(&LATE, Recorder::new(&counter, histogram));
    })
}

/// A thread that never records but in a destructor: one recorder.
fn fresh_thread(counter: &Counter, histogram: &'static Histogram) -> std::thread::JoinHandle<()> {
    let counter = counter.clone();
    std::thread::spawn(move || put(&EARLY, Recorder::new(&counter, histogram)))
}

/// Runs `threads` rounds of one recorded and one fresh thread at a time
/// (so exits overlap new threads being handed their cells), then checks
/// every record.
fn scenario_exits_are_counted(rounds: u64) {
    let (reg, counter, histogram) = metrics();
    for _ in 0..rounds {
        let a = recorded_thread(&counter, histogram);
        let b = fresh_thread(&counter, histogram);
        let c = recorded_thread(&counter, histogram);
        for t in [a, b, c] {
            t.join().unwrap();
        }
    }
    // Per round: two recorded threads (1 direct record + 2 recorders each)
    // and one fresh thread (1 recorder).
    let recorders = rounds * 5;
    let snap = reg.collect();
    assert_eq!(
        snap.counter("exits"),
        Some(rounds * 2 + recorders * (SHARED_ADD + LOCAL_ADD))
    );
    let h = snap.histogram("exit_sizes").unwrap();
    assert_eq!(h.count(), rounds * 2 + recorders * HIST_RECORDS);
    // Everything is still there after more threads came and went.
    assert_eq!(reg.collect().counter("exits"), snap.counter("exits"));
}

/// Runs `scenario` in a child process and fails if it failed or aborted.
/// (`test` is matched as a part of the test's path, not exactly: the
/// ThreadSanitizer build, `tsan-tests/`, has these tests in a module.)
fn in_child(test: &str, scenario: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--nocapture", "--test-threads=1"])
        .env(CHILD, scenario)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scenario {scenario} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The filter must have selected this test, and only it.
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("running 1 test"),
        "the child did not run {test}:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The body of a test: in the parent, runs the test again in a child
/// process to run the scenario `name` there; in that child, `run`s it.
fn scenario(test: &str, name: &str, run: impl FnOnce()) {
    match std::env::var(CHILD).as_deref() {
        Ok(s) if s == name => run(),
        Ok(_) => {}
        Err(_) => in_child(test, name),
    }
}

/// Rounds of the tests in which threads come and go.
fn many_rounds() -> u64 {
    if cfg!(miri) {
        2
    } else if cfg!(hotmetrics_tsan) {
        50
    } else {
        200
    }
}

/// One thread of each kind.
#[test]
fn destructors_that_record_are_counted() {
    scenario("destructors_that_record_are_counted", "once", || {
        scenario_exits_are_counted(1)
    });
}

/// Many rounds, so that threads exit while others are handed cells.
#[test]
fn destructors_that_record_while_threads_come_and_go() {
    scenario(
        "destructors_that_record_while_threads_come_and_go",
        "many",
        || scenario_exits_are_counted(many_rounds()),
    );
}

/// A pair whose label sets of `'static` values each thread binds to its own
/// cells (leaked, so that destructors can reach it).
type Pair = FamilyPair<Counter, Histogram, hotmetrics::Arity<1>>;

/// The label set the pair scenario records.
const ROUTE: [StaticStr; 1] = [StaticStr("/exit")];

/// Records through the pair when dropped.
struct PairRecorder(&'static Pair);

impl Drop for PairRecorder {
    fn drop(&mut self) {
        self.0.inc_and_record(&ROUTE, 9);
        self.0.inc_and_record(&ROUTE, 9);
    }
}

thread_local! {
    static PAIR_EARLY: RefCell<Option<PairRecorder>> = const { RefCell::new(None) };
    static PAIR_LATE: RefCell<Option<PairRecorder>> = const { RefCell::new(None) };
}

/// As [`scenario_exits_are_counted`], recording through a pair by a
/// `'static` label set: a thread that recorded has bound it to its cells
/// before its destructors run, and a destructor that runs after the
/// crate's exit guard must record to the cells of the token it claims for
/// the call, not to those it bound while it held its own.
fn scenario_pair_exits_are_counted(rounds: u64) {
    let reg = Registry::new();
    let requests = reg.counter_family("requests", "R", &["route"]).unwrap();
    let latency = (reg.histogram_family("latency", "L", Unit::Nanoseconds, &["route"])).unwrap();
    let pair: &'static Pair = Box::leak(Box::new(FamilyPair::new(&requests, &latency).unwrap()));
    for _ in 0..rounds {
        let recorded = || {
            std::thread::spawn(move || {
                PAIR_EARLY.with(|s| *s.borrow_mut() = Some(PairRecorder(pair)));
                pair.inc_and_record(&ROUTE, 3);
                PAIR_LATE.with(|s| *s.borrow_mut() = Some(PairRecorder(pair)));
            })
        };
        let fresh = std::thread::spawn(move || {
            PAIR_EARLY.with(|s| *s.borrow_mut() = Some(PairRecorder(pair)))
        });
        for t in [recorded(), fresh, recorded()] {
            t.join().unwrap();
        }
    }
    // Per round: two recorded threads (1 record + 2 recorders of 2 each)
    // and one fresh thread (1 recorder).
    let expected = rounds * (2 * (1 + 4) + 2);
    let snap = reg.collect();
    let set = [("route", "/exit")];
    assert_eq!(snap.counter_with("requests", &set), Some(expected));
    let h = snap.histogram_with("latency", &set).unwrap();
    assert_eq!(h.count(), expected);
}

/// Threads come and go recording through a pair by `'static` values, also
/// from destructors before and after the crate's exit guard.
#[test]
fn destructors_that_record_through_a_bound_pair_are_counted() {
    scenario(
        "destructors_that_record_through_a_bound_pair_are_counted",
        "pair",
        || scenario_pair_exits_are_counted(many_rounds()),
    );
}
