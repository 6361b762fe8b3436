//! A `/metrics` endpoint (feature `http`).
//!
//! [`serve`] binds an address and answers scrapes from a thread of its own
//! running hyper 1 (HTTP/1.1) on a one-thread tokio runtime. Each scrape is
//! rendered from a snapshot, as OpenMetrics 1.0 when the `Accept` header
//! names `application/openmetrics-text` (the media type exactly, any case),
//! otherwise as Prometheus text 0.0.4, gzip-compressed when `Accept-Encoding`
//! names `gzip` (exactly): the response of [`super::handler`], which
//! mounts the same scrape in an application's own server.
//!
//! The snapshot is made by a collection on each scrape (the default), or by
//! a collection on an interval, scrapes then reading the latest one
//! ([`Builder::collect_every`]). Either way rendering reads an immutable
//! snapshot and never blocks a writer.
//!
//! Limits, so that a bad client costs little and can never crash the
//! server: one thread; at most [`Builder::max_connections`] connections
//! (more are closed on accept); request headers must arrive within
//! [`Builder::header_read_timeout`] and be at most 16 KiB (else 408 / 431,
//! or the connection is closed); a connection lives at most
//! [`Builder::connection_timeout`]. Malformed requests get 400 from hyper,
//! other paths 404, other methods than `GET` and `HEAD` 405.
//!
//! ```
//! use hotmetrics::export::http;
//! use hotmetrics::Registry;
//! use std::io::{Read, Write};
//!
//! let reg = Registry::new();
//! reg.counter("jobs", "Jobs done").unwrap().add(3);
//! let server = http::serve(&reg, "127.0.0.1:0").unwrap();
//!
//! let mut conn = std::net::TcpStream::connect(server.local_addr()).unwrap();
//! conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
//! let mut response = String::new();
//! conn.read_to_string(&mut response).unwrap();
//! assert!(response.starts_with("HTTP/1.1 200 OK"));
//! assert!(response.ends_with("jobs_total 3\n"));
//!
//! server.shutdown(); // also on drop
//! ```
#![forbid(unsafe_code)]

use super::{handler, TextOptions};
use crate::Registry;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// Largest request head hyper buffers (its minimum is 8 KiB).
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Serves `registry` at `http://addr/metrics`, collecting on each scrape,
/// with the default limits. See [`Server::builder`] for the options.
pub fn serve(registry: &Registry, addr: impl ToSocketAddrs) -> io::Result<Server> {
    Server::builder(registry).bind(addr)
}

/// When the served snapshot is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Collect {
    OnScrape,
    Every(Duration),
}

/// Options of a [`Server`], made by [`Server::builder`].
///
/// ```
/// use hotmetrics::export::{http::Server, TextOptions};
/// use hotmetrics::Registry;
/// use std::time::Duration;
///
/// let reg = Registry::new();
/// let server = Server::builder(&reg)
///     .collect_every(Duration::from_secs(5))
///     .options(TextOptions::new().buckets(&[0.001, 0.01, 0.1, 1.0]))
///     .path("/internal/metrics")
///     .max_connections(8)
///     .bind("127.0.0.1:0")
///     .unwrap();
/// assert_ne!(server.local_addr().port(), 0);
/// ```
#[derive(Debug)]
pub struct Builder {
    registry: Registry,
    collect: Collect,
    options: TextOptions,
    path: String,
    max_connections: usize,
    header_read_timeout: Duration,
    connection_timeout: Duration,
}

impl Builder {
    /// Collect on every scrape (the default): each response reflects every
    /// record that happened before the request.
    pub fn collect_on_scrape(mut self) -> Builder {
        self.collect = Collect::OnScrape;
        self
    }

    /// Collect every `interval` (at least 1 ms) on the server's thread;
    /// scrapes serve the latest snapshot, whoever made it.
    pub fn collect_every(mut self, interval: Duration) -> Builder {
        self.collect = Collect::Every(interval.max(Duration::from_millis(1)));
        self
    }

    /// How histograms are written (default: [`TextOptions::default`]).
    pub fn options(mut self, options: TextOptions) -> Builder {
        self.options = options;
        self
    }

    /// The path served (default `/metrics`); others get 404.
    pub fn path(mut self, path: &str) -> Builder {
        self.path = path.to_string();
        self
    }

    /// Connections open at once (default 64, at least 1); a connection
    /// accepted beyond it is closed at once.
    pub fn max_connections(mut self, n: usize) -> Builder {
        self.max_connections = n.max(1);
        self
    }

    /// Time a client has to send a request's headers (default 5 s).
    pub fn header_read_timeout(mut self, t: Duration) -> Builder {
        self.header_read_timeout = t;
        self
    }

    /// Longest life of one connection, keep-alive included (default 60 s);
    /// a scraper reconnects after it.
    pub fn connection_timeout(mut self, t: Duration) -> Builder {
        self.connection_timeout = t;
        self
    }

    /// Binds `addr` and starts serving on a new thread.
    ///
    /// # Errors
    ///
    /// Binding fails (address in use, not allowed, no address), or the
    /// thread or its runtime cannot be created.
    pub fn bind(self, addr: impl ToSocketAddrs) -> io::Result<Server> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        // The error names what could not be bound ("address in use" alone
        // does not say which).
        let listener = std::net::TcpListener::bind(&addrs[..]).map_err(|e| {
            let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
            io::Error::new(e.kind(), format!("cannot bind {}: {e}", list.join(", ")))
        })?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("hotmetrics-http".into())
            .spawn(move || {
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, run(listener, self, stopped));
                // Dropping `local` and `runtime` cancels open connections.
            })?;
        Ok(Server {
            local_addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// A running `/metrics` endpoint; stops on [`Server::shutdown`] or drop.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Options for a server of `registry`: collect on scrape, default
    /// [`TextOptions`], path `/metrics`, 64 connections, 5 s to send
    /// headers, 60 s per connection.
    pub fn builder(registry: &Registry) -> Builder {
        Builder {
            registry: registry.clone(),
            collect: Collect::OnScrape,
            options: TextOptions::default(),
            path: "/metrics".into(),
            max_connections: 64,
            header_read_timeout: Duration::from_secs(5),
            connection_timeout: Duration::from_secs(60),
        }
    }

    /// The address bound (with the port chosen when binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, closes open connections and waits for the server's
    /// thread to end.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            // An error means the thread already ended.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// What the connections of one server share (all on its one thread).
struct State {
    cfg: Builder,
    /// The text rendered last, cleared and reused by the next scrape.
    text: RefCell<String>,
}

/// Decrements the count of open connections when a connection ends,
/// however it ends.
struct Open(Rc<Cell<usize>>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

async fn run(listener: std::net::TcpListener, cfg: Builder, mut stop: oneshot::Receiver<()>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    if let Collect::Every(every) = cfg.collect {
        let registry = cfg.registry.clone();
        tokio::task::spawn_local(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                registry.collect();
            }
        });
    }
    let state = Rc::new(State {
        cfg,
        text: RefCell::new(String::new()),
    });
    let open = Rc::new(Cell::new(0usize));
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors and the like: let it pass.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if open.get() >= state.cfg.max_connections {
            drop(stream);
            continue;
        }
        open.set(open.get() + 1);
        let guard = Open(open.clone());
        let state = state.clone();
        tokio::task::spawn_local(async move {
            let _guard = guard;
            let service = {
                let state = state.clone();
                hyper::service::service_fn(move |req| {
                    let response = respond(&state, &req);
                    async move { Ok::<_, Infallible>(response) }
                })
            };
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(state.cfg.header_read_timeout)
                .max_buf_size(MAX_HEAD_BYTES)
                .serve_connection(TokioIo::new(stream), service);
            // Errors (a client gone, a timeout, a malformed request already
            // answered by hyper) end only this connection.
            let _ = tokio::time::timeout(state.cfg.connection_timeout, conn).await;
        });
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn respond(state: &State, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.uri().path() != state.cfg.path {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    // The scrape itself is the framework-neutral handler's.
    let negotiated = super::hyper::negotiate(req.headers());
    let latest = matches!(state.cfg.collect, Collect::Every(_));
    let mut text = state.text.borrow_mut();
    handler::scrape(
        &state.cfg.registry,
        latest,
        &state.cfg.options,
        negotiated,
        &mut text,
    )
    .into()
}
