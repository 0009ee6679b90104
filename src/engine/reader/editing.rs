//! The documents officers are editing now, which the reader keeps loaded whatever read loads
//! them.
//!
//! Reads over many documents (a list's summaries, keep-up, the search index) do not fill the
//! cache: after a bootstrap they would keep 64 drafts loaded. But while an officer types, keep-up
//! and the search index each read the draft every two seconds, on both nodes; where no page of
//! it was open, each read loaded the whole draft again (automerge's `Document::reconstruct`:
//! about a tenth of a core on the years workspace's drafts, and the draft's memory each time).
//! A document that a round changed alone (or with one other) is an edit; it stays kept for
//! [`EDITING_FOR`] after its last change, at most [`EDITING_DOCS`] of them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ids::DocId;

/// How long a document counts as being edited after its last change.
pub const EDITING_FOR: Duration = Duration::from_secs(60);
/// The most documents counted as being edited at once (a few officers on a few drafts).
pub const EDITING_DOCS: usize = 8;
/// A round that changed more documents than this is not an edit (a sync, a bootstrap, an
/// upgrade): its documents are not kept for it.
pub const EDIT_ROUND_DOCS: usize = 2;

/// The documents being edited, with when each last changed.
#[derive(Default)]
pub struct Editing(Mutex<HashMap<DocId, Instant>>);

impl Editing {
    /// A round committed changes to `changed`.
    pub fn committed(&self, changed: &[DocId]) {
        self.committed_at(changed, Instant::now());
    }

    fn committed_at(&self, changed: &[DocId], now: Instant) {
        if changed.is_empty() || changed.len() > EDIT_ROUND_DOCS {
            return;
        }
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.retain(|_, at| now.saturating_duration_since(*at) < EDITING_FOR);
        for id in changed {
            m.insert(*id, now);
        }
        while m.len() > EDITING_DOCS {
            let Some(oldest) = m.iter().min_by_key(|(_, at)| **at).map(|(id, _)| *id) else { break };
            m.remove(&oldest);
        }
    }

    /// Whether `id` is being edited.
    pub fn is(&self, id: DocId) -> bool {
        self.is_at(id, Instant::now())
    }

    fn is_at(&self, id: DocId, now: Instant) -> bool {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.get(&id).is_some_and(|at| now.saturating_duration_since(*at) < EDITING_FOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: u8) -> DocId {
        DocId([i; 16])
    }

    #[test]
    fn an_edit_is_kept_for_a_while_a_bulk_round_and_the_oldest_beyond_the_bound_are_not() {
        let e = Editing::default();
        let t0 = Instant::now();
        e.committed_at(&[id(1)], t0);
        assert!(e.is_at(id(1), t0 + Duration::from_secs(59)));
        assert!(!e.is_at(id(1), t0 + EDITING_FOR), "an edit a minute old is over");
        // A sync or a bootstrap round changes many documents at once: none of them is an edit.
        let bulk: Vec<DocId> = (10..20).map(id).collect();
        e.committed_at(&bulk, t0);
        assert!(bulk.iter().all(|d| !e.is_at(*d, t0)));
        // At most EDITING_DOCS: the one changed longest ago goes first.
        for i in 0..EDITING_DOCS as u8 {
            e.committed_at(&[id(100 + i)], t0 + Duration::from_millis(u64::from(i) + 1));
        }
        assert!(!e.is_at(id(1), t0 + Duration::from_secs(1)));
        assert!(e.is_at(id(100), t0 + Duration::from_secs(1)));
        assert!(e.is_at(id(100 + EDITING_DOCS as u8 - 1), t0 + Duration::from_secs(1)));
    }
}
