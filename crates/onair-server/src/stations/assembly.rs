//! What a station's programme should be now: its tracks as probed, the format rule applied, and
//! whether that differs from what plays. The one place a programme is put together.

use std::sync::Arc;

use onair_core::{printable, Format, Programme, Schedule, StationInfo, TrackMeta};

use super::admission::Admission;
use super::catalogue::Catalogue;
use super::desired::Desired;
use super::discovery::{Role, Wanted};
use super::report::WarnOnce;
use super::scheduled::{schedule_for, Extras};
use super::station::Station;
use crate::config::Config;

/// What a station's programme should be now, as far as the probes tell.
pub enum Assembly {
    /// A track is still being probed: decide when it is done.
    Waiting,
    /// What plays already.
    Same,
    /// No playable track.
    Empty,
    /// Another programme.
    New(Programme),
}

/// What a programme is put together from: the probes, and the warnings already given.
pub struct Assembler<'a> {
    /// Every track probed.
    pub catalogue: &'a Catalogue,
    /// What has been warned about.
    pub warned: &'a WarnOnce,
}

impl Assembler<'_> {
    /// The programme `wanted` makes now: its tracks as probed (a track still being written
    /// keeps the version playing), those the station's format rule leaves out warned about.
    pub fn assemble(
        &self,
        name: &str,
        wanted: &Wanted,
        desired: &Desired,
        station: Option<&Station>,
        config: &Config,
    ) -> Assembly {
        let playing = station.map(Station::programme);
        let Some(tracks) =
            self.catalogue
                .tracks_for(wanted, &desired.unsettled, playing.as_deref())
        else {
            return Assembly::Waiting;
        };
        let named = config.stations.get(name).cloned().unwrap_or_default();
        let mut admission = Admission::new(
            &named,
            &wanted.origin,
            playing.as_ref().map(|p| p.format()),
            tracks.iter().map(|t| t.first.format()),
        );
        let mut admitted = Vec::with_capacity(tracks.len());
        for track in tracks {
            let format = track.first.format();
            match admission.judge(format) {
                Ok(()) => admitted.push(track),
                Err(left_out) => {
                    let key = format!("format {} {format} {left_out}", track.path.display());
                    if self.warned.first(key) {
                        tracing::warn!(
                            station = %name,
                            track = %printable(&track.path),
                            track_format = %format,
                            station_format = %admission.station_format(),
                            "track left out ({left_out}): every track of a station must share codec, sample rate and channels"
                        );
                    }
                }
            }
        }
        let order = wanted.order;
        let same = playing
            .as_ref()
            .is_some_and(|p| same_tracks(p, order, &admitted));
        if same {
            return Assembly::Same;
        }
        match Programme::new(admitted, order) {
            Some(programme) => Assembly::New(programme),
            None => Assembly::Empty,
        }
    }

    /// Station `name`'s schedule, playing `own` outside its slots: `Some(None)` for a station
    /// the config does not schedule, `None` while a slot's or jingle's track is being probed.
    pub fn assemble_schedule(
        &self,
        name: &str,
        wanted: &Wanted,
        desired: &Desired,
        station: Option<&Station>,
        config: &Config,
        own: &Arc<Programme>,
    ) -> Option<Option<Schedule>> {
        if !config.stations.get(name).is_some_and(|s| s.is_scheduled()) {
            return Some(None);
        }
        let slot_names: Vec<String> = config
            .stations
            .get(name)
            .map(|s| s.slots.iter().map(|slot| slot.name.clone()).collect())
            .unwrap_or_default();
        let extras =
            self.assemble_extras(name, wanted, desired, station, own.format(), &slot_names)?;
        let epoch = config.pacing_for(name).epoch;
        Some(Some(schedule_for(
            name,
            config,
            Arc::clone(own),
            &extras,
            epoch,
        )))
    }

    /// The programmes `wanted`'s schedule names ([`Extras`]): each as probed, its tracks of
    /// another format than `format` (the station's) left out and warned about; `None` while a
    /// track is being probed. A programme whose tracks are those `station` plays already is
    /// that one, so that an unchanged schedule is seen to be unchanged.
    fn assemble_extras(
        &self,
        name: &str,
        wanted: &Wanted,
        desired: &Desired,
        station: Option<&Station>,
        format: Format,
        slot_names: &[String],
    ) -> Option<Extras> {
        let current = station.and_then(Station::schedule);
        let mut extras = Vec::with_capacity(wanted.extras.len());
        for (role, extra) in &wanted.extras {
            let playing = current.as_ref().and_then(|s| match role {
                Role::Slot(i) => s.slots.get(*i).and_then(|p| p.programme.clone()),
                Role::Jingles => s.jingles.as_ref().map(|j| Arc::clone(&j.programme)),
            });
            let tracks =
                self.catalogue
                    .tracks_for(extra, &desired.unsettled, playing.as_deref())?;
            let admitted: Vec<_> = tracks
                .into_iter()
                .filter(|track| {
                    let other = track.first.format();
                    let fits = other == format;
                    let key = format!("format {} {other} {format}", track.path.display());
                    if !fits && self.warned.first(key) {
                        tracing::warn!(
                            station = %name,
                            track = %printable(&track.path),
                            track_format = %other,
                            station_format = %format,
                            "scheduled track left out: a slot's or jingle's tracks must share the station's codec, sample rate and channels"
                        );
                    }
                    fits
                })
                .collect::<Vec<_>>();
            // A slot's untagged tracks are called by the slot's name (not the station's title,
            // which they would otherwise carry for the whole slot).
            let admitted: Vec<_> = match role {
                Role::Slot(i) => match slot_names.get(*i) {
                    Some(slot) => admitted
                        .into_iter()
                        .map(|t| named_by_slot(t, slot))
                        .collect(),
                    None => admitted,
                },
                Role::Jingles => admitted,
            };
            let same = playing
                .as_ref()
                .is_some_and(|p| same_tracks(p, extra.order, &admitted));
            let programme = match same {
                true => playing,
                false => Programme::new(admitted, extra.order).map(Arc::new),
            };
            extras.push((*role, programme));
        }
        Some(extras)
    }
}

/// Whether `programme` plays exactly `tracks` (the same probes) in `order`.
/// `track`, called `slot` when its file has no artist or title tag.
fn named_by_slot(track: Arc<StationInfo>, slot: &str) -> Arc<StationInfo> {
    if track.meta.is_tagged() || slot.is_empty() {
        return track;
    }
    let meta = TrackMeta {
        tags: onair_core::TrackTags {
            title: Some(slot.to_string()),
            ..onair_core::TrackTags::default()
        },
        name: track.meta.name.clone(),
    };
    Arc::new(StationInfo {
        meta: Arc::new(meta),
        ..(*track).clone()
    })
}

/// Whether `tracks` are the ones `programme` plays, in `order`: the same versions of the same
/// files (by value: a slot's renamed tracks are new each time they are assembled), called the
/// same.
fn same_tracks(
    programme: &Programme,
    order: onair_core::Order,
    tracks: &[Arc<StationInfo>],
) -> bool {
    programme.order() == order
        && programme.tracks().len() == tracks.len()
        && programme.tracks().iter().zip(tracks).all(|(a, b)| {
            Arc::ptr_eq(a, b)
                || (a.file == b.file
                    && a.range == b.range
                    && a.frames == b.frames
                    && a.meta == b.meta)
        })
}
