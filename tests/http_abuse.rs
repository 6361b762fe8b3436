//! The `/metrics` endpoint stays answerable under connection abuse, with
//! its default limits: while 500 idle connections, 64 slowloris clients
//! (a request head sent a byte at a time, reconnecting when cut) and 64
//! slow readers (a large response read a few bytes at a time) are open,
//! a scrape every 250 ms for 10 s must be answered within 1 s at least
//! 95 % of the time. Every loop is bounded in time and stops by itself.
//! Also: the keep-alive request cap.

use hotmetrics::export::http;
use hotmetrics::{Options, Registry};
use socket2::{Domain, Socket, Type};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const IDLE: usize = 500;
const SLOWLORIS: usize = 64;
const SLOW_READERS: usize = 64;
const SCRAPE_EVERY: Duration = Duration::from_millis(250);
const SCRAPING_FOR: Duration = Duration::from_secs(10);
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// Raises the soft limit on open files towards what the test needs
/// (both ends of every connection live in this process) and returns it.
fn raise_fd_limit(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable `rlimit`.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1024;
    }
    if lim.rlim_cur < want {
        let raised = libc::rlimit {
            rlim_cur: want.min(lim.rlim_max),
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid `rlimit`.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = raised.rlim_cur;
        }
    }
    lim.rlim_cur
}

/// A registry whose Prometheus text is about 80 KB: more than a slow
/// reader's small receive buffer holds.
fn big_registry() -> Registry {
    let reg = Registry::new();
    let family = reg
        .counter_family_with(
            Options::new("requests_by_route", "Requests by route")
                .labels(&["route"])
                .max_series(10_000),
        )
        .unwrap();
    for i in 0..1_500 {
        let route = format!("/api/v1/some/fairly/long/route/number/{i:05}");
        family.try_with(&[route.as_str()]).unwrap().add(i);
    }
    reg
}

fn connect(addr: SocketAddr) -> Option<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_nonblocking(true).ok()?;
    Some(s)
}

/// Whether the server closed `s` (EOF or an error; `WouldBlock` is open).
/// Bytes received are discarded.
fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// Holds `n` connections that never send anything; reopens those the
/// server closes. Counts the reconnections.
fn idle(addr: SocketAddr, n: usize, stop: &AtomicBool, reopened: &AtomicUsize) {
    let mut conns: Vec<Option<TcpStream>> = (0..n).map(|_| connect(addr)).collect();
    while !stop.load(Ordering::Relaxed) {
        for c in conns.iter_mut() {
            if c.as_mut().map_or(true, closed) {
                *c = connect(addr);
                reopened.fetch_add(1, Ordering::Relaxed);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Slowloris: each connection sends a request head one byte at a time,
/// never finishing it; a connection cut is opened again.
fn slowloris(addr: SocketAddr, n: usize, stop: &AtomicBool, reopened: &AtomicUsize) {
    let head = b"GET /metrics HTTP/1.1\r\nHost: t\r\nX-Slow: ";
    let mut conns: Vec<(Option<TcpStream>, usize)> = (0..n).map(|_| (connect(addr), 0)).collect();
    while !stop.load(Ordering::Relaxed) {
        for (c, sent) in conns.iter_mut() {
            let byte = head.get(*sent).copied().unwrap_or(b'a');
            let alive = c
                .as_mut()
                .is_some_and(|s| !closed(s) && s.write(&[byte]).is_ok_and(|w| w == 1));
            if alive {
                *sent += 1;
            } else {
                *c = connect(addr);
                *sent = 0;
                reopened.fetch_add(1, Ordering::Relaxed);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A connection with a 4 KiB receive buffer that has sent a scrape.
fn slow_request(addr: SocketAddr) -> Option<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
    socket.set_recv_buffer_size(4096).ok()?;
    socket
        .connect_timeout(&addr.into(), Duration::from_secs(1))
        .ok()?;
    let mut s: TcpStream = socket.into();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        .ok()?;
    s.set_nonblocking(true).ok()?;
    Some(s)
}

/// Slow readers: each asks for the (large) exposition and reads 16 bytes
/// every 100 ms; a connection that ends is opened again.
fn slow_readers(addr: SocketAddr, n: usize, stop: &AtomicBool, reopened: &AtomicUsize) {
    let mut conns: Vec<Option<TcpStream>> = (0..n).map(|_| slow_request(addr)).collect();
    while !stop.load(Ordering::Relaxed) {
        for c in conns.iter_mut() {
            let mut buf = [0u8; 16];
            let alive = c.as_mut().is_some_and(|s| match s.read(&mut buf) {
                Ok(n) => n > 0,
                Err(e) => e.kind() == ErrorKind::WouldBlock,
            });
            if !alive {
                *c = slow_request(addr);
                reopened.fetch_add(1, Ordering::Relaxed);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One scrape on a new connection: whether a complete 200 response came
/// back within `ANSWER_WITHIN`.
fn scrape(addr: SocketAddr) -> bool {
    let t0 = Instant::now();
    let Ok(mut s) = TcpStream::connect_timeout(&addr, ANSWER_WITHIN) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(ANSWER_WITHIN));
    let raw = b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    if s.write_all(raw).is_err() {
        return false;
    }
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all);
    t0.elapsed() <= ANSWER_WITHIN
        && text.starts_with("HTTP/1.1 200")
        && text.contains(
            "requests_by_route_total{route=\"/api/v1/some/fairly/long/route/number/01499\"} 1499\n",
        )
}

#[test]
fn scrapes_get_through_idle_slowloris_and_slow_reader_floods() {
    let reg = big_registry();
    let server = http::serve(&reg, "127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    // Client and server ends of every connection, plus some slack.
    let limit = raise_fd_limit(4096);
    let idle_n =
        IDLE.min((limit as usize).saturating_sub(2 * (SLOWLORIS + SLOW_READERS) + 400) / 2);
    assert!(
        idle_n >= 100,
        "open-file limit {limit} is too low for this test"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let reopened: Arc<[AtomicUsize; 3]> = Arc::new(Default::default());
    let mut attackers = Vec::new();
    type Attack = fn(SocketAddr, usize, &AtomicBool, &AtomicUsize);
    let attacks: [(Attack, usize); 3] = [
        (idle, idle_n),
        (slowloris, SLOWLORIS),
        (slow_readers, SLOW_READERS),
    ];
    for (i, (attack, n)) in attacks.into_iter().enumerate() {
        let (stop, reopened) = (stop.clone(), reopened.clone());
        attackers.push(std::thread::spawn(move || {
            attack(addr, n, &stop, &reopened[i])
        }));
    }
    // Let the connections pile up before scraping.
    std::thread::sleep(Duration::from_secs(1));

    // One scrape every 250 ms, each on a thread of its own so that a slow
    // one does not delay the next.
    let start = Instant::now();
    let mut scrapes = Vec::new();
    let mut due = Duration::ZERO;
    while due < SCRAPING_FOR {
        std::thread::sleep(due.saturating_sub(start.elapsed()));
        scrapes.push(std::thread::spawn(move || scrape(addr)));
        due += SCRAPE_EVERY;
    }
    let asked = scrapes.len();
    let answered = scrapes
        .into_iter()
        .filter_map(|s| s.join().ok())
        .filter(|&ok| ok)
        .count();
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        a.join().unwrap();
    }
    let reopened: Vec<usize> = reopened.iter().map(|r| r.load(Ordering::Relaxed)).collect();
    eprintln!(
        "{answered} of {asked} scrapes answered within {ANSWER_WITHIN:?} \
         ({idle_n} idle, {SLOWLORIS} slowloris, {SLOW_READERS} slow readers; \
         reconnections {reopened:?})"
    );
    assert!(
        answered * 100 >= asked * 95,
        "{answered} of {asked} scrapes answered within {ANSWER_WITHIN:?}"
    );
    server.shutdown();
}

#[test]
fn a_keep_alive_connection_answers_at_most_the_request_cap() {
    let reg = Registry::new();
    reg.counter("jobs", "Jobs done").unwrap().add(3);
    let server = http::Server::builder(&reg)
        .max_requests_per_connection(2)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut s = TcpStream::connect(server.local_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let request = b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
    // Two requests on one connection, the second answered with
    // `Connection: close`; then the server closes.
    s.write_all(request).unwrap();
    s.write_all(request).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let all = String::from_utf8_lossy(&all);
    assert_eq!(all.matches("HTTP/1.1 200 OK").count(), 2, "{all}");
    assert_eq!(
        all.to_ascii_lowercase()
            .matches("connection: close")
            .count(),
        1,
        "{all}"
    );
    // A third request on it is not answered.
    assert!(
        s.write_all(request).is_err() || {
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
            rest.is_empty()
        }
    );
}
