//! The gate of a closed station: what a request offers (a signed URL's `?token=`, a user name
//! and password) put to the station's [`Policy`], and the answer to a listener it keeps out.
//! The same for a stream, its `.m3u`/`.pls` playlists and HLS.

use http::header::{HeaderValue, CACHE_CONTROL, HOST, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Request, Response, StatusCode};

use super::who::client_of;
use crate::app::{App, Conn};
use crate::config::Listen;
use crate::http::auth::Credentials;
use crate::http::body::Body;
use crate::http::responses::{escape_text, text};
use crate::http::route::query_value;
use crate::stations::audience::authorize::{Admitted, Asker, Denied, Offered, Policy};
use crate::stations::audience::token::TokenError;
use crate::stations::audience::SessionId;
use crate::stations::Station;

/// Lets the request in to `station` as `session` (a stream's is new; an HLS player's is in its
/// playlist's URL, or new), or answers why not.
pub async fn admit<B>(
    app: &App,
    station: &Station,
    req: &Request<B>,
    conn: &Conn,
    session: SessionId,
) -> Result<Admitted, Box<Response<Body>>> {
    let config = app.config();
    // Most stations are open: nothing more is looked at.
    if config.listen_for(&station.name) == Listen::Open {
        return Ok(Admitted::default());
    }
    let policy = Policy::of(&config, &station.name);
    let client = client_of(&config, req, conn);
    let address = client.address;
    let authority = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<http::uri::Authority>().ok());
    let default_port = if conn.secure { 443 } else { 80 };
    let offered = Offered {
        token: query_value(req.uri().query(), "token"),
        credentials: Credentials::of(req.headers()),
        asker: Asker {
            target: req.uri().path_and_query().map_or("/", |p| p.as_str()),
            user_agent: &client.user_agent,
            referer: client.referer.as_deref(),
            session: Some(session),
            host: authority.as_ref().map_or("", |a| a.host()),
            port: authority
                .as_ref()
                .and_then(|a| a.port_u16())
                .unwrap_or(default_port),
        },
    };
    policy
        .authorize(
            &station.name,
            address,
            offered,
            &app.logins,
            app.clock().now(),
        )
        .await
        .map_err(|denied| Box::new(refusal(&station.name, &denied)))
}

/// The answer to a listener kept out of station `name`: 401 with a challenge where a password
/// would do, 403 for a missing or bad link, 429 after too many wrong passwords. The body says
/// why, for the listener.
fn refusal(name: &str, denied: &Denied) -> Response<Body> {
    let name = escape_text(name);
    let (status, why) = match denied {
        Denied::LoginWanted => (
            StatusCode::UNAUTHORIZED,
            format!("/{name} is for its members: log in with your user name and password\n"),
        ),
        Denied::WrongLogin => (
            StatusCode::UNAUTHORIZED,
            "wrong user name or password\n".to_string(),
        ),
        Denied::TokenWanted => (
            StatusCode::FORBIDDEN,
            format!("/{name} is for listeners with a link from the station (its URL ends in ?token=...)\n"),
        ),
        Denied::BadToken(TokenError::Expired(at)) => (
            StatusCode::FORBIDDEN,
            format!(
                "this link to /{name} expired at {}; ask the station for a new one\n",
                humantime::format_rfc3339_seconds(*at)
            ),
        ),
        Denied::BadToken(_) => (
            StatusCode::FORBIDDEN,
            format!("this link's token is not valid for /{name} (or not from this address)\n"),
        ),
        Denied::ServiceRefused(reason) => (
            StatusCode::FORBIDDEN,
            match reason {
                Some(reason) => format!("/{name}: {reason}\n"),
                None => format!("/{name} is for its members; the station's service said no\n"),
            },
        ),
        Denied::ServiceDown => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("/{name} cannot check listeners now; try again later\n"),
        ),
        Denied::Throttled(left) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many wrong passwords; try again in {} s\n",
                left.as_secs() + 1
            ),
        ),
    };
    let mut response = text(status, why);
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        if let Ok(challenge) =
            HeaderValue::from_str(&format!("Basic realm=\"onair /{name}\", charset=\"UTF-8\""))
        {
            h.insert(WWW_AUTHENTICATE, challenge);
        }
    }
    match denied {
        Denied::Throttled(left) => {
            h.insert(RETRY_AFTER, HeaderValue::from(left.as_secs() + 1));
        }
        Denied::ServiceDown => {
            h.insert(RETRY_AFTER, HeaderValue::from_static("30"));
        }
        _ => {}
    }
    response
}
