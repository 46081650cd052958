//! What each request gets.
//!
//! | path | answer |
//! |---|---|
//! | `/<name>`, `/<name>.aac`, `/<name>.mp3` | the station's stream (ICY metadata on request, Safari's range probe) |
//! | `/<name>.m3u`, `/<name>.pls` | playlists pointing at the stream |
//! | `/` | the web page |
//! | `/status.json`, `/status-json.xsl` | status, in onair's and in Icecast's shape |
//! | `/events` | server-sent events for the web page |
//! | `/metrics` | Prometheus metrics |
//! | `/healthz` | 200 while serving |
//! | `/admin/metadata`, `/admin/killsource`, `/admin/listclients` | Icecast's admin API ([`crate::live::admin`]) |
//! | `PUT /<name>`, `SOURCE /<name>` | a live source ([`crate::live::ingest`], from the direct path) |

use std::sync::Arc;

use http::header::{
    HeaderName, HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ALLOW,
    CACHE_CONTROL, CONNECTION, CONTENT_RANGE, CONTENT_TYPE, HOST, RANGE, SERVER, VARY,
};
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};
use http_body::Body as _;

use super::body::ListenerBody;
use super::gate::admit;
use super::urls::{base_url, https_redirect};
use super::who::{client_of, request_line};
use crate::app::{App, Conn};
use crate::http::body::Body;
use crate::http::icy::METAINT;
use crate::http::responses::{escape_text, json, text, try_later};
use crate::http::route::{PlaylistKind, Route};
use crate::observe::access_log::Entry;
use crate::stations::audience::authorize::Admitted;
use crate::stations::audience::{Limits, Refusal, SessionId};
use crate::stations::Station;

/// The `Server` header.
const SERVER_NAME: &str = concat!("onair/", env!("CARGO_PKG_VERSION"));

/// The methods served.
const ALLOWED: &str = "GET, HEAD, OPTIONS";
/// The response headers a web player on another site may read.
const EXPOSED: &str = "icy-metaint, icy-name, icy-genre, icy-description, icy-url, icy-br, icy-sr, icy-pub, ice-audio-info, content-type";

/// Answers one request: the one place every request, streamed directly or served by hyper, is
/// answered (and logged: a stream when it ends, every other request now).
pub async fn respond<B>(app: &Arc<App>, req: &Request<B>, conn: &Conn) -> Response<Body> {
    let began = (app.clock().now(), tokio::time::Instant::now());
    let response = answer(app, req, conn).await;
    let listening = response.status() == StatusCode::OK
        && req.method() == Method::GET
        && matches!(Route::of(req.uri().path()), Route::Stream(_));
    if app.access.is_on() && !listening {
        let client = client_of(&app.config(), req, conn);
        let user = response
            .extensions()
            .get::<LoggedIn>()
            .and_then(|l| l.0.as_deref());
        app.access.request(&Entry {
            client: client.address,
            user,
            at: began.0,
            request: &request_line(req),
            status: response.status().as_u16(),
            bytes: response.body().size_hint().exact(),
            referer: client.referer.as_deref(),
            user_agent: &client.user_agent,
            took: began.1.elapsed(),
        });
    }
    response
}

/// The user a request logged in as (for its access-log line).
#[derive(Debug, Clone)]
struct LoggedIn(Option<Arc<str>>);

async fn answer<B>(app: &Arc<App>, req: &Request<B>, conn: &Conn) -> Response<Body> {
    let method = req.method();
    let response = if let Some(https) = https_redirect(app, req, conn) {
        https
    } else if method == Method::OPTIONS {
        preflight()
    } else if method != Method::GET && method != Method::HEAD {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET, HEAD and OPTIONS are served\n",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(ALLOWED));
        response
    } else {
        route(app, req, conn).await
    };
    finish(app, method, conn, response)
}

/// What every answer gets: CORS, `Server`, HSTS over HTTPS where configured, and no body for
/// `HEAD`.
fn finish(app: &App, method: &Method, conn: &Conn, mut response: Response<Body>) -> Response<Body> {
    // Every answer may be read by a web page on another site: streams, status, playlists.
    let h = response.headers_mut();
    if conn.secure {
        if let Some(max_age) = app.config().tls.hsts_max_age_s {
            if let Ok(value) = HeaderValue::from_str(&format!("max-age={}", max_age.get())) {
                h.insert(http::header::STRICT_TRANSPORT_SECURITY, value);
            }
        }
    }
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    // streamripper and status tools show the server's name.
    h.insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    if method == Method::HEAD {
        let (parts, _) = response.into_parts();
        return Response::from_parts(parts, Body::empty());
    }
    response
}

async fn route<B>(app: &Arc<App>, req: &Request<B>, conn: &Conn) -> Response<Body> {
    let path = req.uri().path();
    // RFC 9112 section 3.2: a request with more than one Host header is answered 400.
    if req.headers().get_all(HOST).iter().count() > 1 {
        return text(StatusCode::BAD_REQUEST, "more than one Host header\n");
    }
    let base = base_url(app, req, conn);
    match Route::of(path) {
        Route::Page => crate::observe::page::page(app),
        Route::Embed(name) => match app.registry.get(name) {
            Some(station) => crate::observe::page::embed(&station),
            None => not_found(app, path),
        },
        Route::Health => text(StatusCode::OK, "ok\n"),
        Route::Status => json(&crate::observe::status::status(
            app,
            &base,
            crate::observe::status::View::Public,
        )),
        Route::Icestats => json(&crate::observe::status::icestats(app, &base)),
        Route::Events => events(app),
        Route::Metrics => metrics(app),
        Route::Admin(command) => {
            // The client's address behind a trusted proxy: the login guard counts it.
            let client = client_of(&app.config(), req, conn);
            crate::live::admin::respond(
                app,
                command,
                req.uri().query(),
                req.headers(),
                client.address,
                &base,
            )
        }
        Route::Stream(name) => match app.registry.audible(name) {
            Some(station) => {
                let session = SessionId::random();
                match admit(app, &station, req, conn, session).await {
                    Ok(admitted) => stream(app, &station, req, conn, (admitted, session)),
                    Err(refused) => *refused,
                }
            }
            None => not_found(app, path),
        },
        Route::Playlist(name, kind) => match app.registry.audible(name) {
            Some(station) => match admit(app, &station, req, conn, SessionId::random()).await {
                Ok(admitted) => {
                    let mut response = playlist(&station, kind, &base, admitted.token.as_deref());
                    response.extensions_mut().insert(LoggedIn(admitted.user));
                    response
                }
                Err(refused) => *refused,
            },
            None => not_found(app, path),
        },
        Route::Hls(name, request) => match app.registry.audible(name) {
            Some(station) => {
                // A player's session is in its playlist's URL; a new one is made here, so that
                // a service that decides who listens hears of the session it will be.
                let session =
                    crate::hls::session_of(req.uri().query()).unwrap_or_else(SessionId::random);
                let admitted = match admit(app, &station, req, conn, session).await {
                    Ok(admitted) => admitted,
                    Err(refused) => return *refused,
                };
                let config = app.config();
                let mut client = client_of(&config, req, conn);
                client.user = admitted.user.clone();
                let asking = crate::hls::Asking {
                    client,
                    session,
                    token: admitted.token.as_deref(),
                    request: request_line(req).into(),
                    query: req.uri().query(),
                    headers: req.headers(),
                    // Only a media playlist can begin a session (a segment asks nothing of
                    // the limits, and counting every station's listeners costs).
                    limits: if request == crate::http::route::HlsRequest::Playlist {
                        limits(app, &config, &station)
                    } else {
                        Limits::default()
                    },
                };
                // Boxed: the HLS future (cutting segments from files) is large, and every
                // request's future, a stream listener's opening among them, would carry it.
                let answered =
                    Box::pin(crate::hls::respond(&station, request, asking, &config.hls)).await;
                let mut response =
                    answered.unwrap_or_else(|refusal| refused(app, &station, &refusal));
                response.headers_mut().insert(
                    ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static("content-length, etag, last-modified"),
                );
                response.extensions_mut().insert(LoggedIn(admitted.user));
                response
            }
            None => not_found(app, path),
        },
    }
}

/// The station's live stream: close-delimited (never chunked), like Icecast, so that hardware
/// radios and ICY clients that cannot parse chunked encoding can play it.
fn stream<B>(
    app: &Arc<App>,
    station: &Arc<Station>,
    req: &Request<B>,
    conn: &Conn,
    (admitted, session): (Admitted, SessionId),
) -> Response<Body> {
    let headers = req.headers();
    if let Some(range) = closed_range(headers) {
        return range_probe(station, range);
    }
    let icy = headers
        .get("icy-metadata")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "1");
    let body = if req.method() == Method::HEAD {
        Body::empty()
    } else {
        match subscribe(app, station, req, conn, icy, (admitted.user, session)) {
            Ok(body) => body,
            Err(response) => return *response,
        }
    };
    let mut response = Response::new(body);
    // hyper writes a close-delimited body (no Content-Length, no chunked encoding) when the
    // response itself is HTTP/1.0.
    *response.version_mut() = Version::HTTP_10;
    let programme = station.programme();
    let info = programme.first();
    let meta = station.meta();
    let kbps = programme.bitrate_kbps();
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(info.codec().content_type()),
    );
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    h.insert(CONNECTION, HeaderValue::from_static("close"));
    h.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
    let base = base_url(app, req, conn);
    let url = meta
        .url
        .clone()
        .unwrap_or_else(|| format!("{base}/{}", station.name));
    let mut set = |name: &'static str, value: &str| {
        // Titles are UTF-8; header values carry the bytes as they are, as Icecast does, without
        // control characters (no header injection) and at most 1 KiB (a 60 KB ID3 title is no
        // 60 KB header).
        if let Ok(value) = HeaderValue::from_bytes(onair_core::clean_text(value).as_bytes()) {
            h.insert(HeaderName::from_static(name), value);
        }
    };
    set("icy-name", &meta.title);
    set("icy-genre", meta.genre.as_deref().unwrap_or(""));
    set("icy-description", meta.description.as_deref().unwrap_or(""));
    set("icy-url", &url);
    set("icy-br", &kbps.to_string());
    set("icy-sr", &info.sample_rate().to_string());
    set("icy-pub", "0");
    set(
        "ice-audio-info",
        &format!(
            "samplerate={};channels={};bitrate={kbps}",
            info.sample_rate(),
            info.channels()
        ),
    );
    if icy {
        set("icy-metaint", &METAINT.to_string());
    }
    response
}

/// Tunes a listener in through the station's audience: within the listener limits, a session.
fn subscribe<B>(
    app: &Arc<App>,
    station: &Arc<Station>,
    req: &Request<B>,
    conn: &Conn,
    icy: bool,
    (user, session): (Option<Arc<str>>, SessionId),
) -> Result<Body, Box<Response<Body>>> {
    let config = app.config();
    // A page plays one station, not a hundred: an HTTP/2 connection holds a few streams.
    let Some(slot) = conn.streams.take() else {
        return Err(Box::new(text(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "at most {} audio streams on one connection\n",
                crate::serve::h2::AUDIO_STREAMS
            ),
        )));
    };
    let mut client = client_of(&config, req, conn);
    client.user = user;
    let admitted = station.audience().admit_stream(
        &station.hub,
        limits(app, &config, station),
        (session, client),
        request_line(req).into(),
        app.clock().now(),
    );
    let session = admitted.map_err(|refusal| Box::new(refused(app, station, &refusal)))?;
    Ok(Body::endless(ListenerBody::new(
        slot,
        session,
        Arc::clone(station),
        icy,
        Arc::clone(app),
        conn.write_timeout.clone(),
    )))
}

/// The listener limits in force for `station`.
fn limits(app: &App, config: &crate::config::Config, station: &Station) -> Limits {
    Limits {
        station: station.max_listeners(),
        server: config
            .server
            .max_listeners
            .map(|max| (max.get(), app.listeners())),
    }
}

/// The answer to a listener the audience refused.
pub fn refused(app: &App, station: &Station, refusal: &Refusal) -> Response<Body> {
    match refusal {
        Refusal::ServerFull(max) => full(app, &format!("the server is full ({max} listeners)")),
        Refusal::StationFull(max) => {
            full(app, &format!("/{} is full ({max} listeners)", station.name))
        }
        Refusal::OffAir => text(StatusCode::NOT_FOUND, "this station has gone off air\n"),
    }
}

fn full(app: &App, reason: &str) -> Response<Body> {
    app.stats
        .rejected_full
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::debug!(reason, "listener refused");
    try_later(reason)
}

/// A closed byte range `bytes=a-b` (Safari probes a stream with `bytes=0-1`). Open-ended ranges
/// (`bytes=N-`) are served the live stream.
fn closed_range(headers: &HeaderMap) -> Option<(usize, usize)> {
    let spec = headers
        .get(RANGE)?
        .to_str()
        .ok()?
        .trim()
        .strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    let (start, end) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    (end >= start).then_some((start, end))
}

/// The first bytes of the stream, as a 206 of exactly the range asked (not a listener).
fn range_probe(station: &Station, (start, end): (usize, usize)) -> Response<Body> {
    // A probe asks for a few bytes; more than a burst's worth is not served from memory.
    const MAX_PROBE: usize = 64 * 1024;
    let head = station.hub.peek_burst(MAX_PROBE);
    if start >= head.len() {
        let mut response = text(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "range not available on a live stream\n",
        );
        response
            .headers_mut()
            .insert(CONTENT_RANGE, HeaderValue::from_static("bytes */*"));
        return response;
    }
    let end = end.min(head.len() - 1);
    let mut response = Response::new(Body::full(head.slice(start..=end)));
    *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    let h = response.headers_mut();
    let codec = station.info().codec();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(codec.content_type()));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{end}/*")) {
        h.insert(CONTENT_RANGE, value);
    }
    h.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
    response
}

/// `.m3u` and `.pls` playlists pointing at the stream's absolute URL (with the listener's
/// link's token, for a closed station).
fn playlist(
    station: &Station,
    kind: PlaylistKind,
    base: &str,
    token: Option<&str>,
) -> Response<Body> {
    let mut url = format!("{base}/{}", station.name);
    if let Some(token) = token {
        url.push_str("?token=");
        url.push_str(token);
    }
    let title = onair_core::clean_text(&station.meta().title);
    let (body, content_type) = if kind == PlaylistKind::M3u {
        (
            format!("#EXTM3U\n#EXTINF:-1,{title}\n{url}\n"),
            "audio/x-mpegurl",
        )
    } else {
        (
            format!("[playlist]\nNumberOfEntries=1\nFile1={url}\nTitle1={title}\nLength1=-1\nVersion=2\n"),
            "audio/x-scpls",
        )
    };
    let mut response = Response::new(Body::full(body));
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The URL inside comes from the request's Host header (unless `public_url` is set): a cache
    // must not hand one host's playlist to another's clients.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(VARY, HeaderValue::from_static("Host"));
    response
}

fn preflight() -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    h.insert(ALLOW, HeaderValue::from_static(ALLOWED));
    h.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED),
    );
    h.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Icy-MetaData, Range"),
    );
    h.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
    h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    response
}

fn events(app: &Arc<App>) -> Response<Body> {
    let max = app.config().server.max_event_clients.get() as usize;
    let Some(body) = app.events.subscribe(max, &app.closing) else {
        tracing::debug!(max, "event client refused");
        return try_later(&format!("too many /events clients ({max})"));
    };
    let mut response = Response::new(Body::endless(body));
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn metrics(app: &App) -> Response<Body> {
    match crate::observe::metrics::render(app) {
        Ok(text) => {
            let mut response = Response::new(Body::full(text));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            response
        }
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics\n"),
    }
}

fn not_found(app: &App, path: &str) -> Response<Body> {
    // A live-only station between shows is listed, and says so rather than "no station".
    if let Route::Stream(name) | Route::Playlist(name, _) | Route::Hls(name, _) = Route::of(path) {
        if app.registry.get(name).is_some() {
            return text(
                StatusCode::NOT_FOUND,
                format!(
                    "/{} is off air until a live source connects\n",
                    escape_text(name)
                ),
            );
        }
    }
    let mut message = format!("no station at {}\nstations:", escape_text(path));
    for station in app.registry.list() {
        message.push_str(&format!(" /{}", station.name));
    }
    message.push('\n');
    text(StatusCode::NOT_FOUND, message)
}
