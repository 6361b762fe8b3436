//! The scrape handler for hyper 1 (feature `hyper`): `Request<B>` in,
//! `Response<Full<Bytes>>` out, for a `service_fn` of an application's own
//! server.
//!
//! [`respond`] answers `GET` and `HEAD` with the scrape, negotiated as
//! [`ScrapeHandler`] does (the same bytes as [`http::serve`]), and other
//! methods with 405. It does not look at the path: route to it from your
//! own service. [`service`] wraps it into the closure `service_fn` takes.
//!
//! ```
//! use hotmetrics::export::handler::ScrapeHandler;
//! use hotmetrics::Registry;
//! use http_body_util::Empty;
//! use hyper::body::Bytes;
//! use hyper::Request;
//!
//! let reg = Registry::new();
//! reg.counter("jobs", "Jobs done").unwrap().add(3);
//! let handler = ScrapeHandler::new(&reg);
//!
//! let req = Request::get("/metrics")
//!     .header("accept", "application/openmetrics-text; version=1.0.0")
//!     .body(Empty::<Bytes>::new())
//!     .unwrap();
//! let resp = hotmetrics::export::hyper::respond(&handler, &req);
//! assert_eq!(resp.status(), 200);
//! assert!(resp.headers()["content-type"]
//!     .to_str()
//!     .unwrap()
//!     .starts_with("application/openmetrics-text"));
//!
//! // In a server: `hyper::service::service_fn(hotmetrics::export::hyper::service(handler))`.
//! let _svc = hyper::service::service_fn(hotmetrics::export::hyper::service::<Empty<Bytes>>(
//!     ScrapeHandler::new(&reg),
//! ));
//! ```
#![cfg_attr(feature = "http", doc = "[`http::serve`]: crate::export::http::serve")]
#![cfg_attr(
    not(feature = "http"),
    doc = "[`http::serve`]: https://docs.rs/hotmetrics/latest/hotmetrics/export/http/fn.serve.html"
)]
#![forbid(unsafe_code)]

use super::handler::{Negotiated, Scrape, ScrapeHandler};
use ::hyper::body::Bytes;
use ::hyper::header::{HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, ALLOW, CONTENT_TYPE};
use ::hyper::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use std::convert::Infallible;
use std::future::{ready, Ready};

/// What a request with these headers asks for.
pub fn negotiate(headers: &HeaderMap) -> Negotiated {
    Negotiated::from_headers(
        headers.get_all(ACCEPT).iter().map(HeaderValue::as_bytes),
        headers
            .get_all(ACCEPT_ENCODING)
            .iter()
            .map(HeaderValue::as_bytes),
    )
}

/// Answers `req`: the scrape for `GET` and `HEAD`, 405 (with `Allow`)
/// otherwise. The path is not checked.
pub fn respond<B>(handler: &ScrapeHandler, req: &Request<B>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return method_not_allowed();
    }
    handler.respond_negotiated(negotiate(req.headers())).into()
}

/// [`respond`] as the closure `hyper::service::service_fn` takes.
pub fn service<B>(
    handler: ScrapeHandler,
) -> impl Fn(Request<B>) -> Ready<Result<Response<Full<Bytes>>, Infallible>> + Clone {
    move |req| ready(Ok(respond(&handler, &req)))
}

impl From<Scrape> for Response<Full<Bytes>> {
    fn from(scrape: Scrape) -> Response<Full<Bytes>> {
        let mut r = Response::new(Full::default());
        *r.status_mut() = StatusCode::from_u16(scrape.status).unwrap_or(StatusCode::OK);
        for (name, value) in scrape.headers() {
            r.headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        *r.body_mut() = Full::new(Bytes::from(scrape.body));
        r
    }
}

/// 405 with `Allow: GET, HEAD`.
fn method_not_allowed() -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(b"method not allowed\n")));
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    r
}
