//! The chunk pacer: publishes a station's frames in real time, on absolute deadlines.
//!
//! Each chunk is read ahead of time, then published when the audio before it has played out:
//! at `origin + samples_sent / sample_rate`, computed by [`SampleClock`] from the exact sample
//! count. The station starts with its burst already due, so the very first listener gets a full
//! burst at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use crate::clock::{samples_to_duration, SampleClock};
use crate::error::SourceError;
use crate::hub::Hub;
use crate::probe::StationInfo;
use crate::source::{SourceChunk, StationSource};

/// Beyond this lateness the pacer restarts its clock instead of bursting to catch up (the host
/// was suspended or starved; listeners are better served by a pause than by a flood).
pub const MAX_LATE: Duration = Duration::from_secs(1);

/// How long a station whose file failed (truncated, emptied, made unreadable) waits for a new
/// file before it goes off air. An in-place overwrite (`cp new.aac jazz.aac`) empties the file
/// for a moment; the station resumes with the new audio once the watcher has it.
pub const REPLACEMENT_WAIT: Duration = Duration::from_secs(3);

/// Drives one station: reads chunks from its file and publishes them to its hub.
///
/// The file comes through a `watch` channel: sending a new [`StationInfo`] switches the station
/// to that file at the next chunk (a frame boundary), without a gap for the listeners.
pub struct Pacer {
    files: watch::Receiver<Arc<StationInfo>>,
    hub: Arc<Hub>,
}

impl Pacer {
    /// A pacer feeding `hub` from the file `files` holds now, and later from each file sent.
    pub fn new(files: watch::Receiver<Arc<StationInfo>>, hub: Arc<Hub>) -> Self {
        Pacer { files, hub }
    }

    /// Plays until `stop` is cancelled or the file fails for good, then closes the hub so that
    /// every listener's stream ends.
    pub async fn run(mut self, stop: CancellationToken) -> Result<(), SourceError> {
        let info = Arc::clone(&self.files.borrow_and_update());
        let result = match StationSource::open(&info) {
            Ok(source) => self.play(source, &stop).await,
            Err(e) => Err(e),
        };
        self.hub.close();
        result
    }

    /// The next chunk, from a new file if one was sent. When the file fails, waits up to
    /// [`REPLACEMENT_WAIT`] for a new one. `None` when stopped.
    async fn next_chunk(
        &mut self,
        source: &mut StationSource,
        stop: &CancellationToken,
    ) -> Result<Option<SourceChunk>, SourceError> {
        loop {
            if self.files.has_changed().unwrap_or(false) {
                let info = Arc::clone(&self.files.borrow_and_update());
                match StationSource::open(&info) {
                    Ok(new) => *source = new,
                    Err(error) => {
                        tracing::warn!(station = self.hub.name(), %error, "cannot switch to the new file")
                    }
                }
            }
            let target = self.hub.tuning().chunk;
            let error = tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(None),
                chunk = source.next_chunk(target) => match chunk {
                    Ok(chunk) => return Ok(Some(chunk)),
                    Err(error) => error,
                },
            };
            tracing::warn!(station = self.hub.name(), %error, "station file failed; waiting for a new file");
            let replaced = tokio::select! {
                () = stop.cancelled() => return Ok(None),
                changed = tokio::time::timeout(REPLACEMENT_WAIT, self.files.changed()) => {
                    matches!(changed, Ok(Ok(())))
                }
            };
            if !replaced {
                return Err(error);
            }
            // The new file is marked as seen again, so that the loop's top opens it.
            self.files.mark_changed();
        }
    }

    async fn play(
        &mut self,
        mut source: StationSource,
        stop: &CancellationToken,
    ) -> Result<(), SourceError> {
        let started = Instant::now();
        // A fresh station starts with its burst due; a restarted pacer continues the broadcast.
        let fresh = self
            .hub
            .stats()
            .chunks
            .load(std::sync::atomic::Ordering::Acquire)
            == 0;
        let preroll = if fresh {
            self.hub.tuning().burst
        } else {
            Duration::ZERO
        };
        let mut clock = SampleClock::new(started.checked_sub(preroll).unwrap_or(started));
        let mut pts_ns: u64 = self.hub.end_pts();
        // Position in the file playing, for status pages.
        let mut position = Duration::ZERO;
        loop {
            let Some(chunk) = self.next_chunk(&mut source, stop).await? else {
                return Ok(());
            };
            let deadline = clock.deadline();
            tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(()),
                () = sleep_until(deadline) => {}
            }
            let now = Instant::now();
            // The preroll's deadlines are in the past by design: that is not lateness.
            let late = now.saturating_duration_since(deadline.max(started));
            if late > MAX_LATE {
                tracing::warn!(
                    station = self.hub.name(),
                    late_ms = late.as_millis() as u64,
                    "pacer fell behind; restarting its clock"
                );
                clock.rebase(now);
            }
            if chunk.looped {
                tracing::debug!(station = self.hub.name(), loops = source.loops(), "looped");
            }
            let duration = samples_to_duration(u64::from(chunk.samples), chunk.sample_rate);
            let duration_ns = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
            if chunk.starts_file {
                position = Duration::ZERO;
            }
            self.hub
                .publish(chunk.data, chunk.frames, pts_ns, duration_ns);
            self.hub.record_pacing(position, chunk.looped, late);
            position += duration;
            pts_ns = pts_ns.saturating_add(duration_ns);
            clock.advance(chunk.samples, chunk.sample_rate);
        }
    }
}
