//! What the inbox needs of a draft and of a thread, kept beside each one's summary
//! (`engine::summaries`) so that the inbox never reads the documents themselves.

use serde::{Deserialize, Serialize};

use crate::workspace::Author;
use crate::workspace::draft::{Draft, DraftState};
use crate::workspace::thread::Thread;

/// What the inbox reads of a thread, kept beside the thread's summary: who wrote each message
/// and when, without the texts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadFacts {
    /// Id.
    pub id: String,
    /// Subject.
    pub subject: String,
    /// The officers who wrote in it, each once.
    pub authors: Vec<Author>,
    /// Each message in the thread's order: its author (an index into `authors`) and when it was
    /// sent.
    pub messages: Vec<(Option<u32>, String)>,
    /// The items its messages attach (for an item's citations): the message's index, its id,
    /// and the item's id.
    #[serde(default)]
    pub cites: Vec<(u32, String, String)>,
}

impl From<&Thread> for ThreadFacts {
    fn from(t: &Thread) -> Self {
        let mut authors: Vec<Author> = Vec::new();
        let messages = t
            .messages
            .iter()
            .map(|m| {
                let who = m.author.as_ref().map(|a| match authors.iter().position(|x| x == a) {
                    Some(i) => i as u32,
                    None => {
                        authors.push(a.clone());
                        (authors.len() - 1) as u32
                    }
                });
                (who, m.at.clone())
            })
            .collect();
        let cites = t
            .messages
            .iter()
            .enumerate()
            .flat_map(|(i, m)| m.attachments.iter().map(move |a| (i as u32, m.id.clone(), a.item.clone())))
            .collect();
        ThreadFacts { id: t.id.clone(), subject: t.subject.clone(), authors, messages, cites }
    }
}

impl ThreadFacts {
    /// The author of the `i`th message.
    pub fn author(&self, i: usize) -> Option<&Author> {
        self.messages.get(i).and_then(|(a, _)| a.and_then(|a| self.authors.get(a as usize)))
    }
}

/// What the inbox reads of a draft, kept beside the draft's summary: its workflow and which
/// languages are stale, without the texts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DraftFacts {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The Parties that approve and sign.
    pub parties: Vec<String>,
    /// Where it stands.
    pub state: DraftState,
    /// The Parties whose approval holds for the current text.
    pub approved: Vec<String>,
    /// The Parties that signed.
    pub signed: Vec<String>,
    /// The content hash of every language's text, hex.
    pub content_hash: String,
    /// Who started it.
    pub created_by: Option<Author>,
    /// Who changed it last.
    pub updated_by: Option<Author>,
    /// When.
    pub updated_at: Option<String>,
    /// The labels of the provisions with a stale language, in order.
    pub stale: Vec<String>,
    /// Who made those languages stale, each once.
    pub stale_by: Vec<Author>,
    /// Which languages of which provisions are stale since which revision: a language stale
    /// again after an edit is news again.
    pub stale_version: String,
}

impl From<&Draft> for DraftFacts {
    fn from(d: &Draft) -> Self {
        let stale: Vec<_> = d.provisions.iter().filter(|p| !p.stale.is_empty()).collect();
        let mut stale_by: Vec<Author> = Vec::new();
        for a in stale.iter().flat_map(|p| p.stale.values().filter_map(|s| s.by.as_ref())) {
            if !stale_by.contains(a) {
                stale_by.push(a.clone());
            }
        }
        DraftFacts {
            id: d.id.clone(),
            title: d.title.clone(),
            parties: d.parties.clone(),
            state: d.state,
            approved: d.approvals.iter().filter(|a| a.valid).map(|a| a.party.clone()).collect(),
            signed: d.signatures.iter().map(|s| s.party.clone()).collect(),
            content_hash: d.content_hash.clone(),
            created_by: d.created_by.clone(),
            updated_by: d.updated_by.clone(),
            updated_at: d.updated_at.clone(),
            stale_version: stale
                .iter()
                .flat_map(|p| p.stale.iter().map(move |(lang, s)| format!("{}/{lang}/{}", p.id, s.since_rev)))
                .collect::<Vec<_>>()
                .join(","),
            stale: stale.iter().map(|p| p.label.clone()).collect(),
            stale_by,
        }
    }
}
