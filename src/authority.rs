//! Who may write what: each Party's word is its own. The one function every node applies to every
//! change of the workspace, to its own before making it and to every peer's before storing it.
//!
//! The workspace keeps each Party's records in documents that only that Party's nodes write, and
//! the joint work in documents both write. Who made a change is proven (see
//! [`crate::authorship`]), so the rule is read from the document a change is in and the Party
//! that made it, whatever the change says of itself:
//!
//! | document | written by | Protocol |
//! | --- | --- | --- |
//! | a joint working meeting or consultation | both Parties | item iv |
//! | a joint working group, a draft (texts, provisions, versions, workflow) | both Parties; nobody once the draft is executed | item iii; "two originals ... equally authentic" |
//! | a thread of liaison communications (its subject) | both Parties | item i |
//! | a Party's liaison officers (its registry) | that Party only | item i: each Party assigns its own |
//! | a Party's mandates (its Member States' consent) | that Party only | "with the prior consent of the Member States" |
//! | a Party's record on a draft: approval, execution signature, comments, suggestions, decisions | that Party only; nobody once the draft is executed | each Party approves and signs for itself |
//! | a Party's messages in a thread | that Party only | item i |
//! | the registry and mandates written before authentication | nobody: kept as they were, read-only | |
//! | a document's fixed first change (the same on every node) | no Party: recomputed by every node | |
//! | a change written before authentication, sealed by a Party at its upgrade | only in joint or sealed documents, never in a Party's records; nobody's once a draft is executed | |
//!
//! A change that breaks a rule is refused whole: the node that made it (ours, or a peer's)
//! gets a [`Refusal`], a code whose words live in the CLI and the web app.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::authorship::Attribution;
use crate::ids::PartyId;
use crate::workspace::DocKind;

/// Whose a document is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Owner {
    /// Joint work of the Parties: both write it.
    Joint,
    /// One Party's records: only its nodes write it.
    Party(PartyId),
    /// Written before authentication, kept read-only.
    Sealed,
}

/// What the rule needs to know of a document.
#[derive(Clone, Debug)]
pub struct DocFacts<'a> {
    /// What the document is.
    pub kind: DocKind,
    /// Whose it is.
    pub owner: &'a Owner,
    /// Whether it belongs to an executed draft (the draft itself or a Party's record on it).
    pub frozen: bool,
}

/// Why a change may not be made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum Refusal {
    /// A Party's records are written by that Party only.
    #[error("{kind} of {owner} can be written by {owner} only, not by {writer}")]
    NotItsParty {
        /// What the document is.
        kind: DocKind,
        /// Whose records they are.
        owner: PartyId,
        /// Who tried.
        writer: PartyId,
    },
    /// The draft is executed: both Parties signed it, and nothing of it changes any more.
    #[error("the draft is executed (both Parties signed it): it is frozen, and nothing of it may change")]
    Frozen,
    /// Written before authentication and kept read-only.
    #[error("this {kind} was written before authentication and is kept read-only")]
    Sealed {
        /// What the document is.
        kind: DocKind,
    },
    /// A change sealed as written before authentication, in a Party's records (which did not
    /// exist before authentication).
    #[error("a change written before authentication cannot be in a Party's {kind}")]
    LegacyInPartyRecords {
        /// What the document is.
        kind: DocKind,
    },
}

/// May a change by `who` be made to (or accepted into) a document with these facts?
pub fn may_write(doc: &DocFacts<'_>, who: &Attribution) -> Result<(), Refusal> {
    match who {
        // Recomputed by every node and checked by hash, never authored by a Party.
        Attribution::Genesis => Ok(()),
        // Old changes keep the place they had: a Party's records were all made after
        // authentication, and an executed draft takes nothing more, old or new.
        Attribution::Legacy { .. } => match doc.owner {
            Owner::Party(_) => Err(Refusal::LegacyInPartyRecords { kind: doc.kind }),
            _ if doc.frozen => Err(Refusal::Frozen),
            _ => Ok(()),
        },
        Attribution::Node { party, .. } => {
            if doc.frozen {
                return Err(Refusal::Frozen);
            }
            match doc.owner {
                Owner::Joint => Ok(()),
                Owner::Party(owner) if owner == party => Ok(()),
                Owner::Party(owner) => {
                    Err(Refusal::NotItsParty { kind: doc.kind, owner: owner.clone(), writer: party.clone() })
                }
                Owner::Sealed => Err(Refusal::Sealed { kind: doc.kind }),
            }
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Joint => f.write_str("joint"),
            Owner::Party(p) => write!(f, "{p}"),
            Owner::Sealed => f.write_str("sealed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(party: &str) -> Attribution {
        Attribution::Node { party: party.parse().unwrap(), node: "12D3KooW".into() }
    }

    fn facts(kind: DocKind, owner: &Owner, frozen: bool) -> DocFacts<'_> {
        DocFacts { kind, owner, frozen }
    }

    #[test]
    fn joint_work_is_written_by_both_parties() {
        for kind in [DocKind::Meeting, DocKind::Group, DocKind::Draft, DocKind::Thread] {
            for p in ["cica", "sco-rats"] {
                assert_eq!(may_write(&facts(kind, &Owner::Joint, false), &node(p)), Ok(()), "{kind} by {p}");
            }
        }
    }

    #[test]
    fn a_partys_records_are_written_by_that_party_only() {
        let cica = Owner::Party("cica".parse().unwrap());
        for kind in [DocKind::Registry, DocKind::Mandates, DocKind::Annex] {
            assert_eq!(may_write(&facts(kind, &cica, false), &node("cica")), Ok(()));
            assert_eq!(
                may_write(&facts(kind, &cica, false), &node("sco-rats")),
                Err(Refusal::NotItsParty { kind, owner: "cica".parse().unwrap(), writer: "sco-rats".parse().unwrap() })
            );
        }
    }

    #[test]
    fn an_executed_draft_and_its_records_refuse_every_change_from_anyone() {
        let cica = Owner::Party("cica".parse().unwrap());
        for p in ["cica", "sco-rats"] {
            assert_eq!(may_write(&facts(DocKind::Draft, &Owner::Joint, true), &node(p)), Err(Refusal::Frozen));
            assert_eq!(may_write(&facts(DocKind::Annex, &cica, true), &node(p)), Err(Refusal::Frozen));
        }
    }

    #[test]
    fn what_was_written_before_authentication_stays_as_it_was() {
        let sealed = Owner::Sealed;
        let legacy = Attribution::Legacy { sealed_by: "cica".parse().unwrap() };
        // Sealed documents take no new change, and old changes only where they were.
        assert_eq!(
            may_write(&facts(DocKind::Registry, &sealed, false), &node("cica")),
            Err(Refusal::Sealed { kind: DocKind::Registry })
        );
        assert_eq!(may_write(&facts(DocKind::Registry, &sealed, false), &legacy), Ok(()));
        assert_eq!(may_write(&facts(DocKind::Meeting, &Owner::Joint, false), &legacy), Ok(()));
        assert_eq!(may_write(&facts(DocKind::Draft, &Owner::Joint, true), &legacy), Err(Refusal::Frozen));
        let cica = Owner::Party("cica".parse().unwrap());
        assert_eq!(
            may_write(&facts(DocKind::Annex, &cica, false), &legacy),
            Err(Refusal::LegacyInPartyRecords { kind: DocKind::Annex })
        );
        // The fixed first change is nobody's and always in place.
        assert_eq!(may_write(&facts(DocKind::Registry, &cica, false), &Attribution::Genesis), Ok(()));
    }
}
