//! What the reader keeps of a draft across reads, carried over the commits that leave it as it
//! was: drafts' outlines (each provision's place, kind and label), and each provision's texts.
//!
//! A provision's label depends on every provision before it, and reading them is a seek per
//! provision in the draft's ops: on a long draft, most of what fetching one provision costs,
//! and the editor fetches one after every remote keystroke. A keystroke changes a text, never
//! the outline. So an outline read at some heads is kept, and when the engine commits changes
//! to that draft that [`changes`](crate::engine::changes) names as texts, comments or fields
//! only (no `structure`, `any` or `created`), it is carried over to the new heads. Whatever
//! else happened, it is dropped and read again at the next fetch.
//!
//! Each provision's texts are kept the same way ([`ProvisionContents`]): carried over, less
//! the provisions the changes name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::engine::changes::{Changed, Part};
use crate::ids::DocId;
use crate::workspace::draft::ProvisionContents;
use crate::workspace::draft::provision::Outline;

/// The longest outline kept, in provisions: a draft made to be huge is read each time.
const KEPT_PROVISIONS: usize = 5_000;
/// The most text kept of one draft's provisions.
const KEPT_TEXT_BYTES: usize = 2 * 1024 * 1024;

/// What may be kept of a draft from one commit to the next.
pub trait CarriedOver: Send + Sync {
    /// How many drafts' worth are kept (the least recently used goes first).
    const DRAFTS: usize;
    /// Whether it is small enough to keep.
    fn fits(&self) -> bool;
    /// Whether what was kept still holds after changes so named; it may forget the parts they
    /// touched (then it is copied first if a read still holds it).
    fn carry(kept: &mut Arc<Self>, changed: &[Changed]) -> bool;
}

impl CarriedOver for Outline {
    /// A few drafts being edited at once.
    const DRAFTS: usize = 32;
    fn fits(&self) -> bool {
        self.len() <= KEPT_PROVISIONS
    }
    fn carry(_: &mut Arc<Self>, changed: &[Changed]) -> bool {
        !changed.iter().any(touches_outline)
    }
}

impl CarriedOver for ProvisionContents {
    /// As many as the reader keeps being edited ([`super::editing`]).
    const DRAFTS: usize = 8;
    fn fits(&self) -> bool {
        self.text_bytes() <= KEPT_TEXT_BYTES
    }
    fn carry(kept: &mut Arc<Self>, changed: &[Changed]) -> bool {
        if changed.iter().any(touches_outline) {
            return false;
        }
        for c in changed {
            if let Changed::Provision { provision, .. } = c {
                Arc::make_mut(kept).forget(provision);
            }
        }
        true
    }
}

/// Drafts' outlines, kept across reads.
pub type Outlines = Kept<Outline>;
/// Drafts' provisions' texts and stale marks, kept across reads.
pub type Contents = Kept<ProvisionContents>;

/// What is kept of each draft, each with the heads it holds at.
pub struct Kept<T> {
    kept: Mutex<Held<T>>,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept { kept: Mutex::new(Held { by_doc: HashMap::new(), clock: 0 }) }
    }
}

/// What is kept, and a clock of its uses (the least recently used goes first).
struct Held<T> {
    by_doc: HashMap<DocId, Entry<T>>,
    clock: u64,
}

struct Entry<T> {
    heads: Vec<[u8; 32]>,
    value: Arc<T>,
    tick: u64,
}

impl<T: CarriedOver> Kept<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Held<T>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What is kept of `doc` at exactly `heads`.
    pub fn get(&self, doc: DocId, heads: &[[u8; 32]]) -> Option<Arc<T>> {
        let mut held = self.lock();
        held.clock += 1;
        let tick = held.clock;
        let k = held.by_doc.get_mut(&doc).filter(|k| k.heads == heads)?;
        k.tick = tick;
        Some(k.value.clone())
    }

    /// Keeps what was read of `doc` at `heads`, within the bounds.
    pub fn put(&self, doc: DocId, heads: &[[u8; 32]], value: Arc<T>) {
        if !value.fits() {
            return;
        }
        let mut held = self.lock();
        held.clock += 1;
        let tick = held.clock;
        if !held.by_doc.contains_key(&doc)
            && held.by_doc.len() >= T::DRAFTS
            && let Some(oldest) = held.by_doc.iter().min_by_key(|(_, k)| k.tick).map(|(id, _)| *id)
        {
            held.by_doc.remove(&oldest);
        }
        held.by_doc.insert(doc, Entry { heads: heads.to_vec(), value, tick });
    }

    /// After the engine committed `doc` from `before` to `after`, with `changed` saying what
    /// the changes in between changed: what is kept at `before` holds at `after` too unless
    /// they touched what it holds (or were not looked into).
    pub fn committed(&self, doc: DocId, before: &[[u8; 32]], after: &[[u8; 32]], changed: &[Changed]) {
        let mut held = self.lock();
        let Some(k) = held.by_doc.get_mut(&doc) else { return };
        if k.heads == before && T::carry(&mut k.value, changed) {
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

    /// Edits of every kind, one commit each, as the engine names them: the draft read with the
    /// texts carried over is always the draft read afresh.
    #[test]
    fn texts_carried_over_commits_read_as_the_draft_does() {
        use crate::engine::changes::of_doc;
        use crate::workspace::DocKind;
        use crate::workspace::draft::{self, Place, ProvisionKind, Records, Splice};
        use crate::workspace::testing::ctx;

        let kept = Contents::default();
        let id = DocId::random();
        let mut doc = draft();
        let heads = |d: &automerge::Automerge| d.get_heads().iter().map(|h| h.0).collect::<Vec<_>>();
        let read = |d: &automerge::Automerge, k: Option<&ProvisionContents>| {
            draft::read_kept(d, &Records::default(), "x", k).unwrap()
        };
        let (_, first) = read(&doc, None);
        kept.put(id, &heads(&doc), Arc::new(first));
        let (a, b) = (ctx("ana", "cica"), ctx("boris", "sco-rats"));
        let mut carried = 0;
        for step in 0..60usize {
            let before = doc.get_heads();
            let ps: Vec<String> = read(&doc, None).0.provisions.iter().map(|p| p.id.clone()).collect();
            let p = ps[step % ps.len()].clone();
            let at = |pos| Splice {
                provision: Some(p.clone()),
                lang: Some("en".into()),
                pos,
                delete: 0,
                insert: "é".into(),
            };
            match step % 9 {
                0..=2 => draft::splice(&mut doc, &a, &at(step % 3)).unwrap(),
                3 => draft::set_provision_text(&mut doc, &b, &p, "ru", &format!("Статья {step}.")).unwrap(),
                4 => draft::align(&mut doc, &a, &p).unwrap(),
                5 => {
                    draft::add_provision(
                        &mut doc,
                        &a,
                        &Place::After(p.clone()),
                        ProvisionKind::Item,
                        Some(("en", "New.")),
                    )
                    .unwrap();
                }
                6 => draft::move_provision(&mut doc, &b, &p, &Place::First).unwrap(),
                7 if ps.len() > 2 => draft::remove_provision(&mut doc, &a, &p).unwrap(),
                _ => draft::set_title(&mut doc, &b, Some(&format!("Title {step}")), &Default::default()).unwrap(),
            }
            let changed = of_doc(&doc, DocKind::Draft, &before);
            let before: Vec<[u8; 32]> = before.iter().map(|h| h.0).collect();
            kept.committed(id, &before, &heads(&doc), &changed);
            let k = kept.get(id, &heads(&doc));
            carried += usize::from(k.is_some());
            let (got, contents) = read(&doc, k.as_deref());
            assert_eq!(got, read(&doc, None).0, "step {step}: {changed:?}");
            kept.put(id, &heads(&doc), Arc::new(contents));
        }
        // Text edits, alignments and titles carry it over; structure drops it.
        assert!((30..60).contains(&carried), "carried over {carried} of 60 commits");
    }

    #[test]
    fn the_outlines_kept_are_bounded() {
        let o = Outlines::default();
        let ids: Vec<DocId> = (0..Outline::DRAFTS + 5).map(|_| DocId::random()).collect();
        let one = outline(&draft());
        for id in &ids {
            o.put(*id, &[], one.clone());
        }
        assert_eq!(o.lock().by_doc.len(), Outline::DRAFTS);
        assert!(o.get(ids[0], &[]).is_none(), "the oldest went first");
        assert!(o.get(*ids.last().unwrap(), &[]).is_some());
    }
}
