//! Renewed certificates without a restart: the certificate and key are read again when their
//! files change (rewritten, renamed over, or a symlink swapped, as certbot and Kubernetes do),
//! on SIGHUP, when the config names other files, and once a minute in case a change was not
//! seen. A good new pair serves the next handshake; a bad one is refused with a warning and the
//! old pair stays.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher as _};
use onair_core::WallClock;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::store::CertStore;
use super::timing::ReloadTiming;
use crate::config::Config;

/// Reads the certificate again when it changes. Made when the server binds, so that no change
/// after `bind` returns is missed; [`run`](Reloader::run) then keeps the store in step.
pub struct Reloader {
    store: Arc<CertStore>,
    events: mpsc::UnboundedReceiver<()>,
    watcher: Option<notify::RecommendedWatcher>,
    watched: Vec<PathBuf>,
    hangup: Option<Hangup>,
}

impl Reloader {
    /// Watches the folders of `store`'s files and listens for SIGHUP from now on.
    pub fn new(store: Arc<CertStore>) -> Reloader {
        let (tx, events) = mpsc::unbounded_channel();
        let watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| is_change(&e.kind)) {
                    let _ = tx.send(());
                }
            })
            .inspect_err(|error| {
                tracing::warn!(%error, "cannot watch the TLS certificate; it is read again on SIGHUP and once a minute")
            })
            .ok();
        let mut reloader = Reloader {
            events,
            watcher,
            watched: Vec::new(),
            hangup: hangup(),
            store,
        };
        let files = reloader.store.files();
        reloader.watch(&files);
        reloader
    }

    fn watch(&mut self, files: &(PathBuf, PathBuf)) {
        if let Some(watcher) = self.watcher.as_mut() {
            watch_folders(watcher, &mut self.watched, files);
        }
    }

    /// Keeps the store in step with the files the config names, until `stop`.
    pub async fn run(
        mut self,
        mut config: watch::Receiver<Arc<Config>>,
        clock: Arc<dyn WallClock>,
        stop: CancellationToken,
    ) {
        let store = Arc::clone(&self.store);
        let mut timing = ReloadTiming::new(Instant::now());
        let mut last_error = None;
        // A certificate close to its end is said at start, not a minute later.
        warn_if_expiring(&store, &mut timing, &*clock);
        loop {
            let files = files_of(&config.borrow()).unwrap_or_else(|| store.files());
            self.watch(&files);
            tokio::select! {
                biased;
                () = stop.cancelled() => return,
                Some(()) = self.events.recv() => timing.file_changed(Instant::now()),
                () = next_signal(&mut self.hangup) => {
                    tracing::info!("SIGHUP: reading the TLS certificate and key again");
                    timing.read_now(Instant::now());
                }
                changed = config.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if files_of(&config.borrow()).is_some_and(|f| f != store.files()) {
                        timing.read_now(Instant::now());
                    }
                }
                () = tokio::time::sleep_until(timing.wake_at()) => {
                    if !timing.due(Instant::now()) {
                        continue;
                    }
                    reload(&store, &files, &*clock, &mut last_error);
                    warn_if_expiring(&store, &mut timing, &*clock);
                }
            }
        }
    }
}

/// Warns once when the certificate served enters its last [`EXPIRY_WARNING`] window.
///
/// [`EXPIRY_WARNING`]: super::timing::EXPIRY_WARNING
fn warn_if_expiring(store: &CertStore, timing: &mut ReloadTiming, clock: &dyn WallClock) {
    let remaining = store.current().remaining(clock.now());
    if timing.warn_expiry(remaining) {
        tracing::warn!(
            cert = %store.files().0.display(),
            days_left = remaining.as_secs() / 86_400,
            "the TLS certificate expires soon; renew it (the new files are loaded without a restart)"
        );
    }
}

/// Reads the pair again and logs what came of it; a refusal is logged (and counted) once until
/// the files change or load.
fn reload(
    store: &CertStore,
    (cert, key): &(PathBuf, PathBuf),
    clock: &dyn WallClock,
    last_error: &mut Option<String>,
) {
    match store.reload(cert, key, clock.now()) {
        Ok(Some(pair)) => {
            *last_error = None;
            store.count_reload(true);
            tracing::info!(
                cert = %cert.display(),
                subject = %pair.subject,
                not_after = %humantime::format_rfc3339_seconds(pair.not_after),
                "TLS certificate loaded; new connections use it"
            );
        }
        Ok(None) => *last_error = None,
        Err(error) => {
            let said = error.to_string();
            if last_error.as_ref() != Some(&said) {
                store.count_reload(false);
                tracing::warn!(error = %said, "TLS certificate refused; the one loaded before is kept");
                *last_error = Some(said);
            }
        }
    }
}

fn files_of(config: &Config) -> Option<(PathBuf, PathBuf)> {
    let (cert, key) = config.tls.files()?;
    Some((cert.to_path_buf(), key.to_path_buf()))
}

/// Watches the folders that hold the files (a file renamed over, or a symlink swapped, is an
/// event of its folder), and the folders their symlinks lead to.
fn watch_folders(
    watcher: &mut notify::RecommendedWatcher,
    watched: &mut Vec<PathBuf>,
    (cert, key): &(PathBuf, PathBuf),
) {
    let mut wanted: Vec<PathBuf> = Vec::new();
    for file in [cert, key] {
        let resolved = std::fs::canonicalize(file).ok();
        for path in std::iter::once(file.as_path()).chain(resolved.as_deref()) {
            let folder = match path.parent() {
                Some(p) if p.as_os_str().is_empty() => Path::new("."),
                Some(p) => p,
                None => continue,
            };
            if !wanted.iter().any(|w| w == folder) {
                wanted.push(folder.to_path_buf());
            }
        }
    }
    if wanted == *watched {
        return;
    }
    for folder in watched.drain(..) {
        let _ = watcher.unwatch(&folder);
    }
    for folder in wanted {
        match watcher.watch(&folder, RecursiveMode::NonRecursive) {
            Ok(()) => watched.push(folder),
            Err(error) => {
                tracing::warn!(folder = %folder.display(), %error, "cannot watch the TLS certificate's folder")
            }
        }
    }
}

/// Whether a file event may be a change (reading the files, as a reload does, is not).
fn is_change(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::Access(AccessKind::Open(_))
            | EventKind::Access(AccessKind::Close(AccessMode::Read))
            | EventKind::Access(AccessKind::Read)
    )
}

type Hangup = tokio::signal::unix::Signal;

fn hangup() -> Option<Hangup> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}

async fn next_signal(hangup: &mut Option<Hangup>) {
    if let Some(signal) = hangup {
        if signal.recv().await.is_some() {
            return;
        }
    }
    std::future::pending::<()>().await
}
