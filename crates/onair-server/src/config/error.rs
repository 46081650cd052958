//! Where the config comes from, and what is wrong with one that cannot be used (file, line,
//! column and key).

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::Config;

/// Where the config comes from, and the command-line flags that override it: everything needed
/// to read it again when the file changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigSource {
    /// The config file; `None` for built-in defaults only.
    pub path: Option<PathBuf>,
    /// `--stations`: overrides `server.stations_dir`.
    pub stations_dir: Option<PathBuf>,
    /// `--listen`: overrides `server.listen`.
    pub listen: Option<SocketAddr>,
}

impl ConfigSource {
    /// The config as it stands now: the file (defaults when there is none), then the flags.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut config = match &self.path {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(dir) = &self.stations_dir {
            config.server.stations_dir = dir.clone();
        }
        if let Some(listen) = self.listen {
            config.server.listen = listen;
        }
        Ok(config)
    }
}

/// A config file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// 1-based column of the problem, when known.
    pub column: Option<usize>,
    /// The dotted key concerned, when known (`pacing.chunk_ms`).
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ConfigError {
    /// An error of the toml parser or of a value at `key` (serde's path to it: `.` when the
    /// text did not parse far enough to have one).
    pub(super) fn from_toml(path: &Path, text: &str, error: &toml::de::Error, key: &str) -> Self {
        // toml's messages may span lines ("invalid table header\nexpected `.`"): keep one line.
        let mut message = error.message().trim().replace('\n', "; ");
        // A snippet pasted below a table the file already has.
        if message.contains("duplicate key") && message.contains("invalid table header") {
            message.push_str(
                "; a table may appear once: put these keys in the file's existing table of that name",
            );
        }
        let Some(span) = error.span() else {
            return ConfigError {
                path: path.to_path_buf(),
                line: None,
                column: None,
                key: None,
                message,
            };
        };
        let (line, column) = line_column(text, span.start);
        let key = match key {
            "" | "." => table_at(text, span.start),
            key => Some(key.to_string()),
        };
        ConfigError {
            path: path.to_path_buf(),
            line: Some(line),
            column: Some(column),
            key,
            message,
        }
    }

    pub(super) fn at_key(path: &Path, text: &str, key: &str, message: String) -> Self {
        let (line, column) = match key_line(text, key).or_else(|| header_of(text, key)) {
            Some(at) => line_column(text, at),
            None => (0, 0),
        };
        ConfigError {
            path: path.to_path_buf(),
            line: (line > 0).then_some(line),
            column: (column > 0).then_some(column),
            key: Some(key.to_string()),
            message,
        }
    }
}

/// Byte offset of the table header that holds `key`: `[key]`, the `n`-th `[[array]]` for
/// `array[n]`, or else the nearest table above it that has a header.
/// Byte offset of the line that sets `key` (`live.password_file`) inside its table, if the
/// file writes it there.
fn key_line(text: &str, key: &str) -> Option<usize> {
    let (table, leaf) = key.rsplit_once('.')?;
    let header = header_of(text, table)?;
    let mut offset = header;
    for (i, line) in text[header..].split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        if i > 0 && trimmed.starts_with('[') {
            return None;
        }
        if let Some(rest) = trimmed.strip_prefix(leaf) {
            if rest.trim_start().starts_with('=') {
                return Some(offset + line.len() - trimmed.len());
            }
        }
        offset += line.len();
    }
    None
}

fn header_of(text: &str, key: &str) -> Option<usize> {
    let mut key = key;
    loop {
        let found = match key.strip_suffix(']').and_then(|k| k.rsplit_once('[')) {
            Some((array, index)) => {
                let n: usize = index.parse().ok()?;
                nth_line(text, &format!("[[{array}]]"), n)
            }
            None => find_line(text, &[&format!("[{key}]"), &format!("[[{key}]]")]),
        };
        if found.is_some() {
            return found;
        }
        key = match key.rsplit_once('.') {
            Some((parent, _)) => parent,
            None => return None,
        };
    }
}

/// Byte offset of the `n`-th (0-based) line that starts with `start`.
fn nth_line(text: &str, start: &str, n: usize) -> Option<usize> {
    let mut offset = 0;
    let mut seen = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with(start) {
            if seen == n {
                return Some(offset + line.len() - trimmed.len());
            }
            seen += 1;
        }
        offset += line.len();
    }
    None
}

/// 1-based line and column (in characters) of byte `at`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Byte offset of the first line that starts with one of `starts`.
fn find_line(text: &str, starts: &[&str]) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if starts.iter().any(|s| trimmed.starts_with(s)) {
            return Some(offset + line.len() - trimmed.len());
        }
        offset += line.len();
    }
    None
}

/// The table whose header is on the line of byte `at`, for syntax errors (a header cut short),
/// where serde has no path yet.
fn table_at(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = text[line_start..line_end].trim();
    line.starts_with('[').then(|| {
        line.trim_matches(|c| c == '[' || c == ']')
            .trim()
            .to_string()
    })
}
