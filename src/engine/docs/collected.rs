//! The changes a round made to a document, collected once and used by everything in the round
//! that needs them.
//!
//! automerge 0.12 keeps a document as columns of operations, not as changes: each
//! `get_changes(heads)` walks the operations to build the changes again. A keystroke needed its
//! one change three times on the receiving node (to check that it can be written back, to
//! write it to the store, and to name what it changed for the event), and twice on the node
//! that made it besides the sync message. On a draft of years each walk took about a third of
//! a millisecond.

use std::collections::HashMap;

use automerge::{Change, ChangeHash};

use crate::ids::DocId;

/// The most bytes of changes kept for one round, in all documents: a keystroke's change is a
/// few hundred bytes, and what a bulk round collects is collected again when needed rather
/// than held until its commit.
const KEPT_BYTES: usize = 1024 * 1024;

/// The changes of the current round, per document: from the heads the round started at (those
/// of the last commit) to the heads the document had when they were collected.
#[derive(Default)]
pub(super) struct Collected {
    entries: HashMap<DocId, Entry>,
    bytes: usize,
}

struct Entry {
    from: Vec<ChangeHash>,
    to: Vec<ChangeHash>,
    changes: Vec<Change>,
    bytes: usize,
}

fn sorted(heads: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut v = heads.to_vec();
    v.sort_unstable();
    v
}

impl Collected {
    /// Notes the changes of `doc` from `from` to `to`. Changes that continue what is kept (they
    /// start where it ends) are added to it; others replace it.
    pub fn note(&mut self, doc: DocId, from: &[ChangeHash], to: &[ChangeHash], changes: Vec<Change>) {
        let (from, to) = (sorted(from), sorted(to));
        let bytes: usize = changes.iter().map(|c| c.raw_bytes().len()).sum();
        let kept = self.entries.remove(&doc);
        if let Some(e) = &kept {
            self.bytes -= e.bytes;
        }
        let entry = match kept {
            Some(mut e) if e.to == from => {
                e.to = to;
                e.changes.extend(changes);
                e.bytes += bytes;
                e
            }
            _ => Entry { from, to, changes, bytes },
        };
        if self.bytes + entry.bytes <= KEPT_BYTES {
            self.bytes += entry.bytes;
            self.entries.insert(doc, entry);
        }
    }

    /// The changes of `doc` from `from` to `to`, if exactly those were noted.
    pub fn get(&self, doc: DocId, from: &[ChangeHash], to: &[ChangeHash]) -> Option<&[Change]> {
        let e = self.entries.get(&doc)?;
        (e.from == sorted(from) && e.to == sorted(to)).then_some(e.changes.as_slice())
    }

    /// The round is over (committed or not): its changes are of no more use.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ROOT};

    use super::*;

    fn edit(doc: &mut Automerge, v: i64) -> (Vec<ChangeHash>, Vec<ChangeHash>, Vec<Change>) {
        let before = doc.get_heads();
        let mut tx = doc.transaction();
        tx.put(ROOT, "n", v).unwrap();
        tx.commit();
        let after = doc.get_heads();
        let changes = doc.get_changes(&before);
        (before, after, changes)
    }

    #[test]
    fn changes_that_follow_are_added_and_only_the_whole_span_is_given() {
        let mut doc = Automerge::new();
        let id = DocId::random();
        let mut c = Collected::default();
        let (a, b, first) = edit(&mut doc, 1);
        c.note(id, &a, &b, first);
        let (_, d, second) = edit(&mut doc, 2);
        c.note(id, &b, &d, second);
        let got: Vec<ChangeHash> = c.get(id, &a, &d).unwrap().iter().map(|c| c.hash()).collect();
        assert_eq!(got, doc.get_changes(&a).iter().map(|c| c.hash()).collect::<Vec<_>>());
        // Not from where the round started, or not up to the document's heads: not given.
        assert!(c.get(id, &b, &d).is_none());
        assert!(c.get(id, &a, &b).is_none());
        assert!(c.get(DocId::random(), &a, &d).is_none());
        c.clear();
        assert!(c.get(id, &a, &d).is_none());
    }

    #[test]
    fn changes_that_do_not_follow_replace_what_was_kept() {
        let mut doc = Automerge::new();
        let id = DocId::random();
        let mut c = Collected::default();
        let (a, b, first) = edit(&mut doc, 1);
        c.note(id, &a, &b, first);
        let (_, d, _) = edit(&mut doc, 2);
        // From the start again (say, collected after a change that was not noted).
        c.note(id, &a, &d, doc.get_changes(&a));
        assert_eq!(c.get(id, &a, &d).unwrap().len(), 2);
        assert!(c.get(id, &a, &b).is_none());
    }

    #[test]
    fn past_the_bound_nothing_more_is_kept() {
        let mut doc = Automerge::new();
        let mut c = Collected::default();
        let before = doc.get_heads();
        let mut tx = doc.transaction();
        // Letters at random: a change's bytes are compressed, and these do not compress below
        // the bound.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let big: String = (0..4 * KEPT_BYTES)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'a' + (x % 26) as u8)
            })
            .collect();
        tx.put(ROOT, "big", big).unwrap();
        tx.commit();
        let (id, after) = (DocId::random(), doc.get_heads());
        c.note(id, &before, &after, doc.get_changes(&before));
        assert!(c.get(id, &before, &after).is_none());
        assert_eq!(c.bytes, 0);
    }
}
