//! Icecast's admin API, the part encoders and automation use:
//!
//! - `GET /admin/metadata?mount=/<name>&mode=updinfo&song=...` (also `artist` and `title`, and
//!   `charset`): the live title, for every listener's next ICY block, status, `/events`, the
//!   page and the next HLS segment. The station's source credentials or the admin's.
//! - `GET /admin/killsource?mount=/<name>`: cuts the live source off; the programme comes back
//!   at the next chunk. Admin only.
//! - `GET /admin/listclients?mount=/<name>`: the station's stream listeners (address, user
//!   agent, seconds connected) and source. Admin only.
//!
//! Answers are Icecast's XML. Without an admin password the admin-only commands are refused;
//! wrong credentials count against the address like a source's.

use std::borrow::Cow;
use std::net::IpAddr;

use http::header::{HeaderValue, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, Response, StatusCode};
use tokio::time::Instant;

use crate::app::App;
use crate::http::auth::{Credentials, CHALLENGE};
use crate::http::body::Body;
use crate::http::guard::Verdict;
use crate::http::responses::html_escape;
use crate::http::route::AdminCommand;
use crate::stations::audience::SessionId;
use crate::stations::Station;

/// Who may run a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowed {
    /// The admin, or the station's source.
    AdminOrSource,
    /// The admin only.
    Admin,
}

/// Answers an admin request.
pub fn respond(
    app: &App,
    command: AdminCommand,
    query: Option<&str>,
    headers: &HeaderMap,
    client: IpAddr,
    base: &str,
) -> Response<Body> {
    let params = Params::parse(query.unwrap_or(""));
    let name = params
        .get("mount")
        .map(|m| m.trim_start_matches('/').to_string())
        .unwrap_or_default();
    let allowed = match command {
        AdminCommand::Metadata => Allowed::AdminOrSource,
        AdminCommand::KillSource
        | AdminCommand::ListClients
        | AdminCommand::Status
        | AdminCommand::Reports
        | AdminCommand::KillClient
        | AdminCommand::Dashboard => Allowed::Admin,
        AdminCommand::Unknown => {
            return xml(StatusCode::NOT_FOUND, &answer("Unknown admin command", 0))
        }
    };
    if let Some(refused) = refusal(app, allowed, &name, headers, client) {
        return refused;
    }
    if command == AdminCommand::Status {
        return crate::http::responses::json(&crate::observe::status::status(
            app,
            base,
            crate::observe::status::View::Admin,
        ));
    }
    if command == AdminCommand::Dashboard {
        return crate::observe::dashboard::page();
    }
    if command == AdminCommand::Reports {
        return crate::observe::analytics::respond(&app.config(), app.clock().now(), &|key| {
            params.get(key)
        });
    }
    let Some(station) = app.registry.get(&name) else {
        return xml(StatusCode::BAD_REQUEST, &answer("Source does not exist", 0));
    };
    match command {
        AdminCommand::Metadata => metadata(&station, &params),
        AdminCommand::KillSource => {
            if station.live.cut_off() {
                tracing::info!(station = %name, "live source cut off by the admin");
                xml(StatusCode::OK, &answer("Source Removed", 1))
            } else {
                xml(StatusCode::BAD_REQUEST, &answer("No live source", 0))
            }
        }
        AdminCommand::ListClients => list_clients(&station),
        AdminCommand::KillClient => {
            let id = params
                .get("id")
                .and_then(|id| id.trim().parse::<u64>().ok());
            match id.map(SessionId::new) {
                Some(id) if station.audience().kick(id) => {
                    tracing::info!(station = %name, session = %id, "listener removed by the admin");
                    xml(StatusCode::OK, &answer("Client removed", 1))
                }
                _ => xml(StatusCode::BAD_REQUEST, &answer("Client not found", 0)),
            }
        }
        // Status was answered above, station or not.
        AdminCommand::Status
        | AdminCommand::Reports
        | AdminCommand::Dashboard
        | AdminCommand::Unknown => xml(StatusCode::NOT_FOUND, &answer("Unknown admin command", 0)),
    }
}

/// The answer to a command on station `name` whose credentials do not allow it, if they do
/// not.
fn refusal(
    app: &App,
    allowed: Allowed,
    name: &str,
    headers: &HeaderMap,
    client: IpAddr,
) -> Option<Response<Body>> {
    if let Verdict::Refused(_) = app.logins.check(client, Instant::now()) {
        return Some(xml(
            StatusCode::TOO_MANY_REQUESTS,
            &answer("Too many failed logins", 0),
        ));
    }
    let config = app.config();
    let admin = config.secrets.admin.as_ref();
    let source = match allowed {
        Allowed::AdminOrSource => config.source_password(name),
        Allowed::Admin => None,
    };
    if admin.is_none() && source.is_none() {
        return Some(xml(
            StatusCode::FORBIDDEN,
            &answer("The admin API is not configured", 0),
        ));
    }
    let Some(credentials) = Credentials::of(headers) else {
        return Some(challenge());
    };
    let is_admin = admin.is_some_and(|p| credentials.are(&config.admin.user, p.expose()));
    let is_source = source.is_some_and(|p| credentials.are(&config.live.user, p.expose()));
    if is_admin || is_source {
        app.logins.succeeded(client);
        return None;
    }
    crate::http::guard::log_failure(
        app.logins.failed(client, Instant::now()),
        "admin",
        name,
        client,
        &credentials.user,
    );
    Some(challenge())
}

/// `mode=updinfo`: the live title.
fn metadata(station: &Station, params: &Params) -> Response<Body> {
    if params.get("mode").as_deref() != Some("updinfo") {
        return xml(StatusCode::BAD_REQUEST, &answer("Unknown metadata mode", 0));
    }
    if station.live.source().is_none() {
        return xml(
            StatusCode::BAD_REQUEST,
            &answer("No live source on this station", 0),
        );
    }
    let (song, artist, title) = (
        params.get("song"),
        params.get("artist"),
        params.get("title"),
    );
    station
        .live
        .set_title(song.as_deref(), artist.as_deref(), title.as_deref());
    tracing::debug!(station = %station.name, "live metadata updated");
    xml(StatusCode::OK, &answer("Metadata update successful", 1))
}

/// The station's listeners (session, address, user agent, seconds connected; HLS sessions
/// marked `<Protocol>hls</Protocol>`) and its source.
fn list_clients(station: &Station) -> Response<Body> {
    let listener = |id: SessionId,
                    client: &crate::stations::audience::Client,
                    seconds: u64,
                    hls: bool| {
        format!(
            "<listener id=\"{}\"><IP>{}</IP><UserAgent>{}</UserAgent><Connected>{seconds}</Connected>{}</listener>",
            id.get(),
            client.address,
            html_escape(&client.user_agent),
            if hls { "<Protocol>hls</Protocol>" } else { "" }
        )
    };
    let audience = station.audience();
    let stream = audience.stream_listeners();
    let hls = audience.hls_sessions();
    let count = stream.len() + hls.len();
    let listeners: String = stream
        .iter()
        .map(|(id, l)| listener(*id, &l.client, l.since.1.elapsed().as_secs(), false))
        .chain(
            hls.iter()
                .map(|(id, s)| listener(*id, &s.client, s.began.1.elapsed().as_secs(), true)),
        )
        .collect();
    let source = station.live.source().map_or(String::new(), |s| {
        format!(
            "<source><IP>{}</IP><UserAgent>{}</UserAgent><Connected>{}</Connected></source>",
            s.address.ip(),
            html_escape(&s.user_agent),
            s.since.elapsed().map_or(0, |d| d.as_secs())
        )
    });
    let body = format!(
        "<?xml version=\"1.0\"?>\n<icestats><source mount=\"/{}\"><Listeners>{}</Listeners>{listeners}{source}</source></icestats>\n",
        html_escape(&station.name),
        count
    );
    xml(StatusCode::OK, &body)
}

/// Icecast's answer to a command.
fn answer(message: &str, ok: u8) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<iceresponse><message>{}</message><return>{ok}</return></iceresponse>\n",
        html_escape(message)
    )
}

fn xml(status: StatusCode, body: &str) -> Response<Body> {
    let mut response = Response::new(Body::full(bytes::Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    response
}

fn challenge() -> Response<Body> {
    let mut response = xml(
        StatusCode::UNAUTHORIZED,
        &answer("Authentication required", 0),
    );
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
    response
}

/// A query string's parameters, decoded in the `charset` it names (UTF-8 by default; Latin-1
/// as older encoders send).
struct Params(Vec<(String, Vec<u8>)>);

impl Params {
    fn parse(query: &str) -> Params {
        let decode = |s: &str| -> Vec<u8> {
            let spaced = s.replace('+', " ");
            percent_encoding::percent_decode_str(&spaced).collect()
        };
        Params(
            query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (String::from_utf8_lossy(&decode(k)).into_owned(), decode(v))
                })
                .collect(),
        )
    }

    /// Parameter `key` as text (the first of its name).
    fn get(&self, key: &str) -> Option<String> {
        let latin1 = self.raw("charset").is_some_and(|c| {
            let c = String::from_utf8_lossy(c).to_ascii_lowercase();
            c == "iso-8859-1" || c == "latin1" || c == "latin-1"
        });
        let value = self.raw(key)?;
        let text: Cow<'_, str> = if latin1 {
            Cow::Owned(value.iter().map(|&b| char::from(b)).collect())
        } else {
            String::from_utf8_lossy(value)
        };
        Some(text.into_owned())
    }

    fn raw(&self, key: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_decode_in_their_charset() {
        let p = Params::parse("mount=%2Fjazz&mode=updinfo&song=Caf%C3%A9+Noir");
        assert_eq!(p.get("mount").as_deref(), Some("/jazz"));
        assert_eq!(p.get("song").as_deref(), Some("Café Noir"));
        let p = Params::parse("song=Caf%E9&charset=ISO-8859-1");
        assert_eq!(p.get("song").as_deref(), Some("Café"));
        assert_eq!(p.get("missing"), None);
    }
}
