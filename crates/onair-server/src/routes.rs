//! What each request gets: the station streams, the station list, and the errors.

use std::net::SocketAddr;

use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode, Version};

use crate::body::{Body, ListenerBody};
use crate::registry::{Station, StationRegistry};
use crate::timed_io::WriteTimeout;

/// Answers one request.
pub fn respond<B>(
    registry: &StationRegistry,
    req: &Request<B>,
    peer: SocketAddr,
    write_timeout: &WriteTimeout,
) -> Response<Body> {
    let method = req.method();
    if method != Method::GET && method != Method::HEAD {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served\n",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let head = method == Method::HEAD;
    let path = req.uri().path();
    let response = if path == "/" {
        index(registry)
    } else {
        let name = path.strip_prefix('/').unwrap_or(path);
        let name = name.strip_suffix(".aac").unwrap_or(name);
        match registry.get(name) {
            Some(station) if !name.contains('/') => stream(&station, head, peer, write_timeout),
            _ => not_found(registry, path),
        }
    };
    if head {
        let (parts, _) = response.into_parts();
        return Response::from_parts(parts, Body::empty());
    }
    response
}

/// The station's live stream: close-delimited (never chunked), like Icecast, so that hardware
/// radios and ICY clients that cannot parse chunked encoding can play it.
fn stream(
    station: &Station,
    head: bool,
    peer: SocketAddr,
    write_timeout: &WriteTimeout,
) -> Response<Body> {
    let body = if head {
        Body::empty()
    } else {
        match station.hub.subscribe() {
            Some(subscription) => {
                write_timeout.set(station.client_timeout());
                Body::Listener(ListenerBody::new(subscription, peer))
            }
            // Went off air between the lookup and now.
            None => return text(StatusCode::NOT_FOUND, "this station has gone off air\n"),
        }
    };
    let mut response = Response::new(body);
    // hyper writes a close-delimited body (no Content-Length, no chunked encoding) when the
    // response itself is HTTP/1.0.
    *response.version_mut() = Version::HTTP_10;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("audio/aac"));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A plain page listing the stations and their URLs.
fn index(registry: &StationRegistry) -> Response<Body> {
    let mut page = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>onair</title></head>\n<body>\n<h1>onair</h1>\n<ul>\n",
    );
    for station in registry.list() {
        let info = station.info();
        page.push_str(&format!(
            "<li><a href=\"/{name}\">/{name}</a> {title} ({kbps} kb/s, {rate} Hz, {ch} ch)</li>\n",
            name = station.name,
            title = escape_html(&station.meta().title),
            kbps = info.bitrate() / 1000,
            rate = info.sample_rate(),
            ch = info.channels(),
        ));
    }
    page.push_str("</ul>\n</body></html>\n");
    let mut response = Response::new(Body::full(page));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn not_found(registry: &StationRegistry, path: &str) -> Response<Body> {
    let mut message = format!("no station at {}\nstations:", escape_text(path));
    for station in registry.list() {
        message.push_str(&format!(" /{}", station.name));
    }
    message.push('\n');
    text(StatusCode::NOT_FOUND, message)
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut response = Response::new(Body::full(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A request path echoed in plain text: control characters shown escaped, length bounded.
fn escape_text(s: &str) -> String {
    s.chars().take(200).flat_map(char::escape_default).collect()
}
