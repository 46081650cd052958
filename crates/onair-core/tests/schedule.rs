//! The schedule laid on the station clock: slots by weekday and time of day in a time zone
//! (daylight-saving changes included), `track` and `time` starts, slots across midnight,
//! jingles, determinism across a restart, and live edits. Pure: no clock is read.

use std::sync::Arc;
use std::time::SystemTime;

use onair_core::schedule::{
    ClockTime, Days, Grid, JingleEvery, Jingles, Planner, Schedule, SlotPlay, SlotTimes, StartRule,
};
use onair_core::testing::track;
use onair_core::{tick_at, Entry, Order, Programme, Timeline, TICKS_PER_SECOND};

const S: u64 = TICKS_PER_SECOND;
/// One ADTS frame of the test tracks (1024 samples at 44.1 kHz).
const FRAME: u64 = 1024 * 640;

fn epoch() -> SystemTime {
    at("2026-01-01T00:00:00Z")
}

fn at(text: &str) -> SystemTime {
    SystemTime::from(text.parse::<jiff::Timestamp>().expect("timestamp"))
}

fn tick(text: &str) -> u64 {
    tick_at(epoch(), at(text))
}

/// A programme of tracks `prefix0.aac`... of the given lengths in seconds.
fn programme(prefix: &str, seconds: &[u64]) -> Arc<Programme> {
    let tracks = seconds
        .iter()
        .enumerate()
        .map(|(i, s)| track(&format!("{prefix}{i}.aac"), s * S))
        .collect();
    Arc::new(Programme::new(tracks, Order::Name).expect("tracks"))
}

struct Slot {
    days: &'static str,
    from: &'static str,
    to: &'static str,
    programme: Option<Arc<Programme>>,
    start: StartRule,
    wait_s: u64,
}

fn slot(days: &'static str, from: &'static str, to: &'static str, p: &Arc<Programme>) -> Slot {
    Slot {
        days,
        from,
        to,
        programme: Some(Arc::clone(p)),
        start: StartRule::Track,
        wait_s: 300,
    }
}

fn schedule(
    zone: &str,
    own: &Arc<Programme>,
    slots: Vec<Slot>,
    jingles: Option<Jingles>,
) -> Arc<Schedule> {
    let grid = Grid::new(
        Grid::zone_named(zone).expect("zone"),
        slots
            .iter()
            .map(|s| SlotTimes {
                days: Days::parse(s.days).expect("days"),
                from: ClockTime::parse(s.from).expect("from"),
                to: ClockTime::parse(s.to).expect("to"),
            })
            .collect(),
    );
    Arc::new(Schedule {
        own: Arc::clone(own),
        grid,
        slots: slots
            .into_iter()
            .enumerate()
            .map(|(i, s)| SlotPlay {
                name: format!("slot {i}"),
                programme: s.programme,
                start: s.start,
                max_wait: s.wait_s * S,
                live_only: false,
            })
            .collect(),
        jingles,
        epoch: epoch(),
        anchor: 0,
    })
}

/// The whole plan up to `until`, as a timeline.
fn timeline(schedule: &Arc<Schedule>, until: u64) -> Timeline {
    let mut planner = Planner::new(Arc::clone(schedule));
    let first = planner.first_entry();
    let mut entries = vec![first];
    entries.extend(planner.plan_until(until));
    Timeline::planned(entries).expect("entries")
}

/// The first entry that starts in `[from, until)`.
fn switch_in(timeline: &Timeline, from: u64, until: u64) -> Option<Entry> {
    timeline
        .entries()
        .iter()
        .find(|e| e.from >= from && e.from < until)
        .cloned()
}

fn name_at(timeline: &Timeline, tick: u64) -> String {
    timeline.track_at(tick).track.path.display().to_string()
}

/// Whether `tick` ends a track of what played before it.
fn ends_a_track(timeline: &Timeline, tick: u64) -> bool {
    timeline.track_at(tick - 1).ends == tick
}

#[test]
fn weekday_and_weekend_slots_start_after_the_track_and_give_back_the_clock() {
    let own = programme("own", &[200, 170, 230]);
    let morning = programme("morning", &[150, 160]);
    let weekend = programme("weekend", &[100]);
    let s = schedule(
        "UTC",
        &own,
        vec![
            slot("mon-fri", "07:00", "10:00", &morning),
            slot("sat,sun", "09:00", "12:00", &weekend),
        ],
        None,
    );
    let tl = timeline(&s, tick("2026-06-08T00:00:00Z"));
    // Monday 2026-06-01, 07:00: the own track playing then finishes (at most 230 s later).
    let start = tick("2026-06-01T07:00:00Z");
    let entry = switch_in(&tl, start, start + 230 * S).expect("the morning show starts");
    assert!(Arc::ptr_eq(&entry.programme, &morning));
    assert!(ends_a_track(&tl, entry.from), "no track is cut");
    assert_eq!(name_at(&tl, entry.from), "morning0.aac");
    assert!(name_at(&tl, start).starts_with("own"));
    // 10:00: the morning track playing then finishes, and the own programme comes back with
    // the track its clock plays then, from its start.
    let end = tick("2026-06-01T10:00:00Z");
    let back = switch_in(&tl, end, end + 160 * S).expect("the own programme comes back");
    assert!(Arc::ptr_eq(&back.programme, &own));
    assert!(ends_a_track(&tl, back.from));
    assert_eq!(back.offset, own.locate(back.from).start);
    // Every weekday, not on Saturday at 07:00, and the weekend slot at 09:00 then.
    for day in ["2026-06-02", "2026-06-03", "2026-06-04", "2026-06-05"] {
        let start = tick(&format!("{day}T07:00:00Z"));
        let e = switch_in(&tl, start, start + 230 * S).expect("weekday");
        assert!(Arc::ptr_eq(&e.programme, &morning), "{day}");
    }
    let saturday = tick("2026-06-06T07:00:00Z");
    assert!(name_at(&tl, saturday + 3600 * S).starts_with("own"));
    let nine = tick("2026-06-06T09:00:00Z");
    let e = switch_in(&tl, nine, nine + 230 * S).expect("weekend");
    assert!(Arc::ptr_eq(&e.programme, &weekend));
    assert!(name_at(&tl, tick("2026-06-07T11:00:00Z")).starts_with("weekend"));
    assert!(name_at(&tl, tick("2026-06-07T13:00:00Z")).starts_with("own"));
}

#[test]
fn a_time_start_cuts_on_a_frame_boundary_and_a_slot_track_that_cannot_finish_does_not_start() {
    let own = programme("own", &[200, 170, 230]);
    let news = programme("news", &[290]);
    let mut s = slot("daily", "12:00", "12:05", &news);
    s.start = StartRule::Time;
    s.wait_s = 60;
    let s = schedule("UTC", &own, vec![s], None);
    let tl = timeline(&s, tick("2026-06-03T00:00:00Z"));
    for day in ["2026-06-01", "2026-06-02"] {
        let noon = tick(&format!("{day}T12:00:00Z"));
        let e = switch_in(&tl, noon, noon + 300 * S).expect("news");
        assert!(Arc::ptr_eq(&e.programme, &news));
        // On the first frame boundary at or after 12:00.
        assert!(
            e.from >= noon && e.from - noon < FRAME,
            "{day}: {} ticks late",
            e.from - noon
        );
        let before = tl.track_at(e.from - 1);
        assert_eq!(
            (e.from - before.started) % FRAME,
            0,
            "a frame boundary of the track cut"
        );
        // The news (4:50) once; a second would end at 12:09:40, past 12:05 + 60 s: the own
        // programme takes over when the first ends.
        let back = switch_in(&tl, e.from + 1, e.from + 600 * S).expect("own again");
        assert_eq!(back.from, e.from + 290 * S);
        assert!(Arc::ptr_eq(&back.programme, &own));
    }
}

#[test]
fn a_slot_across_midnight_belongs_to_the_day_it_starts_on() {
    let own = programme("own", &[200, 170, 230]);
    let night = programme("night", &[240]);
    let s = schedule(
        "UTC",
        &own,
        vec![slot("fri", "22:00", "02:00", &night)],
        None,
    );
    let tl = timeline(&s, tick("2026-06-08T00:00:00Z"));
    assert!(name_at(&tl, tick("2026-06-05T21:59:00Z")).starts_with("own"));
    assert!(name_at(&tl, tick("2026-06-06T00:30:00Z")).starts_with("night"));
    assert!(name_at(&tl, tick("2026-06-06T01:55:00Z")).starts_with("night"));
    assert!(name_at(&tl, tick("2026-06-06T02:10:00Z")).starts_with("own"));
    // Not on Saturday night.
    assert!(name_at(&tl, tick("2026-06-07T00:30:00Z")).starts_with("own"));
}

#[test]
fn slots_follow_the_local_time_across_both_daylight_saving_changes_of_2026() {
    let own = programme("own", &[200, 170, 230]);
    let show = programme("show", &[120]);
    for (zone, cases) in [
        (
            "Europe/Berlin",
            [
                ("2026-03-28T06:00:00Z", "2026-03-29T05:00:00Z"),
                ("2026-10-24T05:00:00Z", "2026-10-25T06:00:00Z"),
            ],
        ),
        (
            "America/New_York",
            [
                ("2026-03-07T12:00:00Z", "2026-03-08T11:00:00Z"),
                ("2026-10-31T11:00:00Z", "2026-11-01T12:00:00Z"),
            ],
        ),
    ] {
        let s = schedule(
            zone,
            &own,
            vec![slot("daily", "07:00", "08:00", &show)],
            None,
        );
        let tl = timeline(&s, tick("2026-11-03T00:00:00Z"));
        for (before, after) in cases {
            for day in [before, after] {
                let start = tick(day);
                let e = switch_in(&tl, start, start + 230 * S)
                    .unwrap_or_else(|| panic!("{zone}: the 07:00 show at {day}"));
                assert!(Arc::ptr_eq(&e.programme, &show), "{zone} {day}");
                // An hour earlier, the own programme.
                assert!(
                    name_at(&tl, start - 1800 * S).starts_with("own"),
                    "{zone} {day}"
                );
            }
        }
    }
    // The skipped hour: a slot from 02:00 to 03:00 does not happen on 2026-03-29 in Berlin; the
    // doubled hour: on 2026-10-25 it lasts two hours.
    let s = schedule(
        "Europe/Berlin",
        &own,
        vec![slot("sun", "02:00", "03:00", &show)],
        None,
    );
    let tl = timeline(&s, tick("2026-10-26T00:00:00Z"));
    let (from, to) = (tick("2026-03-28T23:00:00Z"), tick("2026-03-29T03:00:00Z"));
    assert!(tl
        .entries()
        .iter()
        .all(|e| e.from < from || e.from >= to || Arc::ptr_eq(&e.programme, &own)));
    assert!(
        name_at(&tl, tick("2026-03-22T01:30:00Z")).starts_with("show"),
        "a week before"
    );
    assert!(
        name_at(&tl, tick("2026-10-25T01:30:00Z")).starts_with("show"),
        "the second 02:xx"
    );
    assert!(
        name_at(&tl, tick("2026-11-01T02:30:00Z")).starts_with("own"),
        "a week after, 03:30 CET"
    );
}

#[test]
fn jingles_every_n_tracks_in_turn_and_what_they_interrupt_goes_on() {
    let own = programme("own", &[100, 110, 120, 130, 140]);
    let jingles = programme("jingle", &[10, 12]);
    let s = schedule(
        "UTC",
        &own,
        vec![],
        Some(Jingles {
            programme: Arc::clone(&jingles),
            every: JingleEvery::Tracks(4),
        }),
    );
    let tl = timeline(&s, 3600 * S);
    let names: Vec<String> = {
        let mut names = Vec::new();
        let mut t = 0;
        while t < 3000 * S {
            let placed = tl.track_at(t);
            names.push(placed.track.path.display().to_string());
            t = placed.ends;
        }
        names
    };
    assert_eq!(
        &names[..12],
        [
            "own0.aac",
            "own1.aac",
            "own2.aac",
            "own3.aac",
            "jingle0.aac",
            "own4.aac",
            "own0.aac",
            "own1.aac",
            "own2.aac",
            "jingle1.aac",
            "own3.aac",
            "own4.aac"
        ]
    );
}

#[test]
fn jingles_every_m_minutes_play_at_the_first_boundary_after_each_mark() {
    let own = programme("own", &[200, 170, 230]);
    let jingles = programme("id", &[8]);
    let s = schedule(
        "UTC",
        &own,
        vec![],
        Some(Jingles {
            programme: Arc::clone(&jingles),
            every: JingleEvery::Ticks(15 * 60 * S),
        }),
    );
    let day = tick("2026-06-01T00:00:00Z");
    let tl = timeline(&s, day + 2 * 3600 * S);
    let jingle_starts: Vec<u64> = tl
        .entries()
        .iter()
        .filter(|e| Arc::ptr_eq(&e.programme, &jingles) && e.from >= day)
        .map(|e| e.from)
        .collect();
    assert!(jingle_starts.len() >= 7, "{}", jingle_starts.len());
    for (i, start) in jingle_starts.iter().enumerate() {
        let mark = (day / (900 * S) + i as u64) * 900 * S;
        let mark = if *start >= mark { mark } else { mark - 900 * S };
        assert!(
            *start >= mark && *start - mark < 240 * S,
            "jingle {i} {} s after its mark",
            (*start - mark) / S
        );
        assert!(ends_a_track(&tl, *start));
    }
}

#[test]
fn a_restarted_plan_is_the_same_plan() {
    let own = programme("own", &[200, 170, 230, 199]);
    let show = programme("show", &[150, 160]);
    let jingles = programme("id", &[8, 9]);
    let mut news = slot("daily", "12:00", "12:05", &programme("news", &[290]));
    news.start = StartRule::Time;
    let s = schedule(
        "Europe/Berlin",
        &own,
        vec![slot("mon-fri", "07:00", "10:00", &show), news],
        Some(Jingles {
            programme: jingles,
            every: JingleEvery::Tracks(3),
        }),
    );
    let until = tick("2026-06-10T00:00:00Z");
    // One planner that ran for a week in steps, forgetting as it went...
    let mut running = Planner::new(Arc::clone(&s));
    let mut seen = vec![running.first_entry()];
    let mut t = tick("2026-06-01T00:00:00Z");
    while t < until {
        seen.extend(running.plan_until(t));
        running.forget_before(t.saturating_sub(3600 * S));
        t += 600 * S;
    }
    seen.extend(running.plan_until(until));
    let running = Timeline::planned(seen).expect("entries");
    // ... and one started afresh: the same frame at every moment.
    let fresh = timeline(&s, until);
    for probe in (tick("2026-06-02T00:00:00Z")..until - 3600 * S).step_by((3607 * S) as usize) {
        let (a, b) = (running.track_at(probe), fresh.track_at(probe));
        assert_eq!((a.started, &a.track.path), (b.started, &b.track.path));
    }
}

#[test]
fn an_edited_grid_takes_effect_at_the_chosen_boundary() {
    let own = programme("own", &[200, 170, 230]);
    let show = programme("show", &[150, 160]);
    let old = schedule(
        "UTC",
        &own,
        vec![slot("daily", "20:00", "22:00", &show)],
        None,
    );
    let mut planner = Planner::new(Arc::clone(&old));
    let now = tick("2026-06-01T18:00:00Z");
    let mut tl = Timeline::planned(vec![planner.first_entry()]).expect("entry");
    tl.extend(planner.plan_until(now + 600 * S));
    // The show moves to now: it starts at the next track boundary.
    let new = schedule(
        "UTC",
        &own,
        vec![slot("daily", "17:00", "22:00", &show)],
        None,
    );
    let at = tl.next_track_boundary(now + 2 * S);
    let ended = tl.track_at(at - 1);
    let entries = planner.change(
        at,
        Arc::clone(&new),
        Some((&ended.track, ended.spot.round)),
        now + 600 * S,
        false,
    );
    assert_eq!(entries[0].from, at);
    assert!(Arc::ptr_eq(&entries[0].programme, &show));
    tl.truncate_from(at);
    tl.extend(entries);
    assert!(name_at(&tl, at).starts_with("show0"));
    // Another own programme, outside slots: it goes on after the track that ended.
    let own2 = programme("own", &[200, 170, 230, 50]);
    let later = tick("2026-06-01T23:00:00Z");
    tl.extend(planner.plan_until(later + 600 * S));
    let at = tl.next_track_boundary(later);
    let ended = tl.track_at(at - 1);
    let edited = schedule(
        "UTC",
        &own2,
        vec![slot("daily", "17:00", "22:00", &show)],
        None,
    );
    let entries = planner.change(
        at,
        edited,
        Some((&ended.track, ended.spot.round)),
        later + 600 * S,
        false,
    );
    assert!(Arc::ptr_eq(&entries[0].programme, &own2));
    tl.truncate_from(at);
    tl.extend(entries.iter().cloned());
    assert_eq!(
        entries[0].offset,
        own2.continue_after(&ended.track, ended.spot.round).start
    );
    // The same inputs again: the plan goes on as if nothing changed.
    let at2 = tl_boundary(&planner, at + 1000 * S);
    let until = at2 + 7200 * S;
    let mut untouched = planner.clone();
    let mut expected = tl.clone();
    expected.extend(untouched.plan_until(until));
    let same = Arc::clone(planner.schedule());
    let mut changed = tl.clone();
    changed.extend(planner.plan_until(at2));
    changed.truncate_from(at2);
    changed.extend(planner.change(at2, same, None, until, false));
    for probe in (at2..until).step_by((97 * S) as usize) {
        let (a, b) = (expected.track_at(probe), changed.track_at(probe));
        assert_eq!((a.started, &a.track.path), (b.started, &b.track.path));
    }
}

fn tl_boundary(planner: &Planner, after: u64) -> u64 {
    let mut p = planner.clone();
    let mut entries = vec![p.first_entry()];
    entries.extend(p.plan_until(after + 3600 * S));
    Timeline::planned(entries)
        .expect("entries")
        .next_track_boundary(after)
}

#[test]
fn a_timeline_from_now_is_the_plan_from_the_epoch() {
    let own = programme("own", &[200, 170, 230]);
    let show = programme("show", &[150, 160]);
    let s = schedule(
        "UTC",
        &own,
        vec![slot("daily", "07:00", "10:00", &show)],
        None,
    );
    let (from, until) = (tick("2026-06-01T06:00:00Z"), tick("2026-06-01T12:00:00Z"));
    let tl = Planner::new(Arc::clone(&s)).timeline(from, until);
    let whole = timeline(&s, until);
    assert!(tl.entries().len() <= 3);
    for probe in (from..until).step_by((61 * S) as usize) {
        let (a, b) = (tl.track_at(probe), whole.track_at(probe));
        assert_eq!((a.started, &a.track.path), (b.started, &b.track.path));
    }
}

#[test]
fn a_slot_that_interrupts_another_gives_it_back_where_it_stopped() {
    let own = programme("own", &[200, 170, 230]);
    let brunch = programme("brunch", &[600, 700]);
    let mut news = slot("daily", "12:00", "12:05", &programme("news", &[240]));
    news.start = StartRule::Time;
    news.wait_s = 60;
    let s = schedule(
        "UTC",
        &own,
        vec![slot("sun", "09:00", "12:30", &brunch), news],
        None,
    );
    let tl = timeline(&s, tick("2026-06-08T00:00:00Z"));
    let noon = tick("2026-06-07T12:00:00Z");
    let cut = tl.track_at(noon - 1);
    assert!(cut.track.path.display().to_string().starts_with("brunch"));
    let news_at = switch_in(&tl, noon, noon + FRAME).expect("the news on time");
    // After the news (4:00), the brunch goes on from the frame where it was cut...
    let back = switch_in(&tl, news_at.from + 1, news_at.from + 600 * S).expect("back");
    assert_eq!(back.from, news_at.from + 240 * S);
    assert!(Arc::ptr_eq(&back.programme, &brunch));
    assert_eq!(back.offset, tl.at(noon - 1).position(news_at.from));
    // ... and ends at its own end.
    assert!(name_at(&tl, tick("2026-06-07T12:20:00Z")).starts_with("brunch"));
    assert!(name_at(&tl, tick("2026-06-07T12:45:00Z")).starts_with("own"));
}

#[test]
fn a_plan_from_an_anchor_starts_there_and_agrees_with_itself_from_anywhere_later() {
    let own = programme("own", &[200, 170, 230]);
    let show = programme("show", &[150, 160]);
    let slots = || vec![slot("daily", "07:00", "10:00", &show)];
    let anchored = |anchor: u64| {
        let mut s = (*schedule("UTC", &own, slots(), None)).clone();
        s.anchor = anchor;
        Arc::new(s)
    };
    // Anchored outside the slot: the own programme from its first track, at the anchor.
    let a = tick("2026-06-01T06:00:03Z");
    let s = anchored(a);
    let plan = timeline(&s, tick("2026-06-01T12:00:00Z"));
    let first = plan.track_at(a);
    assert_eq!((first.started, name_at(&plan, a)), (a, "own0.aac".into()));
    assert_eq!(name_at(&plan, a + 200 * S), "own1.aac");
    // The slot still starts at its time (the track playing at 07:00 ends first).
    let seven = tick("2026-06-01T07:00:00Z");
    let started = switch_in(&plan, seven, seven + 600 * S).expect("the slot starts");
    assert_eq!(name_at(&plan, started.from), "show0.aac");
    // Anchored inside the slot: the slot's first track at the anchor.
    let b = tick("2026-06-01T08:30:00Z");
    let plan = timeline(&anchored(b), tick("2026-06-01T12:00:00Z"));
    assert_eq!(plan.track_at(b).started, b);
    assert_eq!(name_at(&plan, b), "show0.aac");
    // A replica that starts later lays the same plan as one that planned from the anchor.
    let (from, until) = (tick("2026-06-01T09:00:00Z"), tick("2026-06-01T13:00:00Z"));
    let later = Planner::new(anchored(b)).timeline(from, until);
    let whole = timeline(&anchored(b), until);
    for probe in (from..until).step_by((61 * S) as usize) {
        let (x, y) = (later.track_at(probe), whole.track_at(probe));
        assert_eq!((x.started, &x.track.path), (y.started, &y.track.path));
    }
    // The epoch's plan is the anchor 0.
    let epoch_plan = timeline(&anchored(0), from);
    assert_eq!(epoch_plan.track_at(0).started, 0);
}
