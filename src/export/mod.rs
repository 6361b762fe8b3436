//! Exposition: the snapshot as a JSON summary, as Prometheus 0.0.4 and
//! OpenMetrics 1.0 text, and over HTTP.
//!
//! Exporters read an immutable [`Snapshot`](crate::Snapshot) only: they
//! never touch the cells writers record into, so rendering never blocks a
//! writer. The text formats and remote write consume one stream of samples
//! (`samples.rs`: names, suffixes, labels, values); JSON is a summary of
//! its own.
//!
//! - [`prometheus`] and [`openmetrics`]: the text formats, always built
//!   (their only dependencies are `itoa` and `ryu`), shaped by
//!   [`TextOptions`].
#![cfg_attr(
    feature = "json",
    doc = "- [`json`]: a versioned JSON summary (feature `json`, on by default)."
)]
#![cfg_attr(
    not(feature = "json"),
    doc = "- `json`: a versioned JSON summary (feature `json`, on by default)."
)]
#![cfg_attr(
    feature = "http",
    doc = "- [`http`]: a `/metrics` endpoint (feature `http`, off by default)."
)]
#![cfg_attr(
    not(feature = "http"),
    doc = "- `http`: a `/metrics` endpoint (feature `http`, off by default)."
)]
//! - [`native`]: histograms in the native (exponential) bucket layout of
//!   Prometheus native and OpenTelemetry exponential histograms.
#![cfg_attr(
    feature = "protobuf",
    doc = "- [`protobuf`]: the Prometheus protobuf exposition with native histograms (feature `protobuf`)."
)]
#![cfg_attr(
    not(feature = "protobuf"),
    doc = "- `protobuf`: the Prometheus protobuf exposition with native histograms (feature `protobuf`)."
)]
//! - [`handler`]: the scrape as a framework-neutral function, `(Accept,
//!   Accept-Encoding)` to `(status, Content-Type, Content-Encoding, body)`,
//!   always built; gzip with feature `gzip`.
#![cfg_attr(
    feature = "axum",
    doc = "- [`axum`]: the handler as an axum route (feature `axum`, off by default)."
)]
#![cfg_attr(
    not(feature = "axum"),
    doc = "- `axum`: the handler as an axum route (feature `axum`, off by default)."
)]
#![cfg_attr(
    feature = "hyper",
    doc = "- [`hyper`]: the handler for a hyper `service_fn` (feature `hyper`, off by default)."
)]
#![cfg_attr(
    not(feature = "hyper"),
    doc = "- `hyper`: the handler for a hyper `service_fn` (feature `hyper`, off by default)."
)]
//!
//! Formats, names, units, the `le` rule and the HTTP server's limits are
//! described below (from `docs/exposition.md`).
//!
#![cfg_attr(feature = "json", doc = include_str!("../../docs/exposition.md"))]
#![forbid(unsafe_code)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod handler;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "hyper")]
pub mod hyper;
#[cfg(feature = "json")]
pub mod json;
pub mod native;
mod native_keys;
pub mod openmetrics;
mod options;
pub mod prometheus;
#[cfg(feature = "protobuf")]
pub mod protobuf;
pub(crate) mod samples;
mod text;

pub use options::TextOptions;

#[cfg(test)]
mod tests;
