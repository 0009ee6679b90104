//! Drafts' outlines (each provision's place, kind and label), kept across reads.
//!
//! A provision's label depends on every provision before it, and reading them is a seek per
//! provision in the draft's ops: on a long draft, most of what fetching one provision costs,
//! and the editor fetches one after every remote keystroke. A keystroke changes a text, never
//! the outline. So an outline read at some heads is kept, and when the engine commits changes
//! to that draft that [`changes`](crate::engine::changes) names as texts, comments or fields
//! only (no `structure`, `any` or `created`), it is carried over to the new heads. Whatever
//! else happened, it is dropped and read again at the next fetch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::engine::changes::{Changed, Part};
use crate::ids::DocId;
use crate::workspace::draft::provision::Outline;

/// How many drafts' outlines are kept: a few drafts being edited at once.
const KEPT_DRAFTS: usize = 32;
/// The longest outline kept, in provisions: a draft made to be huge is read each time.
const KEPT_PROVISIONS: usize = 5_000;

/// The outlines kept, each with the heads it holds at.
#[derive(Default)]
pub struct Outlines {
    kept: Mutex<Held>,
}

/// The outlines, and a clock of their uses (the least recently used goes first).
#[derive(Default)]
struct Held {
    by_doc: HashMap<DocId, Kept>,
    clock: u64,
}

struct Kept {
    heads: Vec<[u8; 32]>,
    outline: Arc<Outline>,
    tick: u64,
}

impl Outlines {
    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The outline of `doc` at exactly `heads`, if kept.
    pub fn get(&self, doc: DocId, heads: &[[u8; 32]]) -> Option<Arc<Outline>> {
        let mut held = self.lock();
        held.clock += 1;
        let tick = held.clock;
        let k = held.by_doc.get_mut(&doc).filter(|k| k.heads == heads)?;
        k.tick = tick;
        Some(k.outline.clone())
    }

    /// Keeps the outline of `doc` read at `heads`, within the bounds.
    pub fn put(&self, doc: DocId, heads: &[[u8; 32]], outline: Arc<Outline>) {
        if outline.len() > KEPT_PROVISIONS {
            return;
        }
        let mut held = self.lock();
        held.clock += 1;
        let tick = held.clock;
        if !held.by_doc.contains_key(&doc)
            && held.by_doc.len() >= KEPT_DRAFTS
            && let Some(oldest) = held.by_doc.iter().min_by_key(|(_, k)| k.tick).map(|(id, _)| *id)
        {
            held.by_doc.remove(&oldest);
        }
        held.by_doc.insert(doc, Kept { heads: heads.to_vec(), outline, tick });
    }

    /// After the engine committed `doc` from `before` to `after`, with `changed` saying what
    /// the changes in between changed: a kept outline at `before` holds at `after` too unless
    /// they touched the draft's structure (or were not looked into).
    pub fn committed(&self, doc: DocId, before: &[[u8; 32]], after: &[[u8; 32]], changed: &[Changed]) {
        let mut held = self.lock();
        let Some(k) = held.by_doc.get_mut(&doc) else { return };
        if k.heads == before && !changed.iter().any(touches_outline) {
            k.heads = after.to_vec();
        } else if k.heads != after {
            held.by_doc.remove(&doc);
        }
    }
}

/// Whether a change so named may have moved, added, removed or re-kinded a provision.
fn touches_outline(c: &Changed) -> bool {
    matches!(c, Changed::Part { part: Part::Structure | Part::Any | Part::Created })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::draft::provision::Outline;

    fn outline(doc: &automerge::Automerge) -> Arc<Outline> {
        Arc::new(Outline::read(doc).unwrap())
    }

    fn draft() -> automerge::Automerge {
        crate::workspace::testing::draft_doc("ana", "cica", "Article 1. One.\n\nArticle 2. Two.")
    }

    #[test]
    fn an_outline_is_carried_over_text_changes_and_dropped_on_any_other() {
        let o = Outlines::default();
        let d = DocId::random();
        let (h1, h2, h3) = ([[1u8; 32]].to_vec(), [[2u8; 32]].to_vec(), [[3u8; 32]].to_vec());
        o.put(d, &h1, outline(&draft()));
        let text = Changed::Provision { provision: "p".into(), lang: Some("en".into()) };
        o.committed(d, &h1, &h2, std::slice::from_ref(&text));
        assert!(o.get(d, &h1).is_none(), "kept at the old heads no more");
        assert!(o.get(d, &h2).is_some(), "carried over a text change");
        // From heads other than its own: the changes in between are not known.
        o.committed(d, &h1, &h3, std::slice::from_ref(&text));
        assert!(o.get(d, &h3).is_none() && o.get(d, &h2).is_none());
        for part in [Part::Structure, Part::Any, Part::Created] {
            o.put(d, &h1, outline(&draft()));
            o.committed(d, &h1, &h2, &[text.clone(), Changed::Part { part }]);
            assert!(o.get(d, &h2).is_none() && o.get(d, &h1).is_none(), "{part:?} drops it");
        }
        // A read that already kept the outline at the new heads keeps it.
        o.put(d, &h2, outline(&draft()));
        o.committed(d, &h1, &h2, &[Changed::Part { part: Part::Structure }]);
        assert!(o.get(d, &h2).is_some());
    }

    #[test]
    fn the_outlines_kept_are_bounded() {
        let o = Outlines::default();
        let ids: Vec<DocId> = (0..KEPT_DRAFTS + 5).map(|_| DocId::random()).collect();
        let one = outline(&draft());
        for id in &ids {
            o.put(*id, &[], one.clone());
        }
        assert_eq!(o.lock().by_doc.len(), KEPT_DRAFTS);
        assert!(o.get(ids[0], &[]).is_none(), "the oldest went first");
        assert!(o.get(*ids.last().unwrap(), &[]).is_some());
    }
}
