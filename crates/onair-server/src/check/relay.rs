//! `onair check`'s rows for relayed stations: each relay URL read and its host resolved
//! (without connecting), what kind of upstream it names, and the CA file, as the server would
//! read them.

use std::net::ToSocketAddrs;

use crate::config::Config;
use crate::relay::playlist::{answer_kind, Answer};
use crate::relay::upstream::tls_config;

use super::{note_row, CheckSummary};

/// Adds a row per relayed station to `rows`.
pub(super) fn relay_rows(config: &Config, rows: &mut Vec<[String; 9]>, summary: &mut CheckSummary) {
    let tls = config
        .stations
        .values()
        .any(|s| {
            s.relay
                .as_ref()
                .is_some_and(|u| u.0.scheme_str() == Some("https"))
        })
        .then(|| tls_config(config.relay.ca_file.as_deref()));
    for (name, station) in &config.stations {
        let Some(url) = &station.relay else {
            continue;
        };
        let uri = &url.0;
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let kind = if url.is_edge() {
            format!(
                "an onair origin's HLS (edge, {} s behind)",
                config.relay.edge_delay_s.get()
            )
        } else {
            match answer_kind(None, uri.path()) {
                Answer::M3u => "an .m3u playlist".to_string(),
                Answer::Pls => "a .pls playlist".to_string(),
                _ => "a stream".to_string(),
            }
        };
        let demand = if station.on_demand { ", on demand" } else { "" };
        let verdict = match (host, port).to_socket_addrs() {
            Err(error) => {
                summary.warnings += 1;
                format!("warning: relay {url}: cannot resolve {host}: {error}")
            }
            Ok(addrs) => {
                let addrs: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
                match tls.as_ref().filter(|_| https) {
                    Some(Err(error)) => {
                        summary.errors += 1;
                        format!("error: relay {url}: {error}")
                    }
                    _ => {
                        summary.ok += 1;
                        format!(
                            "ok: relays {kind}{demand} from {host} ({}), not connected",
                            addrs.join(", ")
                        )
                    }
                }
            }
        };
        rows.push(note_row(
            name.clone(),
            format!("/{name}"),
            url.to_string(),
            verdict,
        ));
    }
}
