//! Frame formats: what the bytes of a station's audio are, whatever they come from.
//!
//! - [`tags`]: the byte range between ID3v2/ID3v1/APE tags, which is what plays, and the artist
//!   and title they give.
//! - [`adts`]: ADTS (AAC) headers, and ADTS's rule for a stream's first frame.
//! - [`mpeg`]: MPEG audio (MP3, MP2) headers, and the Xing/Info/VBRI frames that describe a file.
//! - [`codec`]: the codec table ([`Codec`], [`CodecSpec`]): extensions, content types, config
//!   names, HLS packing; everything the house asks about a codec.
//! - [`framing`]: the seam every reader of audio goes through ([`Framing`]): bytes in, whole
//!   packets out, each with its duration in ticks.
//! - [`frame`]: what ADTS and MPEG frames have in common ([`FrameHeader`], [`Format`]), each
//!   codec's first-frame rule behind one call, and the scanner that confirms frames.
//! - [`deframer`]: the framing of sync-word frames: blocks of bytes to confirmed frames,
//!   zero-copy, dropping and counting garbage.
//! - [`reservoir`]: an MP3 run made decodable from its first frame at a switch (Layer III's
//!   bit reservoir).
//! - [`silence`]: a frame of silence in a format (what a live-only station plays between shows).

pub(crate) mod adts;
pub(crate) mod codec;
pub(crate) mod deframer;
pub(crate) mod frame;
pub(crate) mod framing;
pub(crate) mod mpeg;
pub(crate) mod reservoir;
pub(crate) mod silence;
pub(crate) mod tags;

pub use adts::{AdtsHeader, HeaderError};
pub use codec::{Codec, CodecSpec, HlsPacking, CODECS};
pub use deframer::Damage;
pub use frame::{FirstFrame, Format, FrameHeader, Kind};
pub use framing::{Framing, Next};
pub use mpeg::{MpegHeader, Version as MpegVersion};
pub use reservoir::startable;
pub use silence::silent_frame;
pub use tags::{audio_range, clean_text, id3v2_tags, AudioRange, TrackTags};
