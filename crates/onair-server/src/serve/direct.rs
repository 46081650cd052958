//! The direct path: a connection's request head is read here first, and an endless response (a
//! station's stream, `/events`) is answered here and written straight onto the socket by the
//! [`StreamWriter`](crate::http::writer::StreamWriter); a live source goes to
//! [`crate::live`]; anything else goes to hyper with the bytes already read.
//!
//! hyper keeps an 8 KiB read buffer and an 8 KiB header buffer for the life of every
//! connection. For a page that is nothing; for a radio listener connected for hours it is most
//! of what the listener costs (16 KiB x 19,000 listeners = 300 MiB).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Version};
use http_body::Body as _;
use tokio::io::AsyncRead;

use super::routes;
use crate::app::{App, Conn};
use crate::http::body::Body;
use crate::http::head::{parse_get, parse_request, read_head, Head, MAX_HEAD};
use crate::http::route::Route;

/// What the first bytes of a connection turned out to be.
pub enum Opening {
    /// A station stream request (or `/events`), answered here.
    Stream(Request<()>),
    /// A live source (`PUT` or `SOURCE`), with the bytes of its body read with the head.
    Source(Request<()>, Bytes),
    /// Anything else: hyper serves it, starting with these bytes.
    Other(Bytes),
    /// The client closed or sent nothing in time.
    Gone,
}

/// Reads the request head (bounded in size and by `timeout`) and sorts the request.
pub async fn open<S: AsyncRead + Unpin>(io: &mut S, app: &App, timeout: Duration) -> Opening {
    let read = tokio::time::timeout(timeout, read_head(io, MAX_HEAD)).await;
    match read {
        Ok(Head::Complete { bytes, len }) => {
            if let Some(source) = source_request(&bytes[..len]) {
                return Opening::Source(source, bytes.freeze().slice(len..));
            }
            match direct_request(&bytes[..len], app) {
                // Bytes pipelined after a stream request are read and dropped by the writer.
                Some(request) => Opening::Stream(request),
                None => Opening::Other(bytes.freeze()),
            }
        }
        // hyper answers 431 to an oversized head.
        Ok(Head::TooLarge(bytes)) => Opening::Other(bytes.freeze()),
        // Half a request, then silence or a close: hyper has nothing to add.
        Ok(Head::Gone) | Err(_) => Opening::Gone,
    }
}

/// The request in `head` if it is a live source's: `PUT` or Icecast's `SOURCE` (whose body is
/// the audio, close-delimited, which hyper would not read).
fn source_request(head: &[u8]) -> Option<Request<()>> {
    parse_request(head).filter(|r| r.method() == http::Method::PUT || r.method() == "SOURCE")
}

/// The request in `head` if it is a clean `GET`/`HEAD` of a station on air, or of `/events`.
fn direct_request(head: &[u8], app: &App) -> Option<Request<()>> {
    let request = parse_get(head)?;
    // Web players add cache-busting queries (`/jazz?t=1700000000`): the station is the path.
    match Route::of(request.uri().path()) {
        Route::Stream(name) => {
            app.registry.audible(name)?;
        }
        // Endless too: written here, with no hyper buffers held per open page.
        Route::Events => {}
        _ => return None,
    }
    Some(request)
}

/// Answers a stream request: the response head, ready to send, and the body to follow it.
pub async fn answer(app: &Arc<App>, request: Request<()>, conn: &Conn) -> (Bytes, Body) {
    let response = routes::respond(app, &request, conn).await;
    let head_only = request.method() == http::Method::HEAD;
    let (parts, body) = response.into_parts();
    (Bytes::from(response_head(&parts, &body, head_only)), body)
}

/// The status line and headers.
fn response_head(parts: &http::response::Parts, body: &Body, head_only: bool) -> Vec<u8> {
    let mut head = Vec::with_capacity(1024);
    let version = if parts.version == Version::HTTP_10 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    };
    let reason = parts.status.canonical_reason().unwrap_or("");
    head.extend_from_slice(format!("{version} {} {reason}\r\n", parts.status.as_u16()).as_bytes());
    for (name, value) in &parts.headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    // A HEAD answer carries the headers a GET would, and a GET of a stream has no length.
    if let Some(length) = body.size_hint().exact().filter(|_| !head_only) {
        head.extend_from_slice(format!("content-length: {length}\r\n").as_bytes());
    }
    if !parts.headers.contains_key(http::header::CONNECTION) {
        head.extend_from_slice(b"connection: close\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}
