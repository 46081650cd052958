//! The audio engine of onair: from an ADTS file on disk to chunks fanned out to listeners.
//!
//! No HTTP lives here. The server crate mounts one [`Hub`] per station and turns each
//! [`Subscription`] into a response body.
//!
//! # Layout
//!
//! Audio flows through the modules in this order:
//!
//! - [`tags`]: finds the byte range between ID3v2/ID3v1/APE tags, which is what plays.
//! - [`adts`]: parses ADTS headers and confirms frames (the next header must follow at
//!   `frame_length`, so false sync words inside audio data are passed over).
//! - [`deframer`]: turns blocks of file bytes into confirmed frames, zero-copy (`Bytes` slices of
//!   the read-ahead buffer), dropping and counting garbage.
//! - [`probe`]: reads a file once to validate it and describe it ([`StationInfo`]): frames,
//!   duration, bitrate, sample rate, channels, damage.
//! - [`source`]: reads a station file as it plays, one block ahead, and loops it seamlessly.
//! - [`clock`]: absolute deadlines from exact sample counts (no drift).
//! - [`pacer`]: groups frames into chunks of about `chunk_ms` and publishes each on its deadline.
//! - [`chunk`]: the unit of broadcast, shared by reference with every listener.
//! - [`hub`]: the per-station connection pool: burst ring plus broadcast channel.
//! - [`subscription`]: one listener's stream: burst, then live chunks, skipping forward on lag.
//! - [`error`]: typed errors naming the file and the byte offset.
//! - [`testing`]: synthetic ADTS frames for tests and benchmarks.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod adts;
pub mod chunk;
pub mod clock;
pub mod deframer;
pub mod error;
pub mod hub;
pub mod pacer;
pub mod probe;
pub mod source;
pub mod subscription;
pub mod tags;
pub mod testing;

pub use chunk::Chunk;
pub use error::SourceError;
pub use hub::{Hub, Tuning};
pub use pacer::Pacer;
pub use probe::{probe, probe_until, StationInfo};
pub use source::StationSource;
pub use subscription::Subscription;
