//! Reaching an upstream's audio: TCP (and TLS for `https://`), hyper's HTTP/1 client (HTTP/1.0
//! and 1.1, close-delimited or chunked; Shoutcast's `ICY 200 OK` read as `HTTP/1.0 200 OK`),
//! redirects and `.m3u`/`.pls` playlists followed a bounded number of times, each step under
//! a timeout, and the answer's head checked before a byte of audio is taken.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_util::task::AbortOnDropHandle;

use super::icy::metaint;
use super::playlist::{answer_kind, first_url, Answer, MAX_PLAYLIST_BYTES};
use crate::stations::relayed::RelaySettings;
use onair_core::Codec;

/// The most bytes of an upstream's response head (status line and headers).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Why an upstream could not be reached (or was not a stream onair can play).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// The TCP connection failed.
    #[error("cannot connect to {host}: {reason}")]
    Connect {
        /// `host:port`
        host: String,
        /// The system's words.
        reason: String,
    },
    /// The TLS handshake failed.
    #[error("TLS with {host} failed: {reason}")]
    Tls {
        /// The host.
        host: String,
        /// rustls's words.
        reason: String,
    },
    /// A step took too long.
    #[error("{0} timed out")]
    Timeout(&'static str),
    /// The HTTP exchange failed (a broken head, a head too large, a broken body).
    #[error("HTTP: {0}")]
    Http(String),
    /// The upstream answered with a status other than success.
    #[error("the upstream answered {0}")]
    Status(u16),
    /// Too many redirects or playlists in a row.
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    /// A redirect without a usable `Location` (what it said stays out of public views).
    #[error("a redirect to nowhere usable")]
    BadRedirect(String),
    /// A redirect or playlist leading to a loopback or private address from a public upstream.
    #[error("a redirect to a private address ({0}), refused")]
    PrivateRedirect(&'static str),
    /// A playlist that names no stream.
    #[error("playlist: {0}")]
    Playlist(&'static str),
    /// A stream of a content type of another codec than the station's.
    #[error("the upstream sends {}; the station plays {codec}", media_type(got))]
    ContentType {
        /// The upstream's `Content-Type`.
        got: String,
        /// The station's codec's.
        codec: &'static str,
    },
    /// A bad `icy-metaint` (its value shown only when it is a number).
    #[error("{0}")]
    Metaint(String),
    /// The CA file could not be read.
    #[error("the relay CA file {path}: {reason}")]
    CaFile {
        /// Its path.
        path: String,
        /// Why.
        reason: String,
    },
}

/// A content type as a public view may show it: a media type's characters only, 64 at most;
/// anything else a private service might answer is not repeated.
fn media_type(got: &str) -> String {
    let essence = got.split(';').next().unwrap_or("").trim();
    let fine = |c: char| c.is_ascii_alphanumeric() || "/.+-_".contains(c);
    if essence.is_empty() || essence.len() > 64 || !essence.chars().all(fine) {
        "another content type".to_string()
    } else {
        essence.to_string()
    }
}

/// An upstream's audio, reached.
#[derive(Debug)]
pub struct Upstream {
    /// The stream's URL (after redirects and playlists).
    pub url: Uri,
    /// Its address.
    pub peer: SocketAddr,
    /// The answer's headers (`icy-name`, `content-type`...).
    pub headers: HeaderMap,
    /// Audio bytes between metadata blocks, when the upstream sends them.
    pub metaint: Option<usize>,
    /// The body: audio (and metadata blocks).
    pub body: Incoming,
    /// Drives the connection; dropped with the upstream.
    _connection: AbortOnDropHandle<()>,
}

/// A byte stream to an upstream, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// The TLS settings for HTTPS upstreams: the Mozilla roots, plus `ca_file`'s.
pub fn tls_config(
    ca_file: Option<&std::path::Path>,
) -> Result<Arc<rustls::ClientConfig>, RelayError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let error = |reason: String| RelayError::CaFile {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| error(e.to_string()))?;
            roots.add(cert).map_err(|e| error(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(error("no certificate in it".to_string()));
        }
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| RelayError::Tls {
        host: String::new(),
        reason: e.to_string(),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A `200 OK` answer reached, with the URL that gave it, its peer and its connection.
struct Answered {
    url: Uri,
    response: http::Response<Incoming>,
    peer: SocketAddr,
    connection: AbortOnDropHandle<()>,
}

/// Asks `url`, following redirects; `hops` counts them (and playlists, for the caller) against
/// `max_redirects`.
async fn answer(
    mut url: Uri,
    settings: &RelaySettings,
    tls: &Arc<rustls::ClientConfig>,
    hops: &mut usize,
    private_ok: &mut Option<bool>,
) -> Result<Answered, RelayError> {
    loop {
        let (response, peer, connection) = exchange(&url, settings, tls).await?;
        // The configured URL's own address says whether private ones are fine (an upstream on
        // the operator's network); from a public one, a redirect or playlist may not send onair
        // to a loopback or private address.
        let kind = super::private::private_kind(peer.ip());
        match *private_ok {
            None => *private_ok = Some(kind.is_some()),
            Some(false) => {
                if let Some(kind) = kind {
                    return Err(RelayError::PrivateRedirect(kind));
                }
            }
            Some(true) => {}
        }
        let status = response.status();
        if status.is_redirection() {
            *hops += 1;
            if *hops > settings.timing.max_redirects {
                return Err(RelayError::TooManyRedirects(settings.timing.max_redirects));
            }
            url = follow(&url, response.headers())?;
            continue;
        }
        if status != StatusCode::OK {
            return Err(RelayError::Status(status.as_u16()));
        }
        return Ok(Answered {
            url,
            response,
            peer,
            connection,
        });
    }
}

/// Follows `settings.url` (redirects, playlists) to a stream of `codec` and returns it once
/// its head is checked.
pub async fn reach(
    settings: &RelaySettings,
    tls: &Arc<rustls::ClientConfig>,
    codec: Codec,
) -> Result<Upstream, RelayError> {
    let timing = settings.timing;
    let mut url = settings.url.0.clone();
    let mut hops = 0;
    let mut private_ok = None;
    loop {
        let Answered {
            url: at,
            response,
            peer,
            connection,
        } = answer(url, settings, tls, &mut hops, &mut private_ok).await?;
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match answer_kind(content_type.as_deref(), at.path()) {
            Answer::Stream => {}
            Answer::Hls => {
                return Err(RelayError::Playlist(
                    "an HLS playlist: name it with a URL ending in .m3u8 (an onair origin's)",
                ))
            }
            kind => {
                hops += 1;
                if hops > timing.max_redirects {
                    return Err(RelayError::TooManyRedirects(timing.max_redirects));
                }
                let text = read_body(
                    response.into_body(),
                    MAX_PLAYLIST_BYTES,
                    timing.head,
                    "the playlist",
                )
                .await?;
                let next = first_url(kind, &String::from_utf8_lossy(&text))
                    .map_err(RelayError::Playlist)?;
                url = resolve(&at, &next)?;
                continue;
            }
        }
        if let Some(got) = content_type.filter(|t| !fits(t, codec)) {
            return Err(RelayError::ContentType {
                got,
                codec: codec.content_type(),
            });
        }
        let metaint = match response.headers().get("icy-metaint") {
            Some(value) => Some(
                metaint(&String::from_utf8_lossy(value.as_bytes())).map_err(RelayError::Metaint)?,
            ),
            None => None,
        };
        let (parts, body) = response.into_parts();
        return Ok(Upstream {
            url: at,
            peer,
            headers: parts.headers,
            metaint,
            body,
            _connection: connection,
        });
    }
}

/// The whole body at `url` (redirects followed), at most `limit` bytes, read within the idle
/// timeout: an HLS playlist or segment.
pub async fn fetch(
    url: &Uri,
    settings: &RelaySettings,
    tls: &Arc<rustls::ClientConfig>,
    limit: usize,
) -> Result<(Uri, SocketAddr, Bytes), RelayError> {
    let answered = answer(url.clone(), settings, tls, &mut 0, &mut None).await?;
    let what = crate::config::relay::shown(&answered.url);
    let bytes = read_body(
        answered.response.into_body(),
        limit,
        settings.timing.idle,
        &what,
    )
    .await?;
    Ok((answered.url, answered.peer, bytes))
}

/// Whether a stream of `content_type` may be of `codec` (the frames decide in the end).
fn fits(content_type: &str, codec: Codec) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/octet-stream") || codec.accepts(content_type)
}

/// The bit rate a relay's receive buffer is sized for.
const RELAY_RECEIVE_BITRATE: u64 = 256_000;

/// One request to `url` and its answer's head.
async fn exchange(
    url: &Uri,
    settings: &RelaySettings,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<(http::Response<Incoming>, SocketAddr, AbortOnDropHandle<()>), RelayError> {
    let timing = settings.timing;
    let host = url.host().unwrap_or_default().trim_matches(['[', ']']);
    let https = url.scheme_str() == Some("https");
    let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
    let target = format!("{host}:{port}");
    let tcp = timeout(timing.connect, TcpStream::connect((host, port)))
        .await
        .map_err(|_| RelayError::Timeout("connecting"))?
        .map_err(|e| RelayError::Connect {
            host: target.clone(),
            reason: e.to_string(),
        })?;
    let _ = tcp.set_nodelay(true);
    // As a pushed source's: onair reads no faster than it plays, and the kernel holds a second
    // or two, not half a minute, of a sender faster than real time (32 KiB: two seconds at
    // 128 kb/s, and room for an edge's segment fetches at 300 KB/s over a 100 ms path).
    crate::live::ingest::bound_receive_buffer(&tcp, RELAY_RECEIVE_BITRATE);
    let peer = tcp.peer_addr().map_err(|e| RelayError::Connect {
        host: target.clone(),
        reason: e.to_string(),
    })?;
    let stream: Box<dyn Stream> = if https {
        let name = ServerName::try_from(host.to_string()).map_err(|e| RelayError::Tls {
            host: host.to_string(),
            reason: e.to_string(),
        })?;
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(tls));
        let tls = timeout(timing.connect, connector.connect(name, tcp))
            .await
            .map_err(|_| RelayError::Timeout("the TLS handshake"))?
            .map_err(|e| RelayError::Tls {
                host: host.to_string(),
                reason: e.to_string(),
            })?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(MAX_HEAD_BYTES.max(8192))
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_spaces_after_header_name_in_responses(true)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(IcyStatusLine::new(stream)))
        .await
        .map_err(|e| RelayError::Http(e.to_string()))?;
    let connection = AbortOnDropHandle::new(tokio::spawn(async move {
        let _ = connection.await;
    }));
    // The Host header names the host (and port), never the URL's `user:password@`: those
    // are a Basic login.
    let authority = match url.port_u16() {
        Some(port) => format!("{}:{port}", url.host().unwrap_or(host)),
        None => url.host().unwrap_or(host).to_string(),
    };
    let path = url.path_and_query().map_or("/", |p| p.as_str());
    let mut request = Request::get(path).header(http::header::HOST, authority);
    if let Some((user, password)) = crate::config::relay::credentials(url) {
        use base64::Engine as _;
        let login = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request = request.header(http::header::AUTHORIZATION, format!("Basic {login}"));
    }
    let request = request
        .header(
            http::header::USER_AGENT,
            concat!("onair/", env!("CARGO_PKG_VERSION"), " (relay)"),
        )
        .header(http::header::ACCEPT, "*/*")
        .header("icy-metadata", "1")
        .body(Empty::new())
        .map_err(|e| RelayError::Http(e.to_string()))?;
    let response = timeout(timing.head, sender.send_request(request))
        .await
        .map_err(|_| RelayError::Timeout("waiting for the answer's head"))?
        .map_err(|e| RelayError::Http(e.to_string()))?;
    Ok((response, peer, connection))
}

/// Where a redirect from `url` leads.
fn follow(url: &Uri, headers: &HeaderMap) -> Result<Uri, RelayError> {
    let location = headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| RelayError::BadRedirect("no Location".to_string()))?;
    resolve(url, location)
}

/// `reference` (absolute, or relative to `base`) as an `http`/`https` URL.
pub fn resolve(base: &Uri, reference: &str) -> Result<Uri, RelayError> {
    let reference = reference.trim();
    let bad = || RelayError::BadRedirect(reference.chars().take(200).collect());
    let text = if reference.contains("://") {
        reference.to_string()
    } else {
        let scheme = base.scheme_str().unwrap_or("http");
        let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
        if reference.starts_with('/') {
            format!("{scheme}://{authority}{reference}")
        } else {
            let dir = base.path().rsplit_once('/').map_or("", |(dir, _)| dir);
            format!("{scheme}://{authority}{dir}/{reference}")
        }
    };
    crate::config::RelayUrl::parse(&text)
        .map(|u| u.0)
        .map_err(|_| bad())
}

/// A body, at most `limit` bytes, read within `within`; `what` names it in errors.
async fn read_body(
    body: Incoming,
    limit: usize,
    within: std::time::Duration,
    what: &str,
) -> Result<Bytes, RelayError> {
    let limited = http_body_util::Limited::new(body, limit);
    Ok(timeout(within, limited.collect())
        .await
        .map_err(|_| RelayError::Timeout("reading a body"))?
        .map_err(|e| RelayError::Http(format!("{what}: {e}")))?
        .to_bytes())
}

/// Reads a Shoutcast answer's `ICY 200 OK` status line as `HTTP/1.0 200 OK`, so that hyper
/// parses it; any other answer passes as it is.
struct IcyStatusLine<S> {
    inner: S,
    /// The first bytes, while it is not yet known whether they start with `ICY `.
    first: Vec<u8>,
    /// Bytes to hand out before reading on.
    pending: Option<Bytes>,
    decided: bool,
}

impl<S> IcyStatusLine<S> {
    fn new(inner: S) -> Self {
        IcyStatusLine {
            inner,
            first: Vec::new(),
            pending: None,
            decided: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IcyStatusLine<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        while !this.decided {
            let mut scratch = [0u8; 512];
            let mut read = ReadBuf::new(&mut scratch);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            let got = read.filled();
            this.first.extend_from_slice(got);
            if !got.is_empty() && this.first.len() < 4 && b"ICY ".starts_with(&this.first) {
                continue;
            }
            this.decided = true;
            let first = std::mem::take(&mut this.first);
            this.pending = Some(match first.strip_prefix(b"ICY ") {
                Some(rest) => Bytes::from([b"HTTP/1.0 ".as_slice(), rest].concat()),
                None => Bytes::from(first),
            });
        }
        if let Some(pending) = this.pending.as_mut() {
            let n = pending.len().min(buf.remaining());
            buf.put_slice(&pending.split_to(n));
            if pending.is_empty() {
                this.pending = None;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IcyStatusLine<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_errors_repeat_no_upstream_answer() {
        let sneaky = RelayError::ContentType {
            got: "text/html; <h1>internal admin: password=hunter2</h1>".to_string(),
            codec: "audio/aac",
        };
        assert_eq!(
            sneaky.to_string(),
            "the upstream sends text/html; the station plays audio/aac"
        );
        let sneaky = RelayError::ContentType {
            got: "x".repeat(100),
            codec: "audio/aac",
        };
        assert!(sneaky.to_string().contains("another content type"));
        let redirect = RelayError::BadRedirect("http://secret.internal/?key=1".to_string());
        assert!(!redirect.to_string().contains("secret"));
    }
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn an_icy_status_line_reads_as_http_whatever_the_reads() {
        for answer in [
            &b"ICY 200 OK\r\nicy-name: x\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\n\r\n",
        ] {
            let (mut client, server) = tokio::io::duplex(64);
            let writer = tokio::spawn(async move {
                for byte in answer.chunks(1) {
                    client.write_all(byte).await.expect("write");
                }
            });
            let mut read = IcyStatusLine::new(server);
            let mut text = Vec::new();
            let mut buf = [0u8; 3];
            while text.len() < answer.len() + 5 {
                match read.read(&mut buf).await.expect("read") {
                    0 => break,
                    n => text.extend_from_slice(&buf[..n]),
                }
            }
            writer.await.expect("writer");
            let text = String::from_utf8(text).expect("text");
            assert!(text.starts_with("HTTP/1."), "{text}");
            assert!(text.ends_with("\r\n\r\n"), "{text}");
        }
    }

    #[test]
    fn redirects_resolve_against_the_url_they_came_from() {
        let base: Uri = "http://a.example:8000/radio/live.pls".parse().expect("uri");
        let to = |r: &str| resolve(&base, r).map(|u| u.to_string());
        assert_eq!(
            to("https://b.example/x").as_deref(),
            Ok("https://b.example/x")
        );
        assert_eq!(to("/stream").as_deref(), Ok("http://a.example:8000/stream"));
        assert_eq!(
            to("stream.mp3").as_deref(),
            Ok("http://a.example:8000/radio/stream.mp3")
        );
        assert!(to("ftp://c.example/").is_err());
    }
}
