//! The certificate in force, which every new handshake takes, and the rustls settings around it.
//!
//! A reload swaps the pair here; a handshake takes the `Arc` of the pair it started with, so
//! connections already open keep theirs and new ones get the new one at once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::pair::{CertPair, TlsError};
use crate::sync::{read, write};

/// ALPN protocols offered, most preferred first: HTTP/2 multiplexes a page's requests and a
/// player's segments over one connection; HTTP/1.1 for everything else (streams included).
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The certificate and key served now, and where they were read from.
#[derive(Debug)]
pub struct CertStore {
    current: RwLock<Arc<CertPair>>,
    provider: Arc<CryptoProvider>,
    /// The certificate and key files, as the config named them.
    files: RwLock<(PathBuf, PathBuf)>,
    /// Reloads that served a new pair, and that were refused (for `/metrics`).
    reloads: [AtomicU64; 2],
}

impl CertStore {
    /// Reads `cert` and `key` and checks them against `now`; the server does not start with a
    /// pair it cannot serve.
    pub fn open(cert: &Path, key: &Path, now: SystemTime) -> Result<Arc<CertStore>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let pair = CertPair::load(cert, key, &provider)?;
        pair.check_validity(now, cert)?;
        Ok(Arc::new(CertStore {
            current: RwLock::new(Arc::new(pair)),
            provider,
            files: RwLock::new((cert.to_path_buf(), key.to_path_buf())),
            reloads: Default::default(),
        }))
    }

    /// The rustls server settings: TLS 1.2 and 1.3 (rustls's defaults), ALPN h2 and
    /// http/1.1, the certificate from this store at every handshake.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }

    /// The pair served now.
    pub fn current(&self) -> Arc<CertPair> {
        Arc::clone(&read(&self.current))
    }

    /// The certificate and key files.
    pub fn files(&self) -> (PathBuf, PathBuf) {
        read(&self.files).clone()
    }

    /// Counts a reload that served a new pair (`loaded`) or was refused.
    pub fn count_reload(&self, loaded: bool) {
        self.reloads[usize::from(!loaded)].fetch_add(1, Ordering::Relaxed);
    }

    /// Reloads so far: (served a new pair, refused).
    pub fn reloads(&self) -> (u64, u64) {
        (
            self.reloads[0].load(Ordering::Relaxed),
            self.reloads[1].load(Ordering::Relaxed),
        )
    }

    /// Reads the pair again from `cert` and `key` (the config's, which may have changed) and
    /// serves it from the next handshake on if it is good and new. `Ok(None)`: the files hold the
    /// pair served already. On an error the pair served stays.
    pub fn reload(
        &self,
        cert: &Path,
        key: &Path,
        now: SystemTime,
    ) -> Result<Option<Arc<CertPair>>, TlsError> {
        let pair = CertPair::load(cert, key, &self.provider)?;
        pair.check_validity(now, cert)?;
        let same_files = self.files() == (cert.to_path_buf(), key.to_path_buf());
        if same_files && pair.same_as(&self.current()) {
            return Ok(None);
        }
        let pair = Arc::new(pair);
        *write(&self.current) = Arc::clone(&pair);
        *write(&self.files) = (cert.to_path_buf(), key.to_path_buf());
        Ok(Some(pair))
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.current().certified))
    }
}
