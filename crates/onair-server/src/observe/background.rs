//! A thread of its own behind a bounded queue, for what writes to disk beside the audio (the
//! access log, analytics): a slow disk delays the writing, never a listener; a full queue drops
//! items (counted, and said once). The server owns the thread and stops it within its shutdown
//! deadline, after what was queued.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

/// What the thread is sent.
#[derive(Debug)]
enum Message<T> {
    Item(T),
    Stop,
}

/// The sending side (cheap to clone); off when nothing is written.
#[derive(Debug)]
pub struct Queue<T> {
    queue: Option<SyncSender<Message<T>>>,
    dropped: Arc<AtomicU64>,
    said: Arc<AtomicBool>,
    /// What is dropped when the queue is full, for the warning ("access-log lines").
    what: &'static str,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            queue: self.queue.clone(),
            dropped: Arc::clone(&self.dropped),
            said: Arc::clone(&self.said),
            what: self.what,
        }
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            queue: None,
            dropped: Arc::default(),
            said: Arc::default(),
            what: "",
        }
    }
}

/// The thread, owned by the server until shutdown.
#[derive(Debug)]
pub struct Worker<T> {
    queue: SyncSender<Message<T>>,
    thread: std::thread::JoinHandle<()>,
}

/// What the thread takes from the queue.
#[derive(Debug)]
pub struct Items<T>(Receiver<Message<T>>);

impl<T> Items<T> {
    /// The items queued now (waiting for one), with `true` when the thread is to stop after
    /// them; `None` once it is to stop and nothing is left.
    pub fn next_batch(&self) -> Option<(Vec<T>, bool)> {
        let first = self.0.recv().ok()?;
        let mut batch = Vec::new();
        for message in std::iter::once(first).chain(self.0.try_iter()) {
            match message {
                Message::Item(item) => batch.push(item),
                Message::Stop => return Some((batch, true)),
            }
        }
        Some((batch, false))
    }
}

impl<T: Send + 'static> Queue<T> {
    /// A queue of `capacity` items (`what` they are, for the warning) and thread `name` that
    /// runs `run` on what comes.
    pub fn spawn(
        name: &str,
        (what, capacity): (&'static str, usize),
        run: impl FnOnce(Items<T>) + Send + 'static,
    ) -> std::io::Result<(Queue<T>, Worker<T>)> {
        let (queue, items) = sync_channel(capacity);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(Items(items)))?;
        let sender = Queue {
            queue: Some(queue.clone()),
            what,
            ..Queue::default()
        };
        Ok((sender, Worker { queue, thread }))
    }

    /// Whether anything is written.
    pub fn is_on(&self) -> bool {
        self.queue.is_some()
    }

    /// Items dropped because the thread could not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queues `item` (dropped, said once, when the queue is full).
    pub fn send(&self, item: T) {
        let Some(queue) = &self.queue else { return };
        if let Err(TrySendError::Full(_)) = queue.try_send(Message::Item(item)) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            if !self.said.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "the {} cannot keep up (is its disk slow or full?): some are dropped",
                    self.what
                );
            }
        }
    }
}

impl<T: Send + 'static> Worker<T> {
    /// Lets the thread write what is queued and end, within `deadline`.
    pub async fn stop(self, deadline: tokio::time::Instant) {
        let Worker { queue, thread } = self;
        let finish = tokio::task::spawn_blocking(move || {
            // Behind what is queued: that is written first.
            let _ = queue.send(Message::Stop);
            let _ = thread.join();
        });
        if tokio::time::timeout_at(deadline, finish).await.is_err() {
            tracing::warn!("a writer did not finish in time");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn items_go_in_order_a_full_queue_drops_and_stop_writes_what_is_queued() {
        let (gate, wait) = std::sync::mpsc::channel::<()>();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = Arc::clone(&seen);
        let (queue, worker) = Queue::spawn("test-writer", ("test items", 2), move |items| {
            // Held until the test has filled the queue.
            let _ = wait.recv();
            while let Some((batch, stop)) = items.next_batch() {
                kept.lock().unwrap_or_else(|e| e.into_inner()).extend(batch);
                if stop {
                    return;
                }
            }
        })
        .expect("thread");
        for n in 0..5 {
            queue.send(n);
        }
        assert_eq!(queue.dropped(), 3);
        let _ = gate.send(());
        worker
            .stop(tokio::time::Instant::now() + std::time::Duration::from_secs(5))
            .await;
        assert_eq!(*seen.lock().unwrap_or_else(|e| e.into_inner()), [0, 1]);
        assert!(!Queue::<u8>::default().is_on());
    }
}
