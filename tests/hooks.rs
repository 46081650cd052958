//! Webhooks as an operator's receiver sees them: a station on air and its tracks, a live show
//! coming and going, listeners joining and leaving (where asked for), each body signed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use onair_tests::{eventually, sample, HttpResponse, TestServer};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECOND: Duration = Duration::from_secs(1);

/// What a receiver got: each body, parsed, with its `X-Onair-Signature` header and raw bytes.
type Received = Arc<Mutex<Vec<(Value, Option<String>, Vec<u8>)>>>;

/// A receiver on loopback that answers 204 to every POST and keeps what it was sent.
async fn receiver() -> (std::net::SocketAddr, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let got: Received = Arc::default();
    let kept = Arc::clone(&got);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let kept = Arc::clone(&kept);
            tokio::spawn(async move {
                let mut read = Vec::new();
                let mut buf = [0u8; 8192];
                loop {
                    let Ok(n) = socket.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    read.extend_from_slice(&buf[..n]);
                    let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&read[..end]).to_ascii_lowercase();
                    let header = |name: &str| {
                        head.lines().find_map(|l| {
                            l.strip_prefix(&format!("{name}:"))
                                .map(|v| v.trim().to_string())
                        })
                    };
                    let length: usize = header("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if read.len() < end + 4 + length {
                        continue;
                    }
                    let body = read[end + 4..end + 4 + length].to_vec();
                    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    kept.lock()
                        .expect("kept")
                        .push((json, header("x-onair-signature"), body));
                    let _ = socket.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await;
                    return;
                }
            });
        }
    });
    (addr, got)
}

fn events(got: &Received) -> Vec<String> {
    got.lock()
        .expect("kept")
        .iter()
        .map(|(json, _, _)| json["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

async fn wait_for(got: &Received, event: &str) -> Value {
    let started = tokio::time::Instant::now();
    loop {
        if let Some((json, _, _)) = got
            .lock()
            .expect("kept")
            .iter()
            .find(|(json, _, _)| json["event"] == event)
        {
            return json.clone();
        }
        assert!(
            started.elapsed() < 10 * SECOND,
            "no {event} within 10 s: {:?}",
            events(got)
        );
        tokio::time::sleep(SECOND / 10).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_hear_the_station_its_tracks_a_live_show_and_listeners() {
    let (station_hook, on_air) = receiver().await;
    let (listener_hook, listeners) = receiver().await;
    let config = format!(
        "[live]\npassword = \"pw\"\nbuffer_ms = 300\nsource_timeout_s = 1\n\
         [[hooks]]\nurl = \"http://{station_hook}/onair\"\nsecret = \"a shared secret\"\n\
         [[hooks]]\nurl = \"http://{listener_hook}/listeners\"\nevents = [\"listener_joined\", \"listener_left\"]\n"
    );
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], &config).await;
    let first = wait_for(&on_air, "station_on_air").await;
    assert_eq!(first["station"], "jazz");
    assert!(
        first["at"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{first}"
    );
    let track = wait_for(&on_air, "track").await;
    assert!(
        track["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{track}"
    );
    // Every body is signed with the hook's secret.
    for (_, signature, body) in on_air.lock().expect("kept").iter() {
        assert_eq!(
            signature.as_deref(),
            Some(onair_server::observe::hooks::signature(b"a shared secret", body).as_str())
        );
    }

    // A listener for a second: the second hook hears it join and leave; the first does not.
    let mut listener = HttpResponse::send(
        server.addr,
        "GET /jazz HTTP/1.1\r\nHost: test\r\nUser-Agent: mpv 0.35\r\n\r\n",
    )
    .await;
    listener.read_for(SECOND).await;
    drop(listener);
    let joined = wait_for(&listeners, "listener_joined").await;
    assert_eq!(
        (joined["via"].as_str(), joined["user_agent"].as_str()),
        (Some("stream"), Some("mpv 0.35"))
    );
    let left = wait_for(&listeners, "listener_left").await;
    assert_eq!(left["session"], joined["session"]);
    assert_eq!(left["reason"], "client_left");
    assert!(left["seconds"].as_f64().is_some_and(|s| s >= 0.9), "{left}");
    assert!(left["bytes"].as_u64().is_some_and(|b| b > 0), "{left}");
    assert!(
        !events(&on_air).iter().any(|e| e.starts_with("listener")),
        "{:?}",
        events(&on_air)
    );

    // A live show comes and goes.
    let mut source = onair_tests::live_source(&server, "jazz", "audio/aac").await;
    source
        .write_all(&sample("ambient.aac"))
        .await
        .expect("audio");
    let connected = wait_for(&on_air, "source_connected").await;
    assert_eq!(connected["content_type"], "audio/aac");
    wait_for(&on_air, "live_on").await;
    drop(source);
    wait_for(&on_air, "source_left").await;
    wait_for(&on_air, "live_off").await;
    eventually("the programme is back", 15 * SECOND, || {
        server
            .registry
            .get("jazz")
            .is_some_and(|s| !s.live.on_air())
    })
    .await;
    // The posts are counted for the operator.
    let mut metrics = server.get("/metrics").await;
    metrics.read_full(2 * SECOND).await;
    let metrics = String::from_utf8_lossy(&metrics.body).to_string();
    let sent = metrics
        .lines()
        .find_map(|l| l.strip_prefix("onair_outbox_posts_total{result=\"sent\"} "))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(sent.is_some_and(|n| n >= 6), "{metrics}");
    assert!(
        metrics.contains("onair_outbox_posts_total{result=\"dropped\"} 0"),
        "{metrics}"
    );
    let order = events(&on_air);
    let at = |e: &str| order.iter().position(|x| x == e).unwrap_or(usize::MAX);
    assert!(at("station_on_air") < at("source_connected"), "{order:?}");
    assert!(at("source_connected") < at("live_on"), "{order:?}");
}
