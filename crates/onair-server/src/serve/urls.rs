//! Where listeners reach this server: the base URL of playlists and `icy-url`, and the redirect
//! of plain HTTP to HTTPS.

use http::header::{HeaderValue, HOST};
use http::{Request, Response, StatusCode};

use crate::app::{App, Conn};
use crate::http::body::Body;
use crate::http::responses::text;

/// The base URL listeners reach this server at: `server.public_url`, else the connection's
/// scheme and the request's host (`Host`, or HTTP/2's `:authority`) when it looks like a host,
/// else the listening address.
pub(super) fn base_url<B>(app: &App, req: &Request<B>, conn: &Conn) -> String {
    if let Some(url) = &app.config().server.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let scheme = if conn.secure { "https" } else { "http" };
    match request_host(req) {
        Some(host) => format!("{scheme}://{host}"),
        None if conn.secure => format!("https://{}", app.tls_addr.unwrap_or(app.local_addr)),
        None => format!("http://{}", app.local_addr),
    }
}

/// The host a request was sent to, if it looks like one.
fn request_host<B>(req: &Request<B>) -> Option<&str> {
    req.headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .filter(|h| !h.is_empty() && h.len() < 256)
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
        })
}

/// With `[tls] redirect_http`, a plain request is sent to the same path over HTTPS (308, so
/// that the method is kept): at `public_url` when it is `https://`, else at the request's host
/// on the HTTPS port.
pub(super) fn https_redirect<B>(
    app: &App,
    req: &Request<B>,
    conn: &Conn,
) -> Option<Response<Body>> {
    let config = app.config();
    let tls_port = app.tls_addr?.port();
    if conn.secure || !config.tls.redirect_http {
        return None;
    }
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let base = match config.server.public_url.as_deref() {
        Some(url) if url.starts_with("https://") => url.trim_end_matches('/').to_string(),
        _ => https_origin(request_host(req).unwrap_or("localhost"), tls_port),
    };
    let mut response = text(
        StatusCode::PERMANENT_REDIRECT,
        "this server is served over HTTPS\n",
    );
    let location = HeaderValue::from_str(&format!("{base}{path}")).ok()?;
    response
        .headers_mut()
        .insert(http::header::LOCATION, location);
    Some(response)
}

/// `https://` and `host` (a `Host` value, its port left out) on port `tls_port`.
fn https_origin(host: &str, tls_port: u16) -> String {
    // The host without its port (`[::1]:8080`, `radio.example.com:8080`).
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    match tls_port {
        443 => format!("https://{name}"),
        port => format!("https://{name}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::https_origin;

    #[test]
    fn the_https_origin_keeps_the_host_and_takes_the_https_port() {
        assert_eq!(
            https_origin("radio.example.com:8080", 8443),
            "https://radio.example.com:8443"
        );
        assert_eq!(
            https_origin("radio.example.com", 443),
            "https://radio.example.com"
        );
        assert_eq!(https_origin("[::1]:8080", 8443), "https://[::1]:8443");
        assert_eq!(https_origin("[::1]", 8443), "https://[::1]:8443");
        assert_eq!(https_origin("127.0.0.1:80", 443), "https://127.0.0.1");
    }
}
