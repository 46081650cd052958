//! The TLS client of `https://` URLs: it trusts the CA given with `--tls-ca` and verifies the
//! server's name, as a real player would.

/// How to speak TLS to a target.
#[derive(Clone)]
pub struct Tls {
    /// The client settings (the CA trusted).
    pub connector: tokio_rustls::TlsConnector,
    /// The server name to verify.
    pub name: rustls::pki_types::ServerName<'static>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tls({:?})", self.name)
    }
}

/// A TLS client that trusts the CA in `ca` and verifies `host` (without its port).
pub fn client(ca: &std::path::Path, host: &str) -> Result<Tls, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| format!("{}: {e}", ca.display()))? {
        let cert = cert.map_err(|e| format!("{}: {e}", ca.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let name = ServerName::try_from(name.trim_matches(['[', ']']).to_string())
        .map_err(|e| format!("{host}: {e}"))?;
    Ok(Tls {
        connector: tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)),
        name,
    })
}
