//! Who the client of a request or a socket is: the TCP peer, unless the peer is one of the
//! reverse proxies listed in `APPC_TRUSTED_PROXIES` ([`TrustedProxies`]), in which case the
//! client is read from `X-Forwarded-For`. Every per-address limit (connections, login attempts,
//! the operation rate) and every log line that names a client uses [`client_address`], so behind
//! nginx one abusive client cannot spend everyone's allowance, and logs name real clients.
//!
//! The rule is the standard one. A client may send any `X-Forwarded-For` it likes, and each
//! proxy appends the address it received the request from, so only the entries on the right that
//! trusted proxies wrote can be believed: the header is read from the right, skipping the
//! addresses of trusted proxies, and the first address that is not one is the client. From a
//! peer that is not trusted the header is ignored whole, so a client connecting directly cannot
//! choose its address. An entry that is not an address stops the walk, and the nearest trusted
//! hop (the peer, when it is the header's last entry) stands in for the client: a garbled header
//! can lump its sender with its proxy, never give it an address of its choosing.
//!
//! `Forwarded` (RFC 7239) is not read: a proxy that sets one of the two headers passes the other
//! through as the client wrote it, so reading both would let a client forge its address through
//! the one its proxy leaves alone. nginx sets `X-Forwarded-For`
//! (`proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;

use axum::http::{Extensions, HeaderMap};
use socketioxide::adapter::Adapter;
use socketioxide::socket::Socket;

/// The reverse proxies whose `X-Forwarded-For` is believed (`APPC_TRUSTED_PROXIES`): addresses
/// and networks, such as `127.0.0.1,10.0.0.0/8,fd00::/8`. Empty (the default) trusts no one.
///
/// ```
/// use appc_runtime::TrustedProxies;
/// let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
/// assert!(proxies.contains("10.1.2.3".parse().unwrap()));
/// assert!(!proxies.contains("192.0.2.1".parse().unwrap()));
/// assert!(TrustedProxies::parse("10.0.0.1/8").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<Network>,
}

/// One address (a /32 or /128) or network of [`TrustedProxies`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    first: IpAddr,
    prefix_length: u8,
}

impl TrustedProxies {
    /// Parses a comma-separated list of IP addresses and CIDR networks. The error says which
    /// entry is wrong and what to write instead.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let networks = text
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(parse_network)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies { networks })
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    /// Whether `address` is one of the trusted proxies (an IPv4-mapped IPv6 address counts as
    /// its IPv4 address, as a dual-stack listener reports IPv4 peers that way).
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.networks
            .iter()
            .any(|network| network.contains(address))
    }
}

impl Network {
    fn contains(&self, address: IpAddr) -> bool {
        match (self.first, address) {
            (IpAddr::V4(first), IpAddr::V4(address)) => {
                let mask = ipv4_mask(self.prefix_length);
                u32::from(address) & mask == u32::from(first)
            }
            (IpAddr::V6(first), IpAddr::V6(address)) => {
                let mask = ipv6_mask(self.prefix_length);
                u128::from(address) & mask == u128::from(first)
            }
            _ => false,
        }
    }
}

fn ipv4_mask(prefix_length: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix_length))
        .unwrap_or(0)
}

fn ipv6_mask(prefix_length: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix_length))
        .unwrap_or(0)
}

fn parse_network(entry: &str) -> Result<Network, String> {
    let (address_text, prefix_text) = match entry.split_once('/') {
        Some((address, prefix)) => (address.trim(), Some(prefix.trim())),
        None => (entry, None),
    };
    let address = address_text.parse::<IpAddr>().map_err(|_| {
        format!(
            "APPC_TRUSTED_PROXIES must list IP addresses or networks such as 127.0.0.1 or 10.0.0.0/8, separated by commas, got `{entry}`; host names are not resolved, so write the proxy's address"
        )
    })?;
    // An IPv4-mapped prefix (`::ffff:10.0.0.0/104`) is not worth the arithmetic; write it as IPv4.
    let address = match prefix_text {
        None => address.to_canonical(),
        Some(_) => address,
    };
    let maximum: u8 = if address.is_ipv4() { 32 } else { 128 };
    let prefix_length = match prefix_text {
        None => maximum,
        Some(text) => match text.parse::<u8>() {
            Ok(length) if (1..=maximum).contains(&length) => length,
            Ok(0) => {
                return Err(format!(
                    "APPC_TRUSTED_PROXIES must not trust every address (`{entry}`): any client could then choose its own address; list your proxies' addresses or their network"
                ));
            }
            _ => {
                return Err(format!(
                    "APPC_TRUSTED_PROXIES entry `{entry}` has an invalid prefix length; write a number from 1 to {maximum} after the slash"
                ));
            }
        },
    };
    let first = match address {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & ipv4_mask(prefix_length))),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & ipv6_mask(prefix_length))),
    };
    if first != address {
        return Err(format!(
            "APPC_TRUSTED_PROXIES entry `{entry}` has bits set past its prefix; write the network as {first}/{prefix_length}, or the single address without a prefix"
        ));
    }
    Ok(Network {
        first,
        prefix_length,
    })
}

/// The client address of an HTTP request (`client_address(&parts.extensions)`) or of a socket
/// (`client_address(&socket.req_parts().extensions)`): the TCP peer, or the client a trusted
/// proxy forwarded (see the module docs). `None` for a request that did not come through the
/// server's own listener (a test calling the router directly).
pub fn client_address(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ClientAddress>()
        .map(|ClientAddress(address)| *address)
}

/// A socket's client address for a log line (`unknown` for a socket that did not come through
/// the server's own listener).
pub(crate) fn socket_client_for_log<A: Adapter>(socket: &Socket<A>) -> String {
    client_address(&socket.req_parts().extensions)
        .map_or_else(|| "unknown".to_owned(), |address| address.to_string())
}

/// The resolved client address, put in every request's extensions by the accept loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddress(pub(crate) IpAddr);

/// The client of a request from `peer` with `headers`, by the rule of the module docs.
pub(crate) fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let mut nearest_trusted = peer;
    // Several header lines are one list in order; the last line holds the rightmost entries.
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(text) = value.to_str() else {
            return nearest_trusted;
        };
        for entry in text.rsplit(',') {
            match parse_forwarded_entry(entry) {
                Some(address) if trusted.contains(address) => nearest_trusted = address,
                Some(address) => return address,
                None => return nearest_trusted,
            }
        }
    }
    nearest_trusted
}

/// An `X-Forwarded-For` entry: an address, or an address with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`), which some proxies write.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let address = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|socket| socket.ip()))?;
    Some(address.to_canonical())
}

/// The client of a connection from a trusted proxy as its latest request named it, for the log
/// lines about the connection itself (an upgraded WebSocket's latest request is its upgrade).
#[derive(Debug)]
pub(crate) struct ConnectionClient(Mutex<IpAddr>);

impl ConnectionClient {
    pub(crate) fn new(peer: IpAddr) -> ConnectionClient {
        ConnectionClient(Mutex::new(peer))
    }

    pub(crate) fn set(&self, address: IpAddr) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = address;
    }

    pub(crate) fn get(&self) -> IpAddr {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    fn nginx_at_loopback() -> TrustedProxies {
        TrustedProxies::parse("127.0.0.1").unwrap()
    }

    #[test]
    fn the_header_of_a_peer_that_is_not_trusted_is_ignored() {
        let forged = headers(&["203.0.113.9"]);
        let peer = address("198.51.100.7");
        assert_eq!(resolve(peer, &forged, &nginx_at_loopback()), peer);
        assert_eq!(resolve(peer, &forged, &TrustedProxies::default()), peer);
    }

    #[test]
    fn a_trusted_peer_forwards_the_rightmost_address_that_is_not_a_proxy() {
        let trusted = TrustedProxies::parse("127.0.0.1,10.0.0.0/8").unwrap();
        let peer = address("127.0.0.1");
        // The client wrote `1.1.1.1` itself; nginx appended the address it saw.
        let forwarded = headers(&["1.1.1.1, 203.0.113.9"]);
        assert_eq!(resolve(peer, &forwarded, &trusted), address("203.0.113.9"));
        // Through a second proxy of ours, whose own address is skipped.
        let chained = headers(&["1.1.1.1, 203.0.113.9, 10.0.0.5"]);
        assert_eq!(resolve(peer, &chained, &trusted), address("203.0.113.9"));
        // Two header lines are one list.
        let two_lines = headers(&["1.1.1.1", "203.0.113.9"]);
        assert_eq!(resolve(peer, &two_lines, &trusted), address("203.0.113.9"));
        // Ports and IPv4-mapped peers.
        let with_port = headers(&["[2001:db8::1]:4711"]);
        assert_eq!(resolve(peer, &with_port, &trusted), address("2001:db8::1"));
        let mapped_peer = address("::ffff:127.0.0.1");
        let plain = headers(&["203.0.113.9"]);
        assert_eq!(
            resolve(mapped_peer, &plain, &trusted),
            address("203.0.113.9")
        );
    }

    #[test]
    fn a_malformed_or_missing_header_falls_back_to_the_nearest_trusted_hop() {
        let trusted = TrustedProxies::parse("127.0.0.1,10.0.0.0/8").unwrap();
        let peer = address("127.0.0.1");
        assert_eq!(resolve(peer, &HeaderMap::new(), &trusted), peer);
        assert_eq!(resolve(peer, &headers(&["not an address"]), &trusted), peer);
        assert_eq!(resolve(peer, &headers(&[""]), &trusted), peer);
        assert_eq!(
            resolve(
                peer,
                &headers(&["203.0.113.9, garbage, 10.0.0.5"]),
                &trusted
            ),
            address("10.0.0.5")
        );
        let mut not_text = HeaderMap::new();
        not_text.insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"203.0.113.9\xff").unwrap(),
        );
        assert_eq!(resolve(peer, &not_text, &trusted), peer);
        // A garbled entry left of the client's real address is never reached.
        assert_eq!(
            resolve(peer, &headers(&["garbage, 203.0.113.9"]), &trusted),
            address("203.0.113.9")
        );
        // Every entry a proxy of ours: the leftmost one is the nearest.
        assert_eq!(
            resolve(peer, &headers(&["10.0.0.7, 10.0.0.5"]), &trusted),
            address("10.0.0.7")
        );
    }

    #[test]
    fn networks_match_by_prefix_and_family() {
        let trusted = TrustedProxies::parse(" 10.0.0.0/8 , 192.0.2.1, fd00::/8,").unwrap();
        assert!(trusted.contains(address("10.255.0.1")));
        assert!(!trusted.contains(address("11.0.0.1")));
        assert!(trusted.contains(address("192.0.2.1")));
        assert!(!trusted.contains(address("192.0.2.2")));
        assert!(trusted.contains(address("fd12::1")));
        assert!(!trusted.contains(address("fe80::1")));
        assert!(trusted.contains(address("::ffff:10.1.1.1")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        let single = TrustedProxies::parse("::ffff:127.0.0.1").unwrap();
        assert!(single.contains(address("127.0.0.1")));
    }

    #[test]
    fn invalid_entries_are_refused_with_what_to_write() {
        let error = TrustedProxies::parse("127.0.0.1, nginx").unwrap_err();
        assert!(error.contains("got `nginx`"), "{error}");
        assert!(error.contains("host names are not resolved"), "{error}");
        let error = TrustedProxies::parse("10.0.0.1/8").unwrap_err();
        assert!(error.contains("write the network as 10.0.0.0/8"), "{error}");
        let error = TrustedProxies::parse("10.0.0.0/33").unwrap_err();
        assert!(error.contains("from 1 to 32"), "{error}");
        let error = TrustedProxies::parse("::/0").unwrap_err();
        assert!(error.contains("must not trust every address"), "{error}");
        let error = TrustedProxies::parse("0.0.0.0/0").unwrap_err();
        assert!(error.contains("must not trust every address"), "{error}");
        assert!(TrustedProxies::parse("10.0.0.0/abc").is_err());
    }
}
