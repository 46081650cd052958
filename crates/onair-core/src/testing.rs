//! Builders of synthetic ADTS and MPEG audio frames and tracks, for tests and benchmarks.
//!
//! The payload is filler, not decodable AAC: these frames exercise framing, pacing and fan-out,
//! which never look inside a frame. Tests that need a real decoder use files made with ffmpeg.

/// The shape of one synthetic frame.
#[derive(Debug, Clone)]
pub struct FrameSpec {
    /// Index into [`crate::format::adts::SAMPLE_RATES`].
    pub sample_rate_index: u8,
    /// Channel configuration, 0..=7.
    pub channel_config: u8,
    /// Raw data blocks, 1..=4.
    pub blocks: u8,
    /// Add the 2-byte CRC (a 9-byte header).
    pub crc: bool,
    /// Payload bytes after the header.
    pub payload_len: usize,
    /// The byte the payload is filled with (makes frames tell apart in tests).
    pub fill: u8,
}

impl Default for FrameSpec {
    /// 44.1 kHz stereo, one block, no CRC, 200 bytes of payload.
    fn default() -> Self {
        FrameSpec {
            sample_rate_index: 4,
            channel_config: 2,
            blocks: 1,
            crc: false,
            payload_len: 200,
            fill: 0x5A,
        }
    }
}

/// One whole ADTS frame as `spec` describes it.
pub fn adts_frame(spec: &FrameSpec) -> Vec<u8> {
    let header_len = if spec.crc { 9 } else { 7 };
    let len = header_len + spec.payload_len;
    assert!(len < 1 << 13, "frame_length is a 13-bit field");
    let mut frame = Vec::with_capacity(len);
    frame.push(0xFF);
    // MPEG-4, layer 00, protection_absent = !crc.
    frame.push(0xF0 | u8::from(!spec.crc));
    // profile LC (1), sampling index, private bit 0, channel config high bit.
    frame.push((1 << 6) | (spec.sample_rate_index << 2) | (spec.channel_config >> 2));
    frame.push(((spec.channel_config & 0x03) << 6) | ((len >> 11) as u8 & 0x03));
    frame.push((len >> 3) as u8);
    // frame_length low bits, buffer fullness 0x7FF (VBR).
    frame.push((((len & 0x07) as u8) << 5) | 0x1F);
    frame.push(0xFC | ((spec.blocks - 1) & 0x03));
    if spec.crc {
        frame.extend_from_slice(&[0x12, 0x34]);
    }
    frame.resize(len, spec.fill);
    frame
}

/// `count` frames of `spec`, each with its own fill byte (`fill + i`, wrapping, never `0xFF`),
/// so that a test can tell which frame it received.
pub fn adts_stream(spec: &FrameSpec, count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count {
        let fill = match spec.fill.wrapping_add(i as u8) {
            0xFF => 0x00,
            fill => fill,
        };
        out.extend_from_slice(&adts_frame(&FrameSpec {
            fill,
            ..spec.clone()
        }));
    }
    out
}

/// Runs a [`Deframer`](crate::format::deframer::Deframer) over `bytes` fed in blocks of `block` bytes
/// and returns every frame it yields, one `Bytes` each. Panics if the deframer stops making
/// progress (more steps than the input can justify): tests, benches and fuzz targets use it to
/// prove that the scan always ends.
pub fn deframe(bytes: &[u8], block: usize) -> Vec<bytes::Bytes> {
    deframe_as(crate::format::frame::Codec::Adts, bytes, block)
}

/// Like [`deframe`], for frames of `codec`.
pub fn deframe_as(
    codec: crate::format::frame::Codec,
    bytes: &[u8],
    block: usize,
) -> Vec<bytes::Bytes> {
    use crate::format::framing::Next;
    let block = block.max(1);
    let mut deframer = codec.framing(0);
    let (mut fed, mut frames, mut steps) = (0, Vec::new(), 0usize);
    loop {
        steps += 1;
        assert!(
            steps < 4 * bytes.len() + 100,
            "the deframer made no progress"
        );
        match deframer.peek() {
            Next::Frame(header) => {
                deframer.consume(&header);
                frames.push(deframer.take());
            }
            Next::NeedMore => {
                let n = block.min(bytes.len() - fed);
                deframer.input().extend_from_slice(&bytes[fed..fed + n]);
                fed += n;
                if fed == bytes.len() {
                    deframer.finish();
                }
            }
            Next::End => return frames,
        }
    }
}

/// One MPEG-1 Layer III frame, 44.1 kHz stereo at `kbps` (32 to 320), `padding` set or not,
/// filled with `fill`: 1152 samples.
pub fn mp3_frame(kbps: u16, padding: bool, fill: u8) -> Vec<u8> {
    const RATES: [u16; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    let index = RATES.iter().position(|&r| r == kbps).unwrap_or(9) as u8;
    let len = 144 * u32::from(RATES[usize::from(index)]) * 1000 / 44_100 + u32::from(padding);
    let mut frame = vec![fill; len as usize];
    frame[..4].copy_from_slice(&[0xFF, 0xFB, (index << 4) | (u8::from(padding) << 1), 0x44]);
    frame
}

/// A track description of `ticks` ticks named `name`, without audio behind it (for the
/// arithmetic of programmes and timelines).
pub fn track(name: &str, ticks: u64) -> std::sync::Arc<crate::library::probe::StationInfo> {
    use crate::format::adts::AdtsHeader;
    let header = AdtsHeader::parse(&adts_frame(&FrameSpec::default())).expect("valid header");
    std::sync::Arc::new(crate::library::probe::StationInfo {
        path: name.into(),
        range: crate::format::tags::AudioRange { start: 0, end: 0 },
        first: crate::format::frame::FrameHeader::Adts(header),
        frames: 1,
        samples: 1024,
        duration: crate::clock::duration_of(ticks),
        audio_bytes: 207,
        mixed_format: false,
        damage: Default::default(),
        meta: std::sync::Arc::new(crate::broadcast::TrackMeta::named(
            crate::library::probe::file_stem(std::path::Path::new(name)),
        )),
        ticks,
        file: crate::library::TrackFile::nowhere(std::path::Path::new(name)),
        headers: Vec::new(),
        padding: 0,
        index: Default::default(),
    })
}

/// A programme of `tracks` (name, ticks) in name order, without audio behind them.
pub fn programme_of(tracks: &[(&str, u64)]) -> std::sync::Arc<crate::library::Programme> {
    let tracks = tracks.iter().map(|&(n, ticks)| track(n, ticks)).collect();
    std::sync::Arc::new(
        crate::library::Programme::new(tracks, crate::library::Order::Name).expect("tracks"),
    )
}

/// An ID3v2.`version` (3 or 4) tag of text and other `frames` (id, body), padded with ten
/// zeros; its header says its size, or (`sized` false) none, as a muxer writing to a stream it
/// cannot seek back in leaves it.
pub fn id3v2_tag(version: u8, frames: &[(&[u8; 4], &[u8])], sized: bool) -> Vec<u8> {
    let synchsafe = |n: u32| {
        [
            (n >> 21) as u8 & 0x7F,
            (n >> 14) as u8 & 0x7F,
            (n >> 7) as u8 & 0x7F,
            n as u8 & 0x7F,
        ]
    };
    let mut body = Vec::new();
    for (id, content) in frames {
        let n = content.len() as u32;
        body.extend_from_slice(*id);
        body.extend(if version == 4 {
            synchsafe(n)
        } else {
            n.to_be_bytes()
        });
        body.extend([0, 0]);
        body.extend_from_slice(content);
    }
    body.extend([0u8; 10]);
    let mut tag = vec![b'I', b'D', b'3', version, 0, 0];
    tag.extend(synchsafe(if sized { body.len() as u32 } else { 0 }));
    tag.extend(body);
    tag
}
