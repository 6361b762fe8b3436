//! The key a [`ResponseTracker`](super::ResponseTracker)'s index files a
//! call under: route, intent and a one-byte code of the rest.
#![forbid(unsafe_code)]

use crate::family::{LabelValue, LabelValues, ValueBuf};
use crate::tracker::{CacheStatus, ErrorCategory, ResponseOutcome};

/// The index key's label names: what
/// [`ResponseTracker::record_response`](super::ResponseTracker::record_response)
/// resolves a call by.
pub(super) const KEY_NAMES: [&str; 3] = ["route", "intent", "variant"];

/// The index key's third value: which of the 18 pairs of outcome (success,
/// or an error of one of 5 categories) and cache status a call has, as one
/// byte. One short value of a fixed length, where the three label values
/// it stands for ("success" or "error", "" or a category, "hit", "miss" or
/// "") were three more values to hash, of lengths that vary from call to
/// call (a branch the hash cannot predict).
pub(super) fn variant(outcome: ResponseOutcome, cache: CacheStatus) -> &'static str {
    const CODES: [&str; 18] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
    ];
    let outcome = match outcome {
        ResponseOutcome::Success => 0,
        ResponseOutcome::Error(ErrorCategory::Timeout) => 1,
        ResponseOutcome::Error(ErrorCategory::Connection) => 2,
        ResponseOutcome::Error(ErrorCategory::Client) => 3,
        ResponseOutcome::Error(ErrorCategory::Server) => 4,
        ResponseOutcome::Error(ErrorCategory::Other) => 5,
    };
    let cache = match cache {
        CacheStatus::Hit => 0,
        CacheStatus::Miss => 1,
        CacheStatus::NotCached => 2,
    };
    CODES[outcome * 3 + cache]
}

/// The index key of one call: route, intent and [`variant`]. Its values
/// are `'static` strings when the route and the intent are
/// ([`LabelValue::static_value`]: derived enums, `StaticStr`); the index
/// then finds the call by their addresses.
pub(super) struct IndexKey<'a, R: ?Sized, I: ?Sized> {
    pub(super) route: &'a R,
    pub(super) intent: &'a I,
    pub(super) variant: &'static str,
}

impl<R: LabelValue + ?Sized, I: LabelValue + ?Sized> LabelValues for IndexKey<'_, R, I> {
    #[inline(always)]
    fn label_count(&self) -> usize {
        3
    }
    #[inline(always)]
    fn value_at<'a>(&'a self, i: usize, _: &'a mut ValueBuf) -> &'a str {
        match i {
            0 => self.route.label_value(),
            1 => self.intent.label_value(),
            _ => self.variant,
        }
    }
    #[inline(always)]
    fn static_at(&self, i: usize) -> Option<&'static str> {
        match i {
            0 => self.route.static_value(),
            1 => self.intent.static_value(),
            _ => Some(self.variant),
        }
    }
}
