//! What may go where: the one function the sender calls before sending and the receiver calls
//! again before storing. Deny by default; every refusal carries its reason.
//!
//! The table it implements (from DESIGN.md), seen from one node:
//!
//! | data | own Party's other nodes | the other Party | a third party |
//! | --- | --- | --- | --- |
//! | workspace documents | yes | yes | never |
//! | item provided by us | yes | yes, sealed to its key | only with our own grant |
//! | item provided by the other Party | yes | yes (it is theirs) | only with **their** signed grant |
//! | consent records | yes | yes | only grants and revocations that name it |
//!
//! A peer's role in this node's configuration says which column it is in: `party` (a node of
//! either Party: the first two columns), `third-party` (a node of any other organisation), or
//! `provider` (on a third party's own node: a Party's node it receives granted items from). A
//! peer that is not pinned gets nothing at all.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::config::{PeerRole, PinnedPeer};
use crate::consent::{Grant, GrantProblem, Record, check_grant};
use crate::ids::{ItemId, PartyId};
use crate::workspace::DocKind;

/// What we know of an item when deciding whether it may go to a peer.
#[derive(Clone, Debug)]
pub struct ItemFacts<'a> {
    /// The item.
    pub item: ItemId,
    /// Its provider.
    pub provider: &'a PartyId,
    /// Its content hash.
    pub content_hash: [u8; 32],
    /// Grants for this item whose provider signatures were checked, each with whether it was
    /// revoked (by a revocation whose signature was checked).
    pub grants: Vec<(&'a Grant, bool)>,
    /// The time of the decision.
    pub now: DateTime<Utc>,
}

/// What is about to cross the boundary.
#[derive(Clone, Debug)]
pub enum Subject<'a> {
    /// A workspace document of this kind.
    WorkspaceDoc(DocKind),
    /// An item.
    Item(ItemFacts<'a>),
    /// A consent record.
    Record(&'a Record),
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// It may go; for an item to a third party, under this grant.
    Allow,
    /// It may go under this grant (id).
    AllowUnderGrant(crate::ids::RecordId),
    /// It may not, and why.
    Deny(DenyReason),
}

impl Decision {
    /// Whether the answer is yes.
    pub fn is_allowed(&self) -> bool {
        !matches!(self, Decision::Deny(_))
    }
}

/// Why something may not go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// The peer is not in the configuration.
    NotPinned,
    /// The peer is a third party, and workspace documents never go to third parties.
    WorkspaceToThirdParty,
    /// No grant by the provider names this item and this third party.
    NoGrant {
        /// The third party.
        third_party: PartyId,
        /// The item's provider.
        provider: PartyId,
    },
    /// Grants exist, but none covers this transmission now.
    GrantProblems(Vec<GrantProblem>),
    /// A third party's own node never passes items on.
    NotAHolder,
    /// Items come from the Parties' nodes only.
    ItemFromThirdParty,
    /// The consent record does not concern the peer.
    RecordNotTheirs,
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::NotPinned => f.write_str("the peer is not pinned in this node's configuration"),
            DenyReason::WorkspaceToThirdParty => {
                f.write_str("workspace documents are shared between the Parties only, never with a third party")
            }
            DenyReason::NoGrant { third_party, provider } => write!(
                f,
                "no consent of the provider {provider} names this item and {third_party}; ask with `liaison consent request`"
            ),
            DenyReason::GrantProblems(ps) => {
                f.write_str("no grant covers it now: ")?;
                let v: Vec<String> = ps.iter().map(ToString::to_string).collect();
                f.write_str(&v.join("; "))
            }
            DenyReason::NotAHolder => f.write_str("a third party's node does not pass items on"),
            DenyReason::ItemFromThirdParty => f.write_str("items are accepted only from the Parties' nodes"),
            DenyReason::RecordNotTheirs => f.write_str("the consent record does not concern that peer"),
        }
    }
}

impl DenyReason {
    /// The reason as a code with parameters, for the web app to say in the officer's language
    /// (the `Display` words are the CLI's and name its commands).
    pub fn refusal(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            DenyReason::NotPinned => json!({ "code": "not-pinned" }),
            DenyReason::WorkspaceToThirdParty => json!({ "code": "workspace-to-third-party" }),
            DenyReason::NoGrant { third_party, provider } => {
                json!({ "code": "no-grant", "third_party": third_party, "provider": provider })
            }
            // The first problem says enough for a table cell; the CLI lists them all.
            DenyReason::GrantProblems(ps) => {
                let why = match ps.first() {
                    Some(GrantProblem::Revoked(_)) => "revoked",
                    Some(GrantProblem::Expired { .. } | GrantProblem::BadExpiry(_)) => "expired",
                    _ => "other",
                };
                json!({ "code": "no-grant-now", "why": why })
            }
            DenyReason::NotAHolder => json!({ "code": "not-a-holder" }),
            DenyReason::ItemFromThirdParty => json!({ "code": "item-from-third-party" }),
            DenyReason::RecordNotTheirs => json!({ "code": "record-not-theirs" }),
        }
    }
}

/// May `subject` go to `peer` (as pinned in our configuration; `None` if not pinned)?
pub fn may_send(subject: &Subject<'_>, peer: Option<&PinnedPeer>) -> Decision {
    let Some(peer) = peer else {
        return Decision::Deny(DenyReason::NotPinned);
    };
    match (subject, peer.role) {
        (Subject::WorkspaceDoc(_), PeerRole::Party) => Decision::Allow,
        (Subject::WorkspaceDoc(_), _) => Decision::Deny(DenyReason::WorkspaceToThirdParty),
        (Subject::Item(_), PeerRole::Party) => Decision::Allow,
        (Subject::Item(_), PeerRole::Provider) => Decision::Deny(DenyReason::NotAHolder),
        (Subject::Item(f), PeerRole::ThirdParty) => item_to_third_party(f, &peer.party_id),
        (Subject::Record(_), PeerRole::Party) => Decision::Allow,
        (Subject::Record(r), _) => {
            // A third party (and, on its node, a provider) sees only what concerns its own
            // deliveries: grants and revocations naming it, and its acknowledgements.
            let concerns = |p: &PartyId| r.third_party_concerned() == Some(p);
            let ok = match peer.role {
                PeerRole::ThirdParty => {
                    concerns(&peer.party_id) && matches!(r, Record::Grant(_) | Record::Revocation(_))
                }
                _ => matches!(r, Record::RevocationAck(_) | Record::ExpiryAck(_)),
            };
            if ok { Decision::Allow } else { Decision::Deny(DenyReason::RecordNotTheirs) }
        }
    }
}

fn item_to_third_party(f: &ItemFacts<'_>, third_party: &PartyId) -> Decision {
    let mut problems = Vec::new();
    for (g, revoked) in &f.grants {
        match check_grant(g, f.provider, &f.content_hash, third_party, f.now, *revoked) {
            Ok(()) => return Decision::AllowUnderGrant(g.id),
            Err(p) => problems.push(p),
        }
    }
    // Grants for other recipients are not this one's business; only name problems with grants
    // that were meant for it.
    problems.retain(|p| !matches!(p, GrantProblem::OtherThirdParty { .. }));
    if problems.is_empty() {
        Decision::Deny(DenyReason::NoGrant { third_party: third_party.clone(), provider: f.provider.clone() })
    } else {
        Decision::Deny(DenyReason::GrantProblems(problems))
    }
}

/// May we store `subject` received from `peer`? The same table read from the other side: the
/// workspace comes only from the Parties' nodes; items from the Parties' nodes, or, on a third
/// party's node (`us`), from a provider-role peer under a grant that names `us`.
pub fn may_accept(subject: &Subject<'_>, peer: Option<&PinnedPeer>, us: &PartyId) -> Decision {
    let Some(peer) = peer else {
        return Decision::Deny(DenyReason::NotPinned);
    };
    match (subject, peer.role) {
        (Subject::WorkspaceDoc(_), PeerRole::Party) => Decision::Allow,
        (Subject::WorkspaceDoc(_), _) => Decision::Deny(DenyReason::WorkspaceToThirdParty),
        (Subject::Item(_), PeerRole::Party) => Decision::Allow,
        (Subject::Item(f), PeerRole::Provider) => item_to_third_party(f, us),
        (Subject::Item(_), PeerRole::ThirdParty) => Decision::Deny(DenyReason::ItemFromThirdParty),
        (Subject::Record(_), PeerRole::Party) => Decision::Allow,
        (Subject::Record(r), PeerRole::Provider) => {
            if r.third_party_concerned() == Some(us) && matches!(r, Record::Grant(_) | Record::Revocation(_)) {
                Decision::Allow
            } else {
                Decision::Deny(DenyReason::RecordNotTheirs)
            }
        }
        (Subject::Record(r), PeerRole::ThirdParty) => {
            let acked_by = match r {
                Record::RevocationAck(a) => Some(&a.third_party),
                Record::ExpiryAck(a) => Some(&a.third_party),
                _ => None,
            };
            if acked_by == Some(&peer.party_id) { Decision::Allow } else { Decision::Deny(DenyReason::RecordNotTheirs) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RecordId;
    use libp2p::PeerId;

    fn peer(party: &str, role: PeerRole) -> PinnedPeer {
        PinnedPeer {
            party_id: party.parse().unwrap(),
            peer_id: PeerId::random(),
            addrs: vec![],
            role,
            signing_key: None,
            sealing_key: None,
        }
    }

    fn grant(third: &str, expires: Option<&str>) -> Grant {
        Grant {
            id: RecordId::random(),
            request: RecordId::random(),
            item: ItemId([1; 16]),
            content_hash: [7; 32],
            provider: "cica".parse().unwrap(),
            holder: "sco-rats".parse().unwrap(),
            third_party: third.parse().unwrap(),
            purpose: "p".into(),
            expires: expires.map(String::from),
            at: "2026-11-28T00:00:00Z".into(),
            officer: "o".into(),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn workspace_goes_to_parties_only() {
        for kind in DocKind::ALL {
            let s = Subject::WorkspaceDoc(kind);
            assert_eq!(may_send(&s, Some(&peer("sco-rats", PeerRole::Party))), Decision::Allow);
            assert_eq!(
                may_send(&s, Some(&peer("un-oct", PeerRole::ThirdParty))),
                Decision::Deny(DenyReason::WorkspaceToThirdParty)
            );
            assert_eq!(may_send(&s, None), Decision::Deny(DenyReason::NotPinned));
            assert!(
                !may_accept(&s, Some(&peer("un-oct", PeerRole::ThirdParty)), &"cica".parse().unwrap()).is_allowed()
            );
        }
    }

    #[test]
    fn items_go_to_third_parties_only_under_a_live_grant_naming_them() {
        let cica: PartyId = "cica".parse().unwrap();
        let good = grant("un-oct", Some("2026-12-31T00:00:00Z"));
        let expired = grant("un-oct", Some("2026-11-01T00:00:00Z"));
        let other = grant("x-org", None);
        fn facts_of<'a>(cica: &'a PartyId, grants: Vec<(&'a Grant, bool)>) -> ItemFacts<'a> {
            ItemFacts { item: ItemId([1; 16]), provider: cica, content_hash: [7; 32], grants, now: now() }
        }
        let facts = |grants| facts_of(&cica, grants);
        let un = peer("un-oct", PeerRole::ThirdParty);
        // Between the Parties: always.
        assert!(may_send(&Subject::Item(facts(vec![])), Some(&peer("sco-rats", PeerRole::Party))).is_allowed());
        // To a third party: no grant, a grant for someone else, an expired or revoked grant.
        let d = may_send(&Subject::Item(facts(vec![])), Some(&un));
        assert!(matches!(&d, Decision::Deny(DenyReason::NoGrant { .. })), "{d:?}");
        assert!(matches!(
            may_send(&Subject::Item(facts(vec![(&other, false)])), Some(&un)),
            Decision::Deny(DenyReason::NoGrant { .. })
        ));
        let d = may_send(&Subject::Item(facts(vec![(&expired, false)])), Some(&un));
        assert!(
            matches!(&d, Decision::Deny(DenyReason::GrantProblems(p)) if matches!(p[0], GrantProblem::Expired { .. })),
            "{d:?}"
        );
        let d = may_send(&Subject::Item(facts(vec![(&good, true)])), Some(&un));
        assert!(
            matches!(&d, Decision::Deny(DenyReason::GrantProblems(p)) if matches!(p[0], GrantProblem::Revoked(_))),
            "{d:?}"
        );
        // A live grant naming it.
        assert_eq!(
            may_send(&Subject::Item(facts(vec![(&expired, false), (&good, false)])), Some(&un)),
            Decision::AllowUnderGrant(good.id)
        );
        // Not pinned.
        assert_eq!(may_send(&Subject::Item(facts(vec![(&good, false)])), None), Decision::Deny(DenyReason::NotPinned));
        // On the third party's node, the same grant lets it accept from a provider, not from anyone.
        let us: PartyId = "un-oct".parse().unwrap();
        assert!(
            may_accept(&Subject::Item(facts(vec![(&good, false)])), Some(&peer("sco-rats", PeerRole::Provider)), &us)
                .is_allowed()
        );
        assert!(
            !may_accept(&Subject::Item(facts(vec![(&other, false)])), Some(&peer("sco-rats", PeerRole::Provider)), &us)
                .is_allowed()
        );
        assert!(
            !may_accept(&Subject::Item(facts(vec![(&good, false)])), Some(&peer("y-org", PeerRole::ThirdParty)), &us)
                .is_allowed()
        );
        // And a third party's node never passes it on.
        assert_eq!(
            may_send(&Subject::Item(facts(vec![(&good, false)])), Some(&peer("cica", PeerRole::Provider))),
            Decision::Deny(DenyReason::NotAHolder)
        );
    }

    #[test]
    fn third_parties_see_only_the_records_that_concern_them() {
        let g = Record::Grant(grant("un-oct", None));
        let other = Record::Grant(grant("x-org", None));
        let un = peer("un-oct", PeerRole::ThirdParty);
        assert!(may_send(&Subject::Record(&g), Some(&un)).is_allowed());
        assert!(!may_send(&Subject::Record(&other), Some(&un)).is_allowed());
        assert!(may_send(&Subject::Record(&other), Some(&peer("sco-rats", PeerRole::Party))).is_allowed());
    }
}
