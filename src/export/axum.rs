//! The scrape handler for axum 0.8 (feature `axum`): mount `/metrics` in
//! an application's own router.
//!
//! [`metrics_route`] is a `GET` (and `HEAD`) route answering scrapes of a
//! registry exactly as [`http::serve`] does: Prometheus text or
//! OpenMetrics by `Accept`, gzip by `Accept-Encoding`, a collection on each
//! scrape (or the latest snapshot, with [`route`] and
//! [`ScrapeHandler::latest_snapshot`]). Other methods get axum's 405.
//!
//! ```
//! use axum::Router;
//! use hotmetrics::export::axum::metrics_route;
//!
//! let reg = hotmetrics::Registry::new();
//! reg.counter("jobs", "Jobs done").unwrap().add(3);
//! let app: Router = Router::new()
//!     .route("/metrics", metrics_route(&reg))
//!     .route("/", axum::routing::get(|| async { "hello" }));
//! ```
//!
//! For an application whose state holds the handler, [`scrape`] is a
//! handler function taking it with `State` (through `FromRef`).
//!
#![cfg_attr(feature = "http", doc = "[`http::serve`]: crate::export::http::serve")]
#![cfg_attr(
    not(feature = "http"),
    doc = "[`http::serve`]: https://docs.rs/hotmetrics/latest/hotmetrics/export/http/fn.serve.html"
)]
#![forbid(unsafe_code)]

use super::handler::{Negotiated, Scrape, ScrapeHandler};
use crate::Registry;
use ::axum::body::Body;
use ::axum::extract::State;
use ::axum::http::header::{HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING};
use ::axum::http::StatusCode;
use ::axum::response::{IntoResponse, Response};
use ::axum::routing::{get, MethodRouter};

/// A route serving scrapes of `registry`, collecting on each scrape:
/// `Router::new().route("/metrics", metrics_route(&registry))`.
pub fn metrics_route<S>(registry: &Registry) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    route(ScrapeHandler::new(registry))
}

/// A route serving scrapes with `handler` (its options, its snapshot
/// mode).
pub fn route<S>(handler: ScrapeHandler) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    get(move |headers: HeaderMap| {
        let response = respond(&handler, &headers);
        async move { response }
    })
}

/// A handler function for a router whose state gives a [`ScrapeHandler`]:
/// `Router::new().route("/metrics", get(scrape)).with_state(handler)`.
pub async fn scrape(State(handler): State<ScrapeHandler>, headers: HeaderMap) -> Response {
    respond(&handler, &headers)
}

/// Answers a scrape whose request headers are `headers`.
pub fn respond(handler: &ScrapeHandler, headers: &HeaderMap) -> Response {
    let negotiated = Negotiated::from_headers(
        headers.get_all(ACCEPT).iter().map(HeaderValue::as_bytes),
        headers
            .get_all(ACCEPT_ENCODING)
            .iter()
            .map(HeaderValue::as_bytes),
    );
    handler.respond_negotiated(negotiated).into_response()
}

impl IntoResponse for Scrape {
    fn into_response(self) -> Response {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        for (name, value) in self.headers() {
            r.headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        *r.body_mut() = Body::from(self.body);
        r
    }
}
