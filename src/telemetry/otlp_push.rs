//! The exporter's OTLP push: every interval, the registry's snapshot as an
//! OTLP/HTTP protobuf request, behind its own breaker, retried as the OTLP
//! exporter specification says.
//!
//! - 2xx: delivered; a `partial_success` in the reply counts its
//!   `rejected_data_points` as rejected, the rest as delivered.
//! - 429, 502, 503, 504 and transport errors: retried after the back-off
//!   (100 ms · 2^(attempt−1), at most 5 s, ±50 %) or the server's
//!   `Retry-After` (capped at the breaker's longest cool-down), up to
//!   `max_retries` times; then the export's points are dropped.
//! - Any other status: not retried, the points dropped.
//!
//! Each retry collects the registry afresh: cumulative points carry the
//! totals, and delta points cover everything since the last settled
//! export, so a retried export loses nothing. An export is settled once
//! (delivered, partly rejected or dropped), with the points of its last
//! attempt: `points = delivered + rejected + dropped` over the settled
//! exports, in the self-metrics.
#![forbid(unsafe_code)]

use super::exporter::{Endpoint, Exporter};
use super::otlp::{body, Encoder};
use super::otlp_config::{Compression, OtlpConfig};
use super::sender::{Job, Sent};
use crate::export::TextOptions;
use crate::sync::Arc;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const HEADERS: [(&str, &str); 1] = [("Content-Type", "application/x-protobuf")];
const HEADERS_GZIP: [(&str, &str); 2] = [
    ("Content-Type", "application/x-protobuf"),
    ("Content-Encoding", "gzip"),
];

/// The OTLP push's state, owned by the exporter.
pub(crate) struct OtlpPush {
    pub(super) endpoint: Endpoint,
    encoder: Encoder,
    headers: Arc<[(String, String)]>,
    gzip: bool,
    timeout: Option<Duration>,
    interval: Duration,
    /// When the next attempt is due.
    pub(super) next: Instant,
}

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl OtlpPush {
    pub(super) fn new(c: &OtlpConfig, endpoint: Endpoint, text: TextOptions, now: Instant) -> OtlpPush {
        OtlpPush {
            endpoint,
            encoder: Encoder::new(c, text, unix_ns()),
            headers: c.headers.to_vec().into(),
            gzip: c.compression == Compression::Gzip,
            timeout: c.timeout,
            interval: c.interval,
            next: now + c.interval,
        }
    }
}

/// The data points of a request.
pub(crate) fn data_points(req: &ExportMetricsServiceRequest) -> u64 {
    let metrics = req
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics);
    metrics
        .map(|m| match &m.data {
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(Data::Summary(s)) => s.data_points.len(),
            None => 0,
        } as u64)
        .sum()
}

/// The points a reply says were rejected (0 if it says nothing, or
/// cannot be decoded), at most `points`.
fn rejected(reply: &[u8], points: u64) -> u64 {
    let Ok(r) = <ExportMetricsServiceResponse as prost::Message>::decode(reply) else {
        return 0;
    };
    let n = r.partial_success.map_or(0, |p| p.rejected_data_points);
    u64::try_from(n).unwrap_or(0).min(points)
}

impl Exporter {
    /// One export attempt, if the breaker allows it; settles the export
    /// (see the module docs) and schedules the next attempt.
    pub(super) fn push_otlp(&mut self, now: Instant, deadline: Option<Instant>) {
        let now_ms = self.now_ms(now);
        let Some(o) = self.otlp.as_mut() else {
            return;
        };
        o.next = now + o.interval;
        if o.endpoint.retry_at.is_some_and(|t| now < t) || !o.endpoint.breaker.allow(now_ms) {
            if let Some(m) = &self.metrics().otlp {
                m.exports.with(&["skipped"]).inc();
            }
            self.publish_states();
            return;
        }
        let snap = self.registry.collect();
        let now_ns = unix_ns();
        let o = self.otlp.as_mut().expect("checked above");
        let req = o.encoder.request(&snap, now_ns);
        let points = data_points(&req);
        let job = Job {
            url: o.endpoint.url.clone(),
            body: body(&req, o.gzip),
            headers: if o.gzip { &HEADERS_GZIP } else { &HEADERS },
            extra_headers: Some(o.headers.clone()),
            otlp: true,
            timeout: o.timeout.unwrap_or(self.config.timeout),
        };
        drop(req);
        let events_body = std::mem::take(&mut self.body);
        let sent = self.request(job, deadline);
        self.body = events_body;
        let Some(sent) = sent else {
            return;
        };
        let reply = self.sender.take_reply();
        let mut retrying = false;
        let (result, delivered, rejected, dropped) = match sent {
            Sent::Ok => match rejected(&reply, points) {
                0 => ("ok", points, 0, 0),
                r => ("partial", points - r, r, 0),
            },
            Sent::Refused => ("refused", 0, 0, points),
            Sent::Failed(retry_after) => {
                retrying = self.otlp_failed(now_ms, retry_after);
                ("failed", 0, 0, if retrying { 0 } else { points })
            }
        };
        let o = self.otlp.as_mut().expect("checked above");
        if !matches!(sent, Sent::Failed(_)) {
            o.endpoint.breaker.on_success(now_ms);
            o.endpoint.attempts = 0;
            o.endpoint.retry_at = None;
        }
        if !retrying {
            // Settled: the next delta export starts here.
            o.encoder.commit(snap, now_ns);
        }
        if let Some(m) = &self.metrics().otlp {
            m.exports.with(&[result]).inc();
            m.points.with(&["delivered"]).add(delivered);
            m.points.with(&["rejected"]).add(rejected);
            m.points.with(&["dropped"]).add(dropped);
        }
        self.publish_states();
    }

    /// A failed attempt: `true` if it will be retried (the next attempt
    /// set to the back-off or `Retry-After`), `false` if the retries are
    /// spent (the export is dropped and the next one comes at the
    /// interval).
    fn otlp_failed(&mut self, now_ms: u64, retry_after: Option<Duration>) -> bool {
        let draw = self.jitter.draw();
        let (max_retries, max_cooldown) = (self.config.max_retries, self.config.breaker.max_cooldown);
        let Some(o) = self.otlp.as_mut() else {
            return false;
        };
        o.endpoint.breaker.on_failure(now_ms, draw);
        o.endpoint.attempts += 1;
        if o.endpoint.attempts > max_retries {
            o.endpoint.attempts = 0;
            o.endpoint.retry_at = None;
            return false;
        }
        let base = Duration::from_millis(100) * (1u32 << (o.endpoint.attempts - 1).min(6));
        let backoff = base.min(Duration::from_secs(5)).mul_f64(0.5 + draw);
        let wait = retry_after.map_or(backoff, |d| d.min(max_cooldown));
        let at = Instant::now() + wait;
        o.endpoint.retry_at = Some(at);
        o.next = at;
        true
    }
}
