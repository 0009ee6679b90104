//! Joint working groups (Protocol, item iii): a name, a mandate, and members from each Party.
//!
//! Layout: `kind`, `schema`, `name`, `title_en`?, `title_ru`? (the name in each language, see
//! [`super::titles`]), `mandate`, `members: [{id, name, party, role?}]`,
//! `created_by`, `created_at`, `updated_by`, `updated_at`.

use automerge::{Automerge, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use super::titles::Titles;
use super::util::{get_author, get_str, list_maps, req_str};
use super::{Author, ChangeCtx, DocKind, Result, change, check_line, init_root, touch};
use crate::ids::{PartyId, random_hex};

/// What an officer gives to set up a group.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NewGroup {
    /// Name as first written (may be empty when `titles` gives one).
    #[serde(default)]
    pub name: String,
    /// The name in English and in Russian.
    #[serde(flatten)]
    pub titles: Titles,
    /// What the group is to develop proposals on.
    pub mandate: String,
    /// The Member-State mandate (recorded with `liaison mandate add`) the establishment cites.
    #[serde(default)]
    pub mandate_ref: Option<String>,
}

/// A change to a group.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GroupPatch {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New names per language; an empty string clears one.
    #[serde(flatten)]
    pub titles: Titles,
    /// New mandate.
    #[serde(default)]
    pub mandate: Option<String>,
    /// Members to add.
    #[serde(default)]
    pub add_members: Vec<NewMember>,
    /// Member ids to remove.
    #[serde(default)]
    pub remove_members: Vec<String>,
    /// The Member-State mandate of the updating Party that the change cites: each Party cites
    /// its own, kept under its party id ("" takes this Party's citation back).
    #[serde(default)]
    pub mandate_ref: Option<String>,
}

/// A member to add.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewMember {
    /// Name.
    pub name: String,
    /// The member's Party.
    pub party: PartyId,
    /// Role in the group, such as "co-chair".
    #[serde(default)]
    pub role: Option<String>,
}

/// A group as officers see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Document id.
    pub id: String,
    /// Name as first written (older nodes know only this one).
    pub name: String,
    /// The name in English and in Russian, where given.
    #[serde(flatten)]
    pub titles: Titles,
    /// Mandate.
    pub mandate: String,
    /// The Member-State mandate its establishment cites.
    pub mandate_ref: Option<String>,
    /// Members, in the order they joined.
    pub members: Vec<Member>,
    /// The mandates each Party cited when changing the group, by party id.
    #[serde(default)]
    pub mandate_refs: std::collections::BTreeMap<String, String>,
    /// Who set it up.
    pub created_by: Option<Author>,
    /// When.
    pub created_at: Option<String>,
    /// Who changed it last.
    pub updated_by: Option<Author>,
    /// When.
    pub updated_at: Option<String>,
}

/// One member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Stable id within the group.
    pub id: String,
    /// Name.
    pub name: String,
    /// Party.
    pub party: String,
    /// Role.
    pub role: Option<String>,
}

/// Writes a new group into an empty document.
pub fn create(doc: &mut Automerge, ctx: &ChangeCtx, new: &NewGroup) -> Result<()> {
    let name = new.titles.own_title("name", &new.name)?;
    check_line("mandate", &new.mandate)?;
    change(doc, ctx, |tx| {
        init_root(tx, DocKind::Group, ctx)?;
        tx.put_str(&ROOT, "name", &name)?;
        new.titles.write_new(tx, &ROOT)?;
        tx.put_str(&ROOT, "mandate", &new.mandate)?;
        tx.put_opt_str(&ROOT, "mandate_ref", new.mandate_ref.as_deref())?;
        tx.list(&ROOT, "members")?;
        touch(tx, ctx)
    })
}

/// Applies `patch` in one change.
pub fn update(doc: &mut Automerge, ctx: &ChangeCtx, patch: &GroupPatch) -> Result<()> {
    if let Some(n) = &patch.name {
        check_line("name", n)?;
    }
    patch.titles.check()?;
    if let Some(m) = &patch.mandate {
        check_line("mandate", m)?;
    }
    for m in &patch.add_members {
        check_line("member name", &m.name)?;
    }
    if let Some(r) = patch.mandate_ref.as_deref().filter(|r| !r.is_empty()) {
        check_line("mandate_ref", r)?;
    }
    change(doc, ctx, |tx| {
        if let Some(r) = &patch.mandate_ref {
            let refs = tx.map(&ROOT, "mandate_refs")?;
            if r.is_empty() {
                if tx.read().get(&refs, ctx.author.party.as_str())?.is_some() {
                    tx.delete_key(&refs, ctx.author.party.as_str())?;
                }
            } else {
                tx.put_str(&refs, ctx.author.party.as_str(), r)?;
            }
        }
        if let Some(n) = &patch.name {
            tx.put_str(&ROOT, "name", n)?;
        }
        patch.titles.apply(tx, &ROOT, "name", patch.name.is_some())?;
        if let Some(m) = &patch.mandate {
            tx.put_str(&ROOT, "mandate", m)?;
        }
        let members = tx.list(&ROOT, "members")?;
        for id in &patch.remove_members {
            tx.remove_by_id(&members, "member", id)?;
        }
        for m in &patch.add_members {
            let e = tx.push_map(&members)?;
            tx.put_str(&e, "id", &random_hex(4))?;
            tx.put_str(&e, "name", &m.name)?;
            tx.put_str(&e, "party", m.party.as_str())?;
            tx.put_opt_str(&e, "role", m.role.as_deref())?;
        }
        touch(tx, ctx)
    })
}

/// Reads a group document.
pub fn read(doc: &Automerge, id: &str) -> Result<Group> {
    let members = list_maps(doc, &ROOT, "members")?
        .iter()
        .map(|m| {
            Ok(Member {
                id: req_str(doc, m, "id")?,
                name: req_str(doc, m, "name")?,
                party: req_str(doc, m, "party")?,
                role: get_str(doc, m, "role")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Group {
        id: id.to_string(),
        name: req_str(doc, &ROOT, "name")?,
        titles: Titles::read(doc, &ROOT)?,
        mandate: req_str(doc, &ROOT, "mandate")?,
        mandate_ref: get_str(doc, &ROOT, "mandate_ref")?,
        mandate_refs: read_refs(doc)?,
        members,
        created_by: get_author(doc, &ROOT, "created_by")?,
        created_at: get_str(doc, &ROOT, "created_at")?,
        updated_by: get_author(doc, &ROOT, "updated_by")?,
        updated_at: get_str(doc, &ROOT, "updated_at")?,
    })
}

/// The `mandate_refs` map: party id to the mandate it cited.
fn read_refs(doc: &Automerge) -> Result<std::collections::BTreeMap<String, String>> {
    use automerge::{ObjType, Value};
    let mut out = std::collections::BTreeMap::new();
    if let Some((Value::Object(ObjType::Map), refs)) = doc.get(&ROOT, "mandate_refs")? {
        for party in doc.keys(&refs) {
            if let Some(r) = get_str(doc, &refs, &party)? {
                out.insert(party, r);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::testing::{ctx, sync_pair};

    #[test]
    fn members_from_both_parties_added_concurrently_are_all_kept() {
        let mut a = Automerge::new();
        create(
            &mut a,
            &ctx("ana", "cica"),
            &NewGroup { name: "WG on financing".into(), mandate: "Proposals on CFT".into(), ..Default::default() },
        )
        .unwrap();
        let mut b = a.fork();
        let add = |name: &str, party: &str| GroupPatch {
            add_members: vec![NewMember { name: name.into(), party: party.parse().unwrap(), role: None }],
            ..Default::default()
        };
        update(&mut a, &ctx("ana", "cica"), &add("Ana", "cica")).unwrap();
        update(&mut b, &ctx("ivan", "sco-rats"), &add("Ivan", "sco-rats")).unwrap();
        sync_pair(&mut a, &mut b);
        let g = read(&a, "g").unwrap();
        let mut names: Vec<_> = g.members.iter().map(|m| m.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["Ana", "Ivan"]);
        assert_eq!(g, read(&b, "g").unwrap());
    }

    #[test]
    fn an_empty_name_is_refused() {
        let mut a = Automerge::new();
        let e = create(
            &mut a,
            &ctx("ana", "cica"),
            &NewGroup { name: " ".into(), mandate: "m".into(), ..Default::default() },
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("name:"), "{e}");
    }
}
