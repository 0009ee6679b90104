//! Attachments: a meeting or a message cites a provided item by its id. Only the id (with who
//! attached it and when) goes into the shared document; the item itself stays in the vault,
//! under the vault's rules, so an attachment gives nobody anything they could not read before.
//!
//! Layout, under the meeting's root or a message's map: `attachments: {ITEM_ID: {by, at}}`,
//! keyed by the item's full id so that the same item attached twice, even concurrently from
//! both Parties' nodes, is one attachment.

use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use super::util::{get_author, get_str, map_maps};
use super::{Author, ChangeCtx, Result, Tx, WorkspaceError};

/// Most items one meeting or message may cite.
pub const MAX_ATTACHMENTS: usize = 100;

/// An item cited by a meeting or a message.
///
/// The workspace fills `item`, `by` and `at`; the node answering an officer fills the rest
/// from its vault, for that officer's role (a restricted item shows no title).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// The item's id (32 hex digits).
    pub item: String,
    /// Who attached it.
    pub by: Option<Author>,
    /// When.
    pub at: Option<String>,
    /// Whether the item is held at this node (it may not have arrived yet, or was deleted).
    #[serde(default)]
    pub held: bool,
    /// Whether the officer asking may read it (role and key): then its title is given.
    #[serde(default)]
    pub readable: bool,
    /// Its title, only when `readable`.
    #[serde(default)]
    pub title: Option<String>,
    /// Its handling marking (plaintext in the signed envelope), when held.
    #[serde(default)]
    pub marking: Option<String>,
}

/// Refuses what is not a full item id (32 hex digits, lower case once normalised).
pub fn check_item_id(id: &str) -> Result<String> {
    let id = id.trim().to_ascii_lowercase();
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(WorkspaceError::Invalid { field: "attachment", reason: format!("{id:?} is not an item id") });
    }
    Ok(id)
}

/// Checks a set of items to attach, on top of `already` attached: full ids, and not too many.
pub fn check(items: &[String], already: usize) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for i in items {
        let id = check_item_id(i)?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    if already + out.len() > MAX_ATTACHMENTS {
        return Err(WorkspaceError::Invalid {
            field: "attachment",
            reason: format!("at most {MAX_ATTACHMENTS} items may be attached"),
        });
    }
    Ok(out)
}

/// Writes `items` (checked with [`check`]) into the `attachments` map of `obj`.
pub(crate) fn put(tx: &mut Tx<'_, '_>, obj: &ObjId, items: &[String], ctx: &ChangeCtx) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let map = tx.map(obj, "attachments")?;
    for id in items {
        let m = tx.put_map(&map, id)?;
        tx.put_author(&m, "by", &ctx.author)?;
        tx.put_str(&m, "at", &ctx.now_str())?;
    }
    Ok(())
}

/// Removes attachments from the `attachments` map of `obj`; an item not attached is refused.
pub(crate) fn remove(tx: &mut Tx<'_, '_>, obj: &ObjId, items: &[String]) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let map = tx.map(obj, "attachments")?;
    for i in items {
        let id = check_item_id(i)?;
        if tx.read().get(&map, id.as_str())?.is_none() {
            return Err(WorkspaceError::NoSuchEntry { what: "attachment", id });
        }
        tx.delete_key(&map, &id)?;
    }
    Ok(())
}

/// The attachments of `obj`, in the order they were attached.
pub fn read<R: ReadDoc>(doc: &R, obj: &ObjId) -> Result<Vec<Attachment>> {
    let mut out = Vec::new();
    for (item, m) in map_maps(doc, obj, "attachments")? {
        out.push(Attachment {
            item,
            by: get_author(doc, &m, "by")?,
            at: get_str(doc, &m, "at")?,
            held: false,
            readable: false,
            title: None,
            marking: None,
        });
    }
    out.sort_by(|a, b| (&a.at, &a.item).cmp(&(&b.at, &b.item)));
    Ok(out)
}
