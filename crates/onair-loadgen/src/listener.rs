//! One simulated listener: connect, request, read the body for a while, and measure it.

use std::cell::RefCell;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{timeout, timeout_at, Instant};
use tokio_rustls::client::TlsStream;

use crate::stream_check::{Dechunker, FrameWalker, IcyStripper};

/// A read with no bytes for longer than this is a stall.
pub const STALL: Duration = Duration::from_millis(1500);
/// The burst is what arrives in the first 500 ms.
pub const BURST_WINDOW: Duration = Duration::from_millis(500);
/// The steady rate is measured from this long after the first byte.
pub const STEADY_FROM: Duration = Duration::from_secs(2);

thread_local! {
    /// One read buffer for every listener on this thread: a read borrows it only between two
    /// awaits, so 20,000 listeners cost one buffer, not 20,000.
    static READ_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; 256 * 1024]);
}

/// What to request.
#[derive(Debug, Clone)]
pub struct Target {
    /// Server address.
    pub addr: SocketAddr,
    /// `Host` header.
    pub host: String,
    /// Request path.
    pub path: String,
    /// Ask for ICY metadata.
    pub icy: bool,
    /// TLS (an `https://` URL).
    pub tls: Option<crate::tls::Tls>,
}

impl Target {
    /// The target of `url` (loopback only): its address, `Host`, path, and TLS for `https://`.
    pub fn parse(
        url: &str,
        icy: bool,
        tls_ca: Option<&std::path::Path>,
        hls: bool,
    ) -> Result<Target, String> {
        let (rest, tls, default_port) =
            match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
                (Some(rest), _) => (rest, false, 80),
                (_, Some(rest)) => (rest, true, 443),
                _ => return Err(format!("{url}: only http:// and https:// URLs")),
            };
        if tls && hls {
            return Err(format!("{url}: HLS players speak plain HTTP here"));
        }
        let (host, path) = rest
            .split_once('/')
            .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
        let with_port = if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:{default_port}")
        };
        let addr: SocketAddr = with_port
            .to_socket_addrs()
            .map_err(|e| format!("{host}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host}: no address"))?;
        if !addr.ip().is_loopback() {
            return Err(format!("{addr}: load goes to loopback addresses only"));
        }
        let tls = match (tls, tls_ca) {
            (false, _) => None,
            (true, None) => return Err(format!("{url}: https:// needs --tls-ca")),
            (true, Some(ca)) => Some(crate::tls::client(ca, host)?),
        };
        Ok(Target {
            addr,
            host: host.to_string(),
            path,
            icy,
            tls,
        })
    }
}

/// What one listener saw.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Why it failed, if it did.
    pub failure: Option<String>,
    /// HTTP status (0 when none was read).
    pub status: u16,
    /// TCP connect time.
    pub connect: Duration,
    /// From the request sent to the first response byte.
    pub ttfb: Duration,
    /// Body bytes in the first 500 ms after the first body byte.
    pub burst_bytes: u64,
    /// Audio in those bytes.
    pub burst_audio: Duration,
    /// Audio received divided by wall time, after [`STEADY_FROM`].
    pub steady_ratio: Option<f64>,
    /// Body bytes per second after [`STEADY_FROM`].
    pub steady_rate: Option<f64>,
    /// Gaps of more than [`STALL`] between reads.
    pub stalls: u64,
    /// The longest time between two reads of the body.
    pub max_gap: Duration,
    /// Body bytes in all.
    pub bytes: u64,
    /// Frame walk of the audio (ADTS or MPEG).
    pub sync_at_start: Option<bool>,
    /// Whole frames.
    pub frames: u64,
    /// Frame-chain breaks.
    pub resyncs: u64,
    /// Bytes outside frames.
    pub garbage: u64,
    /// ICY blocks seen.
    pub icy_blocks: u64,
    /// The server closed the stream before the end.
    pub ended_early: bool,
}

/// Source addresses spread over: 20,000 connections from one address to one port would nearly
/// exhaust the ephemeral port range, and the kernel's port search would slow every connect.
const SOURCE_ADDRESSES: u32 = 64;

/// Connects from the `n`th of [`SOURCE_ADDRESSES`] loopback addresses (for an IPv4 loopback
/// target), with a zero linger so that ending the run leaves no TIME_WAIT behind.
pub(crate) async fn connect(target: SocketAddr, n: u32) -> std::io::Result<TcpStream> {
    let socket = match target {
        SocketAddr::V4(v4) if v4.ip().is_loopback() => {
            let socket = TcpSocket::new_v4()?;
            let source = std::net::Ipv4Addr::from(
                u32::from(std::net::Ipv4Addr::new(127, 0, 1, 1)) + n % SOURCE_ADDRESSES,
            );
            socket.bind(SocketAddr::from((source, 0)))?;
            socket
        }
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    let stream = socket.connect(target).await?;
    stream.set_zero_linger()?;
    Ok(stream)
}

/// Listens to `target` for `seconds`; `n` numbers the listener.
pub async fn listen(target: &Target, seconds: Duration, n: u32) -> Outcome {
    let mut outcome = Outcome::default();
    let started = Instant::now();
    let stream = match timeout(Duration::from_secs(10), connect(target.addr, n)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return failed(outcome, format!("connect: {}", e.kind())),
        Err(_) => return failed(outcome, "connect: timed out".into()),
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: onair-loadgen\r\n{}\r\n",
        target.path,
        target.host,
        if target.icy {
            "Icy-MetaData: 1\r\n"
        } else {
            ""
        }
    );
    let deadline = started + seconds;
    match &target.tls {
        None => {
            outcome.connect = started.elapsed();
            let mut stream = stream;
            if let Err(e) = stream.write_all(request.as_bytes()).await {
                return failed(outcome, format!("request: {}", e.kind()));
            }
            let reading = Reading::new(outcome, deadline);
            read_plain(stream, reading).await
        }
        Some(tls) => {
            // The handshake counts in the connect time.
            let handshake = tls.connector.connect(tls.name.clone(), stream);
            let mut stream = match timeout(Duration::from_secs(10), handshake).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => return failed(outcome, format!("TLS: {e}")),
                Err(_) => return failed(outcome, "TLS: handshake timed out".into()),
            };
            outcome.connect = started.elapsed();
            if let Err(e) = stream.write_all(request.as_bytes()).await {
                return failed(outcome, format!("request: {}", e.kind()));
            }
            let reading = Reading::new(outcome, deadline);
            read_tls(stream, reading).await
        }
    }
}

/// Reads a plain stream: readiness, then a read into the thread's shared buffer.
async fn read_plain(stream: TcpStream, mut reading: Reading) -> Outcome {
    loop {
        match timeout_at(reading.deadline, stream.readable()).await {
            Err(_) => break,
            Ok(Err(e)) => return failed(reading.outcome, format!("read: {}", e.kind())),
            Ok(Ok(())) => {}
        }
        let now = Instant::now();
        let read = READ_BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            match stream.try_read(&mut buf) {
                Ok(n) => Some(reading.take(&buf[..n], now)),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
                Err(e) => Some(Err(format!("read: {}", e.kind()))),
            }
        });
        match read {
            None => continue,
            Some(Err(e)) => return failed(reading.outcome, e),
            Some(Ok(true)) => {}
            Some(Ok(false)) => break,
        }
    }
    reading.finish()
}

/// Reads a TLS stream: each listener decrypts into a buffer of its own (a TLS session holds
/// buffers of its own anyway).
async fn read_tls(mut stream: TlsStream<TcpStream>, mut reading: Reading) -> Outcome {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = match timeout_at(reading.deadline, stream.read(&mut buf)).await {
            Err(_) => break,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Ok(Err(e)) => return failed(reading.outcome, format!("read: {}", e.kind())),
            Ok(Ok(n)) => n,
        };
        match reading.take(&buf[..n], Instant::now()) {
            Err(e) => return failed(reading.outcome, e),
            Ok(true) => {}
            Ok(false) => break,
        }
    }
    reading.finish()
}

/// A response as it is read: the head, then the body, timed.
struct Reading {
    outcome: Outcome,
    deadline: Instant,
    sent: Instant,
    head: Vec<u8>,
    first_byte: Option<Instant>,
    body: Body,
    last_read: Instant,
}

impl Reading {
    fn new(outcome: Outcome, deadline: Instant) -> Reading {
        let now = Instant::now();
        Reading {
            outcome,
            deadline,
            sent: now,
            head: Vec::new(),
            first_byte: None,
            body: Body::default(),
            last_read: now,
        }
    }

    /// Takes the bytes of one read (none: the server closed); whether to read on.
    fn take(&mut self, bytes: &[u8], now: Instant) -> Result<bool, String> {
        let outcome = &mut self.outcome;
        if bytes.is_empty() {
            outcome.ended_early = true;
            return Ok(false);
        }
        if self.first_byte.is_none() {
            self.first_byte = Some(now);
            outcome.ttfb = now - self.sent;
        }
        if self.body.decoder.is_none() {
            // Keep only the head; the body bytes of this read are fed from `bytes`.
            let before = self.head.len();
            self.head.extend_from_slice(bytes);
            let end = self.head.windows(4).position(|w| w == b"\r\n\r\n");
            if end.is_none() && self.head.len() > 64 * 1024 {
                return Err("response head over 64 KiB".to_string());
            }
            if let Some(end) = end {
                let (status, decoder) = parse_head(&self.head[..end]);
                outcome.status = status;
                self.body.decoder = Some(decoder);
                self.body.started = now;
                let body_from = end + 4 - before;
                self.head = Vec::new();
                self.body.feed(&bytes[body_from..], now);
            }
        } else {
            self.body.feed(bytes, now);
            let gap = now - self.last_read;
            if gap > STALL {
                outcome.stalls += 1;
            }
            outcome.max_gap = outcome.max_gap.max(gap);
        }
        self.last_read = now;
        Ok(self.body.decoder.is_none() || outcome.status == 200)
    }

    fn finish(mut self) -> Outcome {
        // A stream that went quiet at the end is a stall too.
        if self.first_byte.is_some()
            && Instant::now().min(self.deadline) - self.last_read > STALL
            && !self.outcome.ended_early
        {
            self.outcome.stalls += 1;
        }
        if self.body.decoder.is_none() {
            return failed(self.outcome, "no response head".into());
        }
        self.body.finish(&mut self.outcome);
        self.outcome
    }
}

fn failed(mut outcome: Outcome, reason: String) -> Outcome {
    outcome.failure = Some(reason);
    outcome
}

/// How the body is framed.
#[derive(Debug)]
struct Decoder {
    chunked: Option<Dechunker>,
    icy: Option<IcyStripper>,
}

fn parse_head(head: &[u8]) -> (u16, Decoder) {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut decoder = Decoder {
        chunked: None,
        icy: None,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            decoder.chunked = Some(Dechunker::default());
        }
        if name == "icy-metaint" {
            if let Ok(metaint) = value.parse::<usize>() {
                decoder.icy = Some(IcyStripper::new(metaint.max(1)));
            }
        }
    }
    (status, decoder)
}

/// The body as it arrives: decoded, walked, and timed.
#[derive(Debug)]
struct Body {
    decoder: Option<Decoder>,
    walker: FrameWalker,
    started: Instant,
    bytes: u64,
    burst_bytes: u64,
    burst_audio_ns: u64,
    /// The first read at or after STEADY_FROM, and the audio counted by then.
    steady_start: Option<(Instant, u64, u64)>,
    last: (Instant, u64, u64),
}

impl Default for Body {
    fn default() -> Self {
        let now = Instant::now();
        Body {
            decoder: None,
            walker: FrameWalker::default(),
            started: now,
            bytes: 0,
            burst_bytes: 0,
            burst_audio_ns: 0,
            steady_start: None,
            last: (now, 0, 0),
        }
    }
}

impl Body {
    fn feed(&mut self, bytes: &[u8], now: Instant) {
        let Some(decoder) = &mut self.decoder else {
            return;
        };
        let walker = &mut self.walker;
        let mut audio = |piece: &[u8]| walker.feed(piece);
        match (&mut decoder.chunked, &mut decoder.icy) {
            (Some(chunked), Some(icy)) => chunked.feed(bytes, &mut |p| icy.feed(p, &mut audio)),
            (Some(chunked), None) => chunked.feed(bytes, &mut audio),
            (None, Some(icy)) => icy.feed(bytes, &mut audio),
            (None, None) => audio(bytes),
        }
        self.bytes += bytes.len() as u64;
        let since = now - self.started;
        if since <= BURST_WINDOW {
            self.burst_bytes = self.bytes;
            self.burst_audio_ns = self.walker.audio_ns;
        }
        if since >= STEADY_FROM && self.steady_start.is_none() {
            self.steady_start = Some((now, self.walker.audio_ns, self.bytes));
        }
        self.last = (now, self.walker.audio_ns, self.bytes);
    }

    fn finish(self, outcome: &mut Outcome) {
        outcome.bytes = self.bytes;
        outcome.burst_bytes = self.burst_bytes;
        outcome.burst_audio = Duration::from_nanos(self.burst_audio_ns);
        if let Some((t0, audio0, bytes0)) = self.steady_start {
            let (t1, audio1, bytes1) = self.last;
            let wall = (t1 - t0).as_secs_f64();
            if wall >= 1.0 {
                outcome.steady_ratio = Some((audio1 - audio0) as f64 / 1e9 / wall);
                outcome.steady_rate = Some((bytes1 - bytes0) as f64 / wall);
            }
        }
        let w = &self.walker;
        outcome.sync_at_start = w.sync_at_start;
        outcome.frames = w.frames;
        outcome.resyncs = w.resyncs;
        outcome.garbage = w.garbage;
        outcome.icy_blocks = self
            .decoder
            .as_ref()
            .and_then(|d| d.icy.as_ref())
            .map_or(0, |i| i.blocks);
    }
}
