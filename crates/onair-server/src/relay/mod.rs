//! Relays: a station pulls its live audio from another server (`[stations.<name>] relay =
//! "http://..."`). A relay is a live source onair pulls: its frames go through the same checks
//! and the same jitter buffer as a pushed source's, take over at a chunk boundary and give the
//! station back to its programme (on the clock) when they stop; a pushed source outranks it.
//!
//! - [`task`]: the station's relay task: connect, pull, wait (listeners, a pushed source),
//!   back off.
//! - [`progressive`]: a stream's bytes (metadata blocks out) into the station's live input.
//! - [`edge`]: an onair origin's HLS segments into the station's live input at the origin's
//!   ticks.
//! - [`session`]: how a pull ended, and the relay shown as the station's source.
//! - [`upstream`]: reaching a stream: TCP/TLS, hyper's client, `ICY 200 OK`, redirects and
//!   playlists, the head checked.
//! - [`icy`]: in-band metadata blocks out of the audio, titles read.
//! - [`playlist`]: `.m3u` and `.pls` playlists that name a stream.
//! - [`private`]: the addresses a public upstream may not redirect a relay to.
//! - [`packed`]: HLS playlists and packed-audio segments read, and a segment's exact tick.
//! - [`fragment`]: fragmented-MP4 segments (Opus and FLAC origins) read: title, time, samples.
//! - [`backoff`]: the waits between attempts.
//!
//! What a relay is doing, and its settings, are the station's
//! ([`crate::stations::relayed`]).

pub mod backoff;
pub mod edge;
pub mod fragment;
pub mod icy;
pub mod packed;
pub mod playlist;
pub mod private;
pub mod progressive;
pub mod session;
pub mod task;
pub mod upstream;
