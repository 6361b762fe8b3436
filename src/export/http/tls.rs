//! The endpoint over TLS (feature `http-tls`): rustls with the ring
//! provider, through tokio-rustls.
#![forbid(unsafe_code)]

use crate::sync::FrozenArc;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::io;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The server side of TLS, shared by every connection.
#[derive(Clone)]
pub(super) struct Tls(TlsAcceptor);

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tls")
    }
}

impl Tls {
    pub(super) fn new(config: FrozenArc<rustls::ServerConfig>) -> Tls {
        Tls(TlsAcceptor::from(config))
    }

    /// A configuration from a PEM certificate chain (leaf first) and a PEM
    /// private key (PKCS #8, PKCS #1 or SEC1), with rustls's safe defaults
    /// (TLS 1.2 and 1.3), no client certificates, ALPN `http/1.1`.
    pub(super) fn from_pem(cert_chain: &[u8], key: &[u8]) -> io::Result<Tls> {
        let invalid = |what: &str, e: &dyn fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {e}"))
        };
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("certificate chain", &e))?;
        if certs.is_empty() {
            return Err(invalid("certificate chain", &"no CERTIFICATE block"));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| invalid("private key", &e))?;
        let provider = FrozenArc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("TLS versions", &e))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| invalid("certificate or key", &e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls::new(FrozenArc::new(config)))
    }

    /// The TLS handshake on an accepted connection.
    pub(super) async fn accept(&self, stream: TcpStream) -> io::Result<TlsStream<TcpStream>> {
        self.0.accept(stream).await
    }
}
