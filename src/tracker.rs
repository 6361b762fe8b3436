//! [`ResponseTracker`]: request telemetry as a ready-made set of families.
//!
//! It sits above the registry: it registers four families through the
//! registry's public API and adds [`Registry::response_tracker`].
// No `unsafe` here; `tracker/binding.rs` allows it for its one call.
#![deny(unsafe_code)]

mod binding;
mod index_key;

use crate::descriptor::Unit;
use crate::family::{Arity, CellBinding, CounterFamily, HistogramFamily, LabelIndex, LabelValue};
use crate::handle::{Counter, Histogram};
use crate::registry::{Registry, RegistryError};
use crate::sync::FrozenArc;
use index_key::{variant, IndexKey, KEY_NAMES};
use std::error::Error;
use std::fmt;
use std::io;
use std::time::Duration;

/// What kind of failure an error is, for the `category` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCategory {
    /// The operation ran out of time.
    Timeout,
    /// The connection could not be made or was lost.
    Connection,
    /// The request was wrong: invalid input, not found, not allowed.
    Client,
    /// The server (or the code handling the request) failed.
    Server,
    /// Anything else.
    Other,
}

impl ErrorCategory {
    /// The label value: `timeout`, `connection`, `client`, `server`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::Timeout => "timeout",
            ErrorCategory::Connection => "connection",
            ErrorCategory::Client => "client",
            ErrorCategory::Server => "server",
            ErrorCategory::Other => "other",
        }
    }
}

impl LabelValue for ErrorCategory {
    fn label_value(&self) -> &str {
        self.as_str()
    }
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseOutcome {
    /// It succeeded.
    Success,
    /// It failed, with this category.
    Error(ErrorCategory),
}

impl ResponseOutcome {
    /// The `outcome` label value: `success` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseOutcome::Success => "success",
            ResponseOutcome::Error(_) => "error",
        }
    }
}

/// Whether a request served from a cache, for the cache counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CacheStatus {
    /// Served from the cache.
    Hit,
    /// Looked up in the cache, not found there.
    Miss,
    /// No cache involved: not counted in `<prefix>_cache_requests`.
    NotCached,
}

/// Something [`ResponseTracker::record_response`] can tell an outcome from:
/// a [`ResponseOutcome`], or a `Result` whose error is classified.
pub trait IntoResponseOutcome {
    /// The outcome, classifying an error with `classify`.
    fn outcome(
        &self,
        classify: &dyn Fn(&(dyn Error + 'static)) -> ErrorCategory,
    ) -> ResponseOutcome;
}

impl IntoResponseOutcome for ResponseOutcome {
    fn outcome(&self, _: &dyn Fn(&(dyn Error + 'static)) -> ErrorCategory) -> ResponseOutcome {
        *self
    }
}

impl<T, E: Error + 'static> IntoResponseOutcome for Result<T, E> {
    fn outcome(
        &self,
        classify: &dyn Fn(&(dyn Error + 'static)) -> ErrorCategory,
    ) -> ResponseOutcome {
        match self {
            Ok(_) => ResponseOutcome::Success,
            Err(e) => ResponseOutcome::Error(classify(e)),
        }
    }
}

/// The classifier [`ResponseTracker`] uses unless given another.
///
/// It walks the error and its [`source`](Error::source) chain, and
///
/// 1. maps the first [`std::io::Error`] it finds by kind: `TimedOut` →
///    timeout; `ConnectionRefused`, `ConnectionReset`, `ConnectionAborted`,
///    `NotConnected`, `AddrInUse`, `AddrNotAvailable`, `BrokenPipe`,
///    `UnexpectedEof` → connection; `InvalidInput`, `InvalidData`,
///    `NotFound`, `PermissionDenied`, `AlreadyExists`, `Unsupported` →
///    client; `OutOfMemory` → server; other kinds fall through to 2;
/// 2. otherwise looks for words in the messages (lower-cased): "timed out",
///    "timeout", "deadline" → timeout; "connect", "broken pipe", "reset by
///    peer", "unreachable", "dns" → connection; "bad request", "invalid",
///    "not found", "unauthorized", "forbidden", "permission", "malformed" →
///    client; "internal", "server error", "unavailable", "overloaded" →
///    server; in that order of precedence;
/// 3. otherwise: other.
///
/// Step 2 formats the messages, so it allocates: only on the error path.
///
/// ```
/// use hotmetrics::{default_classifier, ErrorCategory};
/// use std::io;
/// let e = io::Error::new(io::ErrorKind::TimedOut, "read");
/// assert_eq!(default_classifier(&e), ErrorCategory::Timeout);
/// let e = io::Error::other("upstream returned 503 Service Unavailable");
/// assert_eq!(default_classifier(&e), ErrorCategory::Server);
/// ```
pub fn default_classifier(error: &(dyn Error + 'static)) -> ErrorCategory {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if let Some(c) = io_kind(io.kind()) {
                return c;
            }
        }
        next = e.source();
    }
    let mut next = Some(error);
    while let Some(e) = next {
        let msg = e.to_string().to_lowercase();
        let any = |words: &[&str]| words.iter().any(|w| msg.contains(w));
        if any(&["timed out", "timeout", "deadline"]) {
            return ErrorCategory::Timeout;
        }
        if any(&[
            "connect",
            "broken pipe",
            "reset by peer",
            "unreachable",
            "dns",
        ]) {
            return ErrorCategory::Connection;
        }
        if any(&[
            "bad request",
            "invalid",
            "not found",
            "unauthorized",
            "forbidden",
            "permission",
            "malformed",
        ]) {
            return ErrorCategory::Client;
        }
        if any(&["internal", "server error", "unavailable", "overloaded"]) {
            return ErrorCategory::Server;
        }
        next = e.source();
    }
    ErrorCategory::Other
}

fn io_kind(kind: io::ErrorKind) -> Option<ErrorCategory> {
    use io::ErrorKind as K;
    Some(match kind {
        K::TimedOut => ErrorCategory::Timeout,
        K::ConnectionRefused
        | K::ConnectionReset
        | K::ConnectionAborted
        | K::NotConnected
        | K::AddrInUse
        | K::AddrNotAvailable
        | K::BrokenPipe
        | K::UnexpectedEof => ErrorCategory::Connection,
        K::InvalidInput
        | K::InvalidData
        | K::NotFound
        | K::PermissionDenied
        | K::AlreadyExists
        | K::Unsupported => ErrorCategory::Client,
        K::OutOfMemory => ErrorCategory::Server,
        _ => return None,
    })
}

type Classifier = dyn Fn(&(dyn Error + 'static)) -> ErrorCategory + Send + Sync;

/// Request telemetry in one call: latency, outcome, error category and
/// cache use per route.
///
/// Made by [`Registry::response_tracker`] with a metric-name prefix, it
/// feeds four families:
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `<prefix>_requests` | counter | `route`, `intent`, `outcome` (`success` / `error`) |
/// | `<prefix>_request_duration` | histogram, nanoseconds | `route`, `outcome` |
/// | `<prefix>_errors` | counter | `route`, `category` (`timeout` / `connection` / `client` / `server` / `other`) |
/// | `<prefix>_cache_requests` | counter | `route`, `cache` (`hit` / `miss`) |
///
/// The cache hit ratio of a route is `cache="hit"` over the sum of both.
/// Routes are any [`LabelValue`]: a `&str`, or an enum of yours.
///
/// ```
/// use hotmetrics::{CacheStatus, LabelValue, Registry};
/// use std::time::Duration;
///
/// enum Route { Search }
/// impl LabelValue for Route {
///     fn label_value(&self) -> &str { "search" }
/// }
///
/// let reg = Registry::new();
/// let rt = reg.response_tracker("api").unwrap();
/// let ok: Result<u32, std::io::Error> = Ok(3);
/// rt.record_response(&Route::Search, "lookup", Duration::from_micros(80), &ok, CacheStatus::Hit);
/// let err: Result<u32, _> = Err(std::io::Error::from(std::io::ErrorKind::TimedOut));
/// rt.record_response(&Route::Search, "lookup", Duration::from_millis(2), &err, CacheStatus::Miss);
///
/// let snap = reg.collect();
/// let ok = [("route", "search"), ("outcome", "success")];
/// assert_eq!(snap.histogram_with("api_request_duration", &ok).unwrap().count(), 1);
/// assert_eq!(snap.counter_with("api_errors", &[("route", "search"), ("category", "timeout")]), Some(1));
/// assert_eq!(snap.counter_with("api_cache_requests", &[("route", "search"), ("cache", "hit")]), Some(1));
/// ```
#[derive(Clone)]
pub struct ResponseTracker {
    requests: CounterFamily<Arity<3>>,
    duration: HistogramFamily<Arity<2>>,
    errors: CounterFamily<Arity<2>>,
    cache: CounterFamily<Arity<2>>,
    classify: FrozenArc<Classifier>,
    /// (route, intent, [`variant`]) → the series of all four families, so
    /// that a request costs one lookup; `None` when a family evicts (then
    /// each family is looked up on its own).
    index: Option<FrozenArc<LabelIndex<Bound>>>,
    /// With the index: keys of `'static` routes and intents bound to each
    /// thread's cells of their series (`tracker/binding.rs`).
    binding: Option<CellBinding<3, 3, 4>>,
}

/// The series one key records into.
#[derive(Clone)]
struct Bound {
    requests: Counter,
    duration: Histogram,
    errors: Option<Counter>,
    cache: Option<Counter>,
}

impl Registry {
    /// Registers (or finds) the families of a [`ResponseTracker`] named
    /// `<prefix>_...`, each with the default series limit.
    pub fn response_tracker(&self, prefix: &str) -> Result<ResponseTracker, RegistryError> {
        let name = |suffix: &str| format!("{prefix}_{suffix}");
        Ok(ResponseTracker {
            requests: self.counter_family(
                &name("requests"),
                "Requests by route, intent and outcome",
                &["route", "intent", "outcome"],
            )?,
            duration: self.histogram_family(
                &name("request_duration"),
                "Request latency by route and outcome",
                Unit::Nanoseconds,
                &["route", "outcome"],
            )?,
            errors: self.counter_family(
                &name("errors"),
                "Failed requests by route and error category",
                &["route", "category"],
            )?,
            cache: self.counter_family(
                &name("cache_requests"),
                "Cache lookups by route and result (hit or miss)",
                &["route", "cache"],
            )?,
            classify: FrozenArc::new(default_classifier),
            index: None,
            binding: None,
        }
        .indexed())
    }
}

impl ResponseTracker {
    /// Uses `classify` instead of [`default_classifier`] for the errors of
    /// `Result` outcomes.
    ///
    /// ```
    /// use hotmetrics::{CacheStatus, ErrorCategory, Registry};
    /// use std::time::Duration;
    /// let rt = Registry::new()
    ///     .response_tracker("db")
    ///     .unwrap()
    ///     .with_classifier(|_err| ErrorCategory::Server);
    /// let r: Result<(), std::fmt::Error> = Err(std::fmt::Error);
    /// rt.record_response("users", "select", Duration::from_micros(5), &r, CacheStatus::NotCached);
    /// ```
    pub fn with_classifier(
        mut self,
        classify: impl Fn(&(dyn Error + 'static)) -> ErrorCategory + Send + Sync + 'static,
    ) -> ResponseTracker {
        self.classify = FrozenArc::new(classify);
        self
    }

    /// The category the tracker's classifier gives `error`.
    pub fn classify(&self, error: &(dyn Error + 'static)) -> ErrorCategory {
        (self.classify)(error)
    }

    /// Records one request: its latency into `<prefix>_request_duration`
    /// {route, outcome}, one into `<prefix>_requests` {route, intent,
    /// outcome}, the error's category into `<prefix>_errors`, and the cache
    /// result into `<prefix>_cache_requests`. Lock-free and
    /// allocation-free once the series exist (classifying an error by its
    /// message allocates; see [`default_classifier`]).
    ///
    /// A call seen before (same route, intent, outcome, category and cache
    /// status) costs one hash of the route, the intent and a one-byte code
    /// of the rest, and one probe of the tracker's index, which holds the
    /// series of all four families; each family's limit and overflow
    /// series apply as they would alone.
    pub fn record_response<R, I, O>(
        &self,
        route: &R,
        intent: &I,
        elapsed: Duration,
        outcome: &O,
        cache: CacheStatus,
    ) where
        R: LabelValue + ?Sized,
        I: LabelValue + ?Sized,
        O: IntoResponseOutcome + ?Sized,
    {
        let outcome = outcome.outcome(&*self.classify);
        let key = IndexKey {
            route,
            intent,
            variant: variant(outcome, cache),
        };
        if self.record_bound(&key, elapsed) {
            return;
        }
        if let Some(b) = self.index.as_ref().and_then(|i| i.find(&key)) {
            let counters = [Some(&b.requests), b.errors.as_ref(), b.cache.as_ref()];
            counters.iter().flatten().for_each(|c| c.inc());
            let value = b.duration.unit().from_duration(elapsed);
            b.duration.record(value);
            return;
        }
        self.record_unindexed(&key, outcome, cache, elapsed);
    }

    /// A key not in the index (first use, index full or absent): each
    /// family resolves its own labels, and the key is indexed when all of
    /// them gave it a series of its own.
    #[cold]
    #[inline(never)]
    fn record_unindexed<R, I>(
        &self,
        key: &IndexKey<'_, R, I>,
        outcome: ResponseOutcome,
        cache: CacheStatus,
        elapsed: Duration,
    ) where
        R: LabelValue + ?Sized,
        I: LabelValue + ?Sized,
    {
        let (route, intent) = (key.route.label_value(), key.intent.label_value());
        let label = outcome.as_str();
        let category = match outcome {
            ResponseOutcome::Success => "",
            ResponseOutcome::Error(c) => c.as_str(),
        };
        let cache = match cache {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::NotCached => "",
        };
        let Some(index) = self.index.as_ref() else {
            self.duration.record_duration(&(route, label), elapsed);
            self.requests.inc(&(route, intent, label));
            if !category.is_empty() {
                self.errors.inc(&(route, category));
            }
            if !cache.is_empty() {
                self.cache.inc(&(route, cache));
            }
            return;
        };
        let duration = self.duration.resolve(&(route, label));
        let requests = self.requests.resolve(&(route, intent, label));
        let errors = (!category.is_empty()).then(|| self.errors.resolve(&(route, category)));
        let cached = (!cache.is_empty()).then(|| self.cache.resolve(&(route, cache)));
        duration
            .unwrap_or_else(|| self.duration.overflow())
            .record_duration(elapsed);
        requests.unwrap_or_else(|| self.requests.overflow()).inc();
        if let Some(c) = errors {
            c.unwrap_or_else(|| self.errors.overflow()).inc();
        }
        if let Some(c) = cached {
            c.unwrap_or_else(|| self.cache.overflow()).inc();
        }
        // Indexed only if every family gave the key a series of its own.
        let (Some(duration), Some(requests)) = (duration, requests) else {
            return;
        };
        let (Ok(errors), Ok(cache)) = (
            errors.map(|c| c.ok_or(())).transpose(),
            cached.map(|c| c.ok_or(())).transpose(),
        ) else {
            return;
        };
        let _ = index.insert(
            key,
            Bound {
                requests: requests.clone(),
                duration: duration.clone(),
                errors: errors.cloned(),
                cache: cache.cloned(),
            },
        );
    }

    /// With the one-lookup index, unless a family evicts (an index entry
    /// keeps handles to series, which eviction would take away).
    fn indexed(mut self) -> ResponseTracker {
        let evicts = [
            self.requests.evicts(),
            self.duration.evicts(),
            self.errors.evicts(),
            self.cache.evicts(),
        ];
        if evicts.contains(&true) {
            return self;
        }
        let names: Vec<String> = KEY_NAMES.iter().map(|n| n.to_string()).collect();
        // Room for every cache status and a few error categories per
        // request series; past it, keys are resolved family by family.
        let limit = self.requests.max_series().saturating_mul(4);
        self.index = Some(FrozenArc::new(LabelIndex::new(names.into(), limit)));
        let counters = [self.requests.core(), self.errors.core(), self.cache.core()];
        self.binding = CellBinding::of(&self.duration, &counters);
        self
    }
}

impl fmt::Debug for ResponseTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseTracker")
            .field("duration", &self.duration.name())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapped(io::Error);
    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("query failed")
        }
    }
    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_call_seen_before_is_found_in_the_index() {
        let reg = Registry::new();
        let rt = reg.response_tracker("t").unwrap();
        let err = ResponseOutcome::Error(ErrorCategory::Server);
        let us = Duration::from_micros(3);
        for _ in 0..2 {
            rt.record_response("a", "get", us, &ResponseOutcome::Success, CacheStatus::Hit);
            rt.record_response("a", "get", us, &err, CacheStatus::NotCached);
        }
        let index = rt.index.as_ref().unwrap();
        let hit = variant(ResponseOutcome::Success, CacheStatus::Hit);
        let found = index.find(&("a", "get", hit)).unwrap();
        assert!(found.errors.is_none() && found.cache.is_some());
        let failed = variant(err, CacheStatus::NotCached);
        let found = index.find(&("a", "get", failed)).unwrap();
        assert!(found.errors.is_some() && found.cache.is_none());
        let snap = reg.collect();
        assert_eq!(
            snap.counter_with("t_errors", &[("route", "a"), ("category", "server")]),
            Some(2)
        );
    }

    #[test]
    fn every_outcome_and_cache_status_has_a_variant_of_its_own() {
        use ErrorCategory as E;
        let outcomes =
            [E::Timeout, E::Connection, E::Client, E::Server, E::Other].map(ResponseOutcome::Error);
        let outcomes = [ResponseOutcome::Success].into_iter().chain(outcomes);
        let mut seen = std::collections::HashSet::new();
        for o in outcomes {
            for c in [CacheStatus::Hit, CacheStatus::Miss, CacheStatus::NotCached] {
                let v = variant(o, c);
                assert_eq!(v.len(), 1, "{o:?} {c:?}");
                assert!(seen.insert(v), "{o:?} {c:?} shares {v:?}");
            }
        }
        assert_eq!(seen.len(), 18);
    }

    #[test]
    fn default_classifier_uses_kinds_sources_and_messages() {
        use io::ErrorKind as K;
        let c = |e: &(dyn Error + 'static)| default_classifier(e);
        assert_eq!(c(&io::Error::from(K::TimedOut)), ErrorCategory::Timeout);
        assert_eq!(
            c(&io::Error::from(K::ConnectionRefused)),
            ErrorCategory::Connection
        );
        assert_eq!(c(&io::Error::from(K::NotFound)), ErrorCategory::Client);
        assert_eq!(c(&io::Error::from(K::OutOfMemory)), ErrorCategory::Server);
        // Through the source chain.
        let w = Wrapped(io::Error::from(K::ConnectionReset));
        assert_eq!(c(&w), ErrorCategory::Connection);
        // By message.
        for (msg, want) in [
            ("Deadline exceeded", ErrorCategory::Timeout),
            ("could not connect to db", ErrorCategory::Connection),
            ("400 Bad Request", ErrorCategory::Client),
            ("500 Internal Server Error", ErrorCategory::Server),
            ("something odd", ErrorCategory::Other),
        ] {
            assert_eq!(c(&io::Error::other(msg)), want, "{msg}");
        }
        assert_eq!(c(&std::fmt::Error), ErrorCategory::Other);
    }
}
