//! HTTPS: the certificate served, and its renewal without a restart.
//!
//! - [`pair`]: a certificate chain and key read from PEM files and checked ([`CertPair`]).
//! - [`store`]: the pair every new handshake takes, and the rustls settings ([`CertStore`]).
//! - [`timing`]: when the pair is read again, and when its expiry is warned about (a pure state
//!   machine over given instants).
//! - [`reload`]: reads the pair again when its files change, on SIGHUP and once a minute.
//!
//! The TLS listener itself is the accept loop's (`serve`): a TLS connection is read and
//! answered by the same code as a plain one, over the decrypted stream.

pub mod pair;
pub mod reload;
pub mod store;
pub mod timing;

pub use pair::{CertPair, TlsError};
pub use store::CertStore;
