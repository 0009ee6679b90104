//! Each provision's texts and stale marks as a read found them, kept for the next read.
//!
//! Reading a draft reads every provision's texts, and automerge builds each text from its
//! operations (deleted ones included): on a draft of 200 provisions in two languages that was
//! most of a draft's page after an edit. A keystroke changes one provision. So the reader keeps
//! what each provision held at some heads, and when the engine commits changes that
//! [`changes`](crate::engine::changes) names, the provisions they name are forgotten and the
//! rest carried over (see `engine::reader::outlines`); anything it cannot name drops it all.

use std::collections::{BTreeMap, HashMap};

use super::Stale;

/// A provision's texts by language, and its stale marks.
pub(super) type Held = (BTreeMap<String, String>, BTreeMap<String, Stale>);

/// What each provision of one draft held at the heads it was read at, by provision id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProvisionContents {
    by_provision: HashMap<String, Held>,
    bytes: usize,
}

impl ProvisionContents {
    /// What `provision` held, if kept, and only if it holds a text for each of `languages`.
    pub(super) fn get(&self, provision: &str, languages: &[String]) -> Option<&Held> {
        self.by_provision
            .get(provision)
            .filter(|(texts, _)| texts.len() == languages.len() && languages.iter().all(|l| texts.contains_key(l)))
    }

    pub(super) fn put(&mut self, provision: String, held: Held) {
        self.bytes += held.0.values().map(String::len).sum::<usize>();
        if let Some(old) = self.by_provision.insert(provision, held) {
            self.bytes -= old.0.values().map(String::len).sum::<usize>();
        }
    }

    /// A change touched `provision`: read it again next time.
    pub fn forget(&mut self, provision: &str) {
        if let Some(old) = self.by_provision.remove(provision) {
            self.bytes -= old.0.values().map(String::len).sum::<usize>();
        }
    }

    /// The bytes of text held.
    pub fn text_bytes(&self) -> usize {
        self.bytes
    }
}
