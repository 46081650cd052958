//! Keeps a station's pacer running: a pacer that panics is logged and started again.
//!
//! A panic is a bug, but one station's bug must not silence it for good, nor touch any other
//! station. The hub outlives the pacer, so listeners stay connected across a restart: they hear a
//! short gap, then the broadcast again.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How long to wait before starting a pacer that panicked again.
const RESTART_DELAY: Duration = Duration::from_secs(1);

/// Runs the task `start` makes until it ends without panicking, or `stop` is cancelled; starts
/// it again after each panic. Returns the last run's result (`None` when stopped).
pub async fn supervise<F, T>(
    station: &str,
    stop: &CancellationToken,
    mut start: impl FnMut() -> F,
) -> Option<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    loop {
        let run = tokio::spawn(start());
        let abort = run.abort_handle();
        let result = tokio::select! {
            result = run => result,
            () = stop.cancelled() => {
                // The task sees `stop` too; this only makes sure it is not left behind.
                abort.abort();
                return None;
            }
        };
        match result {
            Ok(output) => return Some(output),
            Err(error) if error.is_panic() => {
                let message = panic_message(error.into_panic().as_ref());
                tracing::error!(station, panic = %message, "the station's pacer panicked; restarting it");
                tokio::select! {
                    () = tokio::time::sleep(RESTART_DELAY) => {}
                    () = stop.cancelled() => return None,
                }
            }
            Err(_) => return None,
        }
    }
}

/// The text a panic was raised with (`panic!("...")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_restarted() {
        let runs = Arc::new(AtomicU32::new(0));
        let stop = CancellationToken::new();
        let counter = Arc::clone(&runs);
        let result = supervise("test", &stop, move || {
            let counter = Arc::clone(&counter);
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) < 2 {
                    panic!("boom");
                }
                "done"
            }
        })
        .await;
        assert_eq!(result, Some("done"));
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_ends_supervision() {
        let stop = CancellationToken::new();
        stop.cancel();
        let result = supervise("test", &stop, std::future::pending::<()>).await;
        assert_eq!(result, None);
    }
}
