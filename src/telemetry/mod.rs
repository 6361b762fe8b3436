//! Discrete telemetry events and push export (feature `telemetry`).
//!
//! - [`Client`] ([`Client::builder`]): emit [`Event`]s from any thread
//!   ([`Client::session_opened`], [`Client::query_executed`],
//!   [`Client::emit`]); a background thread batches them to an HTTP
//!   endpoint as JSON lines and pushes the registry's snapshots by
//!   Prometheus [`remote_write`], each endpoint behind a [`Breaker`].
//! - [`Accounting`]: where every event went
//!   (`accepted = delivered + dropped + pending`).
//! - [`Config`]: the settings, from code or `HOTMETRICS_TELEMETRY_*`
//!   variables, with [`ConfigError`] for bad values.
//!
#![doc = include_str!("../../docs/telemetry.md")]

mod accounting;
mod auth;
mod breaker;
mod config;
mod event;

pub use accounting::Accounting;
pub use auth::Authorization;
pub use breaker::{Breaker, BreakerConfig, BreakerState, Transition};
pub use config::{Config, ConfigError};
pub use event::{Event, QueryEvent, QueryOutcome, Value};

#[cfg(feature = "otlp")]
mod otlp_config;
#[cfg(feature = "otlp")]
pub use otlp_config::{Compression, HistogramAggregation, OtlpConfig, Temporality};

// The client, its exporter thread and remote write are not modelled under
// loom; the models drive the queue and its accounting directly.
#[cfg(feature = "telemetry")]
crate::sync::cfg_not_loom! {
    mod client;
    mod events_json;
    mod exporter;
    pub mod remote_write;
    #[cfg(feature = "otlp")]
    pub mod otlp;
    #[cfg(feature = "otlp")]
    mod otlp_exp;
    #[cfg(feature = "otlp")]
    mod otlp_push;
    mod self_metrics;
    mod sender;
    pub use client::{Client, ClientBuilder};
}
