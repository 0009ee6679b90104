//! The documents a Party keeps its own records in: its registry of liaison officers, its
//! mandates, and its record on each draft and thread (an *annex*: its approval, execution
//! signature, comments, suggestions and decisions on a draft; its messages in a thread).
//!
//! Only that Party's nodes write them ([`crate::authority`]). Each has an id derived from what
//! it is and whose, and a fixed first change that every node computes the same way (the same
//! actor, time and content, so the same hash): all of a Party's nodes start from that one change
//! and write into the same containers, so what two of its nodes record at once merges instead of
//! one hiding the other. A receiving node recomputes both from the document's own root, so a
//! document cannot pass for another Party's, or for another draft's annex.

use automerge::{ActorId, Automerge, ROOT, ReadDoc};
use sha2::{Digest, Sha256};

use super::util::get_str;
use super::{DocKind, Result, SCHEMA, WorkspaceError};
use crate::authority::Owner;
use crate::authorship::GENESIS_ACTOR;
use crate::ids::{DocId, PartyId};

/// The registry of liaison officers that both Parties shared before authentication.
pub const LEGACY_REGISTRY_ID: DocId = DocId(*b"liaison-registry");
/// The mandates document that both Parties shared before authentication.
pub const LEGACY_MANDATES_ID: DocId = DocId(*b"liaison-mandates");

/// Which of a Party's documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartyDoc {
    /// Its liaison officers.
    Registry,
    /// Its Member States' mandates.
    Mandates,
    /// Its record on a draft or a thread.
    Annex(DocId),
}

impl PartyDoc {
    /// The document kind.
    pub fn kind(self) -> DocKind {
        match self {
            PartyDoc::Registry => DocKind::Registry,
            PartyDoc::Mandates => DocKind::Mandates,
            PartyDoc::Annex(_) => DocKind::Annex,
        }
    }

    /// The containers the first change creates (maps at the root).
    fn containers(self) -> &'static [&'static str] {
        match self {
            PartyDoc::Registry => &["officers"],
            PartyDoc::Mandates => &["mandates"],
            PartyDoc::Annex(_) => &["approval", "signature", "comments", "suggestions", "decisions", "posts"],
        }
    }

    /// The document's id for `party`: the same on every node.
    pub fn id(self, party: &PartyId) -> DocId {
        let mut h = Sha256::new();
        h.update(b"liaison/party-doc/v1\0");
        h.update(self.kind().as_str());
        h.update([0]);
        h.update(party.as_str());
        h.update([0]);
        if let PartyDoc::Annex(parent) = self {
            h.update(parent.0);
        }
        let d = h.finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&d[..16]);
        DocId(id)
    }

    /// The document as every node first creates it for `party`.
    pub fn genesis(self, party: &PartyId) -> Result<Automerge> {
        let mut doc = Automerge::new();
        doc.set_actor(ActorId::from(GENESIS_ACTOR.as_slice()));
        doc.transact_with(
            |_| automerge::transaction::CommitOptions::default().with_time(0).with_message("genesis"),
            |tx| {
                use automerge::transaction::Transactable;
                tx.put(ROOT, "kind", self.kind().as_str())?;
                tx.put(ROOT, "schema", SCHEMA)?;
                tx.put(ROOT, "party", party.as_str())?;
                if let PartyDoc::Annex(parent) = self {
                    tx.put(ROOT, "parent", parent.to_string())?;
                }
                for c in self.containers() {
                    tx.put_object(ROOT, *c, automerge::ObjType::Map)?;
                }
                Ok::<_, automerge::AutomergeError>(())
            },
        )
        .map_err(|f| WorkspaceError::Automerge(f.error))?;
        Ok(doc)
    }

    /// The hash of the document's first change.
    pub fn genesis_hash(self, party: &PartyId) -> Result<[u8; 32]> {
        let heads = self.genesis(party)?.get_heads();
        heads.first().map(|h| h.0).ok_or_else(|| WorkspaceError::Malformed("genesis has no change".into()))
    }
}

/// What a document is and whose, read from its own root and checked against its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Its kind.
    pub kind: DocKind,
    /// Whose it is.
    pub owner: Owner,
    /// For a Party's document: which one.
    pub party_doc: Option<PartyDoc>,
    /// The hash of its fixed first change, for the documents that have one.
    pub genesis: Option<[u8; 32]>,
}

/// Tells what document `id` is and whose, from its root. A Party's document must have the id
/// that its kind, Party and parent give; anything else is refused as malformed.
pub fn identify(id: DocId, doc: &Automerge) -> Result<Identity> {
    let kind = super::kind_of(doc).ok_or_else(|| WorkspaceError::Malformed("no known kind at the root".into()))?;
    if id == LEGACY_REGISTRY_ID || id == LEGACY_MANDATES_ID {
        let want = if id == LEGACY_REGISTRY_ID { DocKind::Registry } else { DocKind::Mandates };
        if kind != want {
            return Err(WorkspaceError::Malformed(format!("document {id} is a {want}, it says {kind}")));
        }
        let genesis = super::genesis(kind, if kind == DocKind::Registry { "officers" } else { "mandates" })?;
        return Ok(Identity {
            kind,
            owner: Owner::Sealed,
            party_doc: None,
            genesis: genesis.get_heads().first().map(|h| h.0),
        });
    }
    match kind {
        DocKind::Registry | DocKind::Mandates | DocKind::Annex => {
            let party: PartyId = get_str(doc, &ROOT, "party")?
                .ok_or_else(|| WorkspaceError::Malformed("a Party's document names no Party".into()))?
                .parse()
                .map_err(|e| WorkspaceError::Malformed(format!("party: {e}")))?;
            let pd = match kind {
                DocKind::Registry => PartyDoc::Registry,
                DocKind::Mandates => PartyDoc::Mandates,
                _ => PartyDoc::Annex(
                    get_str(doc, &ROOT, "parent")?
                        .and_then(|p| p.parse().ok())
                        .ok_or_else(|| WorkspaceError::Malformed("an annex names no document".into()))?,
                ),
            };
            if pd.id(&party) != id {
                return Err(WorkspaceError::Malformed(format!(
                    "document {id} says it is {party}'s {kind}, whose id is {}",
                    pd.id(&party)
                )));
            }
            Ok(Identity {
                kind,
                owner: Owner::Party(party.clone()),
                party_doc: Some(pd),
                genesis: Some(pd.genesis_hash(&party)?),
            })
        }
        _ => Ok(Identity { kind, owner: Owner::Joint, party_doc: None, genesis: None }),
    }
}

/// The Party whose document this is (from its root), for a Party's document.
pub fn party_of<R: ReadDoc>(doc: &R) -> Option<PartyId> {
    get_str(doc, &ROOT, "party").ok().flatten().and_then(|p| p.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_makes_the_same_party_document_and_it_names_its_owner() {
        let cica: PartyId = "cica".parse().unwrap();
        let rats: PartyId = "sco-rats".parse().unwrap();
        let draft = DocId([3; 16]);
        for pd in [PartyDoc::Registry, PartyDoc::Mandates, PartyDoc::Annex(draft)] {
            let a = pd.genesis(&cica).unwrap();
            assert_eq!(a.get_heads(), pd.genesis(&cica).unwrap().get_heads());
            assert_ne!(a.get_heads(), pd.genesis(&rats).unwrap().get_heads());
            assert_ne!(pd.id(&cica), pd.id(&rats));
            let who = identify(pd.id(&cica), &a).unwrap();
            assert_eq!(who.owner, Owner::Party(cica.clone()));
            assert_eq!(who.genesis, Some(a.get_heads()[0].0));
            // The same content under another id does not pass for it.
            assert!(identify(pd.id(&rats), &a).is_err());
        }
        assert_ne!(PartyDoc::Annex(draft).id(&cica), PartyDoc::Annex(DocId([4; 16])).id(&cica));
    }
}
