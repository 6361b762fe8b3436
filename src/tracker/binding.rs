//! A [`ResponseTracker`](super::ResponseTracker)'s calls by `'static` route
//! and intent recorded through the calling thread's bound cells
//! (`family/cell_binding.rs`): the key's three words (route, intent,
//! variant) bound to this thread's cells of the requests, errors and cache
//! counters and the duration histogram the index entry holds.
#![allow(unsafe_code)]

use super::index_key::IndexKey;
use super::ResponseTracker;
use crate::family::{key_words, LabelValue};
use std::time::Duration;

impl ResponseTracker {
    /// Records a call through this thread's binding of `key`, binding it
    /// first if the index has an entry for it. False (nothing recorded)
    /// for a key of other than `'static` values, or one not indexed.
    #[inline(always)]
    pub(super) fn record_bound<R, I>(&self, key: &IndexKey<'_, R, I>, elapsed: Duration) -> bool
    where
        R: LabelValue + ?Sized,
        I: LabelValue + ?Sized,
    {
        let (Some(binding), Some([route, intent, variant, _])) = (&self.binding, key_words(key))
        else {
            return false;
        };
        let words = [route, intent, variant];
        let value = binding.unit().from_duration(elapsed);
        binding.record(&words, 1, value) || self.bind_and_record(key, &words, value)
    }

    /// A `'static` key this thread has not bound: bound to the cells of its
    /// index entry's series, if it has one.
    #[cold]
    #[inline(never)]
    fn bind_and_record<R, I>(&self, key: &IndexKey<'_, R, I>, words: &[u64; 3], value: u64) -> bool
    where
        R: LabelValue + ?Sized,
        I: LabelValue + ?Sized,
    {
        let (Some(binding), Some(index)) = (&self.binding, &self.index) else {
            return false;
        };
        let Some(b) = index.find(key) else {
            return false;
        };
        let counters = [Some(&b.requests), b.errors.as_ref(), b.cache.as_ref()];
        // SAFETY: the entry's series are of the tracker's four families,
        // which record into one registry (the binding exists only then) and
        // do not evict (the index, and so the binding, exists only then):
        // the duration histogram's cells are never released, and the index
        // keeps the handles as long as the tracker lives.
        unsafe { binding.bind_and_record(words, counters, Some(&b.duration), 1, value) };
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::{CacheStatus, ErrorCategory, Registry, ResponseOutcome, StaticStr};
    use std::time::Duration;

    /// Threads record calls by `'static` route and intent, each through its
    /// own bound cells after the first call of a key, in all four
    /// families; every call is counted where the same call by `&str` is.
    /// (Also run under Miri: `scripts/miri.sh`.)
    #[test]
    fn calls_by_static_values_record_through_bound_cells() {
        let (threads, calls) = if cfg!(miri) { (2, 12) } else { (4, 1_200) };
        let reg = Registry::on_fixed_clock();
        let rt = reg.response_tracker("api").unwrap();
        let err = ResponseOutcome::Error(ErrorCategory::Timeout);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    let (route, intent) = (StaticStr("/search"), StaticStr("GET"));
                    for i in 0..calls {
                        let (outcome, cache) = match i % 3 {
                            0 => (&ResponseOutcome::Success, CacheStatus::Hit),
                            1 => (&err, CacheStatus::Miss),
                            _ => (&ResponseOutcome::Success, CacheStatus::NotCached),
                        };
                        rt.record_response(
                            &route,
                            &intent,
                            Duration::from_micros(3),
                            outcome,
                            cache,
                        );
                    }
                });
            }
        });
        rt.record_response("/search", "GET", Duration::ZERO, &err, CacheStatus::Miss);
        let snap = reg.collect();
        let third = threads as u64 * calls as u64 / 3;
        let requests = |outcome| {
            let set = [
                ("route", "/search"),
                ("intent", "GET"),
                ("outcome", outcome),
            ];
            snap.counter_with("api_requests", &set)
        };
        assert_eq!(requests("success"), Some(2 * third));
        assert_eq!(requests("error"), Some(third + 1));
        let timeouts = [("route", "/search"), ("category", "timeout")];
        assert_eq!(snap.counter_with("api_errors", &timeouts), Some(third + 1));
        let hits = [("route", "/search"), ("cache", "hit")];
        assert_eq!(snap.counter_with("api_cache_requests", &hits), Some(third));
        let misses = [("route", "/search"), ("cache", "miss")];
        assert_eq!(
            snap.counter_with("api_cache_requests", &misses),
            Some(third + 1)
        );
        let ok = [("route", "/search"), ("outcome", "success")];
        let latency = snap.histogram_with("api_request_duration", &ok);
        assert_eq!(latency.map(|h| h.count()), Some(2 * third));
    }
}
