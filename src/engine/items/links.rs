//! Links between items and the workspace: the attachments of meetings and messages, resolved
//! for the officer asking, and which meetings and messages cite an item.
//!
//! An attachment is only an item id in a shared document; what an officer sees of it is decided
//! here, by the same rules as the item itself: its title only for a role that may read items
//! and only when this Party holds a key to it; otherwise "restricted item", with no title.

use serde::{Deserialize, Serialize};

use super::{our_key, resolve, store_err};
use crate::engine::{Core, EngineError};
use crate::ids::ItemId;
use crate::inbox::ThreadFacts;
use crate::vault;
use crate::workspace::attachments::Attachment;
use crate::workspace::{Author, meeting};

/// A meeting that cites an item.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CitingMeeting {
    /// The meeting.
    pub id: String,
    /// Its title.
    pub title: String,
    /// When it starts.
    pub starts: String,
}

/// A message that cites an item.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CitingMessage {
    /// The thread.
    pub thread: String,
    /// Its subject.
    pub subject: String,
    /// The message, within the thread.
    pub message: String,
    /// Who sent it.
    pub author: Option<Author>,
    /// When.
    pub at: String,
}

/// Where an item is cited.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Citations {
    /// The item (full id).
    pub item: String,
    /// Meetings that attach it.
    pub meetings: Vec<CitingMeeting>,
    /// Messages that attach it.
    pub messages: Vec<CitingMessage>,
}

impl Core {
    /// The full id of an item held here, for attaching it: an id or unique prefix of an item
    /// this node holds (one cannot cite what one has not got).
    pub fn item_to_attach(&self, id: &str) -> Result<String, EngineError> {
        Ok(resolve(self, id)?.to_string())
    }

    /// Fills in what the officer asking may see of each attachment: whether the item is here,
    /// its marking, and its title only if `may_read` (the officer's role reads items) and this
    /// Party holds a key that opens it now.
    pub fn fill_attachments(&self, list: &mut [Attachment], may_read: bool) -> Result<(), EngineError> {
        for a in list.iter_mut() {
            let Some(id) = crate::ids::parse_id16(&a.item).map(ItemId) else { continue };
            let Some(item) = self.store.item(id).map_err(store_err)?.filter(|i| i.complete) else { continue };
            a.held = true;
            a.marking = Some(item.envelope.envelope.marking.clone());
            if may_read && let Some(key) = our_key(self, &item) {
                a.title = vault::open_title(&key, &item.envelope.envelope).ok();
                a.readable = a.title.is_some();
            }
        }
        Ok(())
    }

    /// The full id of an item whose citations are asked for: an id or a prefix of one held here,
    /// or a full id of one that is not, or no longer, held.
    pub fn item_cited(&self, id: &str) -> Result<String, EngineError> {
        match resolve(self, id) {
            Ok(i) => Ok(i.to_string()),
            Err(e) => match crate::ids::parse_id16(id.trim()) {
                Some(i) => Ok(ItemId(i).to_string()),
                None => Err(e),
            },
        }
    }
}

/// The meetings and messages among `meetings` and `threads` (their summaries' facts) that attach
/// `item` (a full id), meetings by start, messages by time.
pub fn citations<'a>(
    item: String,
    meetings: impl Iterator<Item = &'a meeting::Meeting>,
    threads: impl Iterator<Item = &'a ThreadFacts>,
) -> Citations {
    let mut out = Citations { item, ..Default::default() };
    for m in meetings {
        if m.attachments.iter().any(|a| a.item == out.item) {
            out.meetings.push(CitingMeeting { id: m.id.clone(), title: m.title.clone(), starts: m.starts.clone() });
        }
    }
    for t in threads {
        let mut last = None;
        for (i, message, _) in t.cites.iter().filter(|(_, _, it)| *it == out.item) {
            // One entry per message, however often it attaches the item (`cites` is in order).
            if last.replace(*i) == Some(*i) {
                continue;
            }
            out.messages.push(CitingMessage {
                thread: t.id.clone(),
                subject: t.subject.clone(),
                message: message.clone(),
                author: t.author(*i as usize).cloned(),
                at: t.messages.get(*i as usize).map(|(_, at)| at.clone()).unwrap_or_default(),
            });
        }
    }
    out.meetings.sort_by(|a, b| (&a.starts, &a.id).cmp(&(&b.starts, &b.id)));
    out.messages.sort_by(|a, b| (&a.at, &a.thread, &a.message).cmp(&(&b.at, &b.thread, &b.message)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn author(officer: &str) -> Author {
        Author { officer: officer.into(), party: "cica".parse().unwrap() }
    }

    fn facts(id: &str, at: &str, cites: &[(u32, &str, &str)]) -> ThreadFacts {
        ThreadFacts {
            id: id.into(),
            subject: format!("subject {id}"),
            authors: vec![author("anna"), author("ivan")],
            messages: vec![(Some(0), "0".into()), (Some(1), at.into())],
            cites: cites.iter().map(|(i, m, it)| (*i, m.to_string(), it.to_string())).collect(),
        }
    }

    fn meeting(id: &str, starts: &str, items: &[&str]) -> meeting::Meeting {
        let mut m: meeting::Meeting = serde_json::from_value(serde_json::json!({
            "id": id, "title": format!("meeting {id}"), "kind": "consultation", "starts": starts,
            "ends": null, "venue": null, "sidelines_of": null, "status": "proposed", "agenda": [],
            "participants": [], "minutes": "", "created_by": null, "created_at": null,
            "updated_by": null, "updated_at": null
        }))
        .unwrap();
        m.attachments = items
            .iter()
            .map(|i| Attachment {
                item: i.to_string(),
                by: None,
                at: None,
                held: false,
                readable: false,
                title: None,
                marking: None,
            })
            .collect();
        m
    }

    #[test]
    fn citations_name_each_citing_meeting_and_message_once_in_order() {
        let ms = [
            meeting("m2", "2099-01-01", &["x"]),
            meeting("m1", "2099-01-01", &["x", "x"]),
            meeting("m3", "2098", &["y"]),
        ];
        // t2's second message attaches x twice; t1's cites only y; t3's message sorts before t2's.
        let ts = [
            facts("t2", "5", &[(1, "b", "x"), (1, "b", "x")]),
            facts("t1", "4", &[(1, "a", "y")]),
            facts("t3", "5", &[(1, "a", "x")]),
        ];
        let c = citations("x".into(), ms.iter(), ts.iter());
        let meetings: Vec<_> = c.meetings.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(meetings, ["m1", "m2"], "by start, then id; m3 cites another item");
        let messages: Vec<_> = c.messages.iter().map(|m| (m.thread.as_str(), m.message.as_str())).collect();
        assert_eq!(messages, [("t2", "b"), ("t3", "a")], "once per message, by time then thread");
        assert_eq!(c.messages[0].author, Some(author("ivan")));
        assert_eq!(c.messages[0].at, "5");
        assert!(citations("z".into(), ms.iter(), ts.iter()).messages.is_empty());
    }
}
