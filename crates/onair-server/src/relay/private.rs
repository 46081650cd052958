//! Where a redirect may not send a relay: from an upstream whose own address is public, a
//! redirect or a playlist leading to a loopback, private, link-local or shared (CGNAT) address
//! is refused, so that a public stream cannot make onair fetch from the operator's own network.

/// What an address is, where a redirect may not lead from a public upstream.
pub fn private_kind(ip: std::net::IpAddr) -> Option<&'static str> {
    use std::net::IpAddr;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => Some("loopback"),
        IpAddr::V4(v4) if v4.is_private() => Some("private"),
        IpAddr::V4(v4) if v4.is_link_local() => Some("link-local"),
        IpAddr::V4(v4) if v4.is_unspecified() || v4.octets()[0] == 0 => Some("unspecified"),
        // 100.64.0.0/10, carrier-grade NAT.
        IpAddr::V4(v4) if v4.octets()[0] == 100 && (v4.octets()[1] & 0xC0) == 64 => Some("shared"),
        IpAddr::V6(v6) if v6.is_loopback() => Some("loopback"),
        IpAddr::V6(v6) if v6.is_unspecified() => Some("unspecified"),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xFE00) == 0xFC00 => Some("private"),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xFFC0) == 0xFE80 => Some("link-local"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_private_link_local_and_shared_addresses_are_told_apart() {
        for (ip, kind) in [
            ("127.0.0.1", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.20.0.1", Some("private")),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("100.64.0.1", Some("shared")),
            ("0.0.0.0", Some("unspecified")),
            ("::1", Some("loopback")),
            ("fd00::1", Some("private")),
            ("fe80::1", Some("link-local")),
            ("::ffff:10.0.0.1", Some("private")),
            ("203.0.113.7", None),
            ("2001:db8::1", None),
        ] {
            assert_eq!(private_kind(ip.parse().expect("ip")), kind, "{ip}");
        }
    }
}
