//! Relays: a station pulls its live audio from another server (`[stations.<name>] relay =
//! "http://..."`). A relay is a live source onair pulls: its frames go through the same checks
//! and the same jitter buffer as a pushed source's, take over at a chunk boundary and give the
//! station back to its programme (on the clock) when they stop; a pushed source outranks it.
//!
//! - [`task`]: the station's relay task: connect, pull, wait (listeners, a pushed source),
//!   back off.
//! - [`upstream`]: reaching a stream: TCP/TLS, hyper's client, `ICY 200 OK`, redirects and
//!   playlists, the head checked.
//! - [`icy`]: in-band metadata blocks out of the audio, titles read.
//! - [`playlist`]: `.m3u` and `.pls` playlists that name a stream.
//! - [`backoff`]: the waits between attempts.
//!
//! What a relay is doing, and its settings, are the station's
//! ([`crate::stations::relayed`]).

pub mod backoff;
pub mod icy;
pub mod playlist;
pub mod task;
pub mod upstream;
