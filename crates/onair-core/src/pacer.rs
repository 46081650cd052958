//! The chunk pacer: publishes a station's frames in real time, on absolute deadlines.
//!
//! Each chunk is read ahead of time, then published when the audio before it has played out:
//! at `origin + samples_sent / sample_rate`, computed by [`SampleClock`] from the exact sample
//! count. The station starts with its burst already due, so the very first listener gets a full
//! burst at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use crate::clock::{samples_to_duration, SampleClock};
use crate::error::SourceError;
use crate::hub::Hub;
use crate::source::StationSource;

/// Beyond this lateness the pacer restarts its clock instead of bursting to catch up (the host
/// was suspended or starved; listeners are better served by a pause than by a flood).
pub const MAX_LATE: Duration = Duration::from_secs(1);

/// Drives one station: reads chunks from its source and publishes them to its hub.
pub struct Pacer {
    source: StationSource,
    hub: Arc<Hub>,
}

impl Pacer {
    /// A pacer feeding `hub` from `source`.
    pub fn new(source: StationSource, hub: Arc<Hub>) -> Self {
        Pacer { source, hub }
    }

    /// Plays until `stop` is cancelled or the file fails, then closes the hub so that every
    /// listener's stream ends.
    pub async fn run(mut self, stop: CancellationToken) -> Result<(), SourceError> {
        let result = self.play(&stop).await;
        self.hub.close();
        result
    }

    async fn play(&mut self, stop: &CancellationToken) -> Result<(), SourceError> {
        let started = Instant::now();
        let preroll = self.hub.tuning().burst;
        let mut clock = SampleClock::new(started.checked_sub(preroll).unwrap_or(started));
        let mut pts_ns: u64 = 0;
        loop {
            let target = self.hub.tuning().chunk;
            let chunk = tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(()),
                chunk = self.source.next_chunk(target) => chunk?,
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
                tracing::debug!(
                    station = self.hub.name(),
                    loops = self.source.loops(),
                    "looped"
                );
            }
            let duration = samples_to_duration(u64::from(chunk.samples), chunk.sample_rate);
            let duration_ns = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
            self.hub
                .publish(chunk.data, chunk.frames, pts_ns, duration_ns);
            pts_ns = pts_ns.saturating_add(duration_ns);
            clock.advance(chunk.samples, chunk.sample_rate);
        }
    }
}
