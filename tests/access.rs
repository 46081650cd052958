//! Who may listen, as a listener and an attacker meet it: signed URLs that admit until their
//! expiry, users and passwords from an htpasswd file, and HLS players carrying either through
//! their playlists, in ffmpeg as in a test client.

use std::time::{Duration, SystemTime};

use onair_core::WallClock;
use onair_server::config::Secret;
use onair_server::stations::audience::token;
use onair_tests::{ffmpeg_decode, sample, HttpResponse, TestServer};

const SECOND: Duration = Duration::from_secs(1);
const KEY: &str = "a test key of twenty characters";
const HLS: &str = "[hls]\nsegment_ms = 1000\nwindow_s = 6\n";

async fn get(server: &TestServer, path: &str, headers: &str) -> HttpResponse {
    let mut response = HttpResponse::send(
        server.addr,
        &format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{headers}\r\n"),
    )
    .await;
    response.read_full(3 * SECOND).await;
    response
}

/// The head and the first audio of a stream, then the connection closed.
async fn listen(server: &TestServer, path: &str, headers: &str) -> HttpResponse {
    let mut response = HttpResponse::send(
        server.addr,
        &format!("GET {path} HTTP/1.1\r\nHost: test\r\n{headers}\r\n"),
    )
    .await;
    if response.status() == 200 {
        response.read_at_least(4096, 3 * SECOND).await;
    } else {
        response.read_full(3 * SECOND).await;
    }
    response
}

fn text(response: &HttpResponse) -> String {
    String::from_utf8_lossy(&response.body).to_string()
}

fn sign(station: &str, valid: Duration, now: SystemTime) -> String {
    token::sign(&Secret::new(KEY.into()), station, now + valid, None)
}

/// The first URI a playlist lists.
fn first_uri(playlist: &str) -> String {
    playlist
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .unwrap_or_else(|| panic!("no URI in {playlist}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_url_admits_until_its_expiry_and_hls_carries_it() {
    let server = TestServer::start(
        &[
            ("radio.aac", &sample("jazz.aac")),
            ("open.aac", &sample("ambient.aac")),
        ],
        &format!("{HLS}[access]\ntoken_keys = [{KEY:?}]\n[stations.radio]\nlisten = \"token\"\n"),
    )
    .await;
    // The other station stays open.
    assert_eq!(listen(&server, "/open", "").await.status(), 200);
    let refused = listen(&server, "/radio", "").await;
    assert_eq!(refused.status(), 403);
    assert!(
        text(&refused).contains("link from the station"),
        "{}",
        text(&refused)
    );
    for closed in [
        "/radio.m3u8",
        "/radio.m3u",
        "/radio/0.aac",
        "/radio/index.m3u8",
    ] {
        assert_eq!(get(&server, closed, "").await.status(), 403, "{closed}");
    }

    let now = server.clock.now();
    let token = sign("radio", Duration::from_secs(3600), now);
    assert_eq!(
        listen(&server, &format!("/radio?token={token}"), "")
            .await
            .status(),
        200
    );
    // Signed for another station, or forged: refused.
    let other = sign("open", Duration::from_secs(3600), now);
    let forged = token::sign(
        &Secret::new("another key of 20 chars".into()),
        "radio",
        now + Duration::from_secs(3600),
        None,
    );
    for bad in [other, forged, "1.2".to_string()] {
        let response = listen(&server, &format!("/radio?token={bad}"), "").await;
        assert_eq!(response.status(), 403, "{bad}");
        assert!(text(&response).contains("not valid"), "{}", text(&response));
    }
    // Bound to an address: only from there.
    let bound = token::sign(
        &Secret::new(KEY.into()),
        "radio",
        now + Duration::from_secs(60),
        Some([127, 0, 0, 1].into()),
    );
    assert_eq!(
        listen(&server, &format!("/radio?token={bound}"), "")
            .await
            .status(),
        200
    );
    let elsewhere = token::sign(
        &Secret::new(KEY.into()),
        "radio",
        now + Duration::from_secs(60),
        Some([192, 0, 2, 1].into()),
    );
    assert_eq!(
        listen(&server, &format!("/radio?token={elsewhere}"), "")
            .await
            .status(),
        403
    );

    // The playlist names the stream with the token.
    let m3u = text(&get(&server, &format!("/radio.m3u?token={token}"), "").await);
    assert!(m3u.contains(&format!("/radio?token={token}\n")), "{m3u}");
    // HLS: the multivariant playlist carries it to the media playlist, which carries it to every
    // segment; a segment without it is refused.
    let main = text(&get(&server, &format!("/radio.m3u8?token={token}"), "").await);
    let variant = first_uri(&main);
    assert!(
        variant.starts_with("radio.m3u8?session=") && variant.ends_with(&format!("&token={token}")),
        "{main}"
    );
    let media = text(&get(&server, &format!("/{variant}"), "").await);
    let segment = first_uri(&media);
    assert!(segment.ends_with(&format!(".aac?token={token}")), "{media}");
    assert_eq!(get(&server, &format!("/{segment}"), "").await.status(), 200);
    let bare = segment.split('?').next().unwrap_or_default().to_string();
    assert_eq!(get(&server, &format!("/{bare}"), "").await.status(), 403);
    // ffmpeg plays the signed HLS URL as a listener pastes it.
    let url = format!("http://{}/radio.m3u8?token={token}", server.addr);
    if let Some(errors) = ffmpeg_decode(&url, 4).await {
        assert!(errors.is_empty(), "{errors}");
    }

    // An hour later the link has expired: refused, saying so.
    server.clock.advance(Duration::from_secs(3601));
    let expired = listen(&server, &format!("/radio?token={token}"), "").await;
    assert_eq!(expired.status(), 403);
    assert!(text(&expired).contains("expired at"), "{}", text(&expired));
}

/// Basic credentials for `user:password`.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Authorization: Basic {encoded}\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn htpasswd_users_listen_and_hls_players_carry_their_login() {
    let users = tempfile::tempdir().expect("temp dir");
    let file = users.path().join("listeners.htpasswd");
    let hash = bcrypt::hash("s3cret pass", 5).expect("bcrypt");
    std::fs::write(&file, format!("# members\nann:{hash}\n")).expect("htpasswd");
    let logs = users.path().join("access.log");
    let server = TestServer::start(
        &[("radio.aac", &sample("jazz.aac"))],
        &format!(
            "{HLS}[access]\nlisten = \"password\"\ntoken_keys = [{KEY:?}]\nhtpasswd = {:?}\n[log]\naccess = {:?}\n",
            file.display().to_string(),
            logs.display().to_string()
        ),
    )
    .await;
    let asked = listen(&server, "/radio", "").await;
    assert_eq!(asked.status(), 401);
    assert_eq!(
        asked.header("www-authenticate"),
        Some("Basic realm=\"onair /radio\", charset=\"UTF-8\"")
    );
    assert_eq!(
        listen(&server, "/radio", &basic("ann", "wrong"))
            .await
            .status(),
        401
    );
    assert_eq!(
        listen(&server, "/radio", &basic("bob", "s3cret pass"))
            .await
            .status(),
        401
    );
    let ann = listen(&server, "/radio", &basic("ann", "s3cret pass")).await;
    assert_eq!(ann.status(), 200);
    drop(ann);

    // HLS: logged in once, the player's URLs carry a link the server signed, so its later
    // requests need no password (hls.js and ffmpeg send none with segments).
    let main = text(&get(&server, "/radio.m3u8", &basic("ann", "s3cret pass")).await);
    let variant = first_uri(&main);
    assert!(variant.contains("&token="), "{main}");
    let media = get(&server, &format!("/{variant}"), "").await;
    assert_eq!(media.status(), 200);
    let segment = first_uri(&text(&media));
    assert_eq!(get(&server, &format!("/{segment}"), "").await.status(), 200);
    // ffmpeg with the login in its URL.
    let url = format!("http://ann:s3cret%20pass@{}/radio.m3u8", server.addr);
    if let Some(errors) = ffmpeg_decode(&url, 3).await {
        assert!(errors.is_empty(), "{errors}");
    }

    // Guessing: after five wrong passwords the address is refused a while, even with the
    // right one.
    for _ in 0..5 {
        assert_eq!(
            listen(&server, "/radio", &basic("ann", "guess"))
                .await
                .status(),
            401
        );
    }
    let throttled = listen(&server, "/radio", &basic("ann", "s3cret pass")).await;
    assert_eq!(throttled.status(), 429);
    assert!(throttled.header("retry-after").is_some());
    server.wait_listeners("radio", 0, 5 * SECOND).await;
    server.shutdown().await;
    // The access log names the user, never the password or the link.
    let log = std::fs::read_to_string(&logs).expect("access log");
    assert!(
        log.lines()
            .any(|l| l.starts_with("127.0.0.1 - ann [")
                && l.contains("\"GET /radio HTTP/1.1\" 200 ")),
        "{log}"
    );
    assert!(!log.contains("s3cret"), "{log}");
    let tokens: Vec<&str> = log.lines().filter(|l| l.contains("token=")).collect();
    assert!(
        !tokens.is_empty() && tokens.iter().all(|l| l.contains("token=REDACTED")),
        "{log}"
    );
}

/// The forms a service was sent, each as its pairs.
type Forms = std::sync::Arc<std::sync::Mutex<Vec<Vec<(String, String)>>>>;

/// A stand-in for an operator's membership service (Icecast's URL authentication): it admits
/// `listener_add` requests whose mount carries `member=yes`, refuses the rest with a reason, and
/// keeps every form it was sent.
struct Service {
    addr: std::net::SocketAddr,
    forms: Forms,
    task: tokio::task::JoinHandle<()>,
}

impl Service {
    async fn start() -> Service {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let forms = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&forms);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let kept = std::sync::Arc::clone(&kept);
                tokio::spawn(async move {
                    let mut read = Vec::new();
                    let mut buf = [0u8; 4096];
                    // The head, then as much body as Content-Length says.
                    let body = loop {
                        let Ok(n) = socket.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        read.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&read).to_string();
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let length = head
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                                })
                                .unwrap_or(0);
                            if body.len() >= length {
                                break body.to_string();
                            }
                        }
                    };
                    let form: Vec<(String, String)> = body
                        .split('&')
                        .filter_map(|p| p.split_once('='))
                        .map(|(k, v)| (k.to_string(), percent_decode(v)))
                        .collect();
                    let mount = form
                        .iter()
                        .find(|(k, _)| k == "mount")
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    kept.lock().expect("forms").push(form);
                    let answer = if mount.contains("member=yes") {
                        "HTTP/1.1 200 OK\r\nicecast-auth-user: 1\r\nContent-Length: 0\r\n\r\n"
                    } else {
                        "HTTP/1.1 200 OK\r\nicecast-auth-message: your subscription has ended\r\nContent-Length: 0\r\n\r\n"
                    };
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        Service { addr, forms, task }
    }

    fn forms(&self, action: &str) -> Vec<std::collections::HashMap<String, String>> {
        self.forms
            .lock()
            .expect("forms")
            .iter()
            .filter(|f| f.iter().any(|(k, v)| k == "action" && v == action))
            .map(|f| f.iter().cloned().collect())
            .collect()
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_authentication_asks_the_service_and_tells_it_who_left() {
    let service = Service::start().await;
    let config = |down: &str, addr: std::net::SocketAddr| {
        format!(
            "{HLS}[access]\nlisten = \"url\"\ntoken_keys = [{KEY:?}]\nurl_add = \"http://{addr}/auth\"\nurl_remove = \"http://{addr}/auth\"\nurl_timeout_ms = 1000\nurl_down = {down:?}\n"
        )
    };
    let server = TestServer::start(
        &[("radio.aac", &sample("jazz.aac"))],
        &config("refuse", service.addr),
    )
    .await;
    // Admitted: the service was asked with the listener's mount, address and user agent.
    let mut member = HttpResponse::send(
        server.addr,
        "GET /radio?member=yes HTTP/1.1\r\nHost: radio.test:8000\r\nUser-Agent: mpv 0.35\r\n\r\n",
    )
    .await;
    assert_eq!(member.status(), 200);
    member.read_for(2 * SECOND).await;
    let added = service.forms("listener_add");
    assert_eq!(added.len(), 1, "{added:?}");
    let add = &added[0];
    assert_eq!(add["mount"], "/radio?member=yes");
    assert_eq!(
        (add["ip"].as_str(), add["agent"].as_str()),
        ("127.0.0.1", "mpv 0.35")
    );
    assert_eq!(
        (add["server"].as_str(), add["port"].as_str()),
        ("radio.test", "8000")
    );
    assert!(!add["client"].is_empty());
    // Refused, with the service's reason.
    let refused = listen(&server, "/radio?member=no", "").await;
    assert_eq!(refused.status(), 403);
    assert!(
        text(&refused).contains("your subscription has ended"),
        "{}",
        text(&refused)
    );
    // The member leaves after two seconds: the service hears of the same client, with the time.
    drop(member);
    let started = tokio::time::Instant::now();
    while service.forms("listener_remove").is_empty() {
        assert!(started.elapsed() < 5 * SECOND, "no listener_remove");
        tokio::time::sleep(SECOND / 10).await;
    }
    let removed = &service.forms("listener_remove")[0];
    assert_eq!(removed["client"], add["client"]);
    assert_eq!(removed["mount"], "/radio");
    assert!(
        ["2", "3"].contains(&removed["duration"].as_str()),
        "{removed:?}"
    );
    // HLS: asked once, at the player's first playlist; the playlists carry a link after that.
    let main = text(&get(&server, "/radio.m3u8?member=yes", "").await);
    let variant = first_uri(&main);
    assert!(variant.contains("&token="), "{main}");
    assert_eq!(get(&server, &format!("/{variant}"), "").await.status(), 200);
    assert_eq!(service.forms("listener_add").len(), 3);
    let hls_client = &service.forms("listener_add")[2]["client"];
    let session = variant
        .split("session=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .unwrap_or_default();
    assert_eq!(
        u64::from_str_radix(session, 16)
            .ok()
            .map(|s| s.to_string())
            .as_ref(),
        Some(hls_client),
        "the HLS session is the client the service was told of"
    );

    // The service goes down: refused with 503 (url_down = "refuse"), then admitted once the
    // config says "admit".
    service.task.abort();
    while !service.task.is_finished() {
        tokio::time::sleep(SECOND / 20).await;
    }
    let down = listen(&server, "/radio?member=yes", "").await;
    assert_eq!(down.status(), 503);
    assert!(down.header("retry-after").is_some());
    server.edit_config(&config("admit", service.addr));
    let started = tokio::time::Instant::now();
    loop {
        if listen(&server, "/radio?member=yes", "").await.status() == 200 {
            break;
        }
        assert!(
            started.elapsed() < 5 * SECOND,
            "url_down = admit never applied"
        );
        tokio::time::sleep(SECOND / 5).await;
    }
}
