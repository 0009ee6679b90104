//! Mandates: the Member States' prior consent that the Protocol requires for the Parties'
//! activities ("with the prior consent of the Member States"). A Party records each of its
//! mandates once, may amend its scope and withdraw it; sharing an item, establishing a working
//! group and assigning a liaison officer can cite one, and a Party's config can require that
//! they do. A mandate is in force from its date until it is withdrawn.
//!
//! Each Party keeps its mandates in its own document, which only its nodes write. Layout (see
//! [`super::party_docs`]): `kind`, `schema`, `party`, `mandates: {ref: {ref, date, scope,
//! recorded_by, recorded_at, amended_at?, withdrawn_at?, withdrawn_by?, migrated?}}`.

use automerge::{Automerge, ROOT};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::party_docs::party_of;
use super::util::{get_author, get_str, map_maps, req_str};
use super::{Author, ChangeCtx, DocKind, Result, WorkspaceError, change, check_line};
use crate::authority::Refusal;
use crate::ids::PartyId;

/// A mandate to record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewMandate {
    /// The reference, such as a decision number.
    pub reference: String,
    /// Its date, YYYY-MM-DD: it is in force from then.
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
    /// When its scope was last amended.
    #[serde(default)]
    pub amended_at: Option<String>,
    /// When it was withdrawn, if it was.
    #[serde(default)]
    pub withdrawn_at: Option<String>,
    /// Copied from the document the Parties shared before authentication.
    #[serde(default)]
    pub migrated: bool,
    /// Whether it is in force today, by the node's clock (set when the node lists mandates).
    #[serde(default)]
    pub in_force: bool,
}

impl Mandate {
    /// Whether it is in force on `today`: dated today or earlier, and not withdrawn.
    pub fn in_force(&self, today: NaiveDate) -> bool {
        self.withdrawn_at.is_none() && NaiveDate::parse_from_str(&self.date, "%Y-%m-%d").is_ok_and(|d| d <= today)
    }
}

fn check_own(doc: &Automerge, ctx: &ChangeCtx) -> Result<PartyId> {
    let owner = party_of(doc).ok_or_else(|| WorkspaceError::Malformed("mandates that name no Party".into()))?;
    if owner != ctx.author.party {
        return Err(WorkspaceError::Refused(Refusal::NotItsParty {
            kind: DocKind::Mandates,
            owner,
            writer: ctx.author.party.clone(),
        }));
    }
    Ok(owner)
}

/// Records a mandate of the author's Party in its document. A reference is recorded once.
pub fn add(doc: &mut Automerge, ctx: &ChangeCtx, new: &NewMandate) -> Result<()> {
    check_own(doc, ctx)?;
    check_line("ref", &new.reference)?;
    check_line("scope", &new.scope)?;
    if NaiveDate::parse_from_str(&new.date, "%Y-%m-%d").is_err() {
        return Err(WorkspaceError::Invalid {
            field: "date",
            reason: format!("{:?} is not a date like 2026-11-28", new.date),
        });
    }
    if find(doc, &new.reference)?.is_some() {
        return Err(WorkspaceError::Invalid { field: "ref", reason: format!("{} is already recorded", new.reference) });
    }
    change(doc, ctx, |tx| {
        let all = tx.map(&ROOT, "mandates")?;
        let m = tx.put_map(&all, &new.reference)?;
        tx.put_str(&m, "ref", &new.reference)?;
        tx.put_str(&m, "date", &new.date)?;
        tx.put_str(&m, "scope", &new.scope)?;
        tx.put_str(&m, "recorded_by", &ctx.author.officer)?;
        tx.put_str(&m, "recorded_at", &ctx.now_str())
    })
}

/// Amends the scope of one of the author's Party's mandates.
pub fn amend(doc: &mut Automerge, ctx: &ChangeCtx, reference: &str, scope: &str) -> Result<()> {
    check_own(doc, ctx)?;
    check_line("scope", scope)?;
    let m =
        find(doc, reference)?.ok_or_else(|| WorkspaceError::NoSuchEntry { what: "mandate", id: reference.into() })?;
    if m.withdrawn_at.is_some() {
        return Err(WorkspaceError::Invalid { field: "ref", reason: format!("{reference} was withdrawn") });
    }
    change(doc, ctx, |tx| {
        let all = tx.map(&ROOT, "mandates")?;
        let m = tx.map(&all, reference)?;
        tx.put_str(&m, "scope", scope)?;
        tx.put_str(&m, "amended_at", &ctx.now_str())
    })
}

/// Withdraws one of the author's Party's mandates: from now on it is not in force.
pub fn withdraw(doc: &mut Automerge, ctx: &ChangeCtx, reference: &str) -> Result<()> {
    check_own(doc, ctx)?;
    let m =
        find(doc, reference)?.ok_or_else(|| WorkspaceError::NoSuchEntry { what: "mandate", id: reference.into() })?;
    if m.withdrawn_at.is_some() {
        return Err(WorkspaceError::Invalid { field: "ref", reason: format!("{reference} was withdrawn already") });
    }
    change(doc, ctx, |tx| {
        let all = tx.map(&ROOT, "mandates")?;
        let m = tx.map(&all, reference)?;
        tx.put_str(&m, "withdrawn_at", &ctx.now_str())?;
        tx.put_str(&m, "withdrawn_by", &ctx.author.officer)
    })
}

/// Every mandate of this document's Party, by reference.
pub fn list(doc: &Automerge) -> Result<Vec<Mandate>> {
    let party = party_of(doc).ok_or_else(|| WorkspaceError::Malformed("mandates that name no Party".into()))?;
    map_maps(doc, &ROOT, "mandates")?
        .into_iter()
        .map(|(_, m)| {
            let recorded_by = match get_str(doc, &m, "recorded_by") {
                Ok(Some(officer)) => Some(Author { officer, party: party.clone() }),
                _ => get_author(doc, &m, "recorded_by")
                    .ok()
                    .flatten()
                    .map(|a| Author { officer: a.officer, party: party.clone() }),
            };
            Ok(Mandate {
                reference: req_str(doc, &m, "ref")?,
                party: party.to_string(),
                date: req_str(doc, &m, "date")?,
                scope: req_str(doc, &m, "scope")?,
                recorded_by,
                recorded_at: req_str(doc, &m, "recorded_at")?,
                amended_at: get_str(doc, &m, "amended_at")?,
                withdrawn_at: get_str(doc, &m, "withdrawn_at")?,
                migrated: get_str(doc, &m, "migrated")?.is_some(),
                in_force: false,
            })
        })
        .collect()
}

/// This document's mandate with this reference.
pub fn find(doc: &Automerge, reference: &str) -> Result<Option<Mandate>> {
    Ok(list(doc)?.into_iter().find(|m| m.reference == reference))
}

/// Copies the author's Party's mandates from the document the Parties shared before
/// authentication into its own, under the same references, marked as migrated.
pub fn migrate_from_legacy(own: &mut Automerge, legacy: &Automerge, ctx: &ChangeCtx) -> Result<usize> {
    check_own(own, ctx)?;
    let ours: Vec<automerge::ObjId> = map_maps(legacy, &ROOT, "mandates")?
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| get_str(legacy, m, "party").ok().flatten().as_deref() == Some(ctx.author.party.as_str()))
        .collect();
    if ours.is_empty() {
        return Ok(0);
    }
    let n = ours.len();
    change(own, ctx, |tx| {
        let all = tx.map(&ROOT, "mandates")?;
        for m in &ours {
            let reference = req_str(legacy, m, "ref")?;
            let e = tx.put_map(&all, &reference)?;
            for key in ["ref", "date", "scope", "recorded_at"] {
                if let Some(v) = get_str(legacy, m, key)? {
                    tx.put_str(&e, key, &v)?;
                }
            }
            if let Some(a) = get_author(legacy, m, "recorded_by")? {
                tx.put_str(&e, "recorded_by", &a.officer)?;
            }
            tx.put_str(&e, "migrated", &ctx.now_str())?;
        }
        Ok(())
    })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::party_docs::PartyDoc;
    use crate::workspace::testing::{ctx, sync_pair};

    fn doc(party: &str) -> Automerge {
        let mut d = PartyDoc::Mandates.genesis(&party.parse().unwrap()).unwrap();
        d.set_actor(automerge::ActorId::random());
        d
    }

    fn m(reference: &str, date: &str) -> NewMandate {
        NewMandate { reference: reference.into(), date: date.into(), scope: "exchange of lists".into() }
    }

    #[test]
    fn a_party_records_amends_and_withdraws_its_own_mandates() {
        let mut a = doc("cica");
        let mut b = doc("cica");
        assert_eq!(a.get_heads(), b.get_heads());
        add(&mut a, &ctx("sec", "cica"), &m("MS-2026/14", "2026-10-01")).unwrap();
        assert!(
            add(&mut a, &ctx("sec", "cica"), &m("MS-2026/14", "2026-10-01"))
                .unwrap_err()
                .to_string()
                .contains("already")
        );
        add(&mut b, &ctx("sec", "cica"), &m("MS-2027/1", "2027-01-15")).unwrap();
        sync_pair(&mut a, &mut b);
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let l = list(&a).unwrap();
        assert_eq!(l.len(), 2);
        assert!(l.iter().find(|x| x.reference == "MS-2026/14").unwrap().in_force(today));
        assert!(!l.iter().find(|x| x.reference == "MS-2027/1").unwrap().in_force(today), "dated in the future");
        amend(&mut a, &ctx("sec", "cica"), "MS-2026/14", "exchange of lists and contacts").unwrap();
        withdraw(&mut b, &ctx("sec", "cica"), "MS-2026/14").unwrap();
        sync_pair(&mut a, &mut b);
        let w = find(&a, "MS-2026/14").unwrap().unwrap();
        assert!(!w.in_force(today));
        assert_eq!(w.scope, "exchange of lists and contacts");
        assert!(find(&a, "MS-2026/99").unwrap().is_none());
        assert!(add(&mut a, &ctx("sec", "cica"), &m("x", "1 Oct")).is_err());
    }

    #[test]
    fn the_other_party_cannot_touch_them() {
        let mut a = doc("cica");
        add(&mut a, &ctx("sec", "cica"), &m("MS-2026/14", "2026-10-01")).unwrap();
        for e in [
            add(&mut a, &ctx("x", "sco-rats"), &m("MS-2026/15", "2026-10-01")).unwrap_err(),
            amend(&mut a, &ctx("x", "sco-rats"), "MS-2026/14", "all").unwrap_err(),
            withdraw(&mut a, &ctx("x", "sco-rats"), "MS-2026/14").unwrap_err(),
        ] {
            assert!(matches!(e, WorkspaceError::Refused(Refusal::NotItsParty { .. })), "{e}");
        }
        assert_eq!(list(&a).unwrap().len(), 1);
    }
}
