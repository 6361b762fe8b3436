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
mod breaker;
#[cfg(all(feature = "telemetry", not(all(loom, feature = "loom"))))]
mod client;
mod config;
mod event;
#[cfg(all(feature = "telemetry", not(all(loom, feature = "loom"))))]
mod exporter;
mod queue;
#[cfg(all(feature = "telemetry", not(all(loom, feature = "loom"))))]
pub mod remote_write;
#[cfg(all(feature = "telemetry", not(all(loom, feature = "loom"))))]
mod self_metrics;

pub use accounting::{Accounting, Channel};
pub use breaker::{Breaker, BreakerConfig, BreakerState, Transition};
#[cfg(all(feature = "telemetry", not(all(loom, feature = "loom"))))]
pub use client::{Client, ClientBuilder};
pub use config::{Config, ConfigError};
pub use event::{Event, QueryEvent, QueryOutcome, Value};
