//! onair as a client of the operator's services: one POST (a form or JSON) to an `http://` or
//! `https://` URL, within a deadline, answered by its status and headers. Used by URL
//! authentication (Icecast's `listener_add` and `listener_remove`) and webhooks.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// The most of an answer's body read (and thrown away: what matters is in its head).
const MAX_BODY: usize = 64 * 1024;

/// Why a POST did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The URL is not an `http://` or `https://` URL with a host.
    #[error("not an http:// or https:// URL with a host")]
    Url,
    /// No answer within the deadline.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection or the exchange failed.
    #[error("{0}")]
    Failed(String),
}

/// An answer's status and headers.
#[derive(Debug)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// POSTs `body` of `content_type` to `url` with `extra` headers, the whole exchange within
/// `deadline`, on a connection of its own.
pub async fn post(
    url: &Uri,
    (content_type, extra): (&'static str, &[(&'static str, String)]),
    body: Bytes,
    deadline: Duration,
) -> Result<Answer, PostError> {
    let mut kept = None;
    post_on(&mut kept, url, (content_type, extra), body, deadline).await
}

/// A connection kept open between POSTs to one service (HTTP/1.1 keep-alive).
pub struct Kept {
    to: (bool, String, u16),
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept").field("to", &self.to).finish()
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Like [`post`], on `kept` when it leads to the same service and is still open (else on a new
/// connection, kept there afterwards while the service keeps it open): a stream of POSTs to one
/// receiver costs one connection, not one each.
pub async fn post_on(
    kept: &mut Option<Kept>,
    url: &Uri,
    (content_type, extra): (&'static str, &[(&'static str, String)]),
    body: Bytes,
    deadline: Duration,
) -> Result<Answer, PostError> {
    tokio::time::timeout(deadline, exchange(kept, url, (content_type, extra), body))
        .await
        .map_err(|_| {
            *kept = None;
            PostError::Timeout(deadline)
        })?
}

async fn exchange(
    kept: &mut Option<Kept>,
    url: &Uri,
    (content_type, extra): (&'static str, &[(&'static str, String)]),
    body: Bytes,
) -> Result<Answer, PostError> {
    let https = match url.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(PostError::Url),
    };
    let host = url.host().ok_or(PostError::Url)?.trim_matches(['[', ']']);
    let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
    let failed = |e: &dyn std::fmt::Display| PostError::Failed(e.to_string());
    let to = (https, host.to_string(), port);
    let reusable = kept
        .as_mut()
        .is_some_and(|k| k.to == to && !k.sender.is_closed() && k.sender.is_ready());
    if !reusable {
        *kept = Some(connect(to, host, port).await?);
    }
    let Some(connection) = kept.as_mut() else {
        return Err(PostError::Failed("no connection".to_string()));
    };
    let authority = match url.port_u16() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let path = url.path_and_query().map_or("/", |p| p.as_str());
    let mut request = Request::post(path);
    for (name, value) in extra {
        request = request.header(*name, value);
    }
    let request = request
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(
            http::header::USER_AGENT,
            concat!("onair/", env!("CARGO_PKG_VERSION")),
        )
        .body(Full::new(body))
        .map_err(|e| failed(&e))?;
    let response = match connection.sender.send_request(request).await {
        Ok(response) => response,
        Err(error) => {
            *kept = None;
            return Err(failed(&error));
        }
    };
    let (parts, mut incoming) = response.into_parts();
    // The body is read (a little of it: what matters is in the head), so that the connection
    // can carry the next POST.
    let mut read = 0;
    while let Some(frame) = incoming.frame().await {
        let Ok(frame) = frame else {
            *kept = None;
            break;
        };
        read += frame.data_ref().map_or(0, Bytes::len);
        if read > MAX_BODY {
            *kept = None;
            break;
        }
    }
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
    })
}

/// A new connection to `host:port` (`to` names it), TLS when it says so.
async fn connect(to: (bool, String, u16), host: &str, port: u16) -> Result<Kept, PostError> {
    let failed = |e: &dyn std::fmt::Display| PostError::Failed(e.to_string());
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| failed(&e))?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Stream> = if to.0 {
        let name = ServerName::try_from(host.to_string()).map_err(|e| failed(&e))?;
        let connector = tokio_rustls::TlsConnector::from(tls());
        Box::new(connector.connect(name, tcp).await.map_err(|e| failed(&e))?)
    } else {
        Box::new(tcp)
    };
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failed(&e))?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Kept { to, sender, task })
}

/// The TLS settings for the operator's services: the Mozilla roots (built once).
fn tls() -> Arc<rustls::ClientConfig> {
    static TLS: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    Arc::clone(TLS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|builder| builder.with_root_certificates(roots).with_no_client_auth());
        Arc::new(config.unwrap_or_else(|_| {
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        }))
    }))
}

/// `pairs` as an `application/x-www-form-urlencoded` body.
pub fn form(pairs: &[(&str, &str)]) -> Bytes {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    // RFC 3986's unreserved characters go as they are; everything else is encoded.
    const VALUE: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let mut body = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            body.push('&');
        }
        body.push_str(key);
        body.push('=');
        body.extend(utf8_percent_encode(value, VALUE));
    }
    Bytes::from(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_is_percent_encoded() {
        assert_eq!(
            &form(&[
                ("action", "listener_add"),
                ("agent", "mpv 0.35 & co"),
                ("mount", "/jazz")
            ])[..],
            b"action=listener_add&agent=mpv%200.35%20%26%20co&mount=%2Fjazz"
        );
    }
}
