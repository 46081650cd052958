//! The one way a source's bytes reach a station, whoever sends them (a pushed source, a relay):
//! checked whole frames pushed into the station's jitter buffer, and why that stopped.

use std::time::Duration;

use bytes::BytesMut;
use onair_core::{LiveSession, SourceFormatError, SourceFrames};
use tokio::time::Instant;

use crate::stations::Station;

/// Why a source's session ended.
#[derive(Debug)]
pub enum Ended {
    /// The source closed its connection (or ended its body).
    Closed,
    /// The socket failed.
    Failed(String),
    /// Nothing arrived for this long.
    Silent(Duration),
    /// Bytes, but no whole frame, for this long.
    NoFrames(Duration),
    /// Its audio was refused.
    Format(SourceFormatError),
    /// It was cut off (admin, a source of a higher rank, or the station went off air).
    CutOff,
    /// onair is shutting down.
    Shutdown,
}

impl Ended {
    /// In words, for the log and status.
    pub fn describe(&self) -> String {
        match self {
            Ended::Closed => "the source closed the connection".to_string(),
            Ended::Failed(error) => format!("the connection failed: {error}"),
            Ended::Silent(t) => format!("nothing received for {} s", t.as_secs()),
            Ended::NoFrames(t) => format!("no whole frame for {} s", t.as_secs()),
            Ended::Format(error) => error.to_string(),
            Ended::CutOff => "cut off".to_string(),
            Ended::Shutdown => "onair is shutting down".to_string(),
        }
    }
}

/// A source's bytes on their way into a station's live input as checked frames.
#[derive(Debug)]
pub struct Pump {
    frames: SourceFrames,
    /// The session was told its frames' format.
    format_said: bool,
    last_frame: Instant,
    /// Bytes without a whole frame for this long end the session.
    quiet: Duration,
}

impl Pump {
    /// A pump into `station`: its format (or, where it takes others, the source's first
    /// frame's), its codec, its source timeout.
    pub fn new(station: &Station) -> Pump {
        let expected = (!station.live.other_formats).then(|| station.programme().format());
        Pump {
            frames: SourceFrames::new(station.info().codec(), expected),
            format_said: false,
            last_frame: Instant::now(),
            quiet: station.live.source_timeout,
        }
    }

    /// The buffer to read the source's next bytes into (then [`received`](Self::received)).
    pub fn input(&mut self) -> &mut BytesMut {
        self.frames.input()
    }

    /// Says `n` bytes were read into [`input`](Self::input).
    pub fn received(&mut self, n: usize) {
        self.frames.received(n);
    }

    /// Adds bytes received.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.frames.extend(bytes);
    }

    /// The source sent its last byte: its last frames are pushed (they play out before the
    /// programme comes back), and the session ends as closed, unless they were refused or it
    /// was cut off.
    pub async fn close(&mut self, station: &Station, session: &LiveSession) -> Ended {
        self.frames.finish();
        match self.drain(station, session).await {
            Err(ended @ (Ended::Format(_) | Ended::CutOff)) => ended,
            _ => Ended::Closed,
        }
    }

    /// Pushes every whole frame received into `session` (waiting while its buffer is full);
    /// an error ends the session: frames refused, no frame for the source timeout, or the
    /// session cut off.
    pub async fn drain(&mut self, station: &Station, session: &LiveSession) -> Result<(), Ended> {
        loop {
            match self.frames.next_frame() {
                Ok(Some((frame, ticks))) => {
                    self.last_frame = Instant::now();
                    if let Some(format) = self.frames.format().filter(|_| !self.format_said) {
                        // Another format must be one onair can fill with silence to a
                        // segment boundary.
                        if format != station.programme().format()
                            && onair_core::silent_frame(&format).is_none()
                        {
                            return Err(Ended::Format(SourceFormatError::OtherFormat {
                                got: format,
                                expected: station.programme().format(),
                            }));
                        }
                        session.set_format(format);
                        // An Ogg source's own header: its link keeps the encoder's pre-skip.
                        if !self.frames.headers().is_empty() {
                            session.set_headers(std::sync::Arc::from(self.frames.headers()));
                        }
                        self.format_said = true;
                    }
                    // A file pushed as it is (`-c copy`) names itself in its ID3 tag.
                    if let Some(tags) = self.frames.take_tags() {
                        station
                            .live
                            .set_title(None, tags.artist.as_deref(), tags.title.as_deref());
                    }
                    if session.push(frame, ticks).await.is_err() {
                        return Err(Ended::CutOff);
                    }
                }
                Ok(None) => break,
                Err(error) => return Err(Ended::Format(error)),
            }
        }
        if self.last_frame.elapsed() > self.quiet {
            return Err(Ended::NoFrames(self.quiet));
        }
        if !session.is_connected() {
            return Err(Ended::CutOff);
        }
        Ok(())
    }
}
