//! CPU time and resident memory of a process, sampled from /proc (Linux).

use std::time::Duration;

use serde::Serialize;

/// Kernel clock ticks per second in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// A process's use of the machine over the run.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Usage {
    /// CPU time over wall time, in percent of one core.
    pub cpu_percent: f64,
    /// RSS at the first sample.
    pub rss_start_bytes: u64,
    /// Highest RSS sampled.
    pub rss_peak_bytes: u64,
    /// Peak minus start.
    pub rss_growth_bytes: u64,
    /// Growth divided by the listeners served (filled in by the report).
    pub rss_per_listener_bytes: Option<f64>,
}

/// Samples one process (the server) and this one (the load generator).
pub struct ProcSampler {
    server: Option<Track>,
    me: Track,
}

struct Track {
    pid: String,
    cpu_start: Option<u64>,
    cpu_last: Option<u64>,
    rss_start: Option<u64>,
    rss_peak: u64,
}

impl Track {
    fn new(pid: String) -> Self {
        let mut track = Track {
            pid,
            cpu_start: None,
            cpu_last: None,
            rss_start: None,
            rss_peak: 0,
        };
        track.sample();
        track
    }

    fn sample(&mut self) {
        if let Some(cpu) = cpu_ticks(&self.pid) {
            self.cpu_start.get_or_insert(cpu);
            self.cpu_last = Some(cpu);
        }
        if let Some(rss) = rss_bytes(&self.pid) {
            self.rss_start.get_or_insert(rss);
            self.rss_peak = self.rss_peak.max(rss);
        }
    }

    fn usage(&mut self, wall: Duration) -> Usage {
        self.sample();
        let cpu = match (self.cpu_start, self.cpu_last) {
            (Some(a), Some(b)) => (b - a) as f64 / TICKS_PER_SEC,
            _ => 0.0,
        };
        let start = self.rss_start.unwrap_or(0);
        Usage {
            cpu_percent: 100.0 * cpu / wall.as_secs_f64().max(1e-9),
            rss_start_bytes: start,
            rss_peak_bytes: self.rss_peak,
            rss_growth_bytes: self.rss_peak.saturating_sub(start),
            rss_per_listener_bytes: None,
        }
    }
}

impl ProcSampler {
    /// Takes the first samples.
    pub fn start(server_pid: Option<u32>) -> Self {
        ProcSampler {
            server: server_pid.map(|p| Track::new(p.to_string())),
            me: Track::new("self".into()),
        }
    }

    /// Takes a sample of both.
    pub fn sample(&mut self) {
        if let Some(server) = &mut self.server {
            server.sample();
        }
        self.me.sample();
    }

    /// The usage of the server (if sampled) and of the load generator over `wall`.
    pub fn finish(mut self, wall: Duration) -> (Option<Usage>, Usage) {
        let server = self.server.as_mut().map(|s| s.usage(wall));
        (server, self.me.usage(wall))
    }
}

/// utime + stime, in ticks.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields are counted after its closing parenthesis.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn rss_bytes(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
