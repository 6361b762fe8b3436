//! Lock-free, per-thread metrics for hot paths.
//!
//! Recording a metric costs about as much as a memory write: every thread
//! writes its own cells (no shared cache line, no lock, no read-modify-write),
//! and a collector folds them into an immutable [`Snapshot`] that is swapped
//! in atomically for readers.
//!
//! - [`Registry`] names metrics and collects them; [`global()`] is the
//!   process-wide one.
//! - [`Counter`], [`Gauge`], [`FloatGauge`] and [`Histogram`] record; their
//!   [`LocalCounter`] / [`LocalHistogram`] forms skip the per-thread lookup.
//! - [`Snapshot`] and [`HistogramSnapshot`] read: totals, quantiles, buckets,
//!   deltas between snapshots.
//! - [`Family`] ([`CounterFamily`], [`GaugeFamily`], [`FloatGaugeFamily`],
//!   [`HistogramFamily`])
//!   splits a metric into series by label values (strings, `bool`, enums,
//!   integers), with a cardinality limit and an overflow series. A family is
//!   typed by its [`LabelShape`] ([`Arity<N>`](Arity), a struct deriving
//!   [`Labels`], or [`Dyn`] for names known only at run time): a label set
//!   of the wrong shape does not compile. [`FamilyBuilder`] names each
//!   setting of a registration; [`FamilyPair`] looks a label set up in two
//!   families at once; [`ResponseTracker`] records request latency,
//!   outcome, error category and cache use per route in one call;
//!   [`StateSet`] holds a component's state (closed / open / half-open);
//!   [`Registry::info`] exports fixed facts (version, commit) as an info
//!   metric.
//!   With feature `macros`, `#[derive(LabelValue)]` and `#[derive(Labels)]`
//!   turn enums and structs into label values and label sets.
//! - [`Precision`] sets a histogram's bucket resolution and error bound.
//! - [`Histogram::start_timer`] (or [`Histogram::start_timer_owned`] on a
//!   temporary handle), [`Histogram::time`] and
//!   [`Histogram::time_future`] time a scope, a closure or a future;
//!   [`#[track_latency]`][`track_latency`] times every call of a function
//!   (feature `macros`, on by default).
//! - [`export`] writes a snapshot as a JSON summary, Prometheus or
//!   OpenMetrics text, and serves it over HTTP (feature `http`).
//! - [`facade`] (feature `metrics-facade`) records every `metrics::counter!`,
//!   `gauge!` and `histogram!` of a program into a registry.
//! - `guide`: the user guide (`docs/guide.md`: quick start, concepts,
//!   precision, labels and cardinality, exporting, telemetry events, the
//!   on/off switch, performance tips, what loom proves), in the
//!   documentation built with features `macros`, `http`, `axum`,
//!   `metrics-facade` and `telemetry` (its examples use them).
//!
//! ```
//! use hotmetrics::{Registry, Unit};
//!
//! let reg = Registry::new();
//! let requests = reg.counter("http_requests", "Requests served").unwrap();
//! let latency = reg.histogram("http_request_duration", "Latency", Unit::Nanoseconds).unwrap();
//!
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| {
//!             for i in 0..1000 {
//!                 requests.inc();
//!                 latency.record(1_000 + i);
//!             }
//!         });
//!     }
//! });
//!
//! let snap = reg.collect();
//! assert_eq!(snap.counter("http_requests"), Some(4000));
//! let h = snap.histogram("http_request_duration").unwrap();
//! assert_eq!(h.count(), 4000);
//! assert!(h.quantile(0.99).unwrap() >= 1_980);
//! ```
//!
//! The design, every memory ordering and what the loom models prove are in
//! `docs/design.md`.
//!
//! # Features
//!
//! - `macros` (default): the [`track_latency`] attribute, from the
//!   `hotmetrics-macros` crate (syn, quote, proc-macro2). Turn default
//!   features off to build without a proc-macro dependency.
//! - `json` (default): `export::json`, the JSON summary (serde,
//!   serde_json).
//! - `http`: `export::http`, a `/metrics` endpoint (hyper 1 on a
//!   one-thread tokio runtime, flate2 for gzip), with connection limits
//!   and optional bearer or basic authentication. Off by default.
//! - `http-tls`: the endpoint over TLS (rustls with the ring provider,
//!   tokio-rustls). Off by default.
//! - `axum`: `export::axum`, the scrape handler (`export::handler`) as an
//!   axum 0.8 route, to mount `/metrics` in an application's own router.
//!   Off by default.
//! - `hyper`: `export::hyper`, the scrape handler for a hyper 1
//!   `service_fn` (hyper, http-body-util, bytes). Off by default.
//! - `gzip`: gzip in `export::handler` (flate2); on with `http`, `axum`
//!   and `hyper`. Off by default.
//! - `metrics-facade`: [`facade`], a `metrics::Recorder` so that code
//!   instrumented with the `metrics` crate's macros records into
//!   hotmetrics (depends on `metrics`). Off by default.
//! - `telemetry`: `telemetry`, a client that queues discrete events
//!   (lock-free, bounded, never blocking) and sends them from a background
//!   thread as JSON lines, pushes snapshots by Prometheus remote write, and
//!   guards both endpoints with a circuit breaker (crossbeam-queue, ureq,
//!   prost, snap). Off by default.
//! - `telemetry-tls`: `https://` endpoints for the telemetry exporter
//!   (ureq's rustls with the ring provider). Off by default.
//! - `otlp`: the telemetry exporter also pushes the registry by OTLP/HTTP
//!   with protobuf (`telemetry::otlp`, `telemetry::OtlpConfig`;
//!   opentelemetry-proto's messages, flate2 for gzip). Off by default.
//! - `loom`: the loom model of the synchronisation layer, only together
//!   with `RUSTFLAGS="--cfg loom"` (see `loom-tests/`).
//!
#![cfg_attr(feature = "macros", doc = "[`track_latency`]: crate::track_latency")]
#![cfg_attr(
    not(feature = "macros"),
    doc = "[`track_latency`]: https://docs.rs/hotmetrics/latest/hotmetrics/attr.track_latency.html"
)]
#![cfg_attr(feature = "metrics-facade", doc = "[`facade`]: crate::facade")]
#![cfg_attr(
    not(feature = "metrics-facade"),
    doc = "[`facade`]: https://docs.rs/hotmetrics/latest/hotmetrics/facade/index.html"
)]
#![deny(unsafe_op_in_unsafe_fn, missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

crate::sync::cfg_not_loom! {
    #[doc(hidden)]
    #[path = "private.rs"]
    pub mod __private;
}
mod buckets;
mod clock;
mod descriptor;
pub mod export;
#[cfg(all(feature = "metrics-facade", not(all(loom, feature = "loom"))))]
pub mod facade;
mod family;
mod handle;
mod names;
mod registry;
mod snapshot;
mod storage;
mod sync;
#[cfg(any(feature = "telemetry", all(loom, feature = "loom")))]
pub mod telemetry;
mod tracker;

pub use buckets::{Precision, PrecisionError};
pub use clock::Clock;
pub use descriptor::{
    BucketsError, ClassicBuckets, CustomUnit, Descriptor, MetricKind, Unit, UnitError,
};
pub use family::{
    Arity, CounterFamily, Dyn, Family, FamilyPair, FixedShape, FloatGaugeFamily, GaugeFamily,
    HistogramFamily, LabelError, LabelShape, LabelValue, LabelValues, Labels, PairError, SeriesRef,
    StateSet, StaticStr, ToLabelValue, ValueBuf, DEFAULT_MAX_SERIES, MAX_SERIES_LIMIT, MAX_STATES,
};
crate::sync::cfg_not_loom! {
    pub use handle::{is_enabled, set_enabled};
}
pub use handle::{
    Counter, FloatGauge, Gauge, Histogram, LocalCounter, LocalHistogram, OwnedTimer, TimedFuture,
    Timer,
};
crate::sync::cfg_not_loom! {
    pub use registry::global;
}
/// The length limits on names and label values (see `docs/exposition.md`,
/// "Length limits").
pub use names::{MAX_LABEL_NAME_LEN, MAX_LABEL_VALUE_LEN, MAX_METRIC_NAME_LEN};
pub use registry::{CallbackSink, Conflict, FamilyBuilder, Options, Registry, RegistryError};
pub use snapshot::{
    Bucket, FloatBucket, HistogramSnapshot, LabelSet, MetricSnapshot, MetricValue, Snapshot,
};
pub use tracker::{
    default_classifier, CacheStatus, ErrorCategory, IntoResponseOutcome, ResponseOutcome,
    ResponseTracker,
};

/// Records the latency of every call of a function in a histogram of the
/// [`global()`] registry (or of the registry given with `registry = ...`).
///
/// ```
/// use hotmetrics::track_latency;
///
/// #[derive(Debug)]
/// struct BadKey;
///
/// // Histogram `lookup_duration`, help "Latency of `lookup`".
/// #[track_latency]
/// fn lookup(key: &str) -> Result<u32, BadKey> {
///     let n: u32 = key.parse().map_err(|_| BadKey)?; // an early exit is timed too
///     Ok(n * 2)
/// }
///
/// struct Db;
///
/// impl Db {
///     #[track_latency(name = "db_query_duration", help = "Database query latency")]
///     async fn query(&self, sql: &str) -> usize {
///         sql.len()
///     }
/// }
///
/// assert_eq!(lookup("21").unwrap(), 42);
/// assert!(lookup("twenty-one").is_err());
/// assert_eq!(block_on(Db.query("SELECT 1")), 8);
///
/// let snap = hotmetrics::global().collect();
/// assert_eq!(snap.histogram("lookup_duration").unwrap().count(), 2);
/// assert_eq!(snap.histogram("db_query_duration").unwrap().count(), 1);
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Waker};
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = Context::from_waker(Waker::noop());
/// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// ```
///
/// # Arguments
///
/// All optional; all string literals but `registry`:
///
/// - `name`: the metric name; by default the function's name followed by
///   `_duration` (`lookup` → `lookup_duration`). Checked at compile time
///   against the Prometheus rules (`[a-zA-Z_:][a-zA-Z0-9_:]*`, not starting
///   with `__`).
/// - `help`: the help text; by default ``"Latency of `lookup`"``.
/// - `labels(key = "value", ...)`: fixed labels; the metric becomes a
///   histogram family with these label names and the function records into
///   the series of these values (a pre-bound handle: the same cost as
///   without labels). Label names are checked at compile time (Prometheus
///   rules; `le`, `quantile`, `overflow` and `outcome` are reserved).
/// - `outcome` (a bare flag): for a function returning a `Result`, adds the
///   label `outcome` with the value `ok` or `err` as returned, or `panic` if
///   the body unwinds. The three series are bound on the first call, so
///   choosing one costs a branch on `is_ok()`.
/// - `registry = <expression>`: the registry to record into instead of
///   [`global()`]: any expression of type [`Registry`], `&Registry` or
///   `Arc<Registry>`, evaluated once, on the first call (a function
///   returning a `&'static Registry`, a `static` `LazyLock<Registry>`
///   as `&*MY_REGISTRY`, …).
///
/// ```
/// use std::sync::LazyLock;
/// use hotmetrics::Registry;
///
/// static APP: LazyLock<Registry> = LazyLock::new(Registry::new);
///
/// #[hotmetrics::track_latency(registry = &*APP)]
/// fn render() {}
///
/// render();
/// assert_eq!(APP.collect().histogram("render_duration").unwrap().count(), 1);
/// assert!(hotmetrics::global().collect().histogram("render_duration").is_none());
/// ```
///
/// ```
/// #[hotmetrics::track_latency(name = "store_op_duration", labels(table = "users", op = "read"))]
/// fn read_user() {}
///
/// #[hotmetrics::track_latency(name = "store_op_duration", labels(table = "users", op = "write"))]
/// fn write_user() {}
///
/// read_user();
/// write_user();
/// let snap = hotmetrics::global().collect();
/// let reads = snap.histogram_with("store_op_duration", &[("table", "users"), ("op", "read")]);
/// assert_eq!(reads.unwrap().count(), 1);
/// ```
///
/// The histogram records nanoseconds ([`Unit::Nanoseconds`]) with the
/// default [`Precision`].
///
/// # What is timed
///
/// - **Sync `fn`** (free functions, methods taking `self`, `&self`,
///   `&mut self` or no receiver, generic and `unsafe` functions): from the
///   start of the body to the moment it is left, whichever way: the end of
///   the body, `return`, `?`, or a panic (the guard records while
///   unwinding). The body's own locals are dropped inside the timed span;
///   the arguments are dropped after it.
/// - **`async fn`**: the body runs inside the future, so timing starts at
///   the future's **first poll** and ends when it completes: wall time,
///   including the time it waits at `.await` points, excluding the time
///   before its first poll. A future dropped before completing (cancelled)
///   records the time until the drop. The guard is `Send`, so the future
///   stays `Send` if it was.
/// - A plain `fn` that *returns* a future (`fn f() -> impl Future`) only
///   times the creation of that future; wrap the future in
///   [`Histogram::time_future`] instead.
///
/// # Registration
///
/// The signature is kept as written; the body gets a `static` holding the
/// histogram (registered on the first call, never again)
/// and a [`Timer`] guard started before the original statements (see
/// *Expansion* below). A call costs a check that the static is initialised,
/// two clock reads and one record; while recording is switched off (see
/// [`set_enabled`] and [`Registry::set_enabled`]) the clock is not read.
///
/// - All instantiations of a **generic** function share one histogram:
///   statics in generic functions are not per instantiation.
/// - Functions with the same name share the default metric name, and so
///   one histogram: two methods `get` of two types both record into
///   `get_duration` (the name does not depend on the module, so that
///   moving a function does not rename its metric). Give them distinct
///   `name`s to tell them apart.
/// - With `labels(...)`, the function records into its own series of the
///   histogram family `name`, bound once on the first call: functions that
///   share a `name` with the same label names, each with its own values,
///   split one family into series.
/// - Functions that share a `name` with **other label names** (one plain,
///   one with `outcome`, one with `labels(route = "…")`) all record: each
///   set of label names is a shape of the one family `name`, exported
///   under one `# HELP`/`# TYPE` with series of different label names, as
///   the Prometheus data model allows. Up to 16 sets of label names per
///   name; the same names in another order are refused (below).
/// - If the histogram cannot be registered (the name is a metric of
///   another kind, or a histogram with another unit or precision, or the
///   registry is full), the function runs **untimed** rather than
///   panicking, and says so: a warning through the [`log`](https://docs.rs/log)
///   facade on its first call, naming the function, the metric and the
///   error, and every untimed call counted in the counter family
///   `hotmetrics_track_latency_untimed{metric, reason}` of the registry
///   (`reason`: `kind`, `unit`, `precision`, `labels`, `reserved`,
///   `collision`, `full`).
///
/// ```
/// #[hotmetrics::track_latency(name = "handler_duration")]
/// fn health() {}
///
/// #[hotmetrics::track_latency(name = "handler_duration", outcome)]
/// fn search() -> Result<(), ()> { Ok(()) }
///
/// health();
/// search().unwrap();
/// let snap = hotmetrics::global().collect();
/// assert_eq!(snap.histogram("handler_duration").unwrap().count(), 1);
/// let ok = snap.histogram_with("handler_duration", &[("outcome", "ok")]);
/// assert_eq!(ok.unwrap().count(), 1);
/// ```
///
/// # With `outcome`
///
/// ```
/// #[hotmetrics::track_latency(name = "parse_duration", outcome)]
/// fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
///     let n: u32 = s.parse()?; // an early exit is recorded as `err`
///     Ok(n)
/// }
///
/// assert!(parse("12").is_ok());
/// assert!(parse("x").is_err());
/// let snap = hotmetrics::global().collect();
/// let ok = snap.histogram_with("parse_duration", &[("outcome", "ok")]);
/// assert_eq!(ok.unwrap().count(), 1);
/// ```
///
/// To see the result however the body is left, the body runs in a `move`
/// closure (for an `async fn`, an `async move` block awaited in place)
/// whose value is typed as the function's return type, so `return` and `?`
/// keep their meaning. The return type must be a `Result` (or an alias of
/// one) and may not contain `impl Trait`; anything else is a compile error
/// that says so.
///
/// # Not supported
///
/// - `const fn` (no clock in const evaluation), and items that are not
///   functions, are compile errors; so are unknown arguments and values
///   that are not string literals.
/// - The generated code names the crate `::hotmetrics`: the crate using the
///   attribute must depend on `hotmetrics` under that name.
#[cfg(feature = "macros")]
#[doc(inline)]
pub use hotmetrics_macros::track_latency;

/// Derives [`LabelValue`](trait@LabelValue) for an enum whose variants have
/// no fields (feature `macros`): each variant's value is its name in snake
/// case, or the string given with `#[label = "..."]`.
///
/// ```
/// use hotmetrics::{LabelValue, Registry};
///
/// #[derive(LabelValue, Clone, Copy)]
/// enum Route {
///     Search,
///     CheckoutCart,
///     #[label = "me"]
///     Profile,
/// }
///
/// assert_eq!(Route::CheckoutCart.label_value(), "checkout_cart");
/// let reg = Registry::new();
/// let hits = reg.counter_family("hits", "Hits", &["route"]).unwrap();
/// hits.inc(&(Route::Profile,));
/// assert_eq!(reg.collect().counter_with("hits", &[("route", "me")]), Some(1));
/// ```
#[cfg(feature = "macros")]
pub use hotmetrics_macros::LabelValue;

/// Derives the label set of a family typed by a struct with named fields
/// (feature `macros`): [`LabelValues`](trait@LabelValues) (the fields, in
/// order, each a [`ToLabelValue`](trait@ToLabelValue): strings, integers,
/// `bool`, enums), [`LabelShape`](trait@LabelShape) (the label names: field
/// names, or `#[label = "..."]`, checked at compile time, also given as the
/// constant `LABEL_NAMES`) and [`Labels`](trait@Labels).
///
/// A family built with
/// [`labels_of::<T>()`](crate::FamilyBuilder::labels_of) takes `T` and
/// nothing else; a lookup borrows the fields: no allocation.
///
/// ```
/// use hotmetrics::{LabelValue, Labels, Registry, Unit};
///
/// #[derive(LabelValue)]
/// enum Outcome { Ok, Error }
///
/// #[derive(Labels)]
/// struct Request<'a> {
///     route: &'a str,
///     status: u16,
///     #[label = "result"]
///     outcome: Outcome,
/// }
///
/// let reg = Registry::new();
/// let latency = reg
///     .histogram_family_builder("req_duration")
///     .help("Latency")
///     .unit(Unit::Nanoseconds)
///     .labels_of::<Request>()
///     .build()
///     .unwrap();
/// let route = String::from("search");
/// latency.record(&Request { route: &route, status: 200, outcome: Outcome::Ok }, 1_200);
/// let snap = reg.collect();
/// let labels = [("route", "search"), ("status", "200"), ("result", "ok")];
/// assert_eq!(snap.histogram_with("req_duration", &labels).unwrap().count(), 1);
/// ```
///
/// Any other label set is a compile error:
///
/// ```compile_fail
/// # use hotmetrics::{Labels, Registry};
/// #[derive(Labels)]
/// struct Request<'a> { route: &'a str, status: u16 }
/// let reg = Registry::new();
/// let requests = reg.counter_family_builder("requests").labels_of::<Request>().build().unwrap();
/// requests.inc(&("search", 200u16)); // error: not a label set of a family typed `Request`
/// ```
#[cfg(feature = "macros")]
pub use hotmetrics_macros::Labels;

/// The user guide (`docs/guide.md`); its examples are compiled and run as
/// doc tests.
#[cfg(all(
    feature = "macros",
    feature = "http",
    feature = "axum",
    feature = "metrics-facade",
    feature = "telemetry",
    not(all(loom, feature = "loom"))
))]
pub mod guide {
    #![doc = include_str!("../docs/guide.md")]
}

/// The README's examples, compiled and run as doc tests.
#[cfg(all(doctest, feature = "macros"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
