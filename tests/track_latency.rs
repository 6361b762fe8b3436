//! `#[track_latency]` on every kind of function it supports.
//!
//! All tests share the global registry (one per test binary), so each uses
//! metric names of its own.
// `Waker::noop` (1.85) is newer than the crate's MSRV; the tests need a
// current toolchain anyway.
#![allow(clippy::incompatible_msrv)]

#[path = "common/parsers.rs"]
mod parsers;

use hotmetrics::{track_latency, HistogramSnapshot};
use hotmetrics_testkit::block_on;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

fn histogram(name: &str) -> Option<HistogramSnapshot> {
    hotmetrics::global().collect().histogram(name).cloned()
}

fn count(name: &str) -> u64 {
    histogram(name).map_or(0, |h| h.count())
}

/// Pending once (waking itself), then ready.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[track_latency]
fn sync_add(a: u32, b: u32) -> u32 {
    a + b
}

#[test]
fn sync_fn_default_name_and_help() {
    assert_eq!(sync_add(2, 3), 5);
    assert_eq!(sync_add(4, 5), 9);
    let snap = hotmetrics::global().collect();
    let d = snap
        .get("sync_add_duration")
        .expect("registered under the default name")
        .descriptor();
    assert_eq!(d.help(), "Latency of `sync_add`");
    assert_eq!(d.unit(), hotmetrics::Unit::Nanoseconds);
    assert_eq!(d.kind(), hotmetrics::MetricKind::Histogram);
    assert_eq!(count("sync_add_duration"), 2);
}

#[track_latency]
fn sleeper() {
    std::thread::sleep(Duration::from_millis(2));
}

#[test]
fn records_the_elapsed_time_in_nanoseconds() {
    sleeper();
    let h = histogram("sleeper_duration").unwrap();
    assert_eq!(h.count(), 1);
    // Within the histogram's relative error of at least 2 ms.
    assert!(h.min().unwrap() >= 1_980_000, "{:?}", h.min());
    assert!(h.max().unwrap() < 2_000_000_000, "{:?}", h.max());
}

#[track_latency]
async fn async_double(x: u32) -> u32 {
    YieldOnce(false).await;
    x * 2
}

#[track_latency]
async fn async_first_poll(x: u32) -> u32 {
    YieldOnce(false).await;
    x + 1
}

#[test]
fn async_fn_is_timed_from_first_poll_to_completion() {
    let mut fut = Box::pin(async_first_poll(1));
    // Time before the first poll is not counted.
    std::thread::sleep(Duration::from_millis(50));
    let mut cx = Context::from_waker(Waker::noop());
    let polled = Instant::now();
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert_eq!(count("async_first_poll_duration"), 0, "not complete yet");
    assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(2));
    let between_polls = polled.elapsed().as_nanos() as u64;
    let h = histogram("async_first_poll_duration").unwrap();
    assert_eq!(h.count(), 1);
    // At most the time from the first poll to completion (plus the bucket
    // error and the two clocks' calibration), however slow a loaded machine
    // makes it: counting the 50 ms before the first poll would exceed it.
    assert!(
        h.max().unwrap() <= between_polls + between_polls / 20,
        "{:?} ns recorded, {between_polls} ns between the polls",
        h.max()
    );
    assert_eq!(block_on(async_double(21)), 42);
    assert_eq!(count("async_double_duration"), 1);
}

#[test]
fn async_fn_dropped_before_completion_still_records() {
    let mut fut = Box::pin(async_cancelled());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert_eq!(count("async_cancelled_duration"), 0);
    drop(fut);
    assert_eq!(count("async_cancelled_duration"), 1);
}

#[track_latency]
async fn async_cancelled() {
    std::future::pending::<()>().await;
}

#[track_latency]
async fn async_send(x: u32) -> u32 {
    YieldOnce(false).await;
    x + 1
}

#[test]
fn async_fn_future_stays_send() {
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    assert_eq!(block_on(assert_send(async_send(1))), 2);
    assert_eq!(count("async_send_duration"), 1);
}

#[track_latency]
fn generic_len<T: AsRef<[u8]> + ?Sized>(v: &T) -> usize {
    v.as_ref().len()
}

#[test]
fn generic_fn_shares_one_histogram_across_instantiations() {
    assert_eq!(generic_len("abc"), 3);
    assert_eq!(generic_len(&[1u8, 2][..]), 2);
    assert_eq!(generic_len(&vec![0u8; 5]), 5);
    assert_eq!(count("generic_len_duration"), 3);
}

#[track_latency]
fn parse_sum(a: &str, b: &str) -> Result<u64, std::num::ParseIntError> {
    let a: u64 = a.parse()?;
    let b: u64 = b.parse()?;
    if a == 0 {
        return Ok(b);
    }
    Ok(a + b)
}

#[test]
fn result_fn_records_on_question_mark_and_early_return() {
    assert_eq!(parse_sum("1", "2"), Ok(3));
    assert!(parse_sum("x", "2").is_err()); // first `?`
    assert!(parse_sum("1", "y").is_err()); // second `?`
    assert_eq!(parse_sum("0", "7"), Ok(7)); // early `return`
    assert_eq!(count("parse_sum_duration"), 4);
}

struct Account {
    balance: u64,
}

impl Account {
    #[track_latency]
    fn account_balance(&self) -> u64 {
        self.balance
    }

    #[track_latency]
    fn account_deposit(&mut self, amount: u64) {
        self.balance += amount;
    }

    #[track_latency]
    fn account_close(self) -> u64 {
        self.balance
    }

    #[track_latency]
    fn account_new() -> Account {
        Account { balance: 0 }
    }
}

#[test]
fn methods_with_every_receiver() {
    let mut acc = Account::account_new();
    acc.account_deposit(10);
    acc.account_deposit(5);
    assert_eq!(acc.account_balance(), 15);
    assert_eq!(acc.account_close(), 15);
    assert_eq!(count("account_new_duration"), 1);
    assert_eq!(count("account_deposit_duration"), 2);
    assert_eq!(count("account_balance_duration"), 1);
    assert_eq!(count("account_close_duration"), 1);
}

struct Counter;

impl Counter {
    #[track_latency]
    async fn counter_async_method(&self, n: u32) -> u32 {
        YieldOnce(false).await;
        n + 1
    }
}

#[test]
fn async_method() {
    assert_eq!(block_on(Counter.counter_async_method(1)), 2);
    assert_eq!(count("counter_async_method_duration"), 1);
}

#[track_latency]
fn panicking(fail: bool) -> u32 {
    if fail {
        panic!("boom");
    }
    1
}

#[test]
fn panic_still_records() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // keep the test output quiet
    let caught = std::panic::catch_unwind(|| panicking(true));
    std::panic::set_hook(hook);
    assert!(caught.is_err());
    assert_eq!(count("panicking_duration"), 1);
    assert_eq!(panicking(false), 1);
    assert_eq!(count("panicking_duration"), 2);
}

#[track_latency(name = "custom_db_query_duration", help = "Database query latency")]
fn query_with_custom_name() -> &'static str {
    "row"
}

#[test]
fn custom_name_and_help() {
    assert_eq!(query_with_custom_name(), "row");
    let snap = hotmetrics::global().collect();
    assert_eq!(
        snap.histogram("custom_db_query_duration").unwrap().count(),
        1
    );
    assert!(snap.histogram("query_with_custom_name_duration").is_none());
    let d = snap.get("custom_db_query_duration").unwrap().descriptor();
    assert_eq!(d.help(), "Database query latency");
}

#[track_latency(help = "Only the help is custom")]
fn r#type() -> u8 {
    7
}

#[test]
fn raw_identifier_and_custom_help_only() {
    assert_eq!(r#type(), 7);
    let snap = hotmetrics::global().collect();
    let d = snap.get("type_duration").unwrap().descriptor();
    assert_eq!(d.help(), "Only the help is custom");
}

#[track_latency]
fn conflicting_name() -> u32 {
    5
}

#[test]
fn name_taken_by_another_kind_runs_untimed() {
    let c = hotmetrics::global()
        .counter("conflicting_name_duration", "Already a counter")
        .unwrap();
    assert_eq!(conflicting_name(), 5); // no panic
    c.inc();
    let snap = hotmetrics::global().collect();
    assert!(snap.histogram("conflicting_name_duration").is_none());
    assert_eq!(snap.counter("conflicting_name_duration"), Some(1));
}

#[track_latency]
fn from_many_threads(i: u64) -> u64 {
    i * 2
}

#[test]
fn registers_once_under_concurrent_first_calls() {
    let barrier = Arc::new(std::sync::Barrier::new(8));
    std::thread::scope(|s| {
        for t in 0..8 {
            let barrier = barrier.clone();
            s.spawn(move || {
                barrier.wait();
                for i in 0..100 {
                    assert_eq!(from_many_threads(t * 100 + i), (t * 100 + i) * 2);
                }
            });
        }
    });
    assert_eq!(count("from_many_threads_duration"), 800);
}

#[track_latency]
fn shadowing_body() -> u32 {
    // The body may use any local name, including the guard's.
    let __hotmetrics_timer = 3;
    __hotmetrics_timer * 2
}

#[test]
fn guard_is_hygienic() {
    assert_eq!(shadowing_body(), 6);
    assert_eq!(count("shadowing_body_duration"), 1);
}

#[hotmetrics::track_latency(name = "labeled_query_duration", labels(table = "users", op = "read"))]
fn labeled_read() {}

#[hotmetrics::track_latency(name = "labeled_query_duration", labels(table = "users", op = "write"))]
fn labeled_write() {}

#[test]
fn static_labels_split_one_histogram_into_series() {
    let series = |op| {
        hotmetrics::global()
            .collect()
            .histogram_with("labeled_query_duration", &[("table", "users"), ("op", op)])
            .map_or(0, |h| h.count())
    };
    let (r, w) = (series("read"), series("write"));
    labeled_read();
    labeled_read();
    labeled_write();
    assert_eq!(series("read") - r, 2);
    assert_eq!(series("write") - w, 1);
}

#[track_latency(name = "outcome_parse", outcome, labels(source = "test"))]
fn outcome_parse(s: &str, early: bool) -> Result<u64, std::num::ParseIntError> {
    if early {
        return Ok(0);
    }
    let n: u64 = s.parse()?;
    Ok(n * 2)
}

struct Table {
    rows: Vec<String>,
}

impl Table {
    /// A method borrowing from `self` through the `Result`.
    #[track_latency(name = "outcome_row", outcome)]
    fn row(&self, i: usize) -> Result<&str, String> {
        self.rows
            .get(i)
            .map(String::as_str)
            .ok_or(format!("no row {i}"))
    }
}

#[track_latency(name = "outcome_async", outcome)]
async fn outcome_async(x: u32) -> Result<u32, String> {
    YieldOnce(false).await;
    if x == 0 {
        return Err("zero".into());
    }
    Ok(x)
}

#[track_latency(name = "outcome_panics", outcome)]
fn outcome_panics(fail: bool) -> Result<(), ()> {
    if fail {
        panic!("on purpose");
    }
    Ok(())
}

fn outcome_counts(name: &str, extra: &[(&str, &str)]) -> [u64; 3] {
    let snap = hotmetrics::global().collect();
    ["ok", "err", "panic"].map(|o| {
        let mut labels = extra.to_vec();
        labels.push(("outcome", o));
        snap.histogram_with(name, &labels).map_or(0, |h| h.count())
    })
}

#[test]
fn outcome_labels_ok_err_and_panic() {
    assert_eq!(outcome_parse("21", false), Ok(42));
    assert_eq!(outcome_parse("", true), Ok(0)); // early return
    assert!(outcome_parse("x", false).is_err()); // `?`
    assert!(outcome_parse("", false).is_err());
    assert_eq!(
        outcome_counts("outcome_parse", &[("source", "test")]),
        [2, 2, 0]
    );

    let t = Table {
        rows: vec!["a".into()],
    };
    assert_eq!(t.row(0), Ok("a"));
    assert!(t.row(5).is_err());
    assert!(t.row(6).is_err());
    assert_eq!(outcome_counts("outcome_row", &[]), [1, 2, 0]);

    assert_eq!(block_on(outcome_async(3)), Ok(3));
    assert!(block_on(outcome_async(0)).is_err());
    assert_eq!(outcome_counts("outcome_async", &[]), [1, 1, 0]);
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&outcome_async(1));

    assert_eq!(outcome_panics(false), Ok(()));
    let caught = std::panic::catch_unwind(|| outcome_panics(true));
    assert!(caught.is_err());
    assert_eq!(outcome_counts("outcome_panics", &[]), [1, 0, 1]);
}

/// Two modules with functions of the same name and metric name but other
/// label shapes (#17).
mod shapes_a {
    #[hotmetrics::track_latency(name = "shaped_handler_duration")]
    pub fn handle() {}

    #[hotmetrics::track_latency]
    pub fn shared_default() {}
}

mod shapes_b {
    #[hotmetrics::track_latency(name = "shaped_handler_duration", outcome)]
    pub fn handle(ok: bool) -> Result<(), ()> {
        if ok {
            Ok(())
        } else {
            Err(())
        }
    }

    #[hotmetrics::track_latency(name = "shaped_handler_duration", labels(route = "r"))]
    pub fn handle_route() {}

    #[hotmetrics::track_latency]
    pub fn shared_default() {}
}

#[test]
fn sites_with_one_name_and_different_shapes_all_record() {
    // The outcome site first: today the plain site then finds the name
    // taken by a family and runs untimed.
    assert_eq!(shapes_b::handle(true), Ok(()));
    shapes_a::handle();
    shapes_a::handle();
    assert_eq!(shapes_b::handle(false), Err(()));
    shapes_b::handle_route();
    let snap = hotmetrics::global().collect();
    let count = |labels: &[(&str, &str)]| {
        snap.histogram_with("shaped_handler_duration", labels)
            .map_or(0, |h| h.count())
    };
    assert_eq!(count(&[]), 2);
    assert_eq!(count(&[("outcome", "ok")]), 1);
    assert_eq!(count(&[("outcome", "err")]), 1);
    assert_eq!(count(&[("route", "r")]), 1);
    // One family in the exposition: one HELP and one TYPE line.
    let text = hotmetrics::export::prometheus::render(&snap);
    for line in [
        "# HELP shaped_handler_duration_seconds ",
        "# TYPE shaped_handler_duration_seconds histogram",
    ] {
        assert_eq!(text.matches(line).count(), 1, "{line}\n{text}");
    }
    assert!(
        text.contains("shaped_handler_duration_seconds_count 2\n"),
        "{text}"
    );
    assert!(
        text.contains("shaped_handler_duration_seconds_count{outcome=\"err\"} 1\n"),
        "{text}"
    );
    // The family alone: the other tests' metrics share the registry.
    let ours = |text: &str| -> String {
        text.lines()
            .filter(|l| l.contains(" shaped_handler_duration") || l.starts_with("shaped_"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    parsers::assert_promtool_accepts(&ours(&text));
    let om = ours(&hotmetrics::export::openmetrics::render(&snap)) + "# EOF\n";
    if let Some(families) = parsers::openmetrics_families(&om) {
        let family = families
            .lines()
            .filter(|l| l.starts_with("shaped_handler_duration_seconds "));
        assert_eq!(family.count(), 1, "{families}");
    }
}

#[test]
fn sites_with_one_default_name_and_one_shape_share_a_histogram() {
    shapes_a::shared_default();
    shapes_b::shared_default();
    assert_eq!(count("shared_default_duration"), 2);
}

#[track_latency]
fn taken_elsewhere() -> u32 {
    7
}

/// Keeps the warnings logged through the `log` facade.
struct Warnings(std::sync::Mutex<Vec<String>>);

impl log::Log for Warnings {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            self.0.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

static WARNINGS: Warnings = Warnings(std::sync::Mutex::new(Vec::new()));

#[test]
fn an_untimed_site_is_counted_under_its_metric_and_reason() {
    log::set_logger(&WARNINGS).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    hotmetrics::global()
        .gauge("taken_elsewhere_duration", "Already a gauge")
        .unwrap();
    for _ in 0..3 {
        assert_eq!(taken_elsewhere(), 7);
    }
    let snap = hotmetrics::global().collect();
    let untimed = snap.counter_with(
        "hotmetrics_track_latency_untimed",
        &[("metric", "taken_elsewhere_duration"), ("reason", "kind")],
    );
    assert_eq!(untimed, Some(3));
    // One warning, on the first call, naming the function and the error.
    let warnings = WARNINGS.0.lock().unwrap();
    let ours: Vec<&String> = warnings
        .iter()
        .filter(|w| w.contains("taken_elsewhere_duration"))
        .collect();
    assert_eq!(ours.len(), 1, "{warnings:?}");
    assert!(
        ours[0].contains("track_latency::taken_elsewhere`")
            && ours[0].contains("already registered as a gauge"),
        "{}",
        ours[0]
    );
}

static OWN: std::sync::LazyLock<hotmetrics::Registry> =
    std::sync::LazyLock::new(hotmetrics::Registry::new);

fn own_registry() -> &'static hotmetrics::Registry {
    &OWN
}

#[track_latency(registry = own_registry())]
fn in_own_registry() {}

#[track_latency(name = "own_outcome_duration", outcome, registry = own_registry().clone())]
fn in_own_registry_outcome() -> Result<(), ()> {
    Ok(())
}

#[test]
fn a_registry_of_ones_own_is_passed_explicitly() {
    in_own_registry();
    in_own_registry();
    in_own_registry_outcome().unwrap();
    let own = OWN.collect();
    assert_eq!(
        own.histogram("in_own_registry_duration").unwrap().count(),
        2
    );
    let ok = own.histogram_with("own_outcome_duration", &[("outcome", "ok")]);
    assert_eq!(ok.unwrap().count(), 1);
    assert!(histogram("in_own_registry_duration").is_none());
}

#[track_latency(name = "outcome_quiet", outcome)]
fn outcome_quiet(fail: bool) -> Result<(), ()> {
    if fail {
        panic!("on purpose");
    }
    Ok(())
}

/// The `outcome="panic"` series exists only once a call panicked: a
/// scrape of a service that never panics has no all-zero series for it.
#[test]
fn panic_outcome_series_appears_with_the_first_panic() {
    let panic_series = || {
        let snap = hotmetrics::global().collect();
        let text = hotmetrics::export::prometheus::render(&snap);
        let n = text
            .lines()
            .filter(|l| l.starts_with("outcome_quiet_seconds") && l.contains("outcome=\"panic\""))
            .count();
        let count = snap
            .histogram_with("outcome_quiet", &[("outcome", "panic")])
            .map(|h| h.count());
        (n, count)
    };
    assert_eq!(outcome_quiet(false), Ok(()));
    assert_eq!(panic_series(), (0, None));
    let caught = std::panic::catch_unwind(|| outcome_quiet(true));
    assert!(caught.is_err());
    // 25 default bounds for time, +Inf, _count and _sum.
    assert_eq!(panic_series(), (28, Some(1)));
    let caught = std::panic::catch_unwind(|| outcome_quiet(true));
    assert!(caught.is_err());
    assert_eq!(panic_series(), (28, Some(2)));
    assert_eq!(outcome_counts("outcome_quiet", &[]), [1, 0, 2]);
}
