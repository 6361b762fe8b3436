//! The endpoint over TLS (feature `http-tls`): a self-signed certificate
//! made here, a rustls client that trusts only it, and authentication on
//! top.

use hotmetrics::export::http::Server;
use hotmetrics::Registry;
use rustls::pki_types::ServerName;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// A self-signed certificate for `localhost`: (certificate PEM, key PEM,
/// certificate DER).
fn self_signed() -> (String, String, rustls::pki_types::CertificateDer<'static>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    (
        ck.cert.pem(),
        ck.signing_key.serialize_pem(),
        ck.cert.der().clone(),
    )
}

fn client_config(trusted: rustls::pki_types::CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A `GET /metrics` over TLS: the response, or the TLS/IO error.
fn get_tls(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    headers: &str,
) -> std::io::Result<String> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let conn =
        rustls::ClientConnection::new(config, ServerName::try_from("localhost").unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let raw =
        format!("GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\r\n");
    tls.write_all(raw.as_bytes())?;
    let mut out = Vec::new();
    match tls.read_to_end(&mut out) {
        Ok(_) => {}
        // hyper closes without a close_notify alert; the response is whole.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => {}
        Err(e) => return Err(e),
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn serves_https_with_a_pem_certificate_and_authentication() {
    let (cert_pem, key_pem, cert_der) = self_signed();
    let reg = Registry::new();
    reg.counter("jobs", "Jobs done").unwrap().add(3);
    let server = Server::builder(&reg)
        .tls_pem(cert_pem.as_bytes(), key_pem.as_bytes())
        .unwrap()
        .bearer_token("tls-t0ken")
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();
    let trusting = client_config(cert_der);

    let ok = get_tls(
        addr,
        trusting.clone(),
        "Authorization: Bearer tls-t0ken\r\n",
    )
    .unwrap();
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.ends_with("jobs_total 3\n"), "{ok}");
    let denied = get_tls(addr, trusting, "").unwrap();
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");

    // A client that does not trust the certificate fails the handshake.
    let (_, _, other) = self_signed();
    let err = get_tls(addr, client_config(other), "").unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");

    // Plain HTTP to the TLS port gets no metrics.
    let mut plain = TcpStream::connect(addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer tls-t0ken\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = plain.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out);
    assert!(!out.contains("jobs_total"), "{out}");
}

#[test]
fn bad_pem_is_refused_with_a_clear_error() {
    let (cert_pem, key_pem, _) = self_signed();
    let (_, other_key, _) = self_signed();
    let reg = Registry::new();
    let cases: [(&[u8], &[u8], &str); 3] = [
        (b"", key_pem.as_bytes(), "certificate chain"),
        (cert_pem.as_bytes(), b"not a key", "private key"),
        (
            cert_pem.as_bytes(),
            other_key.as_bytes(),
            "certificate or key",
        ),
    ];
    for (cert, key, says) in cases {
        let err = Server::builder(&reg).tls_pem(cert, key).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains(says), "{err}");
    }
}
