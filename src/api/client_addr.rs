//! Who the client is, by address: what the login limits count and the login audit records, and
//! what the access log shows.
//!
//! The TCP peer, unless it is one of `[api] trusted_proxies`: then the client is the right-most
//! address of `X-Forwarded-For` that is not itself a trusted proxy (each proxy appends the
//! address it received the request from, so everything left of the last untrusted hop may have
//! been written by the client and is never believed). From any other peer the header is
//! ignored: a client cannot choose the address its failed logins are counted against.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The header a reverse proxy names the client in.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The trusted proxies, replaced whole at a reload.
#[derive(Debug, Default)]
pub struct TrustedProxies(RwLock<Arc<[IpNet]>>);

impl TrustedProxies {
    /// The set `nets`.
    pub fn new(nets: &[IpNet]) -> TrustedProxies {
        TrustedProxies(RwLock::new(nets.into()))
    }

    /// Replaces the set (SIGHUP).
    pub fn set(&self, nets: &[IpNet]) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = nets.into();
    }

    /// The set now.
    pub fn get(&self) -> Arc<[IpNet]> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The client's address as the node believes it, put in each request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved(pub IpAddr);

/// The client of a request from TCP peer `peer` with `headers`, given the trusted proxies.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return peer;
    }
    // Every X-Forwarded-For line, in order, as one list; right-most first.
    let hops: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            // A hop that is no address ends the walk: what is left of it is not believable,
            // and the last proxy stands for the client.
            None => break,
            Some(ip) if is_trusted(&ip) => client = ip,
            Some(ip) => return ip,
        }
    }
    client
}

/// An address in X-Forwarded-For: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>().or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip())).ok().map(canonical)
}

/// An IPv4 address seen as IPv6 (`::ffff:10.0.0.1`, on a dual-stack listener) as the IPv4 one,
/// so that `10.0.0.0/8` matches it.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Middleware: puts the request's [`Resolved`] client address in its extensions.
pub async fn layer(State(trusted): State<Arc<TrustedProxies>>, mut req: Request, next: Next) -> Response {
    if let Some(peer) = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) {
        let client = resolve(peer, req.headers(), &trusted.get());
        req.extensions_mut().insert(Resolved(client));
    }
    next.run(req).await
}

/// The request's client address: [`Resolved`] if the middleware ran, else the TCP peer; `None`
/// in in-process tests without a connection.
pub fn of_request(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions.get::<Resolved>().map(|r| r.0).or_else(|| extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append(FORWARDED_FOR, HeaderValue::from_str(l).unwrap());
        }
        h
    }

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let t = nets(&["10.0.0.2/32"]);
        assert_eq!(resolve(ip("192.0.2.7"), &xff(&["198.51.100.1"]), &t), ip("192.0.2.7"));
        assert_eq!(resolve(ip("192.0.2.7"), &xff(&[]), &[]), ip("192.0.2.7"));
        // No proxies trusted: the header never counts, even from loopback.
        assert_eq!(resolve(ip("127.0.0.1"), &xff(&["198.51.100.1"]), &[]), ip("127.0.0.1"));
    }

    #[test]
    fn from_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
        let t = nets(&["10.0.0.0/24", "2001:db8::/32"]);
        // The client wrote "6.6.6.6" itself; the proxy appended the address it saw.
        assert_eq!(resolve(ip("10.0.0.2"), &xff(&["6.6.6.6, 198.51.100.1"]), &t), ip("198.51.100.1"));
        // Two proxies in a row, both trusted; the header split over two lines.
        assert_eq!(resolve(ip("10.0.0.2"), &xff(&["6.6.6.6, 198.51.100.1", "10.0.0.3"]), &t), ip("198.51.100.1"));
        // Ports and brackets, and an IPv4 peer seen as IPv6.
        assert_eq!(resolve(ip("::ffff:10.0.0.2"), &xff(&["[2001:db9::5]:443"]), &t), ip("2001:db9::5"));
        assert_eq!(resolve(ip("10.0.0.2"), &xff(&["198.51.100.1:5678"]), &t), ip("198.51.100.1"));
        // No header, or only proxies, or garbage at the right: the left-most trusted proxy seen.
        assert_eq!(resolve(ip("10.0.0.2"), &xff(&[]), &t), ip("10.0.0.2"));
        assert_eq!(resolve(ip("10.0.0.2"), &xff(&["10.0.0.3"]), &t), ip("10.0.0.3"));
        assert_eq!(resolve(ip("10.0.0.2"), &xff(&["6.6.6.6, unknown"]), &t), ip("10.0.0.2"));
    }
}
