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
