//! A tiny HTTP receiver for the telemetry client's tests, bench and the
//! validation report's telemetry section: answers every POST with the
//! configured status after the configured delay, or fails every n-th
//! request, and keeps what it received.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One received request.
#[derive(Clone, Debug)]
pub struct Request {
    /// The request target, e.g. `/events`.
    pub path: String,
    /// The headers, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl Request {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default, Debug)]
struct State {
    status: AtomicU16,
    delay_ms: AtomicU64,
    requests: AtomicU64,
    started: AtomicU64,
    /// Every n-th request (1-based) is answered 500; 0: none.
    fail_every: AtomicU64,
    /// Keep the 2xx requests (`false`: count their lines only).
    discard: AtomicBool,
    /// Lines in the bodies answered with 2xx.
    lines: AtomicU64,
    stopped: AtomicBool,
    received: Mutex<Vec<Request>>,
    /// When each request was received (its body read), in order; not
    /// kept once `discard` is set.
    arrivals: Mutex<Vec<Instant>>,
    /// A `Retry-After` value sent with every non-2xx answer.
    retry_after: Mutex<Option<String>>,
    /// The body of every 2xx answer (empty: none).
    reply: Mutex<Vec<u8>>,
    /// Close the connection after reading a request, without an answer.
    reset: AtomicBool,
}

/// The receiver; its thread ends when this is dropped.
#[derive(Debug)]
pub struct Sink {
    state: Arc<State>,
    port: u16,
}

impl Sink {
    /// Starts a receiver answering 200 at once.
    pub fn start() -> Sink {
        Sink::start_with(|| {})
    }

    /// Starts a receiver whose threads run `on_thread` first (a counting
    /// allocator marks them as not counted).
    pub fn start_with(on_thread: fn()) -> Sink {
        Sink::spawn(on_thread, false)
    }

    /// Starts a receiver that serves one connection at a time, all on one
    /// thread that runs `on_thread` first: for clients that connect one
    /// after another (each closes its connection when it stops), measured
    /// by a counting allocator. A thread started per connection would free
    /// its start-up closure before it could mark itself as not counted.
    pub fn start_serial(on_thread: fn()) -> Sink {
        Sink::spawn(on_thread, true)
    }

    fn spawn(on_thread: fn(), serial: bool) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        state.status.store(200, Ordering::Relaxed);
        let s = state.clone();
        std::thread::spawn(move || {
            on_thread();
            for conn in listener.incoming() {
                if s.stopped.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                if serial {
                    serve(conn, &s);
                    continue;
                }
                let s = s.clone();
                std::thread::spawn(move || {
                    on_thread();
                    serve(conn, &s)
                });
            }
        });
        Sink { state, port }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The status every later request gets.
    pub fn set_status(&self, status: u16) {
        self.state.status.store(status, Ordering::Relaxed);
    }

    /// How long every later request waits before its answer.
    pub fn set_delay(&self, d: Duration) {
        self.state
            .delay_ms
            .store(d.as_millis() as u64, Ordering::Relaxed);
    }

    /// Sends `Retry-After: value` with every later non-2xx answer (`None`:
    /// no such header).
    pub fn set_retry_after(&self, value: Option<&str>) {
        *self.state.retry_after.lock().unwrap() = value.map(str::to_string);
    }

    /// Sends `body` with every later 2xx answer (empty: none).
    pub fn set_reply(&self, body: Vec<u8>) {
        *self.state.reply.lock().unwrap() = body;
    }

    /// Closes every later connection once its request is read, without
    /// answering (`false`: answers again).
    pub fn set_reset(&self, on: bool) {
        self.state.reset.store(on, Ordering::Relaxed);
    }

    /// When each request was received, in order (until
    /// [`discard_bodies`](Self::discard_bodies)).
    pub fn arrivals(&self) -> Vec<Instant> {
        self.state.arrivals.lock().unwrap().clone()
    }

    /// Answers every `n`-th request (counting from the first one received)
    /// with 500 whatever the status set; 0 turns this off.
    pub fn set_fail_every(&self, n: u64) {
        self.state.fail_every.store(n, Ordering::Relaxed);
    }

    /// Stops keeping anything per request: the 2xx requests
    /// ([`lines`](Self::lines) and [`accepted`](Self::accepted) then see
    /// only earlier ones) and the arrival times ([`arrivals`](Self::arrivals)
    /// likewise), so that a long run's memory stays flat;
    /// [`line_count`](Self::line_count) and the request counts still count
    /// them.
    pub fn discard_bodies(&self) {
        self.state.discard.store(true, Ordering::Relaxed);
    }

    /// Lines in all bodies answered with 2xx, kept or not.
    pub fn line_count(&self) -> u64 {
        self.state.lines.load(Ordering::Relaxed)
    }

    /// Requests answered so far (any status).
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Requests received (answered or not yet).
    pub fn started(&self) -> u64 {
        self.state.started.load(Ordering::Relaxed)
    }

    /// The requests answered with 2xx.
    pub fn accepted(&self) -> Vec<Request> {
        self.state.received.lock().unwrap().clone()
    }

    /// Lines in the bodies answered with 2xx.
    pub fn lines(&self) -> Vec<String> {
        self.accepted()
            .iter()
            .flat_map(|r| {
                String::from_utf8(r.body.clone())
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(conn: TcpStream, s: &State) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = conn.set_nodelay(true);
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut headers = Vec::new();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let (k, v) = (k.trim().to_string(), v.trim().to_string());
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.parse().unwrap_or(0);
                }
                headers.push((k, v));
            }
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        // A discarding sink may run for hours (the soak): nothing kept per
        // request, or its memory grows with every one.
        if !s.discard.load(Ordering::Relaxed) {
            s.arrivals.lock().unwrap().push(Instant::now());
        }
        if s.reset.load(Ordering::Relaxed) {
            s.started.fetch_add(1, Ordering::Relaxed);
            let _ = conn.shutdown(std::net::Shutdown::Both);
            return;
        }
        let nth = s.started.fetch_add(1, Ordering::Relaxed) + 1;
        let delay = s.delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        let fail_every = s.fail_every.load(Ordering::Relaxed);
        let status = if fail_every > 0 && nth % fail_every == 0 {
            500
        } else {
            s.status.load(Ordering::Relaxed)
        };
        if (200..300).contains(&status) {
            let lines = body.iter().filter(|&&b| b == b'\n').count() as u64;
            // Counted before the answer goes out, so a client that saw
            // its 2xx finds the lines counted.
            s.lines.fetch_add(lines, Ordering::Relaxed);
            if !s.discard.load(Ordering::Relaxed) {
                s.received.lock().unwrap().push(Request {
                    path,
                    headers,
                    body,
                });
            }
        }
        s.requests.fetch_add(1, Ordering::Relaxed);
        // One write: `write!` on the socket would send the status line in
        // pieces, and the client's delayed ACK would hold the rest for tens
        // of milliseconds.
        let retry = match &*s.retry_after.lock().unwrap() {
            Some(v) if !(200..300).contains(&status) => format!("Retry-After: {v}\r\n"),
            _ => String::new(),
        };
        let reply = match (200..300).contains(&status) {
            true => s.reply.lock().unwrap().clone(),
            false => Vec::new(),
        };
        let mut answer = format!(
            "HTTP/1.1 {status} X\r\n{retry}Content-Length: {}\r\n\r\n",
            reply.len()
        )
        .into_bytes();
        answer.extend_from_slice(&reply);
        if conn.write_all(&answer).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// POSTs `body` to `sink` on a fresh connection; the answer's status
    /// line (the sink keeps the connection open).
    fn post(sink: &Sink, body: &str) -> String {
        let mut conn = TcpStream::connect(("127.0.0.1", sink.port)).unwrap();
        write!(
            conn,
            "POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut status = String::new();
        BufReader::new(conn).read_line(&mut status).unwrap();
        status
    }

    /// A long-running receiver (the soak, the benches) discards bodies: it
    /// must then keep nothing per request, or its memory grows with every
    /// request for as long as it runs.
    #[test]
    fn a_discarding_sink_keeps_nothing_per_request() {
        let sink = Sink::start();
        assert!(post(&sink, "a\n").starts_with("HTTP/1.1 200"));
        assert_eq!((sink.accepted().len(), sink.arrivals().len()), (1, 1));
        sink.discard_bodies();
        for _ in 0..20 {
            assert!(post(&sink, "b\nc\n").starts_with("HTTP/1.1 200"));
        }
        assert_eq!(sink.line_count(), 41);
        assert_eq!(sink.requests(), 21);
        assert_eq!(sink.accepted().len(), 1, "kept a discarded request");
        assert_eq!(sink.arrivals().len(), 1, "kept a discarded arrival time");
    }
}
