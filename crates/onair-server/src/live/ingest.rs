//! A live source's connection, Icecast's source protocol: `PUT /<name>` (with `Expect:
//! 100-continue`) or `SOURCE /<name>`, Basic credentials, then the audio as the body until the
//! source leaves, goes quiet, or is cut off.
//!
//! Every refusal is Icecast's answer (401 with a challenge, 403 "Mountpoint in use", 415), so
//! encoders say the usual thing. Once admitted, the source's bytes become checked whole
//! frames ([`SourceFrames`]) pushed into the station's jitter buffer; a full buffer stops the
//! reads, so TCP slows a sender faster than real time.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use onair_core::{LiveSession, Rank};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{timeout, Instant};

use crate::app::App;
use crate::http::auth::{Credentials, CHALLENGE};
use crate::http::guard::Verdict;
use crate::http::request_body::{Framing, RequestBody};
use crate::http::route::Route;
use crate::live::pump::{Ended, Pump};
use crate::observe::stats::SourceResult;
use crate::stations::live::{live_track, IceFields, SourceInfo};
use crate::stations::Station;

/// How long writing an answer to a source may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// The kernel's receive buffer of a source's socket: about a second of audio at `bitrate`
/// bits/s (Linux doubles what is asked for, and advertises about half of it), 16 to 128 KiB.
/// Unbounded, Linux grows it to `tcp_rmem`'s maximum (32 MiB here): an encoder sending faster
/// than real time would park half a minute of its show in the kernel, out of onair's reach,
/// and "stop" would take that long to reach listeners.
pub fn receive_buffer(bitrate: u64) -> usize {
    ((bitrate / 8) as usize).clamp(16 * 1024, 128 * 1024)
}

/// Bounds `socket`'s receive buffer to [`receive_buffer`] of `bitrate`: past the jitter
/// buffer onair stops reading, and TCP slows the sender within a second or two of audio.
pub fn bound_receive_buffer(socket: &tokio::net::TcpStream, bitrate: u64) {
    let socket = socket2::SockRef::from(socket);
    if let Err(error) = socket.set_recv_buffer_size(receive_buffer(bitrate)) {
        tracing::debug!(%error, "cannot set the receive buffer size");
    }
}

/// The bit rate of the station a source asks for, for its receive buffer (128 kb/s when it
/// names none).
pub fn bitrate_for(app: &App, request: &Request<()>) -> u64 {
    match Route::of(request.uri().path()) {
        Route::Stream(name) => app
            .registry
            .get(name)
            .map_or(128_000, |s| s.programme().bitrate()),
        _ => 128_000,
    }
}

/// A refusal: Icecast's status and words.
struct Refusal {
    status: StatusCode,
    message: String,
    result: SourceResult,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>, result: SourceResult) -> Self {
        Refusal {
            status,
            message: message.into(),
            result,
        }
    }
}

/// Serves a live source's connection: `request` was read by the direct path, `already` is the
/// start of its body.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut io: S,
    request: Request<()>,
    already: Bytes,
    app: Arc<App>,
    peer: SocketAddr,
) {
    let name = match Route::of(request.uri().path()) {
        Route::Stream(name) => name.to_string(),
        _ => String::new(),
    };
    // The client's address (behind a trusted proxy, the one it forwarded for): what the login
    // guard counts and what operators see.
    let client = crate::http::proxy::client_ip(
        peer.ip(),
        request.headers(),
        &app.config().server.trusted_proxies,
    );
    let peer = SocketAddr::new(client, peer.port());
    let admitted = admit(&app, &request, &name, peer);
    let (station, session) = match admitted {
        Ok(admitted) => admitted,
        Err(refusal) => {
            // Any path may be asked for: only stations are counted by name.
            let label = match refusal.result {
                SourceResult::NoStation => "",
                _ => name.as_str(),
            };
            app.stats.count_source(label, refusal.result);
            match refusal.result {
                // Scanners asking for paths that are no station, and libshout's first try
                // without credentials (a failed login is said by the guard, once a run).
                SourceResult::NoStation | SourceResult::Unauthorized => {
                    tracing::debug!(station = %name, %peer, status = refusal.status.as_u16(), "source refused");
                }
                _ => tracing::info!(
                    station = %name,
                    %peer,
                    status = refusal.status.as_u16(),
                    reason = %refusal.message,
                    "live source refused"
                ),
            }
            refuse(&mut io, &refusal, request.headers()).await;
            return;
        }
    };
    // Icecast's go-ahead: 100 Continue to a client that waits for it (ffmpeg), else 200.
    let expects = request
        .headers()
        .get(http::header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    let go_ahead: &[u8] = if expects {
        b"HTTP/1.1 100 Continue\r\n\r\n"
    } else {
        b"HTTP/1.0 200 OK\r\n\r\n"
    };
    // Flushed: over TLS the answer otherwise waits in the session for a write that never
    // comes, and an encoder that waits for it (ffmpeg's 100 Continue) never starts.
    let answered = timeout(ANSWER_TIMEOUT, async {
        io.write_all(go_ahead).await?;
        io.flush().await
    })
    .await;
    if !matches!(answered, Ok(Ok(()))) {
        return;
    }
    app.stats.count_source(&name, SourceResult::Accepted);
    let info = Arc::new(SourceInfo::new(
        app.clock().now(),
        peer,
        header(request.headers(), "user-agent").unwrap_or_default(),
        header(request.headers(), "content-type").unwrap_or_default(),
        ice_fields(request.headers()),
    ));
    station.live.set_source(Arc::clone(&info));
    tracing::info!(
        station = %name,
        %peer,
        user_agent = %info.user_agent,
        content_type = %info.content_type,
        "live source connected"
    );
    let mut body = RequestBody::new(request.headers(), &already);
    let why = tokio::select! {
        why = receive(&mut io, &mut body, &station, &session, &info) => why,
        () = app.closing.cancelled() => Ended::Shutdown,
    };
    drop(session);
    station.live.clear_source(&info);
    if station.origin.is_live_only() {
        // Its listeners stay a while (encoders reconnect), then their streams end.
        app.registry.decide_later(
            &name,
            station.live.source_timeout + Duration::from_millis(50),
        );
    }
    if matches!(why, Ended::Format(_)) {
        app.stats.count_source(&name, SourceResult::BadAudio);
        tracing::warn!(station = %name, %peer, reason = %why.describe(), bytes_in = info.bytes_in(), "live source dropped");
    } else {
        tracing::info!(station = %name, %peer, reason = %why.describe(), bytes_in = info.bytes_in(), "live source disconnected");
    }
    let _ = io.shutdown().await;
}

/// Reads the source's audio into the station's live input until it ends.
async fn receive<S: AsyncRead + Unpin>(
    io: &mut S,
    body: &mut RequestBody,
    station: &Station,
    session: &LiveSession,
    info: &SourceInfo,
) -> Ended {
    let quiet = station.live.source_timeout;
    let mut pump = Pump::new(station);
    loop {
        if let Err(ended) = pump.drain(station, session).await {
            return ended;
        }
        let read = match body.framing() {
            Framing::Done => Ok(Ok(0)),
            _ => timeout(quiet, body.read(io, pump.input())).await,
        };
        match read {
            Err(_) => return Ended::Silent(quiet),
            Ok(Err(error)) => return Ended::Failed(error.to_string()),
            Ok(Ok(0)) => {
                // Its last frames are pushed: they play out before the programme comes back.
                return pump.close(station, session).await;
            }
            Ok(Ok(n)) => {
                pump.received(n);
                info.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
}

/// Decides whether the source may go on air: the station, the address, the credentials, the
/// content type, and no other source live.
fn admit(
    app: &App,
    request: &Request<()>,
    name: &str,
    peer: SocketAddr,
) -> Result<(Arc<Station>, LiveSession), Refusal> {
    let Some(station) = app.registry.get(name) else {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "No such station",
            SourceResult::NoStation,
        ));
    };
    if let Verdict::Refused(left) = app.logins.check(peer.ip(), Instant::now()) {
        return Err(Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed logins; try again in {} s",
                left.as_secs() + 1
            ),
            SourceResult::Throttled,
        ));
    }
    let config = app.config();
    let Some(password) = config.source_password(name) else {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "Live sources are not configured for this station",
            SourceResult::NotConfigured,
        ));
    };
    match Credentials::of(request.headers()) {
        // libshout asks without credentials first, and waits for the challenge.
        None => {
            return Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                "Authentication required",
                SourceResult::Unauthorized,
            ))
        }
        Some(c) if !c.are(&config.live.user, password.expose()) => {
            crate::http::guard::log_failure(
                app.logins.failed(peer.ip(), Instant::now()),
                "live source",
                name,
                peer.ip(),
                &c.user,
            );
            return Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                "Authentication required",
                SourceResult::Unauthorized,
            ));
        }
        Some(_) => app.logins.succeeded(peer.ip()),
    }
    if let Some(refusal) = outside_live_slots(&station) {
        return Err(refusal);
    }
    let codec = station.info().codec();
    if let Some(content_type) = header(request.headers(), "content-type") {
        if !codec.accepts(&content_type) {
            return Err(Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Content type {content_type} is not this station's codec ({})",
                    codec.content_type()
                ),
                SourceResult::Unsupported,
            ));
        }
    }
    let track = live_track(&ice_fields(request.headers()), &station.meta().title);
    let Some(session) = station.live.input.connect(track, Rank::Pushed) else {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "Mountpoint in use",
            SourceResult::Busy,
        ));
    };
    Ok((station, session))
}

/// The refusal of a source outside `station`'s live-only slots (where it has some), naming
/// the next one.
fn outside_live_slots(station: &Station) -> Option<Refusal> {
    let schedule = station.schedule().filter(|s| s.has_live_slots())?;
    let now = station.clock_now();
    if schedule.takes_sources_at(now) {
        return None;
    }
    let next = match schedule.next_live_slot(now) {
        Some(o) => format!(
            "; the next, {}, starts {} ({})",
            schedule.slots[o.slot].name,
            schedule.grid.rfc3339(o.start),
            humantime::format_rfc3339_seconds(o.start)
        ),
        None => String::new(),
    };
    Some(Refusal::new(
        StatusCode::FORBIDDEN,
        format!("Live sources are taken only during this station's live slots{next}"),
        SourceResult::OutsideSlot,
    ))
}

/// Answers `refusal` the way Icecast does, then lets the client read it before the close.
async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    refusal: &Refusal,
    headers: &HeaderMap,
) {
    let reason = refusal.status.canonical_reason().unwrap_or("");
    let body = format!("{}\n", refusal.message);
    let challenge = if refusal.status == StatusCode::UNAUTHORIZED {
        format!("WWW-Authenticate: {CHALLENGE}\r\n")
    } else {
        String::new()
    };
    let answer = format!(
        "HTTP/1.0 {} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{challenge}Connection: close\r\n\r\n{body}",
        refusal.status.as_u16(),
        body.len(),
    );
    if !matches!(
        timeout(ANSWER_TIMEOUT, io.write_all(answer.as_bytes())).await,
        Ok(Ok(()))
    ) {
        return;
    }
    let _ = io.shutdown().await;
    // A client that sent audio before the answer (no `Expect`) would get a reset, and maybe
    // lose the answer, if the socket closed with its bytes unread: read a little first.
    let sized = headers.contains_key(http::header::CONTENT_LENGTH);
    let mut sink = [0u8; 4096];
    let until = Instant::now() + Duration::from_secs(1);
    let mut drained = 0;
    while !sized && drained < 256 * 1024 {
        match tokio::time::timeout_at(until, io.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => drained += n,
            _ => break,
        }
    }
}

/// Header `name` as text.
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The `ice-*` headers (and their older `icy-*` spellings).
pub(crate) fn ice_fields(headers: &HeaderMap) -> IceFields {
    // What a source says of itself reaches every status page: control characters out, 1 KiB
    // at most.
    let field = |name: &str| {
        header(headers, &format!("ice-{name}"))
            .or_else(|| header(headers, &format!("icy-{name}")))
            .map(|v| onair_core::clean_text(&v))
            .filter(|v| !v.is_empty())
    };
    IceFields {
        name: field("name"),
        description: field("description"),
        genre: field("genre"),
        url: field("url"),
        public: field("public").map(|v| v == "1" || v.eq_ignore_ascii_case("true")),
        audio_info: field("audio-info"),
    }
}
