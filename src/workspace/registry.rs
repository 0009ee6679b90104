//! The liaison officers' registry (Protocol, item i): who each Party assigned to keep
//! communications between the Parties, and how to reach them.
//!
//! One registry per workspace. Every node creates it with the same first change (fixed actor,
//! time and content, so the same hash); the registries of all nodes are thus one document with
//! one history, and officers added on either side merge instead of hiding each other.
//!
//! Layout: `kind`, `schema`, `officers: {id: {name, party, contact, assigned_at, assigned_by,
//! mandate?, ended_at?}}`.

use automerge::{Automerge, ROOT};
use serde::{Deserialize, Serialize};

use super::util::{get_author, get_str, map_maps, req_str};
use super::{Author, ChangeCtx, DocKind, Result, WorkspaceError, change, check_line};
use crate::ids::{DocId, PartyId, random_hex};

/// The registry's document id, the same on every node.
pub const REGISTRY_ID: DocId = DocId(*b"liaison-registry");

/// The registry as every node first creates it: byte for byte the same change everywhere.
pub fn genesis() -> Result<Automerge> {
    super::genesis(DocKind::Registry, "officers")
}

/// An assignment to record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewOfficer {
    /// Name.
    pub name: String,
    /// The Party that assigns the officer.
    pub party: PartyId,
    /// How to reach the officer (e-mail, phone).
    pub contact: String,
    /// The mandate the assignment cites, if any.
    #[serde(default)]
    pub mandate: Option<String>,
}

/// A liaison officer as the registry shows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Officer {
    /// Entry id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Party.
    pub party: String,
    /// Contact.
    pub contact: String,
    /// When assigned.
    pub assigned_at: String,
    /// Who recorded it.
    pub assigned_by: Option<Author>,
    /// Cited mandate.
    pub mandate: Option<String>,
    /// When the assignment ended, if it did.
    pub ended_at: Option<String>,
}

/// Records a new assignment; returns the entry id.
pub fn assign(doc: &mut Automerge, ctx: &ChangeCtx, new: &NewOfficer) -> Result<String> {
    check_line("name", &new.name)?;
    check_line("contact", &new.contact)?;
    let id = random_hex(6);
    change(doc, ctx, |tx| {
        let officers = tx.map(&ROOT, "officers")?;
        let o = tx.put_map(&officers, &id)?;
        tx.put_str(&o, "name", &new.name)?;
        tx.put_str(&o, "party", new.party.as_str())?;
        tx.put_str(&o, "contact", &new.contact)?;
        tx.put_str(&o, "assigned_at", &ctx.now_str())?;
        tx.put_author(&o, "assigned_by", &ctx.author)?;
        tx.put_opt_str(&o, "mandate", new.mandate.as_deref())?;
        Ok(())
    })?;
    Ok(id)
}

/// Marks an assignment as ended; the entry stays, for the record.
pub fn end(doc: &mut Automerge, ctx: &ChangeCtx, id: &str) -> Result<()> {
    if !list(doc)?.iter().any(|o| o.id == id) {
        return Err(WorkspaceError::NoSuchEntry { what: "officer", id: id.into() });
    }
    change(doc, ctx, |tx| {
        let officers = tx.map(&ROOT, "officers")?;
        let o = tx.map(&officers, id)?;
        tx.put_str(&o, "ended_at", &ctx.now_str())
    })
}

/// Every officer ever assigned, sorted by Party then name.
pub fn list(doc: &Automerge) -> Result<Vec<Officer>> {
    let mut out = map_maps(doc, &ROOT, "officers")?
        .into_iter()
        .map(|(id, o)| {
            Ok(Officer {
                id,
                name: req_str(doc, &o, "name")?,
                party: req_str(doc, &o, "party")?,
                contact: req_str(doc, &o, "contact")?,
                assigned_at: req_str(doc, &o, "assigned_at")?,
                assigned_by: get_author(doc, &o, "assigned_by")?,
                mandate: get_str(doc, &o, "mandate")?,
                ended_at: get_str(doc, &o, "ended_at")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| (&a.party, &a.name).cmp(&(&b.party, &b.name)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::testing::{ctx, sync_pair};

    #[test]
    fn every_node_creates_the_same_registry() {
        assert_eq!(genesis().unwrap().get_heads(), genesis().unwrap().get_heads());
    }

    #[test]
    fn officers_assigned_on_both_nodes_are_all_listed() {
        let mut a = genesis().unwrap();
        let mut b = genesis().unwrap();
        a.set_actor(automerge::ActorId::random());
        b.set_actor(automerge::ActorId::random());
        let ana = NewOfficer {
            name: "Ana".into(),
            party: "cica".parse().unwrap(),
            contact: "ana@cica".into(),
            mandate: None,
        };
        let ivan = NewOfficer {
            name: "Ivan".into(),
            party: "sco-rats".parse().unwrap(),
            contact: "ivan@rats".into(),
            mandate: None,
        };
        assign(&mut a, &ctx("sec", "cica"), &ana).unwrap();
        let id = assign(&mut b, &ctx("sec", "sco-rats"), &ivan).unwrap();
        sync_pair(&mut a, &mut b);
        end(&mut a, &ctx("sec", "cica"), &id).unwrap();
        sync_pair(&mut a, &mut b);
        let l = list(&b).unwrap();
        assert_eq!(l.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["Ana", "Ivan"]);
        assert!(l[1].ended_at.is_some());
        assert_eq!(l, list(&a).unwrap());
    }
}
