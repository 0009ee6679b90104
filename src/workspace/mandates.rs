//! Mandates: the Member States' prior consent that the Protocol requires for the Parties'
//! activities ("with the prior consent of the Member States"). A Party records each mandate
//! once; sharing an item, establishing a working group and assigning a liaison officer can
//! cite one, and a Party's config can require that they do.
//!
//! One mandates document per workspace, created by every node with the same first change (as
//! the registry). Layout: `kind`, `schema`, `mandates: {"<party>/<ref>": {ref, party, date,
//! scope, recorded_by, recorded_at}}`.

use automerge::{Automerge, ROOT};
use serde::{Deserialize, Serialize};

use super::util::{get_author, map_maps, req_str};
use super::{Author, ChangeCtx, DocKind, Result, WorkspaceError, change, check_line};
use crate::ids::{DocId, PartyId};

/// The mandates document's id, the same on every node.
pub const MANDATES_ID: DocId = DocId(*b"liaison-mandates");

/// The mandates document as every node first creates it.
pub fn genesis() -> Result<Automerge> {
    super::genesis(DocKind::Mandates, "mandates")
}

/// A mandate to record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewMandate {
    /// The reference, such as a decision number.
    pub reference: String,
    /// Its date, YYYY-MM-DD.
    pub date: String,
    /// What it allows.
    pub scope: String,
}

/// A recorded mandate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mandate {
    /// The reference.
    pub reference: String,
    /// The Party whose Member States gave it.
    pub party: String,
    /// Its date.
    pub date: String,
    /// What it allows.
    pub scope: String,
    /// Who recorded it.
    pub recorded_by: Option<Author>,
    /// When.
    pub recorded_at: String,
}

fn key(party: &PartyId, reference: &str) -> String {
    format!("{party}/{reference}")
}

/// Records a mandate of the author's Party. A reference is recorded once per Party.
pub fn add(doc: &mut Automerge, ctx: &ChangeCtx, new: &NewMandate) -> Result<()> {
    check_line("ref", &new.reference)?;
    check_line("scope", &new.scope)?;
    if chrono::NaiveDate::parse_from_str(&new.date, "%Y-%m-%d").is_err() {
        return Err(WorkspaceError::Invalid {
            field: "date",
            reason: format!("{:?} is not a date like 2026-11-28", new.date),
        });
    }
    if find(doc, &ctx.author.party, &new.reference)?.is_some() {
        return Err(WorkspaceError::Invalid { field: "ref", reason: format!("{} is already recorded", new.reference) });
    }
    let k = key(&ctx.author.party, &new.reference);
    change(doc, ctx, |tx| {
        let all = tx.map(&ROOT, "mandates")?;
        let m = tx.put_map(&all, &k)?;
        tx.put_str(&m, "ref", &new.reference)?;
        tx.put_str(&m, "party", ctx.author.party.as_str())?;
        tx.put_str(&m, "date", &new.date)?;
        tx.put_str(&m, "scope", &new.scope)?;
        tx.put_author(&m, "recorded_by", &ctx.author)?;
        tx.put_str(&m, "recorded_at", &ctx.now_str())
    })
}

/// Every recorded mandate, by Party then reference.
pub fn list(doc: &Automerge) -> Result<Vec<Mandate>> {
    map_maps(doc, &ROOT, "mandates")?
        .into_iter()
        .map(|(_, m)| {
            Ok(Mandate {
                reference: req_str(doc, &m, "ref")?,
                party: req_str(doc, &m, "party")?,
                date: req_str(doc, &m, "date")?,
                scope: req_str(doc, &m, "scope")?,
                recorded_by: get_author(doc, &m, "recorded_by")?,
                recorded_at: req_str(doc, &m, "recorded_at")?,
            })
        })
        .collect()
}

/// A Party's mandate with this reference.
pub fn find(doc: &Automerge, party: &PartyId, reference: &str) -> Result<Option<Mandate>> {
    Ok(list(doc)?.into_iter().find(|m| m.party == party.as_str() && m.reference == reference))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::testing::{ctx, sync_pair};

    #[test]
    fn each_party_records_its_own_mandates_once() {
        let mut a = genesis().unwrap();
        let mut b = genesis().unwrap();
        assert_eq!(a.get_heads(), b.get_heads());
        a.set_actor(automerge::ActorId::random());
        b.set_actor(automerge::ActorId::random());
        let m =
            NewMandate { reference: "MS-2026/14".into(), date: "2026-10-01".into(), scope: "exchange of lists".into() };
        add(&mut a, &ctx("sec", "cica"), &m).unwrap();
        add(&mut b, &ctx("sec", "sco-rats"), &m).unwrap();
        assert!(add(&mut a, &ctx("sec", "cica"), &m).unwrap_err().to_string().contains("already recorded"));
        sync_pair(&mut a, &mut b);
        assert_eq!(list(&a).unwrap().len(), 2);
        assert!(find(&a, &"cica".parse().unwrap(), "MS-2026/14").unwrap().is_some());
        assert!(find(&a, &"cica".parse().unwrap(), "MS-2026/99").unwrap().is_none());
        let bad = NewMandate { date: "1 Oct".into(), ..m };
        assert!(add(&mut a, &ctx("sec", "cica"), &NewMandate { reference: "x".into(), ..bad }).is_err());
    }
}
