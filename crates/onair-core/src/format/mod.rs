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
//! - [`ogg`]: Ogg pages found, checked (CRC) and taken apart into packets, and written.
//! - [`opus`]: Ogg Opus headers and each packet's duration; [`opus_packet`]: an Opus packet as
//!   onair carries it between pages; [`ogg_framing`]: the framing of Ogg Opus;
//!   [`ogg_writer`]: a station's own Ogg pages, a chain with a link per encode, written once
//!   per station as chunks are published.
//! - [`flac`]: native FLAC's `STREAMINFO`, frame headers, CRCs and coded numbers;
//!   [`flac_frame`]: a FLAC frame as onair carries it; [`flac_framing`]: the framing of native
//!   FLAC (frames confirmed by the next header and their CRC-16), and [`flac_ogg`] of FLAC in
//!   Ogg; [`flac_scan`]: what confirms a frame and what a stream must be to play; [`flac_writer`]: a station's
//!   own FLAC stream (in Ogg), its frames numbered again once per station as chunks are
//!   published; [`ogg_pager`]: packets of any length into pages.
//! - [`fmp4`]: fragmented MP4 (CMAF) for HLS of Opus and FLAC: the initialization segment and
//!   media segments, written from the frames and the clock alone.
//! - [`vorbis`]: Vorbis's identification header and its setup header's modes (each packet's
//!   block size, so its duration); [`vorbis_packet`]: a Vorbis packet as onair carries it;
//!   [`vorbis_writer`]: a Vorbis station's own Ogg stream, a link per encode.
//! - [`reservoir`]: an MP3 run made decodable from its first frame at a switch (Layer III's
//!   bit reservoir).
//! - [`silence`]: a frame of silence in a format (what a live-only station plays between shows).

pub(crate) mod adts;
pub(crate) mod codec;
pub(crate) mod deframer;
pub(crate) mod flac;
pub(crate) mod flac_frame;
pub(crate) mod flac_framing;
pub(crate) mod flac_ogg;
pub(crate) mod flac_scan;
pub(crate) mod flac_writer;
pub(crate) mod fmp4;
pub(crate) mod frame;
pub(crate) mod framing;
pub(crate) mod mpeg;
pub(crate) mod ogg;
pub(crate) mod ogg_framing;
pub(crate) mod ogg_pager;
pub(crate) mod ogg_writer;
pub(crate) mod opus;
pub(crate) mod opus_packet;
pub(crate) mod reservoir;
pub(crate) mod silence;
pub(crate) mod tags;
pub(crate) mod vorbis;
pub(crate) mod vorbis_packet;
pub(crate) mod vorbis_writer;

pub use adts::{AdtsHeader, HeaderError};
pub use codec::{Codec, CodecSpec, HlsPacking, CODECS};
pub use deframer::Damage;
pub use fmp4::{carry_samples, Fmp4Track};
pub use frame::{FirstFrame, Format, FrameHeader, Kind};
pub use framing::{Framing, Next};
pub use mpeg::{MpegHeader, Version as MpegVersion};
pub use ogg::{scan_page, Packets, PageHeader, PageScan};
pub use reservoir::startable;
pub use silence::{silence_file, silent_frame};
pub use tags::{audio_range, clean_text, id3v2_tags, AudioRange, TrackTags};
