//! The access log: one line per request in Apache's combined format, plus the seconds it took,
//! to a file (reopened on SIGHUP, for logrotate) or to stdout, for awstats, GoAccess and the
//! like:
//!
//! ```text
//! 192.0.2.7 - - [07/Dec/2026:10:51:07 +0000] "GET /jazz HTTP/1.1" 200 1048576 "-" "mpv 0.35" 61.204
//! ```
//!
//! A stream's line is written when it ends (its bytes and seconds known); every other request's
//! when it is answered. Lines go through a bounded queue to a thread of their own: a slow disk
//! delays the log, never a listener, and a full queue drops lines (counted, and said once).

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::background::{Items, Queue, Worker};
use crate::config::AccessTarget;
use crate::stations::audience::Left;

/// Lines that may wait for the writer.
const QUEUE: usize = 16 * 1024;

/// One request, as the access log tells it.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The client's address (behind trusted proxies).
    pub client: IpAddr,
    /// The user it logged in as, if any.
    pub user: Option<&'a str>,
    /// When the request came.
    pub at: SystemTime,
    /// Its request line (`GET /jazz HTTP/1.1`).
    pub request: &'a str,
    /// The answer's status.
    pub status: u16,
    /// Body bytes sent (none for an endless body logged as it begins).
    pub bytes: Option<u64>,
    /// Its `Referer`, if any.
    pub referer: Option<&'a str>,
    /// Its `User-Agent`.
    pub user_agent: &'a str,
    /// How long it took.
    pub took: Duration,
}

/// What the writer is sent.
#[derive(Debug)]
pub enum Line {
    /// A line to write.
    Text(String),
    /// Reopen the file (logrotate moved it).
    Reopen,
}

/// The access log's sending side (cheap to clone); off when none is configured.
#[derive(Debug, Clone, Default)]
pub struct AccessLog {
    lines: Queue<Line>,
}

/// The thread that writes the log, owned by the server until shutdown.
pub type AccessWriter = Worker<Line>;

impl AccessLog {
    /// The log `target` says (none: no log), and the thread that writes it.
    pub fn open(
        target: Option<&AccessTarget>,
    ) -> std::io::Result<(AccessLog, Option<AccessWriter>)> {
        let Some(target) = target else {
            return Ok((AccessLog::default(), None));
        };
        let mut out = Output::open(target)?;
        let (lines, writer) =
            Queue::spawn("onair-access-log", ("access log", QUEUE), move |lines| {
                out.run(&lines)
            })?;
        Ok((AccessLog { lines }, Some(writer)))
    }

    /// Whether lines are kept.
    pub fn is_on(&self) -> bool {
        self.lines.is_on()
    }

    /// Lines dropped because the writer could not keep up.
    pub fn dropped(&self) -> u64 {
        self.lines.dropped()
    }

    /// Logs one request.
    pub fn request(&self, entry: &Entry<'_>) {
        if self.is_on() {
            self.lines.send(Line::Text(combined(entry)));
        }
    }

    /// Logs a stream session that ended (its request, answered 200).
    pub fn session(&self, left: &Left) {
        self.request(&Entry {
            client: left.client.address,
            user: left.client.user.as_deref(),
            at: left.began,
            request: &left.request,
            status: 200,
            bytes: Some(left.bytes),
            referer: left.client.referer.as_deref(),
            user_agent: &left.client.user_agent,
            took: left.seconds,
        });
    }

    /// Asks the writer to reopen its file (logrotate moved it): on SIGHUP.
    pub fn reopen(&self) {
        self.lines.send(Line::Reopen);
    }
}

/// Where lines are written.
struct Output {
    target: AccessTarget,
    out: Option<std::io::BufWriter<Box<dyn std::io::Write + Send>>>,
}

impl Output {
    fn open(target: &AccessTarget) -> std::io::Result<Output> {
        let out = Some(std::io::BufWriter::new(Self::file(target)?));
        Ok(Output {
            target: target.clone(),
            out,
        })
    }

    fn file(target: &AccessTarget) -> std::io::Result<Box<dyn std::io::Write + Send>> {
        Ok(match target {
            AccessTarget::Stdout => Box::new(std::io::stdout()),
            AccessTarget::File(path) => Box::new(append(path)?),
        })
    }

    /// Writes lines as they come, flushing whenever the queue runs dry, until told to stop.
    fn run(&mut self, lines: &Items<Line>) {
        while let Some((batch, stop)) = lines.next_batch() {
            for line in batch {
                match line {
                    Line::Text(text) => self.write(&text),
                    Line::Reopen => self.reopen(),
                }
            }
            self.flush();
            if stop {
                return;
            }
        }
        self.flush();
    }

    fn write(&mut self, line: &str) {
        if let Some(out) = &mut self.out {
            if let Err(error) = out.write_all(line.as_bytes()) {
                tracing::warn!(%error, "cannot write the access log; it stops until SIGHUP reopens it");
                self.out = None;
            }
        }
    }

    fn flush(&mut self) {
        if let Some(out) = &mut self.out {
            if let Err(error) = out.flush() {
                tracing::warn!(%error, "cannot write the access log; it stops until SIGHUP reopens it");
                self.out = None;
            }
        }
    }

    fn reopen(&mut self) {
        self.flush();
        match Self::file(&self.target) {
            Ok(file) => {
                self.out = Some(std::io::BufWriter::new(file));
                tracing::info!("SIGHUP: access log reopened");
            }
            Err(error) => {
                tracing::warn!(%error, "cannot reopen the access log; lines are dropped until the next SIGHUP");
                self.out = None;
            }
        }
    }
}

fn append(path: &PathBuf) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// `entry` in Apache's combined format, with the seconds it took after it.
pub fn combined(entry: &Entry<'_>) -> String {
    let mut line = String::with_capacity(160);
    let time = jiff::Timestamp::try_from(entry.at)
        .map(|t| t.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string())
        .unwrap_or_else(|_| "01/Jan/1970:00:00:00 +0000".to_string());
    let _ = write!(line, "{} - ", entry.client);
    match entry.user {
        Some(user) if !user.is_empty() => quoted(&mut line, user, false),
        _ => line.push('-'),
    }
    let _ = write!(line, " [{time}] \"");
    quoted(&mut line, entry.request, true);
    let _ = write!(line, "\" {} ", entry.status);
    match entry.bytes {
        Some(bytes) => {
            let _ = write!(line, "{bytes}");
        }
        None => line.push('-'),
    }
    line.push_str(" \"");
    quoted(&mut line, entry.referer.unwrap_or("-"), true);
    line.push_str("\" \"");
    quoted(&mut line, entry.user_agent, true);
    let _ = writeln!(line, "\" {:.3}", entry.took.as_secs_f64());
    line
}

/// Appends `text` as Apache does: `"` and `\` escaped, control and non-ASCII bytes as `\xhh`,
/// and spaces as `\x20` where the field is not quoted, so that no value forges a field or a
/// line.
fn quoted(line: &mut String, text: &str, in_quotes: bool) {
    for byte in text.bytes() {
        match byte {
            b'"' => line.push_str("\\\""),
            b'\\' => line.push_str("\\\\"),
            b' ' if !in_quotes => line.push_str("\\x20"),
            0x20..=0x7e => line.push(byte as char),
            _ => {
                let _ = write!(line, "\\x{byte:02x}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_combined_format_and_no_value_forges_another() {
        let entry = Entry {
            client: [192, 0, 2, 7].into(),
            user: None,
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_640_667),
            request: "GET /jazz HTTP/1.1",
            status: 200,
            bytes: Some(1_048_576),
            referer: None,
            user_agent: "mpv 0.35",
            took: Duration::from_millis(61_204),
        };
        assert_eq!(
            combined(&entry),
            "192.0.2.7 - - [07/Dec/2026:10:51:07 +0000] \"GET /jazz HTTP/1.1\" 200 1048576 \"-\" \"mpv 0.35\" 61.204\n"
        );
        let hostile = Entry {
            user: Some("eve smith"),
            user_agent: "x\" 200 1 \"-\"\nforged",
            referer: Some("caf\u{e9}"),
            bytes: None,
            ..entry
        };
        let line = combined(&hostile);
        assert_eq!(line.lines().count(), 1);
        assert!(line.starts_with("192.0.2.7 - eve\\x20smith ["), "{line}");
        assert!(
            line.contains(" 200 - \"caf\\xc3\\xa9\" \"x\\\" 200 1 \\\"-\\\"\\x0aforged\" "),
            "{line}"
        );
    }
}
