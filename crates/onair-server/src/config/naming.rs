//! Station names: the mount point a file or a programme folder is served at, and which files
//! are audio.

use std::path::Path;

/// The station name for a file stem or config key: lowercased, every character outside
/// `[a-z0-9_-]` replaced by `-`. `Jazz FM.aac` is served at `/jazz-fm`.
pub fn station_name(stem: &str) -> String {
    stem.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' | '-' => c,
            _ => '-',
        })
        .collect()
}

/// Names taken by built-in endpoints (the router's own: `/events`, `/healthz`, `/metrics`,
/// `/status.json`, `/admin/...`): a station there would be advertised at a path that never
/// plays it, or its segments would reach the admin API.
pub const RESERVED: [&str; 6] = crate::http::route::BUILT_IN;

/// Why `name` cannot be a station, with how to fix it; `None` when it can.
pub fn reserved(name: &str) -> Option<String> {
    RESERVED.contains(&name).then(|| {
        format!(
            "the name `{name}` is taken by the built-in endpoint /{name}; rename the file (for example to `{name}-fm.aac`) or the config entry"
        )
    })
}

/// Whether `path` names a station file or a track: `*.aac` or `*.mp3` (any case), not hidden.
pub fn is_station_file(path: &Path) -> bool {
    !is_hidden(path) && onair_core::Codec::of_path(path).is_some()
}

/// Whether the entry's name starts with a dot (or is not UTF-8): editors' and uploaders'
/// temporary files, never stations or tracks.
pub fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n.starts_with('.'))
}

/// The station name of a programme folder, from its whole name (`Jazz Vol.2` is
/// `/jazz-vol-2`).
pub fn name_of_folder(path: &Path) -> Option<String> {
    let name = station_name(path.file_name()?.to_str()?);
    (!name.is_empty()).then_some(name)
}

/// Whether `path`'s name is not UTF-8 (and not hidden): it can have no station name, and is
/// reported instead of skipped silently.
pub fn is_non_utf8_name(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_str().is_none() && !n.as_encoded_bytes().starts_with(b"."))
}

/// Whether `path` would be a station file but for a file name that is not UTF-8 (it has no
/// station name, and is reported instead of skipped silently).
pub fn is_non_utf8_station_file(path: &Path) -> bool {
    let Some(name) = path.file_name() else {
        return false;
    };
    if name.to_str().is_some() {
        return false;
    }
    let bytes = name.as_encoded_bytes();
    let extension = bytes
        .iter()
        .rposition(|&b| b == b'.')
        .filter(|&dot| dot > 0)
        .and_then(|dot| std::str::from_utf8(&bytes[dot + 1..]).ok());
    !bytes.starts_with(b".")
        && extension.is_some_and(|e| onair_core::Codec::of_extension(e).is_some())
}

/// The station name of a station file, from its stem.
pub fn name_of(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let name = station_name(stem);
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(station_name("Jazz FM"), "jazz-fm");
        assert_eq!(station_name("late_night-2"), "late_night-2");
        assert_eq!(station_name("Café"), "caf-");
        assert_eq!(
            name_of(Path::new("stations/Ambient.AAC")).as_deref(),
            Some("ambient")
        );
    }

    #[test]
    fn built_in_endpoints_are_reserved() {
        for name in ["events", "healthz", "metrics", "status"] {
            assert!(reserved(name).is_some_and(|why| why.contains(&format!("/{name}"))));
        }
        assert_eq!(reserved("jazz"), None);
        assert_eq!(reserved("events-fm"), None);
    }

    #[test]
    fn station_files() {
        assert!(is_station_file(Path::new("stations/jazz.aac")));
        assert!(is_station_file(Path::new("stations/jazz.AAC")));
        assert!(!is_station_file(Path::new("stations/.jazz.aac")));
        assert!(is_station_file(Path::new("stations/jazz.mp3")));
        assert!(is_station_file(Path::new("stations/jazz/01 Blue Monk.MP3")));
        assert!(is_station_file(Path::new("stations/jazz.ogg")));
        assert!(!is_station_file(Path::new("stations/jazz.wav")));
        assert_eq!(
            name_of_folder(Path::new("stations/Jazz Vol.2")).as_deref(),
            Some("jazz-vol-2")
        );
        assert!(!is_station_file(Path::new("stations/jazz.aac.part")));
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let latin1 = Path::new(std::ffi::OsStr::from_bytes(b"stations/caf\xe9.aac"));
            assert!(!is_station_file(latin1));
            assert!(is_non_utf8_station_file(latin1));
            assert!(!is_non_utf8_station_file(Path::new("stations/jazz.aac")));
        }
    }
}
