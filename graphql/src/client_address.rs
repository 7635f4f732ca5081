//! Which address a request comes from, for login throttling: the peer of the TCP connection,
//! unless that peer is a proxy we were told to trust, in which case `X-Forwarded-For` is read
//! from the right (the hop our proxy appended) to the left, skipping trusted proxies, and the
//! first address that is not one of them is the client.
//!
//! A client can write anything into `X-Forwarded-For`, but only to the left of what the trusted
//! proxies append, so rotating the header changes nothing: it is never read when the peer is not
//! trusted, and the right-most untrusted hop is the one our proxy saw.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// What the address is when the connection has none (a router called without a socket).
pub const UNKNOWN_ADDRESS: &str = "unknown";

/// One trusted proxy: a single address (`10.0.0.7`, `::1`) or a network (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy(IpNet);

impl TrustedProxy {
    pub fn contains(&self, address: &IpAddr) -> bool {
        self.0.contains(&address.to_canonical())
    }
}

impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(network) = s.parse::<IpNet>() {
            return Ok(Self(network.trunc()));
        }
        s.parse::<IpAddr>()
            .map(|address| Self(IpNet::from(address.to_canonical())))
            .map_err(|_| format!("{s:?} is neither an IP address nor a network like 10.0.0.0/8"))
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The client address of a request reaching us from `peer` with `headers`.
pub fn client_address(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trusted: &[TrustedProxy],
) -> String {
    let Some(peer) = peer.map(|p| p.ip().to_canonical()) else {
        return UNKNOWN_ADDRESS.to_string();
    };
    let is_trusted = |address: &IpAddr| trusted.iter().any(|t| t.contains(address));
    if !is_trusted(&peer) {
        return peer.to_string();
    }
    // Every X-Forwarded-For line, in order, as one list of hops (left: farthest).
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        let Some(address) = parse_hop(hop) else {
            // Garbage where a proxy should have written an address: trust nothing beyond it.
            break;
        };
        if !is_trusted(&address) {
            return address.to_string();
        }
        nearest = address;
    }
    nearest.to_string()
}

/// One hop: an address, possibly with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|a| a.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for line in lines {
            h.append("x-forwarded-for", line.parse().unwrap());
        }
        h
    }

    fn peer(s: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(s.parse().unwrap(), 40000))
    }

    fn proxies(list: &[&str]) -> Vec<TrustedProxy> {
        list.iter().map(|p| p.parse().unwrap()).collect()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let h = headers(&["9.9.9.9"]);
        assert_eq!(client_address(&h, peer("203.0.113.5"), &[]), "203.0.113.5");
    }

    #[test]
    fn an_untrusted_peer_cannot_forward_for_anyone() {
        let h = headers(&["9.9.9.9"]);
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            client_address(&h, peer("203.0.113.5"), &trusted),
            "203.0.113.5"
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        // The client wrote 1.1.1.1 itself; the load balancer appended the real 2.2.2.2, and an
        // inner trusted proxy 10.0.0.9 appended the balancer.
        let h = headers(&["1.1.1.1, 2.2.2.2", "10.0.0.9"]);
        let trusted = proxies(&["10.0.0.0/8", "127.0.0.1"]);
        assert_eq!(client_address(&h, peer("127.0.0.1"), &trusted), "2.2.2.2");
    }

    #[test]
    fn all_hops_trusted_gives_the_farthest_of_them() {
        let h = headers(&["10.0.0.3, 10.0.0.4"]);
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(client_address(&h, peer("10.0.0.5"), &trusted), "10.0.0.3");
        assert_eq!(
            client_address(&HeaderMap::new(), peer("10.0.0.5"), &trusted),
            "10.0.0.5"
        );
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_trusted_hop() {
        let h = headers(&["1.1.1.1, not-an-address, 10.0.0.4"]);
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(client_address(&h, peer("10.0.0.5"), &trusted), "10.0.0.4");
    }

    #[test]
    fn hops_may_carry_ports_and_be_ipv6() {
        let h = headers(&["[2001:db8::1]:443, 198.51.100.7:5555"]);
        let trusted = proxies(&["::1"]);
        assert_eq!(client_address(&h, peer("::1"), &trusted), "198.51.100.7");
        let h = headers(&["2001:db8::1"]);
        assert_eq!(client_address(&h, peer("::1"), &trusted), "2001:db8::1");
    }

    #[test]
    fn an_ipv4_mapped_peer_matches_an_ipv4_proxy() {
        let h = headers(&["2.2.2.2"]);
        let trusted = proxies(&["127.0.0.1"]);
        assert_eq!(
            client_address(&h, peer("::ffff:127.0.0.1"), &trusted),
            "2.2.2.2"
        );
    }

    #[test]
    fn proxies_parse_from_addresses_and_networks_only() {
        assert!("10.0.0.0/8".parse::<TrustedProxy>().is_ok());
        assert!(" 192.168.1.1 ".parse::<TrustedProxy>().is_ok());
        assert!("fd00::/8".parse::<TrustedProxy>().is_ok());
        assert!("example.com".parse::<TrustedProxy>().is_err());
        assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
        assert!("10.1.2.3/8"
            .parse::<TrustedProxy>()
            .unwrap()
            .contains(&"10.200.0.1".parse().unwrap()));
    }

    #[test]
    fn no_peer_is_unknown() {
        assert_eq!(
            client_address(&HeaderMap::new(), None, &[]),
            UNKNOWN_ADDRESS
        );
    }
}
