//! `measured`'s labeled contenders: its label sets are enums
//! (`FixedCardinalityLabel`), so a lookup is an index computed from the
//! variants, with no hashing. The 64 label sets of
//! [`label_sets`](crate::labeled::label_sets) as enums, and the families a
//! request records into.

// `measured`'s `LabelGroup` derive generates undocumented label-set types.
#![allow(missing_docs)]

use measured::metric::histogram::Thresholds;
use measured::{CounterVec, FixedCardinalityLabel, HistogramVec, LabelGroup};

/// Buckets of every `measured` histogram: 1 µs to ~4 ms, doubling.
pub const BUCKETS: usize = 12;

/// A route.
#[derive(FixedCardinalityLabel, Clone, Copy, Debug)]
pub enum Route {
    /// `search`
    Search,
    /// `checkout`
    Checkout,
    /// `profile`
    Profile,
    /// `cart`
    Cart,
}

/// An HTTP method (the tracker's intent).
#[derive(FixedCardinalityLabel, Clone, Copy, Debug)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
}

/// A status code.
#[derive(FixedCardinalityLabel, Clone, Copy, Debug)]
pub enum Status {
    /// 200
    Ok,
    /// 404
    NotFound,
    /// 500
    Internal,
    /// 503
    Unavailable,
}

/// How a request ended.
#[derive(FixedCardinalityLabel, Clone, Copy, Debug)]
pub enum Outcome {
    /// success
    Success,
    /// error
    Error,
}

/// A cache lookup's result.
#[derive(FixedCardinalityLabel, Clone, Copy, Debug)]
pub enum Cache {
    /// hit
    Hit,
    /// miss
    Miss,
}

/// An error category.
#[derive(FixedCardinalityLabel, Clone, Copy, Debug)]
pub enum Category {
    /// server
    Server,
}

/// Route, method and status: the labeled pair's label set.
#[derive(LabelGroup, Clone, Copy, Debug)]
#[label(set = RequestLabelsSet)]
pub struct RequestLabels {
    /// The route.
    pub route: Route,
    /// The method.
    pub method: Method,
    /// The status.
    pub status: Status,
}

/// Route, intent, outcome: the tracker's requests.
#[derive(LabelGroup, Clone, Copy, Debug)]
#[label(set = TrackedSet)]
pub struct Tracked {
    /// The route.
    pub route: Route,
    /// The intent.
    pub intent: Method,
    /// The outcome.
    pub outcome: Outcome,
}

/// Route, outcome: the tracker's latency.
#[derive(LabelGroup, Clone, Copy, Debug)]
#[label(set = LatencySet)]
pub struct Latency {
    /// The route.
    pub route: Route,
    /// The outcome.
    pub outcome: Outcome,
}

/// Route, error category: the tracker's errors.
#[derive(LabelGroup, Clone, Copy, Debug)]
#[label(set = ErrorsSet)]
pub struct Errors {
    /// The route.
    pub route: Route,
    /// The category.
    pub category: Category,
}

/// Route, cache result: the tracker's cache lookups.
#[derive(LabelGroup, Clone, Copy, Debug)]
#[label(set = CachedSet)]
pub struct Cached {
    /// The route.
    pub route: Route,
    /// hit or miss.
    pub cache: Cache,
}

/// `labels` (route, method, status as strings) as enums.
pub fn enums(labels: [&str; 3]) -> RequestLabels {
    let pick = |v: &str, of: [&str; 4]| of.iter().position(|o| *o == v).unwrap_or(0);
    RequestLabels {
        route: Route::decode(pick(labels[0], ["search", "checkout", "profile", "cart"])),
        method: Method::decode(pick(labels[1], ["GET", "POST", "PUT", "DELETE"])),
        status: Status::decode(pick(labels[2], ["200", "404", "500", "503"])),
    }
}

/// The latency buckets, in seconds.
pub fn thresholds() -> Thresholds<BUCKETS> {
    Thresholds::exponential_buckets(1e-6, 2.0)
}

/// A counter and a histogram by route, method and status.
pub struct Pair {
    /// Requests.
    pub requests: CounterVec<RequestLabelsSet>,
    /// Latency, seconds.
    pub latency: HistogramVec<RequestLabelsSet, BUCKETS>,
}

impl Pair {
    /// Empty families.
    pub fn new() -> Pair {
        Pair {
            requests: CounterVec::with_label_set(RequestLabelsSet::new()),
            latency: HistogramVec::with_label_set_and_metadata(
                RequestLabelsSet::new(),
                thresholds(),
            ),
        }
    }
}

impl Default for Pair {
    fn default() -> Self {
        Self::new()
    }
}

/// The `ResponseTracker`'s four families.
pub struct Tracker {
    /// Requests by route, intent, outcome.
    pub requests: CounterVec<TrackedSet>,
    /// Latency by route, outcome.
    pub latency: HistogramVec<LatencySet, BUCKETS>,
    /// Errors by route, category.
    pub errors: CounterVec<ErrorsSet>,
    /// Cache lookups by route, result.
    pub cache: CounterVec<CachedSet>,
}

impl Tracker {
    /// Empty families.
    pub fn new() -> Tracker {
        Tracker {
            requests: CounterVec::with_label_set(TrackedSet::new()),
            latency: HistogramVec::with_label_set_and_metadata(LatencySet::new(), thresholds()),
            errors: CounterVec::with_label_set(ErrorsSet::new()),
            cache: CounterVec::with_label_set(CachedSet::new()),
        }
    }
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new()
    }
}
