//! The telemetry exporter over `https://` (feature `telemetry-tls`): a
//! loopback HTTPS sink with a self-signed certificate made here receives
//! events and remote-write pushes, with credentials, from a client that
//! trusts that certificate; a client that trusts only the built-in roots
//! delivers nothing.

use hotmetrics::telemetry::Client;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// (path, `Authorization` header) of each request received.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Reads a request (head, then `Content-Length` bytes of body) from `s`.
fn read_request(s: &mut impl Read) -> Option<(String, Option<String>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? != 1 || head.len() > 16 * 1024 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split(' ').nth(1)?.to_string();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let len: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some((path, header("authorization")))
}

/// An HTTPS sink on loopback answering 200 to every request, from a
/// thread that lives as long as the test process; returns its port.
fn https_sink(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>, seen: Seen) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            // One request per connection.
            if let Some(request) = read_request(&mut tls) {
                seen.lock().unwrap().push(request);
                let _ = tls.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        }
    });
    port
}

#[test]
fn events_and_pushes_go_over_https_to_a_trusted_certificate_only() {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let seen = Seen::default();
    let port = https_sink(ck.cert.der().clone(), key, seen.clone());
    let url = |path: &str| format!("https://127.0.0.1:{port}{path}");

    let client = Client::builder()
        .events_endpoint(url("/events"))
        .remote_write(url("/push"))
        .tls_ca_pem(ck.cert.pem())
        .bearer_token("tls-t0ken")
        .batch_size(1)
        .interval(Duration::from_millis(10))
        .push_interval(Duration::from_millis(20))
        .start()
        .unwrap();
    client.session_opened(1);
    let t0 = Instant::now();
    loop {
        let got = seen.lock().unwrap().clone();
        let has = |p: &str| got.iter().any(|(path, _)| path == p);
        if has("/events") && has("/push") {
            for (path, auth) in &got {
                assert_eq!(auth.as_deref(), Some("Bearer tls-t0ken"), "{path}");
            }
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{got:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let acct = client.shutdown(Duration::from_secs(2));
    assert_eq!(acct.delivered, 1, "{acct:?}");

    // Trusting only the built-in roots, the handshake fails: nothing
    // reaches the sink, and the event is not counted as delivered.
    seen.lock().unwrap().clear();
    let untrusting = Client::builder()
        .events_endpoint(url("/events"))
        .batch_size(1)
        .max_retries(0)
        .interval(Duration::from_millis(10))
        .start()
        .unwrap();
    untrusting.session_opened(2);
    std::thread::sleep(Duration::from_millis(300));
    let acct = untrusting.shutdown(Duration::from_secs(1));
    assert_eq!(acct.delivered, 0, "{acct:?}");
    assert_eq!(acct.accepted, 1, "{acct:?}");
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn https_urls_and_bad_certificates_are_checked_at_start() {
    let err = Client::builder()
        .events_endpoint("https://127.0.0.1:9/events")
        .tls_ca_pem("not a certificate")
        .start()
        .unwrap_err();
    assert!(err.to_string().starts_with("tls_ca_pem="), "{err}");
    let client = Client::builder()
        .events_endpoint("https://127.0.0.1:9/events")
        .start()
        .unwrap();
    client.shutdown(Duration::from_millis(100));
}
