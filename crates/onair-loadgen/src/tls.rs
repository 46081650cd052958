//! The TLS client of `https://` URLs: it trusts the CA given with `--tls-ca` and verifies the
//! server's name, as a real player would.

/// A TLS client that trusts the CA in `ca` and verifies `host` (without its port).
pub fn client(ca: &std::path::Path, host: &str) -> Result<crate::listener::Tls, String> {
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
    Ok(crate::listener::Tls {
        connector: tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)),
        name,
    })
}
