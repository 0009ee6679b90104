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

#[cfg(test)]
mod tests {
    use automerge::Automerge;

    use crate::workspace::meeting::{self, MeetingPatch, NewMeeting};
    use crate::workspace::testing::{ctx, sync_pair};
    use crate::workspace::{WorkspaceError, thread};

    const ITEM: &str = "0123456789abcdef0123456789abcdef";

    fn new_meeting() -> Automerge {
        let mut d = Automerge::new();
        let new = NewMeeting {
            title: "Consultation".into(),
            starts: "2027-02-10T10:00:00Z".into(),
            ends: None,
            kind: meeting::MeetingKind::Consultation,
            venue: None,
            sidelines_of: None,
            titles: Default::default(),
            tz: None,
        };
        meeting::create(&mut d, &ctx("ana", "cica"), &new).unwrap();
        d
    }

    #[test]
    fn the_same_item_attached_from_both_nodes_at_once_is_one_attachment() {
        let mut a = new_meeting();
        let mut b = a.fork();
        let attach = MeetingPatch { attach: vec![ITEM.to_uppercase()], ..Default::default() };
        meeting::update(&mut a, &ctx("ana", "cica"), &attach).unwrap();
        meeting::update(&mut b, &ctx("ivan", "sco-rats"), &attach).unwrap();
        sync_pair(&mut a, &mut b);
        let m = meeting::read(&a, "m").unwrap();
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].item, ITEM, "kept in lower case");
        assert!(m.attachments[0].title.is_none() && !m.attachments[0].readable, "the workspace holds no title");
        let detach = MeetingPatch { detach: vec![ITEM.into()], ..Default::default() };
        meeting::update(&mut a, &ctx("ana", "cica"), &detach).unwrap();
        assert!(meeting::read(&a, "m").unwrap().attachments.is_empty());
        let again = meeting::update(&mut a, &ctx("ana", "cica"), &detach);
        assert!(matches!(again, Err(WorkspaceError::NoSuchEntry { .. })), "{again:?}");
    }

    #[test]
    fn what_is_not_an_item_id_is_refused_and_changes_nothing() {
        let mut a = new_meeting();
        let heads = a.get_heads();
        for bad in ["0123", "zz23456789abcdef0123456789abcdef", "../etc/passwd"] {
            let e = meeting::update(
                &mut a,
                &ctx("ana", "cica"),
                &MeetingPatch { attach: vec![bad.into()], ..Default::default() },
            );
            assert!(matches!(e, Err(WorkspaceError::Invalid { field: "attachment", .. })), "{bad}: {e:?}");
        }
        let many: Vec<String> = (0..=super::MAX_ATTACHMENTS).map(|i| format!("{i:032x}")).collect();
        assert!(
            meeting::update(&mut a, &ctx("ana", "cica"), &MeetingPatch { attach: many, ..Default::default() }).is_err()
        );
        assert_eq!(a.get_heads(), heads);
    }

    #[test]
    fn a_message_keeps_the_items_it_attaches() {
        use crate::workspace::party_docs::PartyDoc;
        let mut annex = PartyDoc::Annex(crate::ids::DocId([9; 16])).genesis(&"cica".parse().unwrap()).unwrap();
        thread::post_with(&mut annex, &ctx("ana", "cica"), "See the list.", &[ITEM.into()]).unwrap();
        let mut t = Automerge::new();
        thread::start(&mut t, &ctx("ana", "cica"), "Lists", &Default::default()).unwrap();
        let th = thread::read(&t, &[&annex], "t").unwrap();
        assert_eq!(th.messages[0].attachments[0].item, ITEM);
        assert_eq!(th.messages[0].attachments[0].by.as_ref().unwrap().officer, "ana");
    }
}
