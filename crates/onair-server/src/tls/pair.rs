//! A certificate chain and its private key, read from PEM files and checked before use: the key
//! must match the certificate, and the certificate must be valid now.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// PEM files larger than this are not certificates or keys (a chain of ten is ~20 KiB).
const MAX_PEM_BYTES: u64 = 1 << 20;

/// Why a certificate and key cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The path is a folder, a FIFO or a device, not a file.
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// A file is larger than any certificate or key.
    #[error("{} is {size} bytes: not a PEM certificate or key", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The certificate file holds no certificate, or one that does not parse.
    #[error("{}: {reason}", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The key file holds no private key onair can use.
    #[error("{}: {reason}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The key is not the certificate's.
    #[error("{} is not the key of {}", key.display(), cert.display())]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The certificate has expired.
    #[error("{} expired at {}", path.display(), humantime::format_rfc3339_seconds(*not_after))]
    Expired {
        /// The certificate file.
        path: PathBuf,
        /// The end of its validity.
        not_after: SystemTime,
    },
    /// The certificate is not valid yet.
    #[error("{} is not valid before {}", path.display(), humantime::format_rfc3339_seconds(*not_before))]
    NotYetValid {
        /// The certificate file.
        path: PathBuf,
        /// The start of its validity.
        not_before: SystemTime,
    },
    /// The TLS settings could not be built.
    #[error("TLS setup: {0}")]
    Setup(#[from] rustls::Error),
}

/// A certificate chain with its key, ready for handshakes, and what operators want to know of it.
#[derive(Debug)]
pub struct CertPair {
    /// What rustls signs handshakes with.
    pub certified: Arc<CertifiedKey>,
    /// The leaf certificate's subject (`CN=radio.example.com`).
    pub subject: String,
    /// The names the leaf certificate is for (its subject alternative names).
    pub names: Vec<String>,
    /// Start of the leaf certificate's validity.
    pub not_before: SystemTime,
    /// End of the leaf certificate's validity.
    pub not_after: SystemTime,
    /// The leaf certificate and key as read, to tell a real change from a rewrite of the same.
    fingerprint: Vec<u8>,
}

impl CertPair {
    /// Reads and checks `cert` (a PEM chain, leaf first) and `key` (PKCS#8, PKCS#1 RSA or SEC1
    /// EC): both must parse and the key must be the leaf's. Validity dates are checked
    /// separately, by [`check_validity`](Self::check_validity), against the server's clock.
    pub fn load(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertPair, TlsError> {
        let cert_pem = read_pem(cert)?;
        let key_pem = read_pem(key)?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Certificate {
                path: cert.to_path_buf(),
                reason: format!("not a PEM certificate chain ({e})"),
            })?;
        let Some(leaf) = chain.first() else {
            return Err(TlsError::Certificate {
                path: cert.to_path_buf(),
                reason: "no certificate (expected -----BEGIN CERTIFICATE-----)".into(),
            });
        };
        let (_, parsed) =
            x509_parser::parse_x509_certificate(leaf).map_err(|e| TlsError::Certificate {
                path: cert.to_path_buf(),
                reason: format!("the first certificate does not parse ({e})"),
            })?;
        let validity = parsed.validity();
        let not_before = unix_time(validity.not_before.timestamp());
        let not_after = unix_time(validity.not_after.timestamp());
        let subject = parsed.subject().to_string();
        let names = subject_names(&parsed);
        let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Key {
            path: key.to_path_buf(),
            reason: format!("no PKCS#8, RSA or EC private key ({e})"),
        })?;
        let mut fingerprint = leaf.to_vec();
        fingerprint.extend_from_slice(private.secret_der());
        let certified = CertifiedKey::from_der(chain, private, provider).map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => TlsError::Mismatch {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            },
            other => TlsError::Key {
                path: key.to_path_buf(),
                reason: format!("unusable key ({other})"),
            },
        })?;
        Ok(CertPair {
            certified: Arc::new(certified),
            subject,
            names,
            not_before,
            not_after,
            fingerprint,
        })
    }

    /// Whether the certificate is valid at `now`; `cert` names it in the error.
    pub fn check_validity(&self, now: SystemTime, cert: &Path) -> Result<(), TlsError> {
        if now < self.not_before {
            return Err(TlsError::NotYetValid {
                path: cert.to_path_buf(),
                not_before: self.not_before,
            });
        }
        if now > self.not_after {
            return Err(TlsError::Expired {
                path: cert.to_path_buf(),
                not_after: self.not_after,
            });
        }
        Ok(())
    }

    /// How long the certificate is valid after `now` (zero once expired).
    pub fn remaining(&self, now: SystemTime) -> Duration {
        self.not_after.duration_since(now).unwrap_or_default()
    }

    /// Whether `other` is the same certificate and key (a rewrite of the same files).
    pub fn same_as(&self, other: &CertPair) -> bool {
        self.fingerprint == other.fingerprint
    }
}

/// A PEM file's bytes, bounded in size.
fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read_error = |source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(read_error)?;
    // A FIFO or a device would block the read (and the task doing it) for ever.
    if !metadata.is_file() {
        return Err(TlsError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let size = metadata.len();
    if size > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    std::fs::read(path).map_err(read_error)
}

fn unix_time(seconds: i64) -> SystemTime {
    match u64::try_from(seconds) {
        Ok(s) => UNIX_EPOCH + Duration::from_secs(s),
        Err(_) => UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs()),
    }
}

/// The DNS names and addresses a certificate is for.
fn subject_names(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(dns.to_string()),
            GeneralName::IPAddress(ip) => match ip.len() {
                4 => <[u8; 4]>::try_from(*ip)
                    .ok()
                    .map(|a| std::net::IpAddr::from(a).to_string()),
                16 => <[u8; 16]>::try_from(*ip)
                    .ok()
                    .map(|a| std::net::IpAddr::from(a).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/tls")
            .join(name)
    }

    fn provider() -> CryptoProvider {
        rustls::crypto::ring::default_provider()
    }

    #[test]
    fn rsa_pkcs1_and_ec_sec1_keys_load_with_their_certificates() {
        for (cert, key) in [("rsa.crt", "rsa-pkcs1.key"), ("ec.crt", "ec-sec1.key")] {
            let pair = CertPair::load(&fixture(cert), &fixture(key), &provider())
                .unwrap_or_else(|e| panic!("{cert} with {key}: {e}"));
            assert_eq!(pair.subject, "CN=localhost");
            assert!(
                pair.names.contains(&"localhost".to_string()),
                "{:?}",
                pair.names
            );
            assert!(pair.not_after > pair.not_before);
        }
        let ec = CertPair::load(&fixture("ec.crt"), &fixture("ec-sec1.key"), &provider())
            .expect("ec pair");
        assert_eq!(ec.names, ["localhost", "127.0.0.1"]);
    }

    #[test]
    fn a_key_of_another_certificate_is_a_mismatch_naming_both_files() {
        let error = CertPair::load(&fixture("rsa.crt"), &fixture("ec-sec1.key"), &provider())
            .expect_err("an EC key is not the RSA certificate's");
        assert!(matches!(error, TlsError::Mismatch { .. }), "{error:?}");
        let said = error.to_string();
        assert!(
            said.contains("ec-sec1.key") && said.contains("rsa.crt"),
            "{said}"
        );
    }

    #[test]
    fn validity_is_judged_against_the_instant_given() {
        let pair = CertPair::load(&fixture("ec.crt"), &fixture("ec-sec1.key"), &provider())
            .expect("ec pair");
        let cert = fixture("ec.crt");
        let before = pair.not_before - Duration::from_secs(1);
        let after = pair.not_after + Duration::from_secs(1);
        assert!(matches!(
            pair.check_validity(before, &cert),
            Err(TlsError::NotYetValid { .. })
        ));
        assert!(matches!(
            pair.check_validity(after, &cert),
            Err(TlsError::Expired { .. })
        ));
        assert!(pair.check_validity(pair.not_before, &cert).is_ok());
        assert!(pair.check_validity(pair.not_after, &cert).is_ok());
        assert_eq!(pair.remaining(after), Duration::ZERO);
        assert_eq!(
            pair.remaining(pair.not_after - Duration::from_secs(60)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn files_that_are_not_pem_or_too_large_are_refused_with_their_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let big = dir.path().join("big.pem");
        std::fs::write(&big, vec![b'A'; (MAX_PEM_BYTES + 1) as usize]).expect("write");
        let error = CertPair::load(&big, &fixture("ec-sec1.key"), &provider()).expect_err("big");
        assert!(matches!(error, TlsError::TooLarge { .. }), "{error:?}");
        let text = dir.path().join("text.pem");
        std::fs::write(&text, "hello\n").expect("write");
        let error = CertPair::load(&text, &fixture("ec-sec1.key"), &provider()).expect_err("text");
        assert!(error.to_string().contains("text.pem"), "{error}");
        let error = CertPair::load(&fixture("ec.crt"), &text, &provider()).expect_err("no key");
        assert!(matches!(error, TlsError::Key { .. }), "{error:?}");
        let error = CertPair::load(dir.path(), &text, &provider()).expect_err("a folder");
        assert!(matches!(error, TlsError::NotAFile { .. }), "{error:?}");
        let fifo = dir.path().join("fifo.pem");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let error = CertPair::load(&fifo, &text, &provider()).expect_err("a FIFO");
            assert!(matches!(error, TlsError::NotAFile { .. }), "{error:?}");
        }
        let missing = dir.path().join("missing.pem");
        let error = CertPair::load(&missing, &text, &provider()).expect_err("missing");
        assert!(matches!(error, TlsError::Read { .. }), "{error:?}");
    }
}
