//! A station's week grid: slots on days of the week between two times of day, in one IANA
//! time zone, and the instants each occurrence starts and ends.
//!
//! Local times become instants with the rule every calendar uses ("compatible", RFC 5545): a
//! time in the hour skipped when clocks go forward is taken that much later (02:30 is 03:30 on
//! the day summer time starts in Europe/Berlin), and a time in the hour that happens twice when
//! clocks go back is its first occurrence (02:30 summer time). So a slot from 02:00 to 03:00 does
//! not happen on the day the hour is skipped, and lasts two hours on the day it is doubled. The
//! time zone rules are built into the binary (`jiff`'s bundled tz database), so every replica
//! reads the same rules whatever its system's.

use std::fmt;
use std::time::SystemTime;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Days of the week, Monday first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Days(u8);

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Days {
    /// Parses `mon-fri`, `sat,sun`, `fri-mon` (wrapping), `daily`, `weekdays`, `weekends`, or a
    /// list of those separated by commas.
    pub fn parse(text: &str) -> Result<Days, String> {
        let mut bits = 0u8;
        for part in text.split(',').map(str::trim) {
            let part = part.to_ascii_lowercase();
            bits |= match part.as_str() {
                "daily" | "all" => 0x7f,
                "weekdays" => 0x1f,
                "weekends" => 0x60,
                _ => match part.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (day_index(a.trim())?, day_index(b.trim())?);
                        let mut mask = 0u8;
                        let mut d = a;
                        loop {
                            mask |= 1 << d;
                            if d == b {
                                break;
                            }
                            d = (d + 1) % 7;
                        }
                        mask
                    }
                    None => 1 << day_index(&part)?,
                },
            };
        }
        Ok(Days(bits))
    }

    /// Whether day `day` of the week (0 is Monday) is one of these days.
    pub fn contains(&self, day: usize) -> bool {
        day < 7 && self.0 & (1 << day) != 0
    }

    /// Whether `weekday` is one of these days.
    pub fn has(&self, weekday: Weekday) -> bool {
        self.0 & (1 << weekday.to_monday_zero_offset()) != 0
    }
}

impl fmt::Display for Days {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = (0..7)
            .filter(|d| self.0 & (1 << d) != 0)
            .map(|d| DAY_NAMES[d])
            .collect();
        f.write_str(&names.join(","))
    }
}

fn day_index(name: &str) -> Result<usize, String> {
    let short = name.get(..3).unwrap_or(name);
    DAY_NAMES
        .iter()
        .position(|d| *d == short && name.len() >= 3)
        .ok_or_else(|| format!("`{name}` is not a day (mon, tue, wed, thu, fri, sat, sun)"))
}

/// A time of day, to the minute: `00:00` to `24:00` (the end of the day, for a slot's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClockTime(u16);

impl ClockTime {
    /// Parses `HH:MM` (24-hour; `24:00` is the end of the day).
    pub fn parse(text: &str) -> Result<ClockTime, String> {
        let bad = || format!("`{text}` is not a time of day (HH:MM, 24-hour)");
        let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
        let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if m >= 60 || h > 24 || (h == 24 && m != 0) {
            return Err(bad());
        }
        Ok(ClockTime(h * 60 + m))
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// When a slot happens: on `days`, from `from` to `to` (a `to` at or before `from` is the next
/// day's: a slot across midnight belongs to the day it starts on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotTimes {
    /// The days it starts on.
    pub days: Days,
    /// Its start, local time.
    pub from: ClockTime,
    /// Its end, local time.
    pub to: ClockTime,
}

/// One occurrence of a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The slot (its index in the grid).
    pub slot: usize,
    /// When it starts.
    pub start: SystemTime,
    /// When it ends.
    pub end: SystemTime,
    /// The local date it starts on.
    pub day: Date,
}

/// A week grid in one time zone.
#[derive(Debug, Clone)]
pub struct Grid {
    zone: TimeZone,
    slots: Vec<SlotTimes>,
}

impl PartialEq for Grid {
    fn eq(&self, other: &Self) -> bool {
        self.slots == other.slots && self.zone.iana_name() == other.zone.iana_name()
    }
}

impl Grid {
    /// A grid of `slots` in `zone`.
    pub fn new(zone: TimeZone, slots: Vec<SlotTimes>) -> Grid {
        Grid { zone, slots }
    }

    /// The time zone named `name` (IANA, e.g. `Europe/Berlin`, or `UTC`), from the rules built
    /// into the binary.
    pub fn zone_named(name: &str) -> Result<TimeZone, String> {
        TimeZone::get(name).map_err(|_| format!("`{name}` is not an IANA time zone name"))
    }

    /// The time zone named `name`, or UTC for a name that is not one (the config checks names
    /// as it reads them).
    pub fn zone_or_utc(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap_or(TimeZone::UTC)
    }

    /// The grid's time zone.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The zone's name.
    pub fn zone_name(&self) -> &str {
        self.zone.iana_name().unwrap_or("UTC")
    }

    /// The slots.
    pub fn slots(&self) -> &[SlotTimes] {
        &self.slots
    }

    /// Every occurrence that overlaps `[from, until)`, by start (then slot).
    pub fn occurrences(&self, from: SystemTime, until: SystemTime) -> Vec<Occurrence> {
        let (Ok(a), Ok(b)) = (Timestamp::try_from(from), Timestamp::try_from(until)) else {
            return Vec::new();
        };
        let first = a.to_zoned(self.zone.clone()).date().yesterday();
        let last = b.to_zoned(self.zone.clone()).date();
        let mut out = Vec::new();
        let mut day = match first {
            Ok(day) => day,
            Err(_) => return out,
        };
        while day <= last {
            for (slot, times) in self.slots.iter().enumerate() {
                if let Some(o) = self.occurrence(slot, times, day) {
                    if o.end > from && o.start < until {
                        out.push(o);
                    }
                }
            }
            day = match day.tomorrow() {
                Ok(next) => next,
                Err(_) => break,
            };
        }
        out.sort_by_key(|o| (o.start, o.slot));
        out
    }

    /// The occurrence of `slot` that starts on local `day`, if it has one that day (and it is
    /// not swallowed by a skipped hour).
    fn occurrence(&self, slot: usize, times: &SlotTimes, day: Date) -> Option<Occurrence> {
        if !times.days.has(day.weekday()) {
            return None;
        }
        let start = self.instant(day, times.from)?;
        let end_day = if times.to <= times.from {
            day.tomorrow().ok()?
        } else {
            day
        };
        let end = self.instant(end_day, times.to)?;
        (end > start).then_some(Occurrence {
            slot,
            start,
            end,
            day,
        })
    }

    /// The instant local time `at` on `day` names ("compatible": see the module's doc).
    fn instant(&self, day: Date, at: ClockTime) -> Option<SystemTime> {
        let (day, minutes) = if at.0 == 24 * 60 {
            (day.tomorrow().ok()?, 0)
        } else {
            (day, at.0)
        };
        let local = day.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0);
        let zoned = self.zone.to_ambiguous_zoned(local).compatible().ok()?;
        Some(SystemTime::from(zoned.timestamp()))
    }

    /// `at` as local time in the grid's zone, `YYYY-MM-DD HH:MM` with the zone's abbreviation.
    pub fn local(&self, at: SystemTime) -> String {
        match Timestamp::try_from(at) {
            Ok(t) => t
                .to_zoned(self.zone.clone())
                .strftime("%a %Y-%m-%d %H:%M %Z")
                .to_string(),
            Err(_) => "?".to_string(),
        }
    }

    /// `at` as people say it at `now`: the local time (`07:00`) on the same day, with the day
    /// of the week (`Mon 07:00`) on another.
    pub fn short(&self, at: SystemTime, now: SystemTime) -> String {
        let (Ok(t), Ok(n)) = (Timestamp::try_from(at), Timestamp::try_from(now)) else {
            return "?".to_string();
        };
        let (t, n) = (t.to_zoned(self.zone.clone()), n.to_zoned(self.zone.clone()));
        let format = if t.date() == n.date() {
            "%H:%M"
        } else {
            "%a %H:%M"
        };
        t.strftime(format).to_string()
    }

    /// `at` as an RFC 3339 time with the zone's offset.
    pub fn rfc3339(&self, at: SystemTime) -> String {
        match Timestamp::try_from(at) {
            Ok(t) => t
                .to_zoned(self.zone.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
            Err(_) => String::new(),
        }
    }

    /// Pairs of slots whose occurrences overlap in the week from `from` (the first of each
    /// pair that starts first), with the overlap's start.
    pub fn overlaps(&self, from: SystemTime) -> Vec<(usize, usize, SystemTime)> {
        let week = from + std::time::Duration::from_secs(7 * 86_400);
        let occurrences = self.occurrences(from, week);
        let mut out: Vec<(usize, usize, SystemTime)> = Vec::new();
        for (i, a) in occurrences.iter().enumerate() {
            for b in &occurrences[i + 1..] {
                // By start: none after this one starts before `a` ends.
                if b.start >= a.end {
                    break;
                }
                if a.slot != b.slot && !out.iter().any(|&(x, y, _)| (x, y) == (a.slot, b.slot)) {
                    out.push((a.slot, b.slot, b.start));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(text: &str) -> SystemTime {
        SystemTime::from(text.parse::<Timestamp>().expect("timestamp"))
    }

    fn grid(zone: &str, slots: &[(&str, &str, &str)]) -> Grid {
        let slots = slots
            .iter()
            .map(|(d, f, t)| SlotTimes {
                days: Days::parse(d).expect("days"),
                from: ClockTime::parse(f).expect("from"),
                to: ClockTime::parse(t).expect("to"),
            })
            .collect();
        Grid::new(Grid::zone_named(zone).expect("zone"), slots)
    }

    #[test]
    fn days_and_times_parse() {
        assert_eq!(
            Days::parse("mon-fri").expect("days").to_string(),
            "mon,tue,wed,thu,fri"
        );
        assert_eq!(
            Days::parse("sat, sun").expect("days").to_string(),
            "sat,sun"
        );
        assert_eq!(
            Days::parse("fri-mon").expect("days").to_string(),
            "mon,fri,sat,sun"
        );
        assert_eq!(
            Days::parse("daily").expect("days").to_string(),
            "mon,tue,wed,thu,fri,sat,sun"
        );
        assert_eq!(Days::parse("Monday").expect("days").to_string(), "mon");
        assert!(Days::parse("someday").is_err());
        assert!(Days::parse("mo").is_err());
        assert_eq!(ClockTime::parse("07:30").expect("time").minutes(), 450);
        assert_eq!(ClockTime::parse("24:00").expect("time").minutes(), 1440);
        for bad in ["7", "25:00", "24:01", "12:60", "ab:cd", ""] {
            assert!(ClockTime::parse(bad).is_err(), "{bad}");
        }
        assert!(Grid::zone_named("Mars/Olympus").is_err());
    }

    #[test]
    fn weekday_and_weekend_slots_and_one_across_midnight() {
        let g = grid(
            "Europe/Berlin",
            &[
                ("mon-fri", "07:00", "10:00"),
                ("sat,sun", "09:00", "12:00"),
                ("fri", "22:00", "02:00"),
            ],
        );
        // The week of Monday 2026-06-01 (CEST, UTC+2).
        let week = g.occurrences(at("2026-06-01T00:00:00Z"), at("2026-06-08T00:00:00Z"));
        let morning: Vec<_> = week.iter().filter(|o| o.slot == 0).collect();
        assert_eq!(morning.len(), 5);
        assert_eq!(morning[0].start, at("2026-06-01T05:00:00Z"));
        assert_eq!(morning[0].end, at("2026-06-01T08:00:00Z"));
        let weekend: Vec<_> = week.iter().filter(|o| o.slot == 1).collect();
        assert_eq!(weekend.len(), 2);
        assert_eq!(weekend[0].start, at("2026-06-06T07:00:00Z"));
        let night: Vec<_> = week.iter().filter(|o| o.slot == 2).collect();
        assert_eq!(night.len(), 1);
        assert_eq!(night[0].start, at("2026-06-05T20:00:00Z"));
        assert_eq!(night[0].end, at("2026-06-06T00:00:00Z"));
        assert_eq!(night[0].day.weekday(), Weekday::Friday);
        // An occurrence that started before the window still overlaps it.
        let late = g.occurrences(at("2026-06-05T23:00:00Z"), at("2026-06-05T23:30:00Z"));
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].slot, 2);
        assert!(g.overlaps(at("2026-06-01T00:00:00Z")).is_empty());
        let clash = grid(
            "UTC",
            &[("daily", "07:00", "10:00"), ("wed", "09:00", "11:00")],
        );
        assert_eq!(clash.overlaps(at("2026-06-01T00:00:00Z")).len(), 1);
    }

    #[test]
    fn daylight_saving_changes_of_2026() {
        // Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
        let g = grid(
            "Europe/Berlin",
            &[
                ("sun", "02:00", "03:00"),
                ("sun", "02:30", "04:00"),
                ("sun", "07:00", "08:00"),
            ],
        );
        let spring = g.occurrences(at("2026-03-29T00:00:00Z"), at("2026-03-30T00:00:00Z"));
        // 02:00-03:00 is swallowed by the skipped hour; 02:30 is taken as 03:30 CEST.
        assert!(spring.iter().all(|o| o.slot != 0));
        let half = spring.iter().find(|o| o.slot == 1).expect("02:30 slot");
        assert_eq!(half.start, at("2026-03-29T01:30:00Z"));
        assert_eq!(half.end, at("2026-03-29T02:00:00Z"));
        let seven = spring.iter().find(|o| o.slot == 2).expect("07:00 slot");
        assert_eq!(seven.start, at("2026-03-29T05:00:00Z"));
        let autumn = g.occurrences(at("2026-10-25T00:00:00Z"), at("2026-10-26T00:00:00Z"));
        // 02:00 is the first 02:00 (CEST), 03:00 the only one (CET): two hours.
        let doubled = autumn.iter().find(|o| o.slot == 0).expect("02:00 slot");
        assert_eq!(doubled.start, at("2026-10-25T00:00:00Z"));
        assert_eq!(doubled.end - Duration::from_secs(7200), doubled.start);
        let seven = autumn.iter().find(|o| o.slot == 2).expect("07:00 slot");
        assert_eq!(seven.start, at("2026-10-25T06:00:00Z"));

        // America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
        let g = grid(
            "America/New_York",
            &[("sun", "01:30", "02:30"), ("daily", "06:00", "07:00")],
        );
        let spring = g.occurrences(at("2026-03-08T00:00:00Z"), at("2026-03-09T00:00:00Z"));
        let half = spring.iter().find(|o| o.slot == 0).expect("01:30 slot");
        // 01:30 EST is 06:30Z; 02:30 does not exist and is 03:30 EDT = 07:30Z.
        assert_eq!(half.start, at("2026-03-08T06:30:00Z"));
        assert_eq!(half.end, at("2026-03-08T07:30:00Z"));
        let six = spring.iter().find(|o| o.slot == 1).expect("06:00");
        assert_eq!(six.start, at("2026-03-08T10:00:00Z"));
        let autumn = g.occurrences(at("2026-11-01T00:00:00Z"), at("2026-11-02T00:00:00Z"));
        // 01:30 happens twice: the first (EDT, 05:30Z); 02:30 EST is 07:30Z: two hours.
        let doubled = autumn.iter().find(|o| o.slot == 0).expect("01:30 slot");
        assert_eq!(doubled.start, at("2026-11-01T05:30:00Z"));
        assert_eq!(doubled.end, at("2026-11-01T07:30:00Z"));
        let six = autumn.iter().find(|o| o.slot == 1).expect("06:00");
        assert_eq!(six.start, at("2026-11-01T11:00:00Z"));
        assert_eq!(g.local(six.start), "Sun 2026-11-01 06:00 EST");
        assert_eq!(g.rfc3339(six.start), "2026-11-01T06:00:00-05:00");
    }
}
