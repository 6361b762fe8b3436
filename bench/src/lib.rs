//! What the peer benches (`benches/`), the floors and the validation report
//! (`src/bin/validate/`) share: the peer fixtures, written once.
//!
//! - [`peer!`]: a peer crate's name with the version measured.
//! - [`render`]: the same 1,000 counters and 100 histograms in hotmetrics
//!   and in every peer exporter, and one call that renders a scrape.
//! - [`labeled`]: the 64 label sets and a `metrics` recorder over
//!   `metrics-util`'s atomic registry.
//! - [`workload`]: the values recorded.
//! - [`layout`]: the log-linear and exponential bucket indexes compared.
//! - [`user`]: the user-build benches' requests and request handler;
//!   [`measured_labels`]: `measured`'s enum label sets for them.

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms)]

pub mod labeled;
pub mod layout;
pub mod measured_labels;
pub mod render;
pub mod user;
pub mod workload;

/// `"<crate> <version>"` as a string literal, for a peer crate of this
/// package's `[dependencies]` (the version is the manifest's requirement,
/// read by `build.rs`): `peer!("prometheus-client", prometheus_client)` is
/// `"prometheus-client 0.22"`.
#[macro_export]
macro_rules! peer {
    ($name:literal, $krate:ident) => {
        concat!(
            $name,
            " ",
            env!(concat!("PEER_VERSION_", stringify!($krate)))
        )
    };
}
