//! A minimal HTTP/1.1 client over a raw socket, for comparing responses
//! byte for byte (the body exactly as sent, gzip not undone).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Sends `raw` and reads until the server closes: (head, body bytes).
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
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

/// `GET path` with `headers` (each line ending in CRLF), connection closed
/// after the response.
pub fn get(addr: SocketAddr, path: &str, headers: &str) -> (String, Vec<u8>) {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{headers}\r\n");
    exchange(addr, raw.as_bytes())
}

/// The value of header `name` in `head` (first occurrence, any case).
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The status line's code.
pub fn status(head: &str) -> u16 {
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
