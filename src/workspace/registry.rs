//! The liaison officers' registry (Protocol, item i): who each Party assigned to keep
//! communications between the Parties, and how to reach them.
//!
//! Each Party keeps its own registry, a document only its nodes write: a Party assigns and ends
//! its own officers, and its word about them is its own. The registry both Parties see is the
//! two read together. (Before authentication the Parties shared one registry document; each
//! Party's node copies its own officers from it when it upgrades, marked as migrated, and the
//! old document is kept read-only.)
//!
//! The registry also carries the Party's full names (`names: {en, ru}`), as its node's config
//! gives them, so that the other Party prints them on the originals and shows them in its web app:
//! only the Party says what it is called.
//!
//! Layout (see [`super::party_docs`]): `kind`, `schema`, `party`, `officers: {id: {name,
//! contact, assigned_at, assigned_by, mandate?, ended_at?, ended_by?, migrated?}}`, `names?:
//! {en, ru?}`.

use automerge::{Automerge, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use super::party_docs::party_of;
use super::util::{get_author, get_str, map_maps, req_str};
use super::{Author, ChangeCtx, Result, WorkspaceError, change, check_line};
use crate::authority::Refusal;
use crate::ids::{PartyId, random_hex};

/// An assignment to record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewOfficer {
    /// Name.
    pub name: String,
    /// The assigning Party: always the node's own. A client may name it; naming the other
    /// Party is refused.
    #[serde(default)]
    pub party: Option<PartyId>,
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
    /// The Party that assigned them (whose registry it is).
    pub party: String,
    /// Contact.
    pub contact: String,
    /// When assigned.
    pub assigned_at: String,
    /// Who recorded it (the officer's name is the Party's word; the Party is proven).
    pub assigned_by: Option<Author>,
    /// Cited mandate.
    pub mandate: Option<String>,
    /// When the assignment ended, if it did.
    pub ended_at: Option<String>,
    /// Who ended it.
    #[serde(default)]
    pub ended_by: Option<Author>,
    /// Copied from the registry the Parties shared before authentication.
    #[serde(default)]
    pub migrated: bool,
}

fn owner(doc: &Automerge) -> Result<PartyId> {
    party_of(doc).ok_or_else(|| WorkspaceError::Malformed("a registry that names no Party".into()))
}

/// Refuses to act in another Party's registry.
fn check_own(doc: &Automerge, ctx: &ChangeCtx, kind: super::DocKind) -> Result<()> {
    let owner = owner(doc)?;
    if owner != ctx.author.party {
        return Err(WorkspaceError::Refused(Refusal::NotItsParty { kind, owner, writer: ctx.author.party.clone() }));
    }
    Ok(())
}

/// Records a new assignment in the author's Party's registry (`doc`); returns the entry id.
pub fn assign(doc: &mut Automerge, ctx: &ChangeCtx, new: &NewOfficer) -> Result<String> {
    if let Some(p) = &new.party
        && *p != ctx.author.party
    {
        return Err(WorkspaceError::Refused(Refusal::NotItsParty {
            kind: super::DocKind::Registry,
            owner: p.clone(),
            writer: ctx.author.party.clone(),
        }));
    }
    check_own(doc, ctx, super::DocKind::Registry)?;
    check_line("name", &new.name)?;
    check_line("contact", &new.contact)?;
    let id = random_hex(6);
    change(doc, ctx, |tx| {
        let officers = tx.map(&ROOT, "officers")?;
        let o = tx.put_map(&officers, &id)?;
        tx.put_str(&o, "name", &new.name)?;
        tx.put_str(&o, "contact", &new.contact)?;
        tx.put_str(&o, "assigned_at", &ctx.now_str())?;
        tx.put_str(&o, "assigned_by", &ctx.author.officer)?;
        tx.put_opt_str(&o, "mandate", new.mandate.as_deref())?;
        Ok(())
    })?;
    Ok(id)
}

/// Marks an assignment in the author's Party's registry as ended; the entry stays, for the
/// record.
pub fn end(doc: &mut Automerge, ctx: &ChangeCtx, id: &str) -> Result<()> {
    check_own(doc, ctx, super::DocKind::Registry)?;
    let Some(o) = list(doc)?.into_iter().find(|o| o.id == id) else {
        return Err(WorkspaceError::NoSuchEntry { what: "officer", id: id.into() });
    };
    if o.ended_at.is_some() {
        return Err(WorkspaceError::Invalid {
            field: "officer",
            reason: format!("the assignment of {} ended already", o.name),
        });
    }
    change(doc, ctx, |tx| {
        let officers = tx.map(&ROOT, "officers")?;
        let o = tx.map(&officers, id)?;
        tx.put_str(&o, "ended_at", &ctx.now_str())?;
        tx.put_str(&o, "ended_by", &ctx.author.officer)
    })
}

/// A Party's full names, as it publishes them in its registry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyNames {
    /// In English.
    pub en: Option<String>,
    /// In Russian.
    pub ru: Option<String>,
}

/// Publishes the author's Party's full names in its registry (`doc`), if they differ from what
/// it says; returns whether it changed.
pub fn set_names(doc: &mut Automerge, ctx: &ChangeCtx, names: &PartyNames) -> Result<bool> {
    check_own(doc, ctx, super::DocKind::Registry)?;
    for n in [&names.en, &names.ru].into_iter().flatten() {
        check_line("name", n)?;
    }
    if self::names(doc)? == *names {
        return Ok(false);
    }
    change(doc, ctx, |tx| {
        let m = tx.map(&ROOT, "names")?;
        for (lang, n) in [("en", &names.en), ("ru", &names.ru)] {
            tx.put_opt_str(&m, lang, n.as_deref())?;
        }
        Ok(())
    })?;
    Ok(true)
}

/// The full names a registry's Party publishes (none from a node older than them). The other
/// Party's node wrote them, so they are checked again here: a name that [`set_names`] would have
/// refused (empty, several lines, too long) reads as none, and the Party is shown by its id.
pub fn names(doc: &Automerge) -> Result<PartyNames> {
    let fit = |n: Option<String>| n.filter(|n| check_line("name", n).is_ok());
    match doc.get(ROOT, "names")? {
        Some((automerge::Value::Object(automerge::ObjType::Map), m)) => {
            Ok(PartyNames { en: fit(get_str(doc, &m, "en")?), ru: fit(get_str(doc, &m, "ru")?) })
        }
        _ => Ok(PartyNames::default()),
    }
}

/// Whether `id` is an entry of this registry.
pub fn has(doc: &Automerge, id: &str) -> Result<bool> {
    Ok(map_maps(doc, &ROOT, "officers")?.iter().any(|(k, _)| k == id))
}

/// Reads an attribution stored either as an officer's name (in a Party's own document, where
/// the Party is the owner) or as an author map (before authentication).
fn attributed(doc: &Automerge, obj: &automerge::ObjId, key: &str, party: &PartyId) -> Result<Option<Author>> {
    if let Ok(Some(officer)) = get_str(doc, obj, key) {
        return Ok(Some(Author { officer, party: party.clone() }));
    }
    Ok(get_author(doc, obj, key).ok().flatten().map(|a| Author { officer: a.officer, party: party.clone() }))
}

/// Every officer this registry's Party ever assigned, by name.
pub fn list(doc: &Automerge) -> Result<Vec<Officer>> {
    let party = owner(doc)?;
    let mut out = map_maps(doc, &ROOT, "officers")?
        .into_iter()
        .map(|(id, o)| {
            Ok(Officer {
                id,
                name: req_str(doc, &o, "name")?,
                party: party.to_string(),
                contact: req_str(doc, &o, "contact")?,
                assigned_at: req_str(doc, &o, "assigned_at")?,
                assigned_by: attributed(doc, &o, "assigned_by", &party)?,
                mandate: get_str(doc, &o, "mandate")?,
                ended_at: get_str(doc, &o, "ended_at")?,
                ended_by: attributed(doc, &o, "ended_by", &party)?,
                migrated: get_str(doc, &o, "migrated")?.is_some(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Copies the author's Party's officers from the registry the Parties shared before
/// authentication into its own registry, under the same ids (so that two nodes of the Party
/// doing it merge into one entry each), marked as migrated. Returns how many it copied.
pub fn migrate_from_legacy(own: &mut Automerge, legacy: &Automerge, ctx: &ChangeCtx) -> Result<usize> {
    check_own(own, ctx, super::DocKind::Registry)?;
    let ours: Vec<(String, automerge::ObjId)> = map_maps(legacy, &ROOT, "officers")?
        .into_iter()
        .filter(|(_, o)| get_str(legacy, o, "party").ok().flatten().as_deref() == Some(ctx.author.party.as_str()))
        .collect();
    if ours.is_empty() {
        return Ok(0);
    }
    let n = ours.len();
    change(own, ctx, |tx| {
        let officers = tx.map(&ROOT, "officers")?;
        for (id, o) in &ours {
            let e = tx.put_map(&officers, id)?;
            for key in ["name", "contact", "assigned_at", "mandate", "ended_at"] {
                if let Some(v) = get_str(legacy, o, key)? {
                    tx.put_str(&e, key, &v)?;
                }
            }
            if let Some(a) = get_author(legacy, o, "assigned_by")? {
                tx.put_str(&e, "assigned_by", &a.officer)?;
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

    fn registry(party: &str) -> Automerge {
        let mut d = PartyDoc::Registry.genesis(&party.parse().unwrap()).unwrap();
        d.set_actor(automerge::ActorId::random());
        d
    }

    #[test]
    fn a_name_set_names_would_refuse_reads_as_none() {
        use automerge::transaction::Transactable;
        let mut d = registry("sco-rats");
        let names = PartyNames { en: Some("SCO RATS Executive Committee".into()), ru: None };
        assert!(set_names(&mut d, &ctx("ivan", "sco-rats"), &names).unwrap());
        assert_eq!(super::names(&d).unwrap(), names);
        // What a dishonest node could write past set_names: a huge name, and one of two lines.
        let mut tx = d.transaction();
        let m = tx.put_object(ROOT, "names", automerge::ObjType::Map).unwrap();
        tx.put(&m, "en", "x".repeat(100_000)).unwrap();
        tx.put(&m, "ru", "Исполнительный\nкомитет").unwrap();
        tx.commit();
        assert_eq!(super::names(&d).unwrap(), PartyNames::default());
    }

    fn new(name: &str) -> NewOfficer {
        NewOfficer { name: name.into(), party: None, contact: format!("{name}@example"), mandate: None }
    }

    #[test]
    fn two_nodes_of_a_party_assign_into_one_registry() {
        let mut hq = registry("cica");
        let mut backup = registry("cica");
        assign(&mut hq, &ctx("sec", "cica"), &new("Ana")).unwrap();
        let id = assign(&mut backup, &ctx("sec", "cica"), &new("Aigul")).unwrap();
        sync_pair(&mut hq, &mut backup);
        end(&mut hq, &ctx("sec", "cica"), &id).unwrap();
        sync_pair(&mut hq, &mut backup);
        let l = list(&backup).unwrap();
        assert_eq!(l.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["Aigul", "Ana"]);
        assert!(l[0].ended_at.is_some());
        assert_eq!(l[0].party, "cica");
        assert_eq!(l, list(&hq).unwrap());
        assert!(end(&mut hq, &ctx("sec", "cica"), &id).is_err(), "ended twice");
    }

    #[test]
    fn a_party_cannot_assign_or_end_in_the_other_partys_registry() {
        let mut cica = registry("cica");
        let id = assign(&mut cica, &ctx("sec", "cica"), &new("Ana")).unwrap();
        let before = cica.get_heads();
        let e = assign(&mut cica, &ctx("x", "sco-rats"), &new("Impostor")).unwrap_err();
        assert!(matches!(e, WorkspaceError::Refused(Refusal::NotItsParty { .. })), "{e}");
        let e = end(&mut cica, &ctx("x", "sco-rats"), &id).unwrap_err();
        assert!(matches!(e, WorkspaceError::Refused(Refusal::NotItsParty { .. })), "{e}");
        // Naming the other Party in the request, in one's own registry, is refused too.
        let mut rats = registry("sco-rats");
        let e =
            assign(&mut rats, &ctx("x", "sco-rats"), &NewOfficer { party: Some("cica".parse().unwrap()), ..new("I") })
                .unwrap_err();
        assert!(matches!(e, WorkspaceError::Refused(Refusal::NotItsParty { .. })), "{e}");
        assert_eq!(cica.get_heads(), before, "nothing was written");
    }
}
