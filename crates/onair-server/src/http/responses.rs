//! Small answers every room builds: plain text, JSON, "try later", cache validators, and text
//! made safe for a header, a playlist line or HTML.

use http::header::{
    HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, RETRY_AFTER,
};
use http::{HeaderMap, Response, StatusCode};

use super::body::Body;

/// A plain-text answer.
pub fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut response = Response::new(Body::full(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A plain-text answer that a cache must not keep.
pub fn uncached_text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut response = text(status, body);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A JSON answer, never cached.
pub fn json(value: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::full(value.to_string()));
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `503` with `Retry-After: 30` and a one-line reason.
pub fn try_later(reason: &str) -> Response<Body> {
    let mut response = text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("{reason}; try again later\n"),
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("30"));
    response
}

/// Whether the request's `If-None-Match` names `etag` (or `*`).
pub fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        })
}

/// `304 Not Modified` with the validator and the caching rule.
pub fn not_modified(etag: &str, cache: &str) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    insert(response.headers_mut(), ETAG, etag);
    insert(response.headers_mut(), CACHE_CONTROL, cache);
    response
}

/// Sets a header whose value is text, when the text is a valid value.
pub fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// A request path echoed in plain text: control characters shown escaped, length bounded.
pub fn escape_text(s: &str) -> String {
    s.chars().take(200).flat_map(char::escape_default).collect()
}

/// Text made safe inside HTML elements and quoted attributes.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// FNV-1a, 64 bits: a strong ETag that every replica computes alike for the same bytes.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
