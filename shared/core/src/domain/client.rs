//! How clients are told apart by the limits on requests: by IPv4 address, and by IPv6 /64
//! network, since a home, a phone or a server is given a whole /64 and can draw a new address in
//! it for every request.

use std::net::{IpAddr, Ipv6Addr};

/// The network a limit counts `ip` in: the address itself for IPv4 (an IPv4-mapped IPv6 address
/// counts as its IPv4 address), its /64 prefix for IPv6.
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

/// [`client_network`] of an address written as text; text that is no address counts as itself.
pub fn client_network_of(ip: &str) -> String {
    ip.parse::<IpAddr>()
        .map(|ip| client_network(ip).to_string())
        .unwrap_or_else(|_| ip.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_slash_64_and_ipv4_by_address() {
        let a = client_network_of("2001:db8:1:2:aaaa::1");
        assert_eq!(a, "2001:db8:1:2::");
        assert_eq!(client_network_of("2001:db8:1:2:ffff:1:2:3"), a);
        assert_ne!(client_network_of("2001:db8:1:3::1"), a);
        assert_eq!(client_network_of("192.0.2.7"), "192.0.2.7");
        assert_ne!(client_network_of("192.0.2.8"), "192.0.2.7");
        assert_eq!(client_network_of("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(client_network_of("inconnue"), "inconnue");
    }
}
