//! The codec table: everything the rest of the house asks about a codec, in one place.
//!
//! Routes, content types, the config's `codec` key, live sources' and relays' content types,
//! station file extensions, HLS packing and the words messages use all come from a codec's
//! [`CodecSpec`]; nothing outside this table names a codec's extension or content type. A new
//! codec is a row here and a [`Framing`](super::framing::Framing) that cuts its bytes into
//! packets.

use std::path::Path;

/// The frame formats a station can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// AAC in ADTS frames (`.aac`).
    Adts,
    /// MPEG audio: MP3 (Layer III), MP2 and MP1 (`.mp3`).
    Mpeg,
    /// Opus in Ogg (`.opus`).
    Opus,
    /// Native FLAC (`.flac`).
    Flac,
    /// Vorbis in Ogg (`.ogg`, `.oga`).
    Vorbis,
}

/// Codec, with the AAC profile or the MPEG layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// AAC; the ADTS profile (audio object type minus one).
    Aac {
        /// 0 Main, 1 LC, 2 SSR, 3 LTP.
        profile: u8,
    },
    /// MPEG audio of a layer.
    Mpeg {
        /// 1, 2 or 3.
        layer: u8,
    },
    /// Opus (in Ogg).
    Opus,
    /// FLAC, of a sample size.
    Flac {
        /// Bits per sample.
        bits: u8,
    },
    /// Vorbis (in Ogg).
    Vorbis,
}

/// Why bytes are not a frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Too few bytes to tell.
    Short,
    /// Not a header of this codec.
    Invalid,
}

/// How HLS carries a codec's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HlsPacking {
    /// Packed audio (RFC 8216 section 3.4): the frames as they are, behind an ID3 tag with the
    /// segment's timestamp, in files with this extension.
    PackedAudio {
        /// The segments' file extension.
        extension: &'static str,
    },
    /// Fragmented MP4 (CMAF, RFC 8216 section 3.3): an initialization segment (`init.mp4`) and
    /// media segments with this extension.
    Fmp4 {
        /// The media segments' file extension.
        extension: &'static str,
    },
    /// Not served over HLS.
    None,
}

/// What the house knows about one codec.
#[derive(Debug)]
pub struct CodecSpec {
    /// The codec.
    pub codec: Codec,
    /// Its name in the config's `codec` key (`codec = "aac"`).
    pub config_name: &'static str,
    /// What operators call it (`AAC`, `MP3`).
    pub short_name: &'static str,
    /// What its frames are called in messages (`ADTS AAC`).
    pub name: &'static str,
    /// What a file of it is, in a hint (`MPEG audio (MP3)`).
    pub described: &'static str,
    /// The same with an article (`an MPEG audio (MP3)`).
    pub a_file: &'static str,
    /// How to make it from an MP4/M4A file (a command to paste).
    pub from_mp4: &'static str,
    /// What one of its frame headers is called (`ADTS`).
    pub frame_word: &'static str,
    /// The file extensions of station files and tracks (lower case; any case matches).
    pub extensions: &'static [&'static str],
    /// The mount suffix a stream of it may be asked for by (`/jazz.aac`).
    pub stream_extension: &'static str,
    /// The content type its streams are served with.
    pub content_type: &'static str,
    /// Content types a live source or relay of it may announce (lower case).
    pub source_types: &'static [&'static str],
    /// What a live-only station of this codec plays unless it names more (its silence).
    pub live_kind: Kind,
    /// How HLS carries it.
    pub hls: HlsPacking,
}

/// Content types that name MPEG audio. ffmpeg announces `audio/mpeg` whatever it sends, so an
/// AAC station takes them too, and the frames decide.
const MPEG_TYPES: &[&str] = &["audio/mpeg", "audio/mp3", "audio/mpeg3", "audio/x-mpeg"];

/// Every codec onair plays.
pub static CODECS: [CodecSpec; 5] = [
    CodecSpec {
        codec: Codec::Adts,
        config_name: "aac",
        short_name: "AAC",
        name: "ADTS AAC",
        described: "ADTS AAC",
        a_file: "an ADTS AAC",
        from_mp4: "extract the AAC with `ffmpeg -i in.m4a -c:a copy -f adts out.aac`",
        frame_word: "ADTS",
        extensions: &["aac"],
        stream_extension: "aac",
        content_type: "audio/aac",
        source_types: &[
            "audio/aac",
            "audio/aacp",
            "audio/x-aac",
            "audio/x-aacp",
            "audio/mpeg",
            "audio/mp3",
            "audio/mpeg3",
            "audio/x-mpeg",
        ],
        live_kind: Kind::Aac { profile: 1 },
        hls: HlsPacking::PackedAudio { extension: "aac" },
    },
    CodecSpec {
        codec: Codec::Mpeg,
        config_name: "mp3",
        short_name: "MP3",
        name: "MPEG audio",
        described: "MPEG audio (MP3)",
        a_file: "an MPEG audio (MP3)",
        from_mp4: "convert it with `ffmpeg -i in.m4a -c:a libmp3lame -b:a 192k out.mp3`",
        frame_word: "MPEG audio",
        extensions: &["mp3"],
        stream_extension: "mp3",
        content_type: "audio/mpeg",
        source_types: MPEG_TYPES,
        live_kind: Kind::Mpeg { layer: 3 },
        hls: HlsPacking::PackedAudio { extension: "mp3" },
    },
    CodecSpec {
        codec: Codec::Opus,
        config_name: "opus",
        short_name: "Opus",
        name: "Ogg Opus",
        described: "Ogg Opus",
        a_file: "an Ogg Opus",
        from_mp4: "convert it with `ffmpeg -i in.m4a -c:a libopus -b:a 96k out.opus`",
        frame_word: "Ogg Opus",
        extensions: &["opus"],
        stream_extension: "opus",
        content_type: "audio/ogg",
        source_types: &["audio/ogg", "application/ogg", "audio/opus"],
        live_kind: Kind::Opus,
        hls: HlsPacking::Fmp4 { extension: "m4s" },
    },
    CodecSpec {
        codec: Codec::Flac,
        config_name: "flac",
        short_name: "FLAC",
        name: "FLAC",
        described: "native FLAC",
        a_file: "a native FLAC",
        from_mp4:
            "convert it with `ffmpeg -i in.m4a -c:a flac out.flac` (lossless only if the source is)",
        frame_word: "FLAC",
        extensions: &["flac"],
        stream_extension: "flac",
        // Served in Ogg, as Icecast serves FLAC (see `flac_writer` for why).
        content_type: "audio/ogg",
        // Native FLAC, or FLAC in Ogg (Liquidsoap's `%ogg(%flac)`, an Icecast FLAC mount).
        source_types: &["audio/flac", "audio/x-flac", "audio/ogg", "application/ogg"],
        live_kind: Kind::Flac { bits: 16 },
        hls: HlsPacking::Fmp4 { extension: "m4s" },
    },
    CodecSpec {
        codec: Codec::Vorbis,
        config_name: "vorbis",
        short_name: "Vorbis",
        name: "Ogg Vorbis",
        described: "Ogg Vorbis",
        a_file: "an Ogg Vorbis",
        from_mp4: "convert it with `ffmpeg -i in.m4a -c:a libvorbis -q:a 5 out.ogg`",
        frame_word: "Ogg Vorbis",
        extensions: &["ogg", "oga"],
        stream_extension: "ogg",
        content_type: "audio/ogg",
        source_types: &["audio/ogg", "application/ogg", "audio/vorbis"],
        live_kind: Kind::Vorbis,
        // HLS carries no Vorbis (neither packed audio nor an MP4 sample entry players read).
        hls: HlsPacking::None,
    },
];

impl Codec {
    /// Its row of the codec table.
    pub fn spec(self) -> &'static CodecSpec {
        match self {
            Codec::Adts => &CODECS[0],
            Codec::Mpeg => &CODECS[1],
            Codec::Opus => &CODECS[2],
            Codec::Flac => &CODECS[3],
            Codec::Vorbis => &CODECS[4],
        }
    }

    /// Every codec, in table order.
    pub fn all() -> impl Iterator<Item = Codec> {
        CODECS.iter().map(|spec| spec.codec)
    }

    /// The codec a station file's extension names (`.aac`, `.mp3`, any case).
    pub fn of_path(path: &Path) -> Option<Codec> {
        Codec::of_extension(path.extension()?.to_str()?)
    }

    /// The codec whose station files have extension `extension` (any case, no dot).
    pub fn of_extension(extension: &str) -> Option<Codec> {
        Codec::all().find(|c| {
            c.spec()
                .extensions
                .iter()
                .any(|e| e.eq_ignore_ascii_case(extension))
        })
    }

    /// The codec the config's `codec` key names.
    pub fn of_config_name(name: &str) -> Option<Codec> {
        Codec::all().find(|c| c.spec().config_name == name)
    }

    /// The codec whose streams are asked for with mount suffix `extension` (`aac` in
    /// `/jazz.aac`).
    pub fn of_stream_extension(extension: &str) -> Option<Codec> {
        Codec::all().find(|c| c.spec().stream_extension == extension)
    }

    /// A codec whose HLS segments have extension `extension` (Opus and FLAC share `m4s`).
    pub fn of_segment_extension(extension: &str) -> Option<Codec> {
        Codec::all().find(|c| c.segment_extension() == Some(extension))
    }

    /// Whether a live source or relay announcing `content_type` may be of this codec (the
    /// frames decide in the end). Parameters after `;` and case do not matter.
    pub fn accepts(self, content_type: &str) -> bool {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        self.spec().source_types.contains(&essence.as_str())
    }

    /// The HTTP content type of a stream of these frames.
    pub fn content_type(self) -> &'static str {
        self.spec().content_type
    }

    /// The file extension of HLS segments of these frames; none for a codec not served over
    /// HLS.
    pub fn segment_extension(self) -> Option<&'static str> {
        match self.spec().hls {
            HlsPacking::PackedAudio { extension } | HlsPacking::Fmp4 { extension } => {
                Some(extension)
            }
            HlsPacking::None => None,
        }
    }

    /// Whether HLS carries it in fragmented MP4 (an initialization segment, then fragments).
    pub fn fragmented(self) -> bool {
        matches!(self.spec().hls, HlsPacking::Fmp4 { .. })
    }

    /// What the format is called in messages.
    pub fn name(self) -> &'static str {
        self.spec().name
    }
}

impl Kind {
    /// The codec of this kind of audio.
    pub fn codec(self) -> Codec {
        match self {
            Kind::Aac { .. } => Codec::Adts,
            Kind::Mpeg { .. } => Codec::Mpeg,
            Kind::Opus => Codec::Opus,
            Kind::Flac { .. } => Codec::Flac,
            Kind::Vorbis => Codec::Vorbis,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_is_found_by_each_of_its_names() {
        for codec in Codec::all() {
            let spec = codec.spec();
            assert_eq!(spec.codec, codec, "the table's order is the enum's");
            assert_eq!(Codec::of_config_name(spec.config_name), Some(codec));
            assert_eq!(
                Codec::of_stream_extension(spec.stream_extension),
                Some(codec)
            );
            if let Some(extension) = codec.segment_extension() {
                let named = Codec::of_segment_extension(extension).expect("a codec");
                assert_eq!(named.segment_extension(), Some(extension));
            }
            for extension in spec.extensions {
                assert_eq!(Codec::of_extension(extension), Some(codec));
                let upper = format!("x.{}", extension.to_ascii_uppercase());
                assert_eq!(Codec::of_path(Path::new(&upper)), Some(codec));
            }
            assert!(codec.accepts(spec.content_type));
            assert_eq!(spec.live_kind.codec(), codec);
        }
        assert_eq!(Codec::of_path(Path::new("x.ogg")), Some(Codec::Vorbis));
        assert_eq!(Codec::of_path(Path::new("x.OPUS")), Some(Codec::Opus));
    }

    #[test]
    fn sources_are_taken_by_what_they_announce() {
        assert!(Codec::Adts.accepts("audio/aac"));
        assert!(Codec::Adts.accepts("audio/aacp"));
        assert!(Codec::Adts.accepts("audio/mpeg"));
        assert!(Codec::Mpeg.accepts("Audio/MPEG; charset=x"));
        assert!(!Codec::Mpeg.accepts("audio/aac"));
        assert!(!Codec::Adts.accepts("application/ogg"));
        assert!(!Codec::Mpeg.accepts("audio/ogg"));
        assert!(Codec::Flac.accepts("audio/x-flac"));
        assert!(Codec::Flac.accepts("application/ogg"));
        assert!(!Codec::Flac.accepts("audio/mpeg"));
    }
}
