//! Who asks, as the audience and the access log see it: the client behind trusted proxies, and
//! the request line with its secrets left out.

use http::header::{REFERER, USER_AGENT};
use http::Request;

use crate::app::Conn;
use crate::stations::audience::Client;

/// Query keys whose values are secrets: never written to a log.
const SECRET_KEYS: [&str; 4] = ["token", "pass", "password", "key"];

/// Who is asking: the client's address (behind trusted proxies), user agent and referer (at
/// most 200 characters each).
pub fn client_of<B>(config: &crate::config::Config, req: &Request<B>, conn: &Conn) -> Client {
    let address = crate::http::proxy::client_ip(
        conn.peer.ip(),
        req.headers(),
        &config.server.trusted_proxies,
    );
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect::<String>())
    };
    Client {
        address,
        user_agent: header(USER_AGENT).unwrap_or_else(|| "-".into()).into(),
        referer: header(REFERER).map(Into::into),
        user: None,
    }
}

/// The request line, as the access log shows it: a signed URL's token and a password in the
/// query (Icecast's admin API takes `pass=`) are shown as `REDACTED`.
pub fn request_line<B>(req: &Request<B>) -> String {
    let uri = req.uri();
    let mut target = uri.path().to_string();
    if let Some(query) = uri.query() {
        target.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                target.push('&');
            }
            match pair.split_once('=') {
                Some((key, _)) if SECRET_KEYS.contains(&key) => {
                    target.push_str(key);
                    target.push_str("=REDACTED");
                }
                _ => target.push_str(pair),
            }
        }
    }
    format!("{} {target} {:?}", req.method(), req.version())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_the_query_never_reach_the_log() {
        let req = Request::get("/jazz.m3u8?session=ab&token=1767225600.c2VjcmV0&pass=hunter2")
            .body(())
            .unwrap_or_default();
        assert_eq!(
            request_line(&req),
            "GET /jazz.m3u8?session=ab&token=REDACTED&pass=REDACTED HTTP/1.1"
        );
        let plain = Request::get("/jazz").body(()).unwrap_or_default();
        assert_eq!(request_line(&plain), "GET /jazz HTTP/1.1");
    }
}
