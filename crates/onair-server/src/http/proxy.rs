//! The listener's real address behind a reverse proxy.
//!
//! `X-Forwarded-For` is believed only from the proxies listed in `server.trusted_proxies`:
//! anyone else could write any address into it.

use std::net::IpAddr;

use http::HeaderMap;

use crate::config::Cidr;

/// The client's address: the peer's, or, when the peer is a trusted proxy, the right-most
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(**ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().expect("header"));
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = vec!["10.0.0.0/8".parse().expect("cidr")];
        let proxy: IpAddr = "10.0.0.5".parse().expect("ip");
        let stranger: IpAddr = "203.0.113.9".parse().expect("ip");
        let h = headers("198.51.100.7, 10.0.0.2");
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "198.51.100.7".parse::<IpAddr>().expect("ip")
        );
        assert_eq!(client_ip(stranger, &h, &trusted), stranger);
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        // A client-supplied address left of the real one is not believed.
        let spoofed = headers("1.2.3.4, 198.51.100.7");
        assert_eq!(
            client_ip(proxy, &spoofed, &trusted),
            "198.51.100.7".parse::<IpAddr>().expect("ip")
        );
    }
}
