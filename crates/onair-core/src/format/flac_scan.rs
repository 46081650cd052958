//! What confirms a native FLAC frame, and what a stream must be to play: the rules
//! [`super::flac_framing`] scans by (a header that can follow another, a number that goes on,
//! the most bytes a frame can take, where a header may start) and its refusals.

use super::flac::{self, NativeHeader, StreamInfo, MAX_HEADER_LEN};
use super::flac_frame::MAX_FRAME;
use crate::clock::ticks_per_sample;

/// Why a stream of this `STREAMINFO` cannot be played, if so.
pub(super) fn unplayable(info: &StreamInfo) -> Option<String> {
    if flac::bits_code(info.bits).is_none() || info.bits > 24 {
        return Some(format!(
            "FLAC with {}-bit samples, which players do not decode (8, 12, 16, 20 or 24 bits); convert it: `ffmpeg -i in.flac -sample_fmt s16 out.flac`",
            info.bits
        ));
    }
    if !crate::clock::TICKS_PER_SECOND.is_multiple_of(u64::from(info.sample_rate))
        || ticks_per_sample(info.sample_rate) == 0
        || flac::rate_code(info.sample_rate).is_none()
    {
        return Some(format!(
            "FLAC at {} Hz, a rate the station clock cannot count exactly; resample it: `ffmpeg -i in.flac -ar 48000 out.flac`",
            info.sample_rate
        ));
    }
    None
}

/// Whether `next` can follow `frame` in one stream.
pub(super) fn compatible(frame: &NativeHeader, next: &NativeHeader) -> bool {
    (
        frame.sample_rate,
        frame.channels,
        frame.bits,
        frame.variable,
    ) == (next.sample_rate, next.channels, next.bits, next.variable)
}

/// Whether `next`'s number follows `frame`'s.
pub(super) fn continues(frame: &NativeHeader, next: &NativeHeader) -> bool {
    match frame.variable {
        true => next.number == frame.number + u64::from(frame.samples),
        false => next.number == frame.number + 1,
    }
}

/// More bytes than any frame of this header's can take (every subframe verbatim, a side
/// channel a bit wider, and the header and footer).
pub(super) fn max_frame(header: &NativeHeader) -> usize {
    let bits =
        header.samples as usize * usize::from(header.channels) * (usize::from(header.bits) + 1);
    (bits.div_ceil(8) + usize::from(header.channels) * 8 + MAX_HEADER_LEN + 2).min(MAX_FRAME)
}

/// Offset of the first byte at or after `from` that could start a frame header (`0xFF` then
/// `0xF8` or `0xF9`, or `0xFF` last); `buf.len()` when there is none.
pub(super) fn next_sync(buf: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(pos) = buf
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
    {
        at += pos;
        match buf.get(at + 1) {
            Some(next) if next & 0xFE != 0xF8 => at += 1,
            _ => return at,
        }
    }
    buf.len()
}
