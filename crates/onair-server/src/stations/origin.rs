//! Where a station's audio comes from, and what that means for it: the one place that tells a
//! station file from a programme folder and a live-only station (and, later, a relay).

use std::path::{Path, PathBuf};

/// Where a station's audio comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// One station file, looped.
    File(PathBuf),
    /// A folder of tracks: a programme.
    Folder(PathBuf),
    /// Live sources only (`live_only = true`): off air but while a source is on, silence (this
    /// file of it) underneath.
    LiveOnly(PathBuf),
}

/// Where a changed programme takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchAt {
    /// At the next HLS segment boundary, joining the clock where it is (a station file's new
    /// version: its end may be hours away).
    SegmentBoundary,
    /// At the next track boundary, going on after the track that ended (no track is cut).
    TrackBoundary,
}

impl Origin {
    /// The file or folder.
    pub fn path(&self) -> &Path {
        match self {
            Origin::File(path) | Origin::Folder(path) | Origin::LiveOnly(path) => path,
        }
    }

    /// Whether `other` is of the same kind (a station that turns from a file into a folder is
    /// taken off air and mounted anew).
    pub fn same_kind(&self, other: &Origin) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    /// Whether an untagged track is called by its file name (a programme's tracks name
    /// themselves) rather than by the station's title (a station file is the station), and
    /// whether a station file's title tag names the station.
    pub fn tracks_name_themselves(&self) -> bool {
        matches!(self, Origin::Folder(_))
    }

    /// Whether every track must keep the format that plays (a programme: a browser's `<audio>`
    /// fails on a change mid-stream); a station file may change format at a replacement (HLS
    /// marks a discontinuity).
    pub fn keeps_format(&self) -> bool {
        matches!(self, Origin::Folder(_))
    }

    /// Whether the station is heard only while a live source is on (see
    /// [`Station::is_audible`](super::Station::is_audible)).
    pub fn is_live_only(&self) -> bool {
        matches!(self, Origin::LiveOnly(_))
    }

    /// Where a change of audio takes over.
    pub fn switch_at(&self) -> SwitchAt {
        match self {
            Origin::File(_) | Origin::LiveOnly(_) => SwitchAt::SegmentBoundary,
            Origin::Folder(_) => SwitchAt::TrackBoundary,
        }
    }
}
