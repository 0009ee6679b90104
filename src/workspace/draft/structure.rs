//! The structure of a draft: adding, moving and removing provisions. A provision's id never
//! changes; its place is its position in the `order` list. A move deletes the id from the list
//! and inserts it at its new place, so two concurrent moves of one provision leave it twice in
//! the list; readers take its first place, which is the same on every replica once they have
//! merged. A removal marks the provision removed, so a concurrent move cannot bring it back.

use automerge::{Automerge, ObjType, ROOT, ReadDoc, Value};

use super::refusal::EditRefusal;
use super::{ProvisionKind, check_open, languages, provision_obj, write_text};
use crate::ids::random_hex;
use crate::workspace::{ChangeCtx, Result, Tx, WorkspaceError, change, touch};

/// Where a provision goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// First in the draft.
    First,
    /// Right after this provision.
    After(String),
    /// Last in the draft.
    Last,
}

/// The draft's order list.
fn order_list<R: ReadDoc>(doc: &R) -> Result<automerge::ObjId> {
    match doc.get(ROOT, "order")? {
        Some((Value::Object(ObjType::List), o)) => Ok(o),
        _ => Err(WorkspaceError::Malformed("draft without order".into())),
    }
}

/// The indexes of `id` in the order list.
fn positions<R: ReadDoc>(doc: &R, id: &str) -> Result<(automerge::ObjId, Vec<usize>)> {
    let order = order_list(doc)?;
    let at = doc
        .list_range(&order, ..)
        .filter(|item| matches!(&item.value, automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(v)) if v == id))
        .map(|item| item.index)
        .collect();
    Ok((order, at))
}

fn index_for(tx: &Tx<'_, '_>, place: &Place) -> Result<usize> {
    let order = order_list(tx.read())?;
    Ok(match place {
        Place::First => 0,
        Place::Last => tx.read().length(&order),
        Place::After(p) => {
            // After the place where readers see it: its first occurrence.
            let (_, at) = positions(tx.read(), p)?;
            at.first().map(|i| i + 1).ok_or_else(|| WorkspaceError::NoSuchEntry { what: "provision", id: p.clone() })?
        }
    })
}

/// Creates a provision (empty in every language) at `after`'s place (or last); returns its id.
pub(crate) fn insert_provision(
    tx: &mut Tx<'_, '_>,
    after: Option<&Place>,
    kind: ProvisionKind,
    langs: &[String],
) -> Result<String> {
    let id = random_hex(4);
    let provisions = tx.map(&ROOT, "provisions")?;
    let p = tx.put_map(&provisions, &id)?;
    tx.put_str(&p, "kind", kind.as_str())?;
    let texts = tx.put_map(&p, "texts")?;
    for l in langs {
        tx.put_text(&texts, l, "")?;
    }
    tx.put_map(&p, "stale")?;
    let index = index_for(tx, after.unwrap_or(&Place::Last))?;
    let order = tx.list(&ROOT, "order")?;
    tx.insert_str(&order, index, &id)?;
    Ok(id)
}

/// Adds a provision, optionally with its text in one language; returns its id.
pub fn add_provision(
    doc: &mut Automerge,
    ctx: &ChangeCtx,
    place: &Place,
    kind: ProvisionKind,
    text: Option<(&str, &str)>,
) -> Result<String> {
    check_open(doc, ctx)?;
    if let Place::After(p) = place {
        provision_obj(doc, p)?;
    }
    let langs = languages(doc)?;
    if let Some((l, _)) = text
        && !langs.iter().any(|x| x == l)
    {
        return Err(EditRefusal::LangNotInDraft { lang: l.to_string() }.into());
    }
    change(doc, ctx, |tx| {
        let id = insert_provision(tx, Some(place), kind, &langs)?;
        if let Some((l, t)) = text
            && !t.is_empty()
        {
            write_text(tx, ctx, &id, l, t)?;
        }
        touch(tx, ctx)?;
        Ok(id)
    })
}

/// Moves a provision to `place`.
pub fn move_provision(doc: &mut Automerge, ctx: &ChangeCtx, id: &str, place: &Place) -> Result<()> {
    check_open(doc, ctx)?;
    provision_obj(doc, id)?;
    if let Place::After(p) = place {
        if p == id {
            return Err(EditRefusal::AfterItself.into());
        }
        provision_obj(doc, p)?;
    }
    change(doc, ctx, |tx| {
        let (order, at) = positions(tx.read(), id)?;
        for i in at.into_iter().rev() {
            tx.delete_at(&order, i)?;
        }
        let index = index_for(tx, place)?;
        tx.insert_str(&order, index, id)?;
        touch(tx, ctx)
    })
}

/// Removes a provision. It stays in the document, marked removed, so that a concurrent move
/// cannot revive it.
pub fn remove_provision(doc: &mut Automerge, ctx: &ChangeCtx, id: &str) -> Result<()> {
    check_open(doc, ctx)?;
    let p = provision_obj(doc, id)?;
    change(doc, ctx, |tx| {
        tx.put_bool(&p, "removed", true)?;
        let (order, at) = positions(tx.read(), id)?;
        for i in at.into_iter().rev() {
            tx.delete_at(&order, i)?;
        }
        tx.increment(&ROOT, "rev")?;
        touch(tx, ctx)
    })
}
