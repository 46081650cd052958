//! Live sources: Icecast's source protocol and admin API over the stations.
//!
//! An encoder (ffmpeg, Liquidsoap, butt, Mixxx, anything on libshout) pushes its audio to
//! `/<name>` on the same port as the listeners; the station's feed plays it over the
//! programme from the next chunk on, and the programme comes back on the clock when it leaves
//! (see [`onair_core::feed::live`]).
//!
//! - [`ingest`]: a source's connection: who may push, Icecast's answers, and the audio read
//!   into the station's jitter buffer.
//! - [`pump`]: a source's bytes into the station's jitter buffer as checked frames (pushed
//!   sources and relays alike), and why a session ended.
//! - [`admin`]: `/admin/metadata`, `/admin/killsource`, `/admin/listclients`.

pub mod admin;
pub mod ingest;
pub mod pump;
