//! Peers vouched for by our own Party: how a Party's second node learns the other Parties'
//! nodes from its primary.
//!
//! A Party's nodes share its signing key (`init --party-keys-from`). A sysadmin pins the other
//! Parties' nodes on the primary; a second node pins only the primary. The primary then sends
//! its own Party's nodes the cards of the peers it pinned for other Parties, in one list signed
//! with the Party key. A node accepts such a list only:
//!
//! | check | why |
//! | --- | --- |
//! | from a peer pinned by hand as a node of our own Party | another Party must never vouch for whom we trust |
//! | signed by our own Party key | what only our Party's nodes can make |
//! | naming the sending node as its issuer | a list cannot be replayed by another node of ours as its own |
//! | at most [`MAX_CARDS`] cards of [`MAX_ADDRS`] addresses, each of another Party, each address dialable | bounded, and never a card for ourselves |
//!
//! The newest list from an issuer replaces the one before: a peer the primary unpins is
//! withdrawn with its next list. A peer pinned by hand on the receiving node wins over a
//! vouched card for it.

use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};

use crate::config::{PeerRole, PinnedPeer};
use crate::ids::PartyId;
use crate::signing::{self, SignatureError};

/// Signature domain of a vouched list.
const DOMAIN: &str = "liaison/vouched-peers/v1";
/// Most cards in one list.
pub const MAX_CARDS: usize = 256;
/// Most addresses on one card.
pub const MAX_ADDRS: usize = 16;
/// Longest address, in bytes of its text.
const MAX_ADDR_CHARS: usize = 256;

/// One vouched peer: what a `[[peers]]` entry holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerCard {
    /// Its organisation.
    pub party_id: PartyId,
    /// Its libp2p id, as text.
    pub peer_id: String,
    /// Where to dial it.
    pub addrs: Vec<String>,
    /// What it may receive.
    pub role: PeerRole,
    /// Its Party's Ed25519 key.
    pub signing_key: Option<[u8; 32]>,
    /// Its Party's X25519 key.
    pub sealing_key: Option<[u8; 32]>,
}

impl PeerCard {
    /// The card of a pinned peer.
    pub fn of(p: &PinnedPeer) -> PeerCard {
        PeerCard {
            party_id: p.party_id.clone(),
            peer_id: p.peer_id.to_string(),
            addrs: p.addrs.iter().map(|a| a.to_string()).collect(),
            role: p.role,
            signing_key: p.signing_key,
            sealing_key: p.sealing_key,
        }
    }
}

/// The peers one node of a Party pinned for other Parties, signed with the Party key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VouchedList {
    /// The Party that vouches.
    pub party: PartyId,
    /// The node that issued the list (its peer id): only that node may send it.
    pub issuer: String,
    /// When it was issued, Unix ms (shown to sysadmins).
    pub issued_ms: i64,
    /// The cards.
    pub cards: Vec<PeerCard>,
    /// The Party's Ed25519 signature over the rest.
    #[serde(with = "serde_bytes")]
    pub sig: Vec<u8>,
}

#[derive(Serialize)]
struct Body<'a> {
    party: &'a str,
    issuer: &'a str,
    issued_ms: i64,
    cards: &'a [PeerCard],
}

/// Why a vouched list is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VouchError {
    /// The sender is not a node of our own Party pinned by hand.
    #[error(
        "a vouched peer list from {sender}, which is not a node of our own Party pinned here; only our own Party's nodes may vouch for peers"
    )]
    NotOwnParty {
        /// The sender.
        sender: String,
    },
    /// The list speaks for another Party.
    #[error("a vouched peer list of {party}; only our own Party's lists are taken")]
    OtherParty {
        /// The Party it names.
        party: PartyId,
    },
    /// The list names another node as its issuer.
    #[error("a vouched peer list issued by {issuer}, sent by {sender}")]
    NotIssuer {
        /// Who it says issued it.
        issuer: String,
        /// Who sent it.
        sender: String,
    },
    /// Too many cards or addresses.
    #[error("a vouched peer list past its bounds: {what}")]
    TooLarge {
        /// Which bound.
        what: String,
    },
    /// The signature is wrong.
    #[error("a vouched peer list whose signature is wrong: {0}")]
    Signature(SignatureError),
    /// A card that cannot be pinned.
    #[error("vouched card {index}: {reason}")]
    BadCard {
        /// Its position.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

impl VouchedList {
    /// Signs the cards of `peers` (those of other Parties) as `issuer` of `party`.
    pub fn issue(
        party_key: &ed25519_dalek::SigningKey,
        party: &PartyId,
        issuer: PeerId,
        peers: &[PinnedPeer],
        issued_ms: i64,
    ) -> Result<VouchedList, SignatureError> {
        let cards: Vec<PeerCard> =
            peers.iter().filter(|p| &p.party_id != party).take(MAX_CARDS).map(PeerCard::of).collect();
        let issuer = issuer.to_string();
        let body = Body { party: party.as_str(), issuer: &issuer, issued_ms, cards: &cards };
        let sig = signing::sign(party_key, DOMAIN, &body)?.to_vec();
        Ok(VouchedList { party: party.clone(), issuer, issued_ms, cards, sig })
    }

    /// Checks the list against our Party (`own`, with its public signing key) and the peer that
    /// sent it, and returns the peers it vouches for. `us` is this node: never vouched for.
    pub fn verify(
        &self,
        own: &PartyId,
        own_key: &[u8; 32],
        sender: &PeerId,
        us: &PeerId,
    ) -> Result<Vec<PinnedPeer>, VouchError> {
        if &self.party != own {
            return Err(VouchError::OtherParty { party: self.party.clone() });
        }
        if self.issuer != sender.to_string() {
            return Err(VouchError::NotIssuer { issuer: self.issuer.clone(), sender: sender.to_string() });
        }
        if self.cards.len() > MAX_CARDS {
            return Err(VouchError::TooLarge { what: format!("{} cards, at most {MAX_CARDS}", self.cards.len()) });
        }
        if let Some(c) = self.cards.iter().find(|c| c.addrs.len() > MAX_ADDRS) {
            return Err(VouchError::TooLarge {
                what: format!("{} addresses for {}, at most {MAX_ADDRS}", c.addrs.len(), c.peer_id),
            });
        }
        if self.cards.iter().flat_map(|c| &c.addrs).any(|a| a.len() > MAX_ADDR_CHARS) {
            return Err(VouchError::TooLarge { what: format!("an address longer than {MAX_ADDR_CHARS} bytes") });
        }
        let sig: [u8; 64] = self
            .sig
            .as_slice()
            .try_into()
            .map_err(|_| VouchError::Signature(SignatureError::Invalid { signer: own.to_string() }))?;
        let body =
            Body { party: self.party.as_str(), issuer: &self.issuer, issued_ms: self.issued_ms, cards: &self.cards };
        signing::verify(own_key, own.as_str(), DOMAIN, &body, &sig).map_err(VouchError::Signature)?;
        let mut out: Vec<PinnedPeer> = Vec::with_capacity(self.cards.len());
        for (index, c) in self.cards.iter().enumerate() {
            let bad = |reason: String| VouchError::BadCard { index, reason };
            if &c.party_id == own {
                return Err(bad(format!("a node of our own Party {own}; only other Parties' nodes are vouched for")));
            }
            let peer_id: PeerId = c.peer_id.parse().map_err(|_| bad(format!("{:?} is not a peer id", c.peer_id)))?;
            if peer_id == *us || peer_id == *sender {
                return Err(bad(format!("{peer_id} is a node of our own Party")));
            }
            if out.iter().any(|p| p.peer_id == peer_id) {
                return Err(bad(format!("{peer_id} is vouched for twice")));
            }
            if c.role == PeerRole::Party && c.signing_key.is_none() {
                return Err(bad(format!("a party peer {peer_id} without its Party's signing key")));
            }
            let mut addrs: Vec<Multiaddr> = Vec::with_capacity(c.addrs.len());
            for a in &c.addrs {
                let a: Multiaddr = a.parse().map_err(|_| bad(format!("{a:?} is not a multiaddr")))?;
                crate::net::addr::dialable(&a).map_err(|e| bad(e.to_string()))?;
                addrs.push(a);
            }
            out.push(PinnedPeer {
                party_id: c.party_id.clone(),
                peer_id,
                addrs,
                role: c.role,
                signing_key: c.signing_key,
                sealing_key: c.sealing_key,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(party: &str, seed: u8) -> PinnedPeer {
        let kp = libp2p::identity::Keypair::ed25519_from_bytes([seed; 32]).unwrap();
        PinnedPeer {
            party_id: party.parse().unwrap(),
            peer_id: kp.public().to_peer_id(),
            addrs: vec!["/ip4/10.0.0.2/tcp/4710".parse().unwrap()],
            role: PeerRole::Party,
            signing_key: Some([seed; 32]),
            sealing_key: Some([seed; 32]),
        }
    }

    struct Setup {
        key: ed25519_dalek::SigningKey,
        cica: PartyId,
        primary: PeerId,
        second: PeerId,
    }

    fn setup() -> Setup {
        Setup {
            key: ed25519_dalek::SigningKey::from_bytes(&[1; 32]),
            cica: "cica".parse().unwrap(),
            primary: peer("cica", 2).peer_id,
            second: peer("cica", 3).peer_id,
        }
    }

    #[test]
    fn a_list_of_our_party_from_its_issuer_gives_the_other_parties_peers() {
        let s = setup();
        let pinned = [peer("sco-rats", 9), peer("cica", 3)];
        let list = VouchedList::issue(&s.key, &s.cica, s.primary, &pinned, 1).unwrap();
        assert_eq!(list.cards.len(), 1, "our own Party's nodes are not vouched for");
        let got = list.verify(&s.cica, &s.key.verifying_key().to_bytes(), &s.primary, &s.second).unwrap();
        assert_eq!(got, vec![pinned[0].clone()]);
    }

    #[test]
    fn forged_foreign_or_replayed_lists_are_refused() {
        let s = setup();
        let own_key = s.key.verifying_key().to_bytes();
        let pinned = [peer("sco-rats", 9)];
        let list = VouchedList::issue(&s.key, &s.cica, s.primary, &pinned, 1).unwrap();

        // Another key (another Party's, or a forger's).
        let other = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let forged = VouchedList::issue(&other, &s.cica, s.primary, &pinned, 1).unwrap();
        assert!(matches!(forged.verify(&s.cica, &own_key, &s.primary, &s.second), Err(VouchError::Signature(_))));

        // A card changed after signing.
        let mut changed = list.clone();
        changed.cards[0].signing_key = Some([66; 32]);
        assert!(matches!(changed.verify(&s.cica, &own_key, &s.primary, &s.second), Err(VouchError::Signature(_))));

        // Another Party's list, even validly signed by it.
        let sco: PartyId = "sco-rats".parse().unwrap();
        let theirs = VouchedList::issue(&other, &sco, s.primary, &[peer("cica", 4)], 1).unwrap();
        assert!(matches!(theirs.verify(&s.cica, &own_key, &s.primary, &s.second), Err(VouchError::OtherParty { .. })));

        // The primary's list passed on by another node.
        let third = peer("cica", 5).peer_id;
        assert!(matches!(list.verify(&s.cica, &own_key, &third, &s.second), Err(VouchError::NotIssuer { .. })));

        // Unsigned.
        let mut unsigned = list.clone();
        unsigned.sig.clear();
        assert!(matches!(unsigned.verify(&s.cica, &own_key, &s.primary, &s.second), Err(VouchError::Signature(_))));
    }

    #[test]
    fn cards_for_ourselves_or_past_the_bounds_are_refused() {
        let s = setup();
        let own_key = s.key.verifying_key().to_bytes();
        let mut us = peer("sco-rats", 3);
        us.peer_id = s.second;
        let list = VouchedList::issue(&s.key, &s.cica, s.primary, &[us], 1).unwrap();
        assert!(matches!(list.verify(&s.cica, &own_key, &s.primary, &s.second), Err(VouchError::BadCard { .. })));

        let mut wild = peer("sco-rats", 9);
        wild.addrs = vec!["/ip4/0.0.0.0/tcp/4710".parse().unwrap()];
        let list = VouchedList::issue(&s.key, &s.cica, s.primary, &[wild], 1).unwrap();
        assert!(matches!(list.verify(&s.cica, &own_key, &s.primary, &s.second), Err(VouchError::BadCard { .. })));

        let mut many = peer("sco-rats", 9);
        many.addrs = vec!["/ip4/10.0.0.2/tcp/4710".parse().unwrap(); MAX_ADDRS + 1];
        let list = VouchedList::issue(&s.key, &s.cica, s.primary, &[many], 1).unwrap();
        assert!(matches!(list.verify(&s.cica, &own_key, &s.primary, &s.second), Err(VouchError::TooLarge { .. })));
    }
}
