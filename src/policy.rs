//! What may go where: the one function the sender calls before sending and the receiver calls
//! again before storing. Deny by default; every refusal carries its reason.
//!
//! The table it implements (from DESIGN.md):
//!
//! | data | own Party's other nodes | the other Party | a third party |
//! | --- | --- | --- | --- |
//! | workspace documents | yes | yes | never |
//!
//! A peer that is not pinned gets nothing at all.

use std::fmt;

use crate::config::{PeerRole, PinnedPeer};
use crate::workspace::DocKind;

/// What is about to cross the boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A workspace document of this kind.
    WorkspaceDoc(DocKind),
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// It may go.
    Allow,
    /// It may not, and why.
    Deny(DenyReason),
}

impl Decision {
    /// Whether the answer is yes.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// Why something may not go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// The peer is not in the configuration.
    NotPinned,
    /// The peer is a third party, and workspace documents never go to third parties.
    WorkspaceToThirdParty,
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::NotPinned => f.write_str("the peer is not pinned in this node's configuration"),
            DenyReason::WorkspaceToThirdParty => {
                f.write_str("workspace documents are shared between the Parties only, never with a third party")
            }
        }
    }
}

/// May `subject` go to `peer` (as pinned in our configuration; `None` if not pinned)?
pub fn may_send(subject: Subject, peer: Option<&PinnedPeer>) -> Decision {
    let Some(peer) = peer else {
        return Decision::Deny(DenyReason::NotPinned);
    };
    match (subject, peer.role) {
        (Subject::WorkspaceDoc(_), PeerRole::Party) => Decision::Allow,
        (Subject::WorkspaceDoc(_), PeerRole::ThirdParty) => Decision::Deny(DenyReason::WorkspaceToThirdParty),
    }
}

/// May we store `subject` received from `peer`? The same table read from the other side:
/// workspace documents come only from the Parties' nodes.
pub fn may_accept(subject: Subject, peer: Option<&PinnedPeer>) -> Decision {
    may_send(subject, peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::PeerId;

    fn peer(role: PeerRole) -> PinnedPeer {
        PinnedPeer {
            party_id: "x-org".parse().unwrap(),
            peer_id: PeerId::random(),
            addrs: vec![],
            role,
            signing_key: None,
            sealing_key: None,
        }
    }

    #[test]
    fn workspace_goes_to_parties_only() {
        for kind in DocKind::ALL {
            let s = Subject::WorkspaceDoc(kind);
            assert_eq!(may_send(s, Some(&peer(PeerRole::Party))), Decision::Allow);
            assert_eq!(
                may_send(s, Some(&peer(PeerRole::ThirdParty))),
                Decision::Deny(DenyReason::WorkspaceToThirdParty)
            );
            assert_eq!(may_send(s, None), Decision::Deny(DenyReason::NotPinned));
            assert!(!may_accept(s, Some(&peer(PeerRole::ThirdParty))).is_allowed());
        }
    }
}
