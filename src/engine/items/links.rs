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
use crate::vault;
use crate::workspace::attachments::Attachment;
use crate::workspace::{Author, DocKind, meeting};

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

    /// The meetings and messages that attach an item (an id or a prefix of one held here, or a
    /// full id of one that is not, or no longer, held).
    pub fn item_citations(&mut self, id: &str) -> Result<Citations, EngineError> {
        let item = match resolve(self, id) {
            Ok(i) => i.to_string(),
            Err(e) => match crate::ids::parse_id16(id.trim()) {
                Some(i) => ItemId(i).to_string(),
                None => return Err(e),
            },
        };
        let mut out = Citations { item: item.clone(), ..Default::default() };
        for doc in self.ids_of(DocKind::Meeting) {
            let Ok(m) = meeting::read(self.doc(doc)?, &doc.to_string()) else { continue };
            if m.attachments.iter().any(|a| a.item == item) {
                out.meetings.push(CitingMeeting { id: m.id, title: m.title, starts: m.starts });
            }
        }
        for t in self.read_threads()? {
            for m in &t.messages {
                if m.attachments.iter().any(|a| a.item == item) {
                    out.messages.push(CitingMessage {
                        thread: t.id.clone(),
                        subject: t.subject.clone(),
                        message: m.id.clone(),
                        author: m.author.clone(),
                        at: m.at.clone(),
                    });
                }
            }
        }
        out.meetings.sort_by(|a, b| a.starts.cmp(&b.starts));
        out.messages.sort_by(|a, b| a.at.cmp(&b.at));
        Ok(out)
    }
}
