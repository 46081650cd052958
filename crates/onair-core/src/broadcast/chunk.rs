//! The unit of broadcast: whole frames of one track, shared by every listener, and what that
//! track is called.

use std::sync::Arc;

use bytes::Bytes;

use crate::format::TrackTags;

/// What a track is called, for listeners: from a file's tags and name, or from whatever else
/// feeds the station (no file need be behind it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackMeta {
    /// Artist and title, where known.
    pub tags: TrackTags,
    /// What to call it without tags (a file's name without its extension).
    pub name: String,
}

impl TrackMeta {
    /// A track called `name`, without tags.
    pub fn named(name: impl Into<String>) -> TrackMeta {
        TrackMeta {
            tags: TrackTags::default(),
            name: name.into(),
        }
    }

    /// Whether it has an artist or a title.
    pub fn is_tagged(&self) -> bool {
        self.tags.artist.is_some() || self.tags.title.is_some()
    }

    /// What listeners are told is playing: `Artist - Title`, or the title alone, or the name.
    pub fn display(&self) -> String {
        match (&self.tags.artist, &self.tags.title) {
            (Some(artist), Some(title)) => format!("{artist} - {title}"),
            (None, Some(title)) => title.clone(),
            (Some(artist), None) => format!("{artist} - {}", self.name),
            (None, None) => self.name.clone(),
        }
    }
}

/// A track as it plays on a station: what it is called, and when on the station clock.
#[derive(Debug)]
pub struct NowPlaying {
    /// The track.
    pub track: Arc<TrackMeta>,
    /// The station-clock tick of its first frame (in the past when the station went on air
    /// inside it).
    pub started: u64,
    /// Its length in ticks (0 when not known, as for a live source).
    pub ticks: u64,
}

/// A run of whole frames of one track, about `chunk_ms` of audio (shorter where a track ends),
/// published by the pacer at its deadline.
///
/// Cloning a chunk clones a reference to the bytes, never the audio: every listener of a station
/// sends the same memory.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Whole frames; starts on a sync word.
    pub data: Bytes,
    /// Position in the station's broadcast, counting from 0 at station start.
    pub seq: u64,
    /// Audio time at the start of the chunk since the station started, in nanoseconds.
    pub pts_ns: u64,
    /// The station-clock tick of its first frame (what a listener heard, when: analytics).
    pub tick: u64,
    /// Audio duration of the chunk, in nanoseconds.
    pub duration_ns: u64,
    /// Frames in `data`.
    pub frames: u32,
    /// The track the frames belong to (`None` for audio from elsewhere: tests, benchmarks).
    pub track: Option<Arc<NowPlaying>>,
    /// The link of a chained container the chunk is in (Ogg), with what a listener joining in
    /// it needs first.
    pub link: Option<crate::broadcast::Link>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_track_is_called_by_its_tags_else_its_name() {
        let mut meta = TrackMeta::named("03 Blue");
        assert_eq!(meta.display(), "03 Blue");
        assert!(!meta.is_tagged());
        meta.tags.artist = Some("Monk".into());
        assert_eq!(meta.display(), "Monk - 03 Blue");
        meta.tags.title = Some("Blue Monk".into());
        assert_eq!(meta.display(), "Monk - Blue Monk");
        meta.tags.artist = None;
        assert_eq!(meta.display(), "Blue Monk");
    }
}
