//! A histogram as an OTLP `ExponentialHistogramDataPoint`, from the
//! exponential layout of [`export::native`](crate::export::native).
//!
//! The layouts agree: OTLP's `scale` is the native schema, and bucket
//! `offset + k` counts the values in `(base^(offset+k), base^(offset+k+1)]`
//! in both, so offsets and counts are copied as they are.
#![forbid(unsafe_code)]

use crate::export::native::native_histogram;
use crate::snapshot::HistogramSnapshot;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::ExponentialHistogramDataPoint;

/// `h` at the finest scale (at most 8) whose positive and negative buckets
/// together fit `max_buckets`; count, zero count, sum, min and max exact.
pub(crate) fn point(
    h: &HistogramSnapshot,
    max_buckets: usize,
    attributes: Vec<KeyValue>,
    start: u64,
    now: u64,
) -> ExponentialHistogramDataPoint {
    let n = native_histogram(h, max_buckets);
    let buckets = |offset, counts: Vec<u64>| {
        (!counts.is_empty()).then_some(Buckets {
            offset,
            bucket_counts: counts,
        })
    };
    ExponentialHistogramDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: now,
        count: n.count,
        sum: Some(n.sum),
        scale: n.schema,
        zero_count: n.zero_count,
        zero_threshold: n.zero_threshold,
        positive: buckets(n.positive_offset, n.positive),
        negative: buckets(n.negative_offset, n.negative),
        min: n.min,
        max: n.max,
        ..ExponentialHistogramDataPoint::default()
    }
}
