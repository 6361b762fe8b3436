//! The `/metrics` endpoint over real sockets: formats by `Accept`, gzip,
//! errors for bad requests, limits on slow and surplus clients, shutdown.

use flate2::read::GzDecoder;
use hotmetrics::export::http::{self, Server};
use hotmetrics::{Registry, Unit};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn registry() -> Registry {
    let reg = Registry::new();
    reg.counter("jobs", "Jobs done").unwrap().add(3);
    reg.histogram("lat", "Latency", Unit::Nanoseconds)
        .unwrap()
        .record(2_000_000);
    reg
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Sends `raw` and reads until the server closes: (head, body bytes).
fn exchange(addr: SocketAddr, raw: &[u8]) -> (String, Vec<u8>) {
    let mut s = connect(addr);
    s.write_all(raw).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(all.len(), |i| i + 4);
    let body = all.split_off(split);
    (String::from_utf8_lossy(&all).into_owned(), body)
}

fn get(addr: SocketAddr, path: &str, headers: &str) -> (String, Vec<u8>) {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{headers}\r\n");
    exchange(addr, raw.as_bytes())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn negotiates_the_format_and_gzip() {
    let reg = registry();
    let server = http::serve(&reg, "127.0.0.1:0").unwrap();
    let addr = server.local_addr();

    let (head, body) = get(addr, "/metrics", "");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(
        header(&head, "content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("jobs_total 3\n") && !text.contains("# EOF"),
        "{text}"
    );
    assert!(
        text.contains("lat_seconds_bucket{le=\"0.005\"} 1\n"),
        "{text}"
    );

    // What Prometheus sends.
    let accept = "Accept: application/openmetrics-text;version=1.0.0,\
                  application/openmetrics-text;version=0.0.1;q=0.75,\
                  text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n";
    let (head, body) = get(addr, "/metrics", accept);
    assert_eq!(
        header(&head, "content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("# TYPE jobs counter\n") && text.ends_with("# EOF\n"),
        "{text}"
    );

    // Refused with q=0: Prometheus text.
    let (head, _) = get(
        addr,
        "/metrics",
        "Accept: application/openmetrics-text;q=0\r\n",
    );
    assert_eq!(
        header(&head, "content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );

    let (head, body) = get(addr, "/metrics", "Accept-Encoding: deflate, gzip\r\n");
    assert_eq!(header(&head, "content-encoding"), Some("gzip"), "{head}");
    let mut text = String::new();
    GzDecoder::new(&body[..]).read_to_string(&mut text).unwrap();
    assert!(text.contains("jobs_total 3\n"), "{text}");

    // Every scrape collects: a later record shows.
    reg.counter("jobs", "Jobs done").unwrap().add(1);
    let (_, body) = get(addr, "/metrics", "");
    assert!(String::from_utf8(body).unwrap().contains("jobs_total 4\n"));

    let (head, body) = exchange(
        addr,
        b"HEAD /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert!(
        head.starts_with("HTTP/1.1 200") && body.is_empty(),
        "{head}"
    );
    server.shutdown();
}

#[test]
fn answers_bad_requests_with_4xx_and_keeps_serving() {
    let reg = registry();
    let server = http::serve(&reg, "127.0.0.1:0").unwrap();
    let addr = server.local_addr();

    let (head, _) = get(addr, "/nope", "");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");

    let (head, _) = exchange(
        addr,
        b"POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    );
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
    assert_eq!(header(&head, "allow"), Some("GET, HEAD"));

    for garbage in [
        &b"\x00\x01\x02 not http at all\r\n\r\n"[..],
        b"GET /metrics HTTP/9.9\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
        // Not ASCII: answered (404 for the unknown path) or refused.
        "GET /m\u{e9}trics HTTP/1.1\r\nHost: \u{1F600}\r\nConnection: close\r\n\r\n".as_bytes(),
    ] {
        let (head, _) = exchange(addr, garbage);
        assert!(
            head.is_empty() || head.starts_with("HTTP/1.1 4") || head.starts_with("HTTP/1.1 505"),
            "{garbage:?} -> {head}"
        );
    }

    // A request head over the 16 KiB limit.
    let big = format!(
        "GET /metrics HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let mut s = connect(addr);
    let _ = s.write_all(big.as_bytes());
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let head = String::from_utf8_lossy(&all);
    assert!(
        head.is_empty() || head.starts_with("HTTP/1.1 431"),
        "{head}"
    );

    let (head, body) = get(addr, "/metrics", "");
    assert!(head.starts_with("HTTP/1.1 200"), "still serving: {head}");
    assert!(String::from_utf8(body).unwrap().contains("jobs_total 3"));
}

#[test]
fn slow_and_surplus_clients_are_bounded() {
    let reg = registry();
    let server = Server::builder(&reg)
        .max_connections(2)
        .header_read_timeout(Duration::from_millis(300))
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();

    // A slow client sends half a request head and stalls: it is cut off
    // after the header timeout, and meanwhile others are served.
    let mut slow = connect(addr);
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHo").unwrap();
    let (head, _) = get(addr, "/metrics", "");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let t0 = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let waited = t0.elapsed();
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
    let head = String::from_utf8_lossy(&buf);
    assert!(
        head.is_empty() || head.starts_with("HTTP/1.1 408"),
        "{head}"
    );

    // Two idle connections fill the limit; a third makes room by closing
    // the one that has waited longest, and is answered.
    let mut first = connect(addr);
    std::thread::sleep(Duration::from_millis(50));
    let mut second = connect(addr);
    std::thread::sleep(Duration::from_millis(50));
    let (head, _) = get(addr, "/metrics", "");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let t0 = Instant::now();
    let mut buf = Vec::new();
    let _ = first.read_to_end(&mut buf);
    assert!(buf.is_empty(), "{}", String::from_utf8_lossy(&buf));
    assert!(
        t0.elapsed() < Duration::from_millis(250),
        "{:?}",
        t0.elapsed()
    );
    // The second is still open (until the header timeout).
    second.set_nonblocking(true).unwrap();
    let still_open = second.read(&mut [0u8; 1]);
    assert!(
        still_open
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "{still_open:?}"
    );
}

#[test]
fn interval_mode_serves_the_latest_collection() {
    let reg = registry();
    let server = Server::builder(&reg)
        .collect_every(Duration::from_millis(50))
        .path("/m")
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();
    let gen0 = reg.snapshot().generation();
    reg.counter("jobs", "Jobs done").unwrap().add(10);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = get(addr, "/m", "");
        if String::from_utf8(body).unwrap().contains("jobs_total 13\n") {
            break;
        }
        assert!(Instant::now() < deadline, "no collection within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(reg.snapshot().generation() > gen0, "the server collected");
    let (head, _) = get(addr, "/metrics", "");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
}

#[test]
fn shutdown_and_drop_stop_serving() {
    let reg = registry();
    let server = http::serve(&reg, "127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    // An open keep-alive connection does not hold shutdown up.
    let _open = connect(addr);
    let t0 = Instant::now();
    server.shutdown();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(
        TcpStream::connect(addr).is_err(),
        "nothing listens any more"
    );

    let server = http::serve(&reg, "127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    drop(server);
    assert!(TcpStream::connect(addr).is_err());

    // Binding a port in use is an error, not a panic.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    assert!(http::serve(&reg, held.local_addr().unwrap()).is_err());
}

#[test]
fn media_type_and_encoding_match_exactly() {
    let reg = registry();
    let server = http::serve(&reg, "127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let prometheus_text = Some("text/plain; version=0.0.4; charset=utf-8");

    // Tokens that only start like the ones served select nothing.
    for accept in [
        "Accept: application/openmetrics-textfoo\r\n",
        "Accept: application/openmetrics-text-x\r\n",
    ] {
        let (head, _) = get(addr, "/metrics", accept);
        assert_eq!(header(&head, "content-type"), prometheus_text, "{accept}");
    }
    for encoding in [
        "Accept-Encoding: gzipfoo\r\n",
        "Accept-Encoding: x-gzip2\r\n",
    ] {
        let (head, body) = get(addr, "/metrics", encoding);
        assert_eq!(header(&head, "content-encoding"), None, "{encoding}");
        assert!(String::from_utf8(body).unwrap().contains("jobs_total 3\n"));
    }
    // Case and white space do not matter; parameters follow a `;`.
    let (head, _) = get(
        addr,
        "/metrics",
        "Accept: text/plain;q=0.5, Application/OpenMetrics-Text ; version=1.0.0\r\n",
    );
    assert_eq!(
        header(&head, "content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let (head, _) = get(addr, "/metrics", "Accept-Encoding: br, GZIP ;q=1\r\n");
    assert_eq!(header(&head, "content-encoding"), Some("gzip"), "{head}");

    // An HTTP version the server does not speak: 400, as documented.
    let (head, _) = exchange(addr, b"GET /metrics HTTP/9.9\r\n\r\n");
    assert!(
        head.is_empty() || head.starts_with("HTTP/1.1 400"),
        "{head}"
    );
    server.shutdown();
}

#[test]
fn a_bind_error_names_the_address() {
    let reg = registry();
    let first = http::serve(&reg, "127.0.0.1:0").unwrap();
    let taken = first.local_addr();
    let err = http::serve(&reg, taken).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    assert!(err.to_string().contains(&taken.to_string()), "{err}");
    first.shutdown();
}
