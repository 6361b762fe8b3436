//! A framework-neutral scrape handler: `(Accept, Accept-Encoding)` in,
//! `(status, Content-Type, Content-Encoding, body)` out.
//!
//! [`ScrapeHandler`] answers a scrape exactly as [`http::serve`] does (it
//! is what the endpoint itself calls), so that `/metrics` can be mounted in
//! an application's own server without losing format negotiation or gzip:
//!
//! - the Prometheus protobuf format (length-delimited `MetricFamily`
//!   messages, with native histograms; feature `protobuf`, on with `http`,
//!   `hyper` and `axum`) when `Accept` names
//!   `application/vnd.google.protobuf` with
//!   `proto=io.prometheus.client.MetricFamily` and `encoding=delimited`,
//!   as a Prometheus with native histograms enabled asks first;
//! - otherwise OpenMetrics 1.0 text when `Accept` names
//!   `application/openmetrics-text` (the media type exactly, any case, not
//!   refused with `q=0`), otherwise Prometheus text 0.0.4;
//! - gzip when `Accept-Encoding` names `gzip` the same way (and feature
//!   `gzip` is on, as it is with `http`, `hyper` and `axum`; without it the
//!   body is always uncompressed, which every client accepts);
//! - a collection on each call (the default, as `http::serve`), or the
//!   registry's latest snapshot ([`ScrapeHandler::latest_snapshot`], as
//!   `http::Builder::collect_every`), whoever collected it.
//!
//! It needs no HTTP crate: the adapters for axum ([`axum`], feature `axum`)
//! and hyper ([`hyper`], feature `hyper`) only copy headers in and out.
//!
//! ```
//! use hotmetrics::export::handler::ScrapeHandler;
//! use hotmetrics::Registry;
//!
//! let reg = Registry::new();
//! reg.counter("jobs", "Jobs done").unwrap().add(3);
//! let handler = ScrapeHandler::new(&reg);
//!
//! let scrape = handler.respond(Some("text/plain"), None);
//! assert_eq!(scrape.status, 200);
//! assert_eq!(scrape.content_type, "text/plain; version=0.0.4; charset=utf-8");
//! assert_eq!(scrape.content_encoding, None);
//! assert!(scrape.body.ends_with(b"jobs_total 3\n"));
//!
//! let om = handler.respond(Some("application/openmetrics-text;version=1.0.0"), None);
//! assert!(om.content_type.starts_with("application/openmetrics-text"));
//! assert!(om.body.ends_with(b"# EOF\n"));
//! ```
//!
#![cfg_attr(feature = "http", doc = "[`http::serve`]: crate::export::http::serve")]
#![cfg_attr(
    not(feature = "http"),
    doc = "[`http::serve`]: https://docs.rs/hotmetrics/latest/hotmetrics/export/http/fn.serve.html"
)]
#![cfg_attr(feature = "axum", doc = "[`axum`]: super::axum")]
#![cfg_attr(
    not(feature = "axum"),
    doc = "[`axum`]: https://docs.rs/hotmetrics/latest/hotmetrics/export/axum/index.html"
)]
#![cfg_attr(feature = "hyper", doc = "[`hyper`]: super::hyper")]
#![cfg_attr(
    not(feature = "hyper"),
    doc = "[`hyper`]: https://docs.rs/hotmetrics/latest/hotmetrics/export/hyper/index.html"
)]
#![forbid(unsafe_code)]

use super::{openmetrics, prometheus, TextOptions};
use crate::Registry;

/// The `Vary` header value of every scrape response: the body depends on
/// these request headers.
pub const VARY: &str = "Accept, Accept-Encoding";

/// The `Content-Type` of the protobuf format.
pub(crate) const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// The format of a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text 0.0.4 (the default).
    Prometheus,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
    /// Length-delimited `io.prometheus.client.MetricFamily` protobuf
    /// messages, with native histograms (only negotiated with feature
    /// `protobuf`).
    Protobuf,
}

impl Format {
    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus::CONTENT_TYPE,
            Format::OpenMetrics => openmetrics::CONTENT_TYPE,
            Format::Protobuf => PROTOBUF_CONTENT_TYPE,
        }
    }
}

/// What a request asked for: the format and whether to gzip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The text format.
    pub format: Format,
    /// Gzip the body (never without feature `gzip`).
    pub gzip: bool,
}

impl Negotiated {
    /// Reads every value of the `Accept` and `Accept-Encoding` headers (a
    /// header sent several times is the same as one comma-joined value).
    pub fn from_headers<'a, A, E>(accept: A, accept_encoding: E) -> Negotiated
    where
        A: IntoIterator<Item = &'a [u8]>,
        E: IntoIterator<Item = &'a [u8]>,
    {
        let (mut om, mut pb) = (false, false);
        for v in accept {
            om |= lists_token(v, "application/openmetrics-text", &[]);
            pb |= lists_token(v, "application/vnd.google.protobuf", PROTOBUF_PARAMS);
        }
        let gzip = accept_encoding
            .into_iter()
            .any(|v| lists_token(v, "gzip", &[]));
        Negotiated {
            format: if pb && cfg!(feature = "protobuf") {
                Format::Protobuf
            } else if om {
                Format::OpenMetrics
            } else {
                Format::Prometheus
            },
            gzip: gzip && cfg!(feature = "gzip"),
        }
    }
}

/// The parameters the protobuf media type must carry.
const PROTOBUF_PARAMS: &[&str] = &[
    "proto=io.prometheus.client.MetricFamily",
    "encoding=delimited",
];

/// Whether the header value `value` (a comma-separated list, each element
/// a token with `;`-separated parameters) names `token` exactly, ignoring
/// case and white space, with each of `params` among its parameters, and
/// does not refuse it with `q=0`.
fn lists_token(value: &[u8], token: &str, params: &[&str]) -> bool {
    let value = String::from_utf8_lossy(value);
    value.split(',').any(|part| {
        let mut fields = part.split(';').map(str::trim);
        fields.next().is_some_and(|t| t.eq_ignore_ascii_case(token))
            && params.iter().all(|p| {
                part.split(';')
                    .skip(1)
                    .any(|f| f.trim().eq_ignore_ascii_case(p))
            })
            && !fields.any(|f| {
                f.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f64>().ok())
                    .is_some_and(|q| q <= 0.0)
            })
    })
}

/// One scrape's response, ready to copy into any HTTP framework's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scrape {
    /// The status code: always 200 (a snapshot always renders).
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// The `Content-Encoding` header, when the body is compressed.
    pub content_encoding: Option<&'static str>,
    /// The body, compressed as `content_encoding` says.
    pub body: Vec<u8>,
}

impl Scrape {
    /// Every header to set, as (name, value): `Content-Type`, `Vary` and,
    /// when compressed, `Content-Encoding`.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        [
            Some(("content-type", self.content_type)),
            Some(("vary", VARY)),
            self.content_encoding.map(|e| ("content-encoding", e)),
        ]
        .into_iter()
        .flatten()
    }
}

/// Answers scrapes of one registry; cheap to clone (clones share the
/// registry), `Send` and `Sync`.
#[derive(Clone, Debug)]
pub struct ScrapeHandler {
    registry: Registry,
    latest: bool,
    options: TextOptions,
}

impl From<&Registry> for ScrapeHandler {
    fn from(registry: &Registry) -> ScrapeHandler {
        ScrapeHandler::new(registry)
    }
}

impl ScrapeHandler {
    /// A handler of `registry` that collects on each scrape (as
    /// `http::serve` does by default), with the default [`TextOptions`].
    pub fn new(registry: &Registry) -> ScrapeHandler {
        ScrapeHandler {
            registry: registry.clone(),
            latest: false,
            options: TextOptions::default(),
        }
    }

    /// Serve the registry's latest published snapshot instead of collecting
    /// on each scrape: for an application that collects on an interval of
    /// its own (as `http::Builder::collect_every` does). Empty until the
    /// first collection.
    pub fn latest_snapshot(mut self) -> ScrapeHandler {
        self.latest = true;
        self
    }

    /// How histograms are written (default: [`TextOptions::default`]).
    pub fn options(mut self, options: TextOptions) -> ScrapeHandler {
        self.options = options;
        self
    }

    /// The registry served.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Answers a scrape whose `Accept` and `Accept-Encoding` headers are
    /// these (`None`: not sent).
    pub fn respond(&self, accept: Option<&str>, accept_encoding: Option<&str>) -> Scrape {
        self.respond_negotiated(Negotiated::from_headers(
            accept.map(str::as_bytes),
            accept_encoding.map(str::as_bytes),
        ))
    }

    /// Answers a scrape whose headers were read with
    /// [`Negotiated::from_headers`].
    pub fn respond_negotiated(&self, negotiated: Negotiated) -> Scrape {
        let mut text = String::new();
        scrape(
            &self.registry,
            self.latest,
            &self.options,
            negotiated,
            &mut text,
        )
    }
}

/// The scrape itself, rendering into `text` (cleared first; the endpoint
/// reuses one buffer across scrapes).
pub(crate) fn scrape(
    registry: &Registry,
    latest: bool,
    options: &TextOptions,
    negotiated: Negotiated,
    text: &mut String,
) -> Scrape {
    let snap = if latest {
        registry.snapshot()
    } else {
        registry.collect()
    };
    text.clear();
    #[cfg_attr(not(feature = "protobuf"), allow(unused_mut))]
    let mut binary = Vec::new();
    match negotiated.format {
        Format::OpenMetrics => openmetrics::render_into(&snap, text, options),
        Format::Prometheus => prometheus::render_into(&snap, text, options),
        #[cfg(feature = "protobuf")]
        Format::Protobuf => super::protobuf::render_into(&snap, &mut binary, options),
        // Never negotiated without the feature.
        #[cfg(not(feature = "protobuf"))]
        Format::Protobuf => prometheus::render_into(&snap, text, options),
    }
    let bytes = if binary.is_empty() {
        text.as_bytes()
    } else {
        &binary[..]
    };
    let (body, content_encoding) = if negotiated.gzip {
        (gzip(bytes), Some("gzip"))
    } else {
        (bytes.to_vec(), None)
    };
    Scrape {
        status: 200,
        content_type: negotiated.format.content_type(),
        content_encoding,
        body,
    }
}

#[cfg(feature = "gzip")]
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// Never called: without feature `gzip`, `Negotiated::gzip` is `false`.
#[cfg(not(feature = "gzip"))]
fn gzip(bytes: &[u8]) -> Vec<u8> {
    bytes.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiate(accept: &str, encoding: &str) -> Negotiated {
        Negotiated::from_headers([accept.as_bytes()], [encoding.as_bytes()])
    }

    #[test]
    fn negotiates_like_the_endpoint() {
        let prom = "application/openmetrics-text;version=1.0.0,\
                    text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(negotiate(prom, "").format, Format::OpenMetrics);
        assert_eq!(negotiate("text/plain", "").format, Format::Prometheus);
        assert_eq!(negotiate("", "").format, Format::Prometheus);
        let refused = "application/openmetrics-text;q=0,text/plain";
        assert_eq!(negotiate(refused, "").format, Format::Prometheus);
        let longer = "application/openmetrics-text-x";
        assert_eq!(negotiate(longer, "").format, Format::Prometheus);
        assert_eq!(negotiate("", "br, GZIP").gzip, cfg!(feature = "gzip"));
        assert!(!negotiate("", "gzip;q=0, br").gzip);
        assert!(!negotiate("", "x-gzip").gzip);
        // Several values of one header.
        let n = Negotiated::from_headers(
            ["text/plain".as_bytes(), b"application/openmetrics-text"],
            [b"br".as_slice(), b"gzip"],
        );
        assert_eq!(n.format, Format::OpenMetrics);
        assert_eq!(n.gzip, cfg!(feature = "gzip"));
    }

    #[test]
    fn negotiates_protobuf_when_asked_for_delimited_metric_families() {
        let pb = if cfg!(feature = "protobuf") {
            Format::Protobuf
        } else {
            Format::OpenMetrics
        };
        // What Prometheus sends with native histograms enabled.
        let prom = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                    encoding=delimited;q=0.7,application/openmetrics-text;version=1.0.0;q=0.5,\
                    text/plain;version=0.0.4;q=0.3,*/*;q=0.1";
        assert_eq!(negotiate(prom, "").format, pb);
        let text = if cfg!(feature = "protobuf") {
            Format::Protobuf
        } else {
            Format::Prometheus
        };
        let spaced = "Application/Vnd.Google.Protobuf; encoding=delimited; \
                      proto=io.prometheus.client.MetricFamily";
        assert_eq!(negotiate(spaced, "").format, text);
        // Other encodings or messages, and refusals, are not it.
        let text_encoding = "application/vnd.google.protobuf;\
                             proto=io.prometheus.client.MetricFamily;encoding=text";
        assert_eq!(negotiate(text_encoding, "").format, Format::Prometheus);
        let other = "application/vnd.google.protobuf;proto=other.Message;encoding=delimited";
        assert_eq!(negotiate(other, "").format, Format::Prometheus);
        let refused = "application/vnd.google.protobuf;\
                       proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0";
        assert_eq!(negotiate(refused, "").format, Format::Prometheus);
        assert_eq!(Format::Protobuf.content_type(), PROTOBUF_CONTENT_TYPE);
    }

    #[test]
    fn collects_on_each_scrape_or_serves_the_latest() {
        let reg = Registry::new();
        let jobs = reg.counter("jobs", "Jobs").unwrap();
        jobs.add(2);
        let fresh = ScrapeHandler::new(&reg);
        let latest = ScrapeHandler::new(&reg).latest_snapshot();
        assert!(latest.respond(None, None).body.is_empty());
        assert!(fresh.respond(None, None).body.ends_with(b"jobs_total 2\n"));
        jobs.inc();
        // `fresh` collected the value 2; `latest` serves that collection.
        assert!(latest.respond(None, None).body.ends_with(b"jobs_total 2\n"));
        assert!(fresh.respond(None, None).body.ends_with(b"jobs_total 3\n"));
    }

    #[test]
    fn headers_follow_the_negotiation() {
        let reg = Registry::new();
        let scrape = ScrapeHandler::new(&reg).respond(None, Some("gzip"));
        let headers: Vec<_> = scrape.headers().collect();
        assert_eq!(headers[0], ("content-type", prometheus::CONTENT_TYPE));
        assert_eq!(headers[1], ("vary", VARY));
        let gz = cfg!(feature = "gzip").then_some(("content-encoding", "gzip"));
        assert_eq!(headers.get(2).copied(), gz);
    }
}
