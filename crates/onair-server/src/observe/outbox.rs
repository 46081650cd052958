//! POSTs to the operator's services that nothing waits for (Icecast's `listener_remove`,
//! webhooks): bounded queues and lanes that send them, with retries. The letters to one URL go
//! down one lane, in order, on one connection kept open between them; other URLs go down other
//! lanes. A slow or dead receiver fills its lane's queue, and then letters are dropped (counted,
//! said once): it never
//! holds up a listener, a source or the audio.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::http::client::{post_on, Kept};

/// Letters waiting at most, in all.
pub const QUEUE: usize = 10_000;
/// Lanes: letters in flight at once, each lane's to its URLs in order.
const LANES: usize = 8;
/// How long one attempt may take.
const ATTEMPT: Duration = Duration::from_secs(5);
/// The waits before the second and third attempts.
const RETRY_AFTER: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(5)];

/// One POST to send.
#[derive(Debug, Clone)]
pub struct Letter {
    /// Where.
    pub url: Uri,
    /// Its body's type.
    pub content_type: &'static str,
    /// Its body.
    pub body: Bytes,
    /// More headers (a hook's signature).
    pub headers: Vec<(&'static str, String)>,
    /// What it is, for the log (`listener_remove`, `track`).
    pub what: &'static str,
}

/// The sending side (cheap to clone).
#[derive(Debug, Clone)]
pub struct Outbox {
    lanes: Arc<[mpsc::Sender<Letter>]>,
    counts: Arc<Counts>,
}

/// Letters sent, failed (after every attempt) and dropped (the queue was full).
#[derive(Debug, Default)]
pub struct Counts {
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    said_full: AtomicBool,
}

/// What happened to the letters so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Answered 2xx.
    pub sent: u64,
    /// Not answered 2xx after every attempt.
    pub failed: u64,
    /// Dropped: the queue was full.
    pub dropped: u64,
}

/// The task that sends the letters, owned by the server.
#[derive(Debug)]
pub struct Postman {
    lanes: Vec<mpsc::Receiver<Letter>>,
    counts: Arc<Counts>,
}

impl Outbox {
    /// An outbox and the postman that empties it.
    pub fn new() -> (Outbox, Postman) {
        let (senders, lanes): (Vec<_>, Vec<_>) =
            (0..LANES).map(|_| mpsc::channel(QUEUE / LANES)).unzip();
        let counts = Arc::new(Counts::default());
        (
            Outbox {
                lanes: senders.into(),
                counts: Arc::clone(&counts),
            },
            Postman { lanes, counts },
        )
    }

    /// Queues `letter` in its URL's lane; when that is full it is dropped (said once a run).
    pub fn send(&self, letter: Letter) {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        letter.url.hash(&mut hasher);
        let lane = (hasher.finish() % LANES as u64) as usize;
        match self.lanes[lane].try_send(letter) {
            Ok(()) => {
                self.counts.said_full.store(false, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Full(letter)) => {
                self.counts.dropped.fetch_add(1, Ordering::Relaxed);
                if !self.counts.said_full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(what = letter.what, "the outbox to an operator's service is full ({} waiting): POSTs are dropped until it drains (is the receiver slow or down?)", QUEUE / LANES);
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// What happened to the letters so far.
    pub fn tally(&self) -> Tally {
        Tally {
            sent: self.counts.sent.load(Ordering::Relaxed),
            failed: self.counts.failed.load(Ordering::Relaxed),
            dropped: self.counts.dropped.load(Ordering::Relaxed),
        }
    }
}

impl Postman {
    /// Sends letters until `closing`, each lane keeping its connection to a receiver open
    /// between letters; then gives what is queued until `grace` to go.
    pub async fn run(self, closing: CancellationToken, grace: Duration) {
        let Postman { lanes, counts } = self;
        let mut running = JoinSet::new();
        for mut letters in lanes {
            let (counts, closing) = (Arc::clone(&counts), closing.clone());
            running.spawn(async move {
                let mut kept = None;
                loop {
                    let next = tokio::select! {
                        () = closing.cancelled() => letters.try_recv().ok(),
                        letter = letters.recv() => letter,
                    };
                    let Some(letter) = next else { return };
                    deliver(&mut kept, letter, &counts).await;
                }
            });
        }
        let drained = async { while running.join_next().await.is_some() {} };
        tokio::select! {
            () = drained => {}
            () = async {
                closing.cancelled().await;
                tokio::time::sleep(grace).await;
            } => running.abort_all(),
        }
    }
}

async fn deliver(kept: &mut Option<Kept>, letter: Letter, counts: &Counts) {
    let mut waits = RETRY_AFTER.iter();
    loop {
        let sent = post_on(
            kept,
            &letter.url,
            (letter.content_type, &letter.headers),
            letter.body.clone(),
            ATTEMPT,
        );
        let why = match sent.await {
            Ok(answer) if answer.status.is_success() => {
                counts.sent.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(answer) => format!("answered {}", answer.status),
            Err(error) => error.to_string(),
        };
        match waits.next() {
            Some(wait) => tokio::time::sleep(*wait).await,
            None => {
                counts.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(what = letter.what, url = %crate::config::relay::shown(&letter.url), why, "a POST to the operator's service failed three times; dropped");
                return;
            }
        }
    }
}
