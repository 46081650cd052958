//! POSTs to the operator's services that nothing waits for (Icecast's `listener_remove`,
//! webhooks): a bounded queue and a task that sends them, a few at a time, with retries. A slow
//! or dead receiver fills the queue, and then letters are dropped (counted, said once): it never
//! holds up a listener, a source or the audio.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::http::client::post;

/// Letters waiting at most.
pub const QUEUE: usize = 10_000;
/// Letters in flight at once.
const IN_FLIGHT: usize = 8;
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
    queue: mpsc::Sender<Letter>,
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
    letters: mpsc::Receiver<Letter>,
    counts: Arc<Counts>,
}

impl Outbox {
    /// An outbox and the postman that empties it.
    pub fn new() -> (Outbox, Postman) {
        let (queue, letters) = mpsc::channel(QUEUE);
        let counts = Arc::new(Counts::default());
        (
            Outbox {
                queue,
                counts: Arc::clone(&counts),
            },
            Postman { letters, counts },
        )
    }

    /// Queues `letter`; when the queue is full it is dropped (said once a run).
    pub fn send(&self, letter: Letter) {
        match self.queue.try_send(letter) {
            Ok(()) => {
                self.counts.said_full.store(false, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Full(letter)) => {
                self.counts.dropped.fetch_add(1, Ordering::Relaxed);
                if !self.counts.said_full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(what = letter.what, "the outbox to the operator's services is full ({QUEUE} waiting): POSTs are dropped until it drains (is the receiver slow or down?)");
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
    /// Sends letters until `closing`, then gives those in flight until `grace` to finish.
    pub async fn run(mut self, closing: CancellationToken, grace: Duration) {
        let mut flying = JoinSet::new();
        loop {
            tokio::select! {
                () = closing.cancelled() => break,
                letter = self.letters.recv(), if flying.len() < IN_FLIGHT => {
                    let Some(letter) = letter else { break };
                    let counts = Arc::clone(&self.counts);
                    flying.spawn(deliver(letter, counts));
                }
                Some(_) = flying.join_next(), if !flying.is_empty() => {}
            }
        }
        // What is queued now still goes, as far as the grace allows (a station's last
        // listeners leave at shutdown).
        self.letters.close();
        let drain = async {
            while let Some(letter) = self.letters.recv().await {
                while flying.len() >= IN_FLIGHT {
                    flying.join_next().await;
                }
                flying.spawn(deliver(letter, Arc::clone(&self.counts)));
            }
            while flying.join_next().await.is_some() {}
        };
        let _ = tokio::time::timeout(grace, drain).await;
    }
}

async fn deliver(letter: Letter, counts: Arc<Counts>) {
    let mut waits = RETRY_AFTER.iter();
    loop {
        let sent = post(
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
