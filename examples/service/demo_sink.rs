//! A stand-in events endpoint, so that the example's telemetry flows
//! without a collector: a plain `TcpListener` on an ephemeral loopback
//! port, a thread per connection, HTTP/1.1 with keep-alive. It answers
//! `200` to every `POST` with a `Content-Length` body and counts the event
//! lines it received; anything else gets a 4xx answer and the connection
//! closed. It keeps nothing but the counts.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The largest request body accepted (a batch of the default 64 events is
/// about 8 KiB).
const MAX_BODY: usize = 16 << 20;
/// The most header lines a request may have.
const MAX_HEADERS: usize = 100;

/// The running endpoint; its threads end with the process.
pub struct DemoSink {
    addr: SocketAddr,
    events: Arc<AtomicU64>,
}

impl DemoSink {
    /// Binds `127.0.0.1:0` and starts accepting.
    pub fn start() -> io::Result<DemoSink> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let events = Arc::new(AtomicU64::new(0));
        let counted = events.clone();
        std::thread::Builder::new()
            .name("demo-sink".into())
            .spawn(move || {
                for conn in listener.incoming().flatten() {
                    let counted = counted.clone();
                    // A connection that cannot get a thread is dropped
                    // (closed); the client retries.
                    let _ = std::thread::Builder::new()
                        .name("demo-sink-conn".into())
                        .spawn(move || {
                            let _ = serve(conn, &counted);
                        });
                }
            })?;
        Ok(DemoSink { addr, events })
    }

    /// The URL to POST events to.
    pub fn url(&self) -> String {
        format!("http://{}/events", self.addr)
    }

    /// Event lines received so far (in requests answered 200).
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }
}

/// Serves one connection until the client closes it or sends something
/// this endpoint does not take.
fn serve(conn: TcpStream, events: &AtomicU64) -> io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(60)))?;
    // Answers go out in one write; no need to wait for more to send.
    conn.set_nodelay(true)?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let is_post = line.starts_with("POST ");
        let mut length = None;
        let mut chunked = false;
        let mut ended = false;
        for _ in 0..=MAX_HEADERS {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                ended = true;
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = true;
            }
        }
        let refuse = match (is_post, length, chunked) {
            _ if !ended => Some("431 Request Header Fields Too Large"),
            (false, ..) => Some("405 Method Not Allowed"),
            (_, _, true) | (_, None, _) => Some("411 Length Required"),
            (_, Some(n), _) if n > MAX_BODY => Some("413 Content Too Large"),
            _ => None,
        };
        if let Some(status) = refuse {
            let answer =
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            conn.write_all(answer.as_bytes())?;
            return Ok(());
        }
        let mut body = vec![0; length.unwrap_or(0)];
        reader.read_exact(&mut body)?;
        // One event per line (JSON lines; the last one ends with `\n`).
        let lines = body
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        events.fetch_add(lines as u64, Ordering::Relaxed);
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")?;
    }
}
