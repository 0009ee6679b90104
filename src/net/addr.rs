//! Which addresses another site can dial. A node that listens on `0.0.0.0` or on port 0 is
//! fine for itself, but those are not addresses to hand to another machine: `0.0.0.0` means
//! "this machine" wherever it is dialled (the other site would dial itself), and port 0 means
//! "any port", decided only when the node starts. Every address a node exports (`liaison
//! id`) or pins (`liaison peer add`) passes [`dialable`] first.

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

/// Why an address cannot be dialled from another machine.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Undialable {
    /// `0.0.0.0` or `::`: "every interface of this machine", not an address of it.
    #[error("{addr} is an unspecified address (it means \"every interface\", not where this node can be reached)")]
    Unspecified {
        /// The address.
        addr: Multiaddr,
    },
    /// Port 0: the port is chosen when the node starts.
    #[error("{addr} has port 0 (the port is chosen when the node starts)")]
    PortZero {
        /// The address.
        addr: Multiaddr,
    },
    /// No host, or no TCP port (liaison's transport is TCP).
    #[error("{addr} names no host and TCP port (e.g. /ip4/10.0.0.2/tcp/4710 or /dns4/liaison.example.org/tcp/4710)")]
    Incomplete {
        /// The address.
        addr: Multiaddr,
    },
}

/// Whether another machine can dial `addr`: a concrete IP or a DNS name, and a TCP port other
/// than 0.
pub fn dialable(addr: &Multiaddr) -> Result<(), Undialable> {
    let (mut host, mut port) = (false, false);
    for p in addr.iter() {
        match p {
            Protocol::Ip4(ip) if ip.is_unspecified() => return Err(Undialable::Unspecified { addr: addr.clone() }),
            Protocol::Ip6(ip) if ip.is_unspecified() => return Err(Undialable::Unspecified { addr: addr.clone() }),
            Protocol::Ip4(_) | Protocol::Ip6(_) | Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_) => {
                host = true
            }
            Protocol::Tcp(0) => return Err(Undialable::PortZero { addr: addr.clone() }),
            Protocol::Tcp(_) => port = true,
            _ => {}
        }
    }
    if host && port { Ok(()) } else { Err(Undialable::Incomplete { addr: addr.clone() }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str) -> Result<(), Undialable> {
        dialable(&s.parse().unwrap())
    }

    #[test]
    fn only_concrete_hosts_with_a_real_port_are_dialable() {
        assert!(check("/ip4/10.0.0.2/tcp/4710").is_ok());
        assert!(check("/ip4/127.0.0.1/tcp/4710").is_ok());
        assert!(check("/ip6/fd00::2/tcp/4710").is_ok());
        assert!(check("/dns4/liaison.example.org/tcp/4710").is_ok());
        assert!(check("/ip4/10.0.0.2/tcp/4710/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo").is_ok());
        assert!(matches!(check("/ip4/0.0.0.0/tcp/4710"), Err(Undialable::Unspecified { .. })));
        assert!(matches!(check("/ip6/::/tcp/4710"), Err(Undialable::Unspecified { .. })));
        assert!(matches!(check("/ip4/10.0.0.2/tcp/0"), Err(Undialable::PortZero { .. })));
        assert!(matches!(check("/ip4/10.0.0.2/udp/4710/quic-v1"), Err(Undialable::Incomplete { .. })));
        assert!(matches!(check("/tcp/4710"), Err(Undialable::Incomplete { .. })));
    }
}
