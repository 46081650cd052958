//! `onair-loadgen`: N real listeners against any HTTP audio server (onair, Icecast, ...).
//!
//! It opens N connections at R per second, reads every body for T seconds, and reports what a
//! radio operator cares about: how many got served, how fast they started, whether the audio
//! kept coming in real time, and whether the bytes are valid frames (ADTS or MP3). With `--server-pid` it also
//! samples the server's CPU time and memory from /proc.
//!
//! One thread, one lightweight task per listener, one shared read buffer: the generator must
//! cost less than the server it measures. Loads go to loopback only; the run stops by itself.
//!
//! # Layout
//!
//! - `main.rs`: flags, the ramp, /proc sampling, and the report.
//! - `listener`: one listener's connection and measurements.
//! - `hls_client`: one HLS player (`--hls`): playlist polls, segment fetches and their checks.
//! - `tls`: the TLS client of https:// URLs (the CA given with `--tls-ca`).
//! - `stream_check`: incremental chunked decoding, ICY stripping and the frame walk (ADTS or MPEG audio).
#![forbid(unsafe_code)]

mod hls_client;
mod listener;
mod proc_stats;
mod stream_check;
mod tls;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use serde::Serialize;
use tokio::time::Instant;

use crate::listener::{listen, Outcome, Target};
use crate::proc_stats::ProcSampler;

/// Simulates N radio listeners against an HTTP audio stream and reports how they were served.
#[derive(Debug, Parser)]
#[command(name = "onair-loadgen", version, about)]
struct Args {
    /// Stream URL (loopback only), e.g. http://127.0.0.1:8080/jazz, or https:// with
    /// `--tls-ca`; repeat it to spread the listeners over several streams (round robin)
    #[arg(long, required = true)]
    url: Vec<String>,
    /// Concurrent listeners.
    #[arg(long, default_value_t = 100)]
    listeners: usize,
    /// How long each listener reads, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// New connections per second.
    #[arg(long, default_value_t = 2000)]
    ramp_per_sec: u64,
    /// Ask for ICY metadata (Icy-MetaData: 1) and strip it before the frame checks.
    #[arg(long)]
    icy: bool,
    /// Play HLS instead: each URL is a media playlist (http://127.0.0.1:8080/jazz.m3u8); each
    /// client polls it every half target duration and fetches each new segment once, checking
    /// whole frames, continuous ID3 timestamps and that no segment is missing.
    #[arg(long)]
    hls: bool,
    /// The CA certificate (PEM) that https:// URLs are verified against.
    #[arg(long)]
    tls_ca: Option<std::path::PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Sample this process's CPU time and RSS during the run (the server under test).
    #[arg(long)]
    server_pid: Option<u32>,
}

/// min / p50 / p99 / max of a measurement.
#[derive(Debug, Default, Serialize)]
struct Spread {
    min: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Spread {
        if values.is_empty() {
            return Spread::default();
        }
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Spread {
            min: values[0],
            p50: at(0.5),
            p99: at(0.99),
            max: values[values.len() - 1],
        }
    }
}

/// The whole report.
#[derive(Debug, Serialize)]
struct Report {
    url: String,
    listeners: usize,
    seconds: u64,
    ramp_per_sec: u64,
    connected: usize,
    status_200: usize,
    failed: usize,
    failures: BTreeMap<String, usize>,
    statuses: BTreeMap<u16, usize>,
    connect_ms: Spread,
    ttfb_ms: Spread,
    burst_bytes: Spread,
    burst_audio_s: Spread,
    steady_kbps: Spread,
    realtime_ratio: Spread,
    stalls: u64,
    listeners_with_stalls: usize,
    /// Each listener's longest time between two reads (a chunk is 500 ms by default).
    max_gap_ms: Spread,
    ended_early: usize,
    sync_at_start: usize,
    frames: u64,
    resyncs: u64,
    garbage_bytes: u64,
    icy_blocks: u64,
    server: Option<proc_stats::Usage>,
    loadgen: proc_stats::Usage,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let targets: Result<Vec<Target>, String> = args
        .url
        .iter()
        .map(|u| Target::parse(u, args.icy, args.tls_ca.as_deref(), args.hls))
        .collect();
    let targets = match targets {
        Ok(targets) => targets,
        Err(e) => {
            eprintln!("onair-loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("onair-loadgen: cannot raise the open-file limit: {e}");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("onair-loadgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.hls {
        let report = runtime.block_on(run_hls(&args, &targets));
        if args.json {
            match serde_json::to_string_pretty(&report) {
                Ok(json) => println!("{json}"),
                Err(e) => eprintln!("onair-loadgen: {e}"),
            }
        } else {
            print_hls_report(&report);
        }
        let clean = report.errors.is_empty()
            && report.continuity_faults == 0
            && report.missing_segments == 0
            && report.bad_segments == 0;
        return if clean {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let report = runtime.block_on(run(&args, &targets));
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("onair-loadgen: {e}"),
        }
    } else {
        print_report(&report);
    }
    if report.status_200 == report.listeners && report.stalls == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn run(args: &Args, targets: &[Target]) -> Report {
    let seconds = Duration::from_secs(args.seconds);
    let mut sampler = ProcSampler::start(args.server_pid);
    let started = Instant::now();
    let outcomes = ramp(
        args,
        targets,
        &mut sampler,
        |target, n| async move { listen(&target, seconds, n).await },
        |e| Outcome {
            failure: Some(format!("task: {e}")),
            ..Outcome::default()
        },
    )
    .await;
    let wall = started.elapsed();
    summarize(args, outcomes, sampler.finish(wall))
}

/// Opens `args.listeners` clients at `args.ramp_per_sec` (round robin over `targets`), each the
/// task `start` makes, sampling the server meanwhile, and collects what each saw (`lost` for a
/// task that failed).
async fn ramp<T, F, Fut>(
    args: &Args,
    targets: &[Target],
    sampler: &mut ProcSampler,
    start: F,
    lost: impl Fn(tokio::task::JoinError) -> T,
) -> Vec<T>
where
    T: 'static,
    F: Fn(Target, u32) -> Fut,
    Fut: std::future::Future<Output = T> + 'static,
{
    let tasks = tokio::task::LocalSet::new();
    tasks
        .run_until(async {
            let mut handles = Vec::with_capacity(args.listeners);
            let per_tick = (args.ramp_per_sec.max(1) as f64 / 100.0).max(1.0);
            let mut ticker = tokio::time::interval(Duration::from_millis(10));
            let mut opened = 0.0f64;
            while handles.len() < args.listeners {
                ticker.tick().await;
                opened += per_tick;
                while (handles.len() as f64) < opened && handles.len() < args.listeners {
                    let n = handles.len() as u32;
                    let target = targets[handles.len() % targets.len()].clone();
                    handles.push(tokio::task::spawn_local(start(target, n)));
                }
                sampler.sample();
            }
            let mut outcomes = Vec::with_capacity(handles.len());
            let mut sample_every = tokio::time::interval(Duration::from_secs(1));
            for mut handle in handles {
                loop {
                    tokio::select! {
                        outcome = &mut handle => {
                            outcomes.push(outcome.unwrap_or_else(&lost));
                            break;
                        }
                        _ = sample_every.tick() => sampler.sample(),
                    }
                }
            }
            outcomes
        })
        .await
}

/// What `--hls` reports.
#[derive(Debug, Serialize)]
struct HlsReport {
    url: String,
    clients: usize,
    seconds: u64,
    playlist_requests: u64,
    segment_requests: u64,
    errors: BTreeMap<String, u64>,
    segment_ms: Spread,
    continuity_faults: u64,
    missing_segments: u64,
    bad_segments: u64,
    server: Option<proc_stats::Usage>,
    loadgen: proc_stats::Usage,
}

async fn run_hls(args: &Args, targets: &[Target]) -> HlsReport {
    let seconds = Duration::from_secs(args.seconds);
    let mut sampler = ProcSampler::start(args.server_pid);
    let started = Instant::now();
    let outcomes = ramp(
        args,
        targets,
        &mut sampler,
        |target, n| async move { hls_client::play(&target, seconds, n).await },
        |e| {
            let mut lost = hls_client::HlsOutcome::default();
            lost.errors.insert(format!("task: {e}"), 1);
            lost
        },
    )
    .await;
    let (server, loadgen) = sampler.finish(started.elapsed());
    let mut errors = BTreeMap::new();
    for o in &outcomes {
        for (e, n) in &o.errors {
            *errors.entry(e.clone()).or_insert(0) += n;
        }
    }
    HlsReport {
        url: args.url.join(" "),
        clients: outcomes.len(),
        seconds: args.seconds,
        playlist_requests: outcomes.iter().map(|o| o.playlists).sum(),
        segment_requests: outcomes.iter().map(|o| o.segments).sum(),
        errors,
        segment_ms: Spread::of(
            outcomes
                .iter()
                .flat_map(|o| o.segment_ms.iter().copied())
                .collect(),
        ),
        continuity_faults: outcomes.iter().map(|o| o.continuity_faults).sum(),
        missing_segments: outcomes.iter().map(|o| o.missing).sum(),
        bad_segments: outcomes.iter().map(|o| o.bad_segments).sum(),
        server,
        loadgen,
    }
}

fn print_hls_report(r: &HlsReport) {
    println!(
        "HLS {} clients for {} s against {}",
        r.clients, r.seconds, r.url
    );
    println!(
        "  requests: {} playlists, {} segments; errors: {}",
        r.playlist_requests,
        r.segment_requests,
        if r.errors.is_empty() {
            "none".to_string()
        } else {
            format!("{:?}", r.errors)
        }
    );
    println!(
        "  segment fetch ms: p50 {:.1}, p99 {:.1}, max {:.1}",
        r.segment_ms.p50, r.segment_ms.p99, r.segment_ms.max
    );
    println!(
        "  continuity faults: {}, missing segments: {}, bad segments: {}",
        r.continuity_faults, r.missing_segments, r.bad_segments
    );
    if let Some(server) = &r.server {
        println!("  server: {server:?}");
    }
    println!("  loadgen: {:?}", r.loadgen);
}

fn summarize(
    args: &Args,
    outcomes: Vec<Outcome>,
    usage: (Option<proc_stats::Usage>, proc_stats::Usage),
) -> Report {
    let mut failures = BTreeMap::new();
    let mut statuses = BTreeMap::new();
    for o in &outcomes {
        if let Some(f) = &o.failure {
            *failures.entry(f.clone()).or_insert(0) += 1;
        }
        if o.status != 0 {
            *statuses.entry(o.status).or_insert(0) += 1;
        }
    }
    let served: Vec<&Outcome> = outcomes.iter().filter(|o| o.status == 200).collect();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (mut server, loadgen) = usage;
    if let Some(server) = &mut server {
        server.rss_per_listener_bytes = served
            .len()
            .checked_sub(0)
            .filter(|n| *n > 0)
            .map(|n| server.rss_growth_bytes as f64 / n as f64);
    }
    Report {
        url: args.url.join(" "),
        listeners: args.listeners,
        seconds: args.seconds,
        ramp_per_sec: args.ramp_per_sec,
        connected: outcomes
            .iter()
            .filter(|o| o.connect > Duration::ZERO)
            .count(),
        status_200: served.len(),
        failed: outcomes.iter().filter(|o| o.failure.is_some()).count(),
        failures,
        statuses,
        connect_ms: Spread::of(
            outcomes
                .iter()
                .filter(|o| o.connect > Duration::ZERO)
                .map(|o| ms(o.connect))
                .collect(),
        ),
        ttfb_ms: Spread::of(served.iter().map(|o| ms(o.ttfb)).collect()),
        burst_bytes: Spread::of(served.iter().map(|o| o.burst_bytes as f64).collect()),
        burst_audio_s: Spread::of(served.iter().map(|o| o.burst_audio.as_secs_f64()).collect()),
        steady_kbps: Spread::of(
            served
                .iter()
                .filter_map(|o| o.steady_rate)
                .map(|r| r * 8.0 / 1000.0)
                .collect(),
        ),
        realtime_ratio: Spread::of(served.iter().filter_map(|o| o.steady_ratio).collect()),
        stalls: served.iter().map(|o| o.stalls).sum(),
        listeners_with_stalls: served.iter().filter(|o| o.stalls > 0).count(),
        max_gap_ms: Spread::of(served.iter().map(|o| ms(o.max_gap)).collect()),
        ended_early: served.iter().filter(|o| o.ended_early).count(),
        sync_at_start: served
            .iter()
            .filter(|o| o.sync_at_start == Some(true))
            .count(),
        frames: served.iter().map(|o| o.frames).sum(),
        resyncs: served.iter().map(|o| o.resyncs).sum(),
        garbage_bytes: served.iter().map(|o| o.garbage).sum(),
        icy_blocks: served.iter().map(|o| o.icy_blocks).sum(),
        server,
        loadgen,
    }
}

fn print_report(r: &Report) {
    println!(
        "onair-loadgen {} x{} for {} s, ramp {}/s",
        r.url, r.listeners, r.seconds, r.ramp_per_sec
    );
    println!(
        "  connected {} | 200: {} | failed {} {:?} | statuses {:?}",
        r.connected, r.status_200, r.failed, r.failures, r.statuses
    );
    println!(
        "  connect ms p50 {:.1} p99 {:.1} | ttfb ms p50 {:.1} p99 {:.1}",
        r.connect_ms.p50, r.connect_ms.p99, r.ttfb_ms.p50, r.ttfb_ms.p99
    );
    println!(
        "  burst (first 500 ms) bytes p50 {:.0} min {:.0} | audio s min {:.2} p50 {:.2}",
        r.burst_bytes.p50, r.burst_bytes.min, r.burst_audio_s.min, r.burst_audio_s.p50
    );
    println!(
        "  steady kb/s min {:.1} p50 {:.1} max {:.1} | real-time ratio min {:.3} p50 {:.3} max {:.3}",
        r.steady_kbps.min, r.steady_kbps.p50, r.steady_kbps.max, r.realtime_ratio.min, r.realtime_ratio.p50, r.realtime_ratio.max
    );
    println!(
        "  stalls (> 1.5 s) {} on {} listeners | ended early {} | longest gap between reads ms p50 {:.0} max {:.0}",
        r.stalls, r.listeners_with_stalls, r.ended_early, r.max_gap_ms.p50, r.max_gap_ms.max
    );
    println!(
        "  frames: sync at byte 0 {}/{} | frames {} | resyncs {} | garbage bytes {} | icy blocks {}",
        r.sync_at_start, r.status_200, r.frames, r.resyncs, r.garbage_bytes, r.icy_blocks
    );
    if let Some(s) = &r.server {
        println!(
            "  server: cpu {:.1}% of one core | rss idle {:.1} MiB peak {:.1} MiB | {:.0} B/listener",
            s.cpu_percent,
            s.rss_start_bytes as f64 / 1048576.0,
            s.rss_peak_bytes as f64 / 1048576.0,
            s.rss_per_listener_bytes.unwrap_or(0.0)
        );
    }
    println!(
        "  loadgen: cpu {:.1}% of one core | rss peak {:.1} MiB",
        r.loadgen.cpu_percent,
        r.loadgen.rss_peak_bytes as f64 / 1048576.0
    );
}
