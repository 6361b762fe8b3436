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
//! Limits, so that a bad client costs little, can never crash the server
//! and cannot keep a scrape out: one thread; at most
//! [`Builder::max_connections`] connections, and when that many are open
//! a new one makes room by closing the connection that has waited longest
//! for a request (idle keep-alive, or a request head not finished), or
//! else one busy for over a second; request headers must arrive within
//! [`Builder::header_read_timeout`] and be at most 16 KiB (else 408 / 431,
//! or the connection is closed); a response must be written within
//! [`Builder::write_timeout`]; a connection serves at most
//! [`Builder::max_requests_per_connection`] requests and lives at most
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
use hyper::header::{HeaderValue, ALLOW, CONNECTION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use socket2::{Domain, Socket, Type};
use std::cell::RefCell;
use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

mod auth;
mod conn_limits;

use auth::Auth;
use conn_limits::{Connections, Guarded, Member, Slot, Tracked};
#[cfg(feature = "http-tls")]
mod tls;

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
    write_timeout: Duration,
    max_requests_per_connection: u64,
    connection_timeout: Duration,
    auth: Auth,
    #[cfg(feature = "http-tls")]
    tls: Option<tls::Tls>,
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

    /// Connections open at once (default 64, at least 1). When a
    /// connection arrives with this many open, the one that has waited
    /// longest for a request head (idle keep-alive, or a head not finished)
    /// is closed to make room; if none is waiting, the one busy longest if
    /// busy for over a second; otherwise the newcomer is closed.
    pub fn max_connections(mut self, n: usize) -> Builder {
        self.max_connections = n.max(1);
        self
    }

    /// Time a client has to send a request's headers, counted from the
    /// connection's start or the end of the previous response: also the
    /// keep-alive idle limit (default 5 s).
    pub fn header_read_timeout(mut self, t: Duration) -> Builder {
        self.header_read_timeout = t;
        self
    }

    /// Time a response has to be written to the socket, from its first
    /// write to its last (default 10 s); a client that reads slower is cut.
    pub fn write_timeout(mut self, t: Duration) -> Builder {
        self.write_timeout = t;
        self
    }

    /// Requests answered on one keep-alive connection (default 1,000, at
    /// least 1); the last is answered with `Connection: close`.
    pub fn max_requests_per_connection(mut self, n: u64) -> Builder {
        self.max_requests_per_connection = n.max(1);
        self
    }

    /// Longest life of one connection, keep-alive included (default 60 s);
    /// a scraper reconnects after it.
    pub fn connection_timeout(mut self, t: Duration) -> Builder {
        self.connection_timeout = t;
        self
    }

    /// Requires `Authorization: Bearer <token>` on every request (any of
    /// the tokens and basic credentials given, when several are); others
    /// get 401 with `WWW-Authenticate`. Compared in constant time (for a
    /// given length). Send it over TLS or loopback only: it is a password.
    pub fn bearer_token(mut self, token: &str) -> Builder {
        self.auth.add_bearer(token);
        self
    }

    /// Requires HTTP basic authentication with `user` and `password`
    /// (`Authorization: Basic` with base64 of `user:password`, padded, as
    /// RFC 7617 and Prometheus's `basic_auth` send it); others get 401
    /// with `WWW-Authenticate`. May be combined with [`Builder::bearer_token`].
    pub fn basic_auth(mut self, user: &str, password: &str) -> Builder {
        self.auth.add_basic(user, password);
        self
    }

    /// Serves HTTPS with this rustls configuration (feature `http-tls`):
    /// every connection starts with a TLS handshake, which must complete
    /// within [`Builder::header_read_timeout`]. Only HTTP/1.1 is served,
    /// so the configuration's ALPN protocols should be `http/1.1` or none.
    #[cfg(feature = "http-tls")]
    pub fn tls(mut self, config: crate::sync::FrozenArc<rustls::ServerConfig>) -> Builder {
        self.tls = Some(tls::Tls::new(config));
        self
    }

    /// Serves HTTPS with a PEM certificate chain (leaf first) and its PEM
    /// private key (PKCS #8, PKCS #1 or SEC1), with rustls's default
    /// protocol versions (TLS 1.2 and 1.3) and cipher suites (ring
    /// provider), no client certificates (feature `http-tls`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` naming what is wrong: no certificate, a PEM block
    /// that does not parse, a key that does not match the certificate.
    #[cfg(feature = "http-tls")]
    pub fn tls_pem(mut self, cert_chain: &[u8], key: &[u8]) -> io::Result<Builder> {
        self.tls = Some(tls::Tls::from_pem(cert_chain, key)?);
        Ok(self)
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
        let listener = listen(&addrs).map_err(|e| {
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

/// Pending connections the kernel queues for the accept loop: a burst of
/// connections is queued rather than dropped (a dropped one is retried by
/// its client only after a second).
const LISTEN_BACKLOG: i32 = 1024;

/// Binds the first of `addrs` that can be bound, with [`LISTEN_BACKLOG`].
fn listen(addrs: &[SocketAddr]) -> io::Result<std::net::TcpListener> {
    let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address to bind");
    for addr in addrs {
        let bound = (|| {
            let socket = Socket::new(Domain::for_address(*addr), Type::STREAM, None)?;
            // As std's `bind` does on Unix (elsewhere it would let another
            // socket take the port).
            #[cfg(unix)]
            socket.set_reuse_address(true)?;
            socket.bind(&(*addr).into())?;
            socket.listen(LISTEN_BACKLOG)?;
            Ok(socket.into())
        })();
        match bound {
            Ok(listener) => return Ok(listener),
            Err(e) => last = e,
        }
    }
    Err(last)
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
    /// headers, 10 s to write a response, 1,000 requests and 60 s per
    /// connection.
    pub fn builder(registry: &Registry) -> Builder {
        Builder {
            registry: registry.clone(),
            collect: Collect::OnScrape,
            options: TextOptions::default(),
            path: "/metrics".into(),
            max_connections: 64,
            header_read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            max_requests_per_connection: 1000,
            connection_timeout: Duration::from_secs(60),
            auth: Auth::default(),
            #[cfg(feature = "http-tls")]
            tls: None,
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
    let connections = Connections::new(cfg.max_connections);
    let state = Rc::new(State {
        cfg,
        text: RefCell::new(String::new()),
    });
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
        // No room (every connection busy, none for long): closed at once.
        let Some(member) = connections.admit() else {
            continue;
        };
        tokio::task::spawn_local(serve_connection(state.clone(), stream, member));
        // Let the new connection read its request head before accepting
        // more: under a flood of connections a scrape is then parsed (and
        // busy) before newer arrivals could make room by closing it.
        tokio::task::yield_now().await;
    }
}

/// Serves one connection until the client leaves, a limit ends it, or it
/// is closed to make room for another.
async fn serve_connection(state: Rc<State>, stream: tokio::net::TcpStream, member: Member) {
    let slot = member.slot().clone();
    let served = async {
        #[cfg(feature = "http-tls")]
        if let Some(tls) = &state.cfg.tls {
            // The handshake counts as reading the request head.
            let handshake = tokio::time::timeout(state.cfg.header_read_timeout, tls.accept(stream));
            if let Ok(Ok(stream)) = handshake.await {
                serve_http(&state, stream, &slot).await;
            }
            return;
        }
        serve_http(&state, stream, &slot).await;
    };
    // Errors (a client gone, a timeout, a malformed request already
    // answered by hyper) end only this connection.
    tokio::select! {
        _ = tokio::time::timeout(state.cfg.connection_timeout, served) => {}
        () = slot.evicted() => {}
    }
    drop(member);
}

/// HTTP/1.1 on `stream` (plain TCP or TLS).
async fn serve_http<S>(state: &Rc<State>, stream: S, slot: &Rc<Slot>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    let io = Tracked::new(stream, slot.clone(), state.cfg.write_timeout);
    let service = {
        let state = state.clone();
        let slot = slot.clone();
        hyper::service::service_fn(move |req| {
            let (busy, n) = slot.start_response();
            let mut response = match state.cfg.auth.check(&req) {
                None => respond(&state, &req),
                Some(unauthorized) => unauthorized,
            };
            if n >= state.cfg.max_requests_per_connection {
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            let response = response.map(|body| Guarded::new(body, busy));
            async move { Ok::<_, Infallible>(response) }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(state.cfg.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(io), service);
    let _ = conn.await;
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
