//! What a station knows of its live source: the input the pacer takes live frames from, and
//! who is connected (for status, the page and the admin API).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use onair_core::{LiveInput, TrackMeta, TrackTags};

use crate::sync::{read, write};

/// The `ice-*` headers a source sent: what it says of itself, shown while it is live (status
/// pages serialize it as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IceFields {
    /// `ice-name`
    pub name: Option<String>,
    /// `ice-description`
    pub description: Option<String>,
    /// `ice-genre`
    pub genre: Option<String>,
    /// `ice-url`
    pub url: Option<String>,
    /// `ice-public`
    pub public: Option<bool>,
    /// `ice-audio-info`
    pub audio_info: Option<String>,
}

/// A source connected to a station.
#[derive(Debug)]
pub struct SourceInfo {
    /// When it connected.
    pub since: SystemTime,
    /// Its address.
    pub address: SocketAddr,
    /// Its `User-Agent`.
    pub user_agent: String,
    /// The content type it announced.
    pub content_type: String,
    /// What it says of itself.
    pub ice: IceFields,
    /// Bytes received from it.
    pub bytes_in: AtomicU64,
    /// The stream's URL, when it is a relay onair pulls.
    pub relay: Option<String>,
    /// The title its last metadata update set, if any.
    title: RwLock<Option<String>>,
}

impl SourceInfo {
    /// A source from `address` that just connected.
    pub fn new(
        since: SystemTime,
        address: SocketAddr,
        user_agent: String,
        content_type: String,
        ice: IceFields,
    ) -> SourceInfo {
        SourceInfo {
            since,
            address,
            user_agent,
            content_type,
            ice,
            bytes_in: AtomicU64::new(0),
            relay: None,
            title: RwLock::new(None),
        }
    }

    /// A relay's upstream at `url` (`address`), reached now.
    pub fn relayed(
        since: SystemTime,
        address: SocketAddr,
        url: String,
        content_type: String,
        ice: IceFields,
    ) -> SourceInfo {
        SourceInfo {
            relay: Some(url),
            ..SourceInfo::new(since, address, "onair relay".to_string(), content_type, ice)
        }
    }

    /// The title its last metadata update set.
    pub fn title(&self) -> Option<String> {
        read(&self.title).clone()
    }

    /// Bytes received so far.
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in.load(Ordering::Relaxed)
    }
}

/// A station's live side.
#[derive(Debug)]
pub struct StationLive {
    /// The jitter buffer the station's feed takes live frames from.
    pub input: Arc<LiveInput>,
    /// The source connected now.
    source: RwLock<Option<Arc<SourceInfo>>>,
    /// When the last source left (a live-only station's listeners stay a while).
    left_at: RwLock<Option<Instant>>,
    /// A source that sends nothing for this long is dropped.
    pub source_timeout: Duration,
    /// Sources of another format than the station's are taken (on a segment boundary).
    pub other_formats: bool,
}

impl StationLive {
    /// A station's live side: `buffer` of audio before a source goes on air; sources of other
    /// formats taken or not.
    pub fn new(buffer: Duration, source_timeout: Duration, other_formats: bool) -> StationLive {
        StationLive {
            input: LiveInput::new(buffer),
            source: RwLock::new(None),
            left_at: RwLock::new(None),
            source_timeout,
            other_formats,
        }
    }

    /// The source connected now.
    pub fn source(&self) -> Option<Arc<SourceInfo>> {
        read(&self.source).clone()
    }

    /// Whether live audio plays now.
    pub fn on_air(&self) -> bool {
        self.input.is_on_air()
    }

    /// Records the source now connected.
    pub fn set_source(&self, source: Arc<SourceInfo>) {
        *write(&self.left_at) = None;
        *write(&self.source) = Some(source);
    }

    /// Records that `source` left, unless another took its place already (a pushed source
    /// outranking a relay).
    pub fn clear_source(&self, source: &Arc<SourceInfo>) {
        let mut now = write(&self.source);
        if now.as_ref().is_some_and(|s| Arc::ptr_eq(s, source)) {
            *now = None;
            *write(&self.left_at) = Some(Instant::now());
        }
    }

    /// Whether a show is on: a source is connected, or left less than `source_timeout` ago
    /// (encoders reconnect).
    pub fn show_on(&self) -> bool {
        self.source().is_some()
            || read(&self.left_at).is_some_and(|at| at.elapsed() < self.source_timeout)
    }

    /// Sets the live title (a metadata update): listeners see it from the next chunk on.
    /// `song` is the whole title; `artist` and `title` its parts, when sent apart.
    pub fn set_title(&self, song: Option<&str>, artist: Option<&str>, title: Option<&str>) {
        let Some(source) = self.source() else {
            return;
        };
        let current = self.input.track();
        // An empty field is no field (encoders send `song=` for an untagged file).
        let (song, artist, title) = (given(song), given(artist), given(title));
        let tags = match (song, artist, title) {
            // Nothing: back to what the source is called.
            (None, None, None) => TrackTags {
                title: Some(current.name.clone()),
                ..TrackTags::default()
            },
            (Some(song), _, _) => TrackTags {
                title: Some(song),
                ..TrackTags::default()
            },
            (None, artist, title) => TrackTags {
                artist,
                title,
                ..TrackTags::default()
            },
        };
        let track = TrackMeta {
            tags,
            name: current.name.clone(),
        };
        *write(&source.title) = Some(track.display());
        self.input.retitle(Arc::new(track));
    }

    /// Cuts the connected source off (its buffered audio is dropped): the programme comes
    /// back at the next chunk.
    pub fn cut_off(&self) -> bool {
        self.input.cut_off()
    }
}

/// `field` without its spaces, if anything is left.
/// A metadata field as shown: control characters out, at most 1 KiB; empty is none.
fn given(field: Option<&str>) -> Option<String> {
    field.map(onair_core::clean_text).filter(|s| !s.is_empty())
}

/// What live audio is called before any metadata update: the source's `ice-name`, else the
/// station's title.
pub fn live_track(ice: &IceFields, station_title: &str) -> Arc<TrackMeta> {
    let name = ice
        .name
        .clone()
        .unwrap_or_else(|| station_title.to_string());
    Arc::new(TrackMeta {
        tags: TrackTags {
            title: Some(name.clone()),
            ..TrackTags::default()
        },
        name,
    })
}
