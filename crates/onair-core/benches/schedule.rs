//! Planning a schedule from the epoch: what a station going on air pays, by how far back its
//! epoch is. A week grid of weekday shows and hourly news, and a jingle after every 4 tracks of
//! 3:20 (the worst case: a decision per track).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use onair_core::schedule::{
    ClockTime, Days, Grid, JingleEvery, Jingles, Planner, Schedule, SlotPlay, SlotTimes, StartRule,
};
use onair_core::testing::track;
use onair_core::{tick_at, Order, Programme, TICKS_PER_SECOND};

fn programme(prefix: &str, seconds: u64, count: usize) -> Arc<Programme> {
    let tracks = (0..count)
        .map(|i| track(&format!("{prefix}{i}.aac"), seconds * TICKS_PER_SECOND))
        .collect();
    Arc::new(Programme::new(tracks, Order::Name).expect("tracks"))
}

fn schedule(epoch: SystemTime) -> Arc<Schedule> {
    let times = |days: &str, from: &str, to: &str| SlotTimes {
        days: Days::parse(days).expect("days"),
        from: ClockTime::parse(from).expect("from"),
        to: ClockTime::parse(to).expect("to"),
    };
    let mut grid = vec![
        times("mon-fri", "07:00", "10:00"),
        times("sat,sun", "10:00", "13:00"),
    ];
    let mut slots = vec![
        ("Morning", programme("morning", 900, 12), StartRule::Track),
        ("Weekend", programme("weekend", 240, 40), StartRule::Track),
    ];
    for hour in (6..24).step_by(2) {
        grid.push(times(
            "daily",
            &format!("{hour:02}:00"),
            &format!("{hour:02}:05"),
        ));
        slots.push(("News", programme("news", 290, 1), StartRule::Time));
    }
    Arc::new(Schedule {
        own: programme("own", 200, 500),
        grid: Grid::new(Grid::zone_named("Europe/Berlin").expect("zone"), grid),
        slots: slots
            .into_iter()
            .map(|(name, programme, start)| SlotPlay {
                name: name.to_string(),
                programme: Some(programme),
                start,
                max_wait: 300 * TICKS_PER_SECOND,
                live_only: false,
            })
            .collect(),
        jingles: Some(Jingles {
            programme: programme("id", 6, 8),
            every: JingleEvery::Tracks(4),
        }),
        epoch,
        anchor: 0,
    })
}

fn plan_from_the_epoch(c: &mut Criterion) {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_428_800); // 2026-12-05
    let mut group = c.benchmark_group("plan a station's week from its epoch");
    group.sample_size(10);
    for days in [30u64, 340, 3650] {
        let epoch = now - Duration::from_secs(days * 86_400);
        let schedule = schedule(epoch);
        let tick = tick_at(epoch, now);
        group.bench_with_input(
            BenchmarkId::new("days since the epoch", days),
            &days,
            |b, _| {
                b.iter(|| {
                    Planner::new(Arc::clone(&schedule))
                        .timeline(tick, tick + 900 * TICKS_PER_SECOND)
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, plan_from_the_epoch);
criterion_main!(benches);
