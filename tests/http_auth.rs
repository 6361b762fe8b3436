//! The endpoint's optional authentication over real sockets: bearer token
//! and basic credentials, 401 with `WWW-Authenticate` otherwise.

use hotmetrics::export::http::Server;
use hotmetrics::Registry;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Sends a `GET` with `headers` and reads until the server closes.
fn get(addr: SocketAddr, path: &str, headers: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let raw = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{headers}\r\n");
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn challenges(response: &str) -> Vec<&str> {
    response
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.trim())
        .collect()
}

#[test]
fn a_bearer_token_or_basic_credentials_are_required_when_set() {
    let reg = Registry::new();
    reg.counter("jobs", "Jobs done").unwrap().add(3);
    let server = Server::builder(&reg)
        .bearer_token("t0ken-with-enough-entropy")
        .basic_auth("prometheus", "hunter2")
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();

    for (headers, why) in [
        ("", "no credentials"),
        (
            "Authorization: Bearer t0ken-with-enough-entropY\r\n",
            "wrong token",
        ),
        ("Authorization: Bearer t0ken\r\n", "a prefix of the token"),
        // base64("prometheus:hunter3")
        (
            "Authorization: Basic cHJvbWV0aGV1czpodW50ZXIz\r\n",
            "wrong password",
        ),
        (
            "Authorization: Token t0ken-with-enough-entropy\r\n",
            "unknown scheme",
        ),
    ] {
        let r = get(addr, "/metrics", headers);
        assert!(r.starts_with("HTTP/1.1 401"), "{why}: {r}");
        assert!(!r.contains("jobs_total"), "{why}: {r}");
        assert_eq!(
            challenges(&r),
            [
                "Bearer realm=\"metrics\"",
                "Basic realm=\"metrics\", charset=\"UTF-8\""
            ],
            "{why}"
        );
    }
    // Unknown paths are not revealed either.
    assert!(get(addr, "/other", "").starts_with("HTTP/1.1 401"));

    let ok = get(
        addr,
        "/metrics",
        "Authorization: Bearer t0ken-with-enough-entropy\r\n",
    );
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.ends_with("jobs_total 3\n"), "{ok}");
    // base64("prometheus:hunter2")
    let ok = get(
        addr,
        "/metrics",
        "authorization: basic cHJvbWV0aGV1czpodW50ZXIy\r\n",
    );
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}

#[test]
fn without_credentials_configured_every_scrape_is_answered() {
    let reg = Registry::new();
    let server = Server::builder(&reg).bind("127.0.0.1:0").unwrap();
    let r = get(
        server.local_addr(),
        "/metrics",
        "Authorization: Bearer anything\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
}
