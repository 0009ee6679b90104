//! Per-document summaries: what the lists of meetings, groups, drafts and threads show of each
//! document, kept at commit so that a list costs what it shows, not what the node stores.
//!
//! - **What**: one [`Summary`] per meeting, group, draft and thread, with the heads of the
//!   documents it was read from (the document, and for a draft or thread each Party's annex).
//! - **When**: after a round commits, the documents it changed (and the parent of a changed
//!   annex) are marked stale at once, before anyone is answered. They are computed again on the
//!   reader's threads, from the store's last commit ([`refresh_in_view`]), never on the
//!   engine's: by the list that needs them first, or by [`keep_up`] once changes settle. A list
//!   never serves a stale entry: it computes what is stale of its kind first.
//! - **Where**: in the store's `summaries` table (see `store/summaries.rs`), written with the
//!   next commit; at start-up a row whose heads are the document's stored heads is taken as it
//!   is, and any other document is summarised again. A kill -9 loses at most the summaries
//!   computed since the last commit, which are computed again.
//! - **Shared**: the API reads them through [`SummaryIndex`] (a lock held for a copy of a few
//!   pointers, never across an await or a computation), not through the engine's queue.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

mod compute;
mod in_view;
mod keep_up;
mod persist;
#[cfg(test)]
mod tests;

pub use compute::{draft_summary, thread_summary};
pub use in_view::refresh as refresh_in_view;
pub use keep_up::keep_up;
pub(super) use persist::{flush, load, put, to_write, written};

use compute::{compute, of_draft, of_meeting, of_thread};

use super::{Core, EngineError};
use crate::ids::DocId;
use crate::workspace::group::Group;
use crate::workspace::meeting::Meeting;
use crate::workspace::titles::Titles;
use crate::workspace::{Author, DocKind, draft};

/// How long one of [`keep_up`]'s jobs works before letting the engine's queue move.
const SLICE: Duration = Duration::from_millis(50);
/// Summaries computed in the background are written once this many wait (or the backlog ends).
const FLUSH_EVERY: usize = 256;
/// The format of a stored summary; a row of another format is computed again.
const FORMAT: u32 = 2;

/// A draft in a list: everything but the texts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DraftSummary {
    /// Id.
    pub id: String,
    /// Group id.
    pub group: String,
    /// Title.
    pub title: String,
    /// The title in English and in Russian, where given.
    #[serde(flatten)]
    pub titles: Titles,
    /// The first language.
    pub lang: String,
    /// Every language.
    pub languages: Vec<String>,
    /// Number of provisions.
    pub provisions: usize,
    /// Provisions with a stale language.
    pub stale: usize,
    /// Where it stands.
    pub state: draft::DraftState,
    /// Length of the text in the first language, in characters.
    pub chars: usize,
    /// Last change.
    pub updated_at: Option<String>,
    /// Suggestions still open.
    #[serde(default)]
    pub suggestions_open: usize,
    /// Comments of both Parties.
    #[serde(default)]
    pub comments: usize,
    /// Named versions.
    #[serde(default)]
    pub versions: usize,
}

/// A thread in a list.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ThreadSummary {
    /// Id.
    pub id: String,
    /// Subject.
    pub subject: String,
    /// The subject in English and in Russian, where given.
    #[serde(flatten)]
    pub titles: Titles,
    /// Number of messages.
    pub messages: usize,
    /// When the last message was sent.
    pub last_at: Option<String>,
    /// Who sent it.
    pub last_by: Option<Author>,
    /// The officers who wrote in it, by Party then name.
    #[serde(default)]
    pub participants: Vec<Author>,
}

/// What a list shows of one document.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Summary {
    /// A meeting as `meeting::read` gives it (small; attachments are item ids only: the API
    /// fills in what the asking officer may see of each item).
    Meeting(Box<Meeting>),
    /// A working group as `group::read` gives it.
    Group(Box<Group>),
    /// A draft.
    Draft(Box<DraftSummary>),
    /// A thread.
    Thread(Box<ThreadSummary>),
}

/// What reads other than the lists need of a document, kept beside its summary (no list shows
/// it): the inbox's facts of a draft or a thread, a meeting's invitation sequence.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Facts {
    /// A draft's workflow and stale languages.
    Draft(Box<crate::inbox::DraftFacts>),
    /// Who wrote a thread's messages, when, and what they cite.
    Thread(Box<crate::inbox::ThreadFacts>),
    /// A meeting's changes since it was proposed: its invitation's `SEQUENCE`.
    Meeting {
        /// See [`meeting::sequence`].
        sequence: u32,
    },
}

/// One document's summary with what it was computed from.
#[derive(Clone, Debug)]
pub struct Entry {
    /// What lists show.
    pub summary: Summary,
    /// The document's version when it was computed: its heads in hex, sorted, comma-separated
    /// (as `draft show` gives it).
    pub version: String,
    /// Heads of each document it was read from (the document first, then the annexes).
    heads: Vec<(DocId, Vec<[u8; 32]>)>,
    /// Every suggestion on a draft (any state), for finding the draft of a suggestion.
    suggestions: Vec<String>,
    /// What other reads need of it.
    facts: Option<Facts>,
    /// [`Entry::listed_json`], made when first listed.
    listed: OnceLock<Box<str>>,
    /// A meeting's [`Meeting::instants`], read when first asked.
    instants: OnceLock<(Option<i64>, Option<i64>)>,
}

impl Entry {
    /// A meeting's start and end as instants ([`Meeting::instants`]), read once; none for
    /// another kind.
    pub fn meeting_instants(&self) -> (Option<i64>, Option<i64>) {
        *self.instants.get_or_init(|| match &self.summary {
            Summary::Meeting(m) => m.instants(),
            _ => (None, None),
        })
    }

    /// The entry as a list shows it, as JSON: its summary's fields and `version`. Made once, when
    /// first asked (the entry does not change: a new version is a new entry), so that a list of
    /// 10,000 meetings is copied, not serialised, on each request.
    pub fn listed_json(&self) -> &str {
        self.listed.get_or_init(|| {
            serde_json::to_string(&Listed { entry: &Untagged(&self.summary), version: &self.version })
                .unwrap_or_else(|_| "null".into())
                .into_boxed_str()
        })
    }

    /// What the inbox reads of it, if it is a draft.
    pub fn draft_facts(&self) -> Option<&crate::inbox::DraftFacts> {
        match &self.facts {
            Some(Facts::Draft(d)) => Some(d),
            _ => None,
        }
    }

    /// What the inbox reads of it, if it is a thread.
    pub fn thread_facts(&self) -> Option<&crate::inbox::ThreadFacts> {
        match &self.facts {
            Some(Facts::Thread(t)) => Some(t),
            _ => None,
        }
    }

    /// Its invitation's sequence, if it is a meeting.
    pub fn sequence(&self) -> Option<u32> {
        match &self.facts {
            Some(Facts::Meeting { sequence }) => Some(*sequence),
            _ => None,
        }
    }

    /// The document it summarises.
    pub fn id(&self) -> Option<DocId> {
        self.heads.first().map(|(d, _)| *d)
    }

    /// The kind of document it summarises.
    pub fn kind(&self) -> DocKind {
        match self.summary {
            Summary::Meeting(_) => DocKind::Meeting,
            Summary::Group(_) => DocKind::Group,
            Summary::Draft(_) => DocKind::Draft,
            Summary::Thread(_) => DocKind::Thread,
        }
    }
}

/// A summary's fields with `version` beside them, as each list has always given its entries.
#[derive(Serialize)]
pub(crate) struct Listed<'a, T: Serialize> {
    #[serde(flatten)]
    pub entry: &'a T,
    pub version: &'a str,
}

/// A summary as its own fields, not tagged with its kind as the store keeps it (see [`Listed`]).
pub(crate) struct Untagged<'a>(pub &'a Summary);

impl Serialize for Untagged<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Summary::Meeting(m) => m.serialize(s),
            Summary::Group(g) => g.serialize(s),
            Summary::Draft(d) => d.serialize(s),
            Summary::Thread(t) => t.serialize(s),
        }
    }
}

/// A summary as the store keeps it.
#[derive(Serialize, Deserialize)]
struct Stored {
    format: u32,
    /// Doc id (hex) and its heads (hex, sorted), the document first.
    heads: Vec<(String, Vec<String>)>,
    #[serde(default)]
    suggestions: Vec<String>,
    summary: Summary,
    #[serde(default)]
    facts: Option<Facts>,
}

/// The summaries the API reads.
#[derive(Default)]
struct Index {
    entries: HashMap<DocId, Arc<Entry>>,
    /// Documents whose entry is missing or older than the document.
    stale: HashMap<DocId, Stale>,
    /// How many stale marks were made: each mark's number, so that a summary the reader
    /// computed from a commit older than the latest mark never clears it.
    marks: u64,
    /// Computed, not yet in the store: the engine writes them with its next commit.
    unwritten: BTreeSet<DocId>,
    /// Suggestion id → its draft.
    suggestion_of: HashMap<String, DocId>,
}

/// A stale mark: the document's kind, and the mark's number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stale {
    kind: DocKind,
    mark: u64,
}

impl Index {
    fn mark_stale(&mut self, id: DocId, kind: DocKind) {
        self.marks += 1;
        self.stale.insert(id, Stale { kind, mark: self.marks });
    }

    /// The stale documents (of `kind`, if given), in id order, with their marks.
    fn stale_of(&self, kind: Option<DocKind>) -> Vec<(DocId, Stale)> {
        let mut v: Vec<_> =
            self.stale.iter().filter(|(_, s)| kind.is_none_or(|want| s.kind == want)).map(|(d, s)| (*d, *s)).collect();
        v.sort_by_key(|(d, _)| *d);
        v
    }

    fn insert(&mut self, id: DocId, e: Entry) {
        self.remove(id);
        for s in &e.suggestions {
            self.suggestion_of.insert(s.clone(), id);
        }
        self.entries.insert(id, Arc::new(e));
    }

    fn remove(&mut self, id: DocId) {
        if let Some(old) = self.entries.remove(&id) {
            for s in &old.suggestions {
                if self.suggestion_of.get(s) == Some(&id) {
                    self.suggestion_of.remove(s);
                }
            }
        }
    }
}

/// The summaries, shared between the engine (which writes them after a commit) and the API
/// (which reads them). Cheap to clone.
#[derive(Clone, Default)]
pub struct SummaryIndex(Arc<RwLock<Index>>);

/// Most ids one list request may name (`?ids=`).
pub const MAX_IDS: usize = 100;

impl SummaryIndex {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether any document of `kind` (among `ids`, if given) has a stale or missing summary.
    pub fn is_stale(&self, kind: DocKind, ids: Option<&BTreeSet<DocId>>) -> bool {
        let ix = self.read();
        match ids {
            Some(ids) => ids.iter().any(|id| ix.stale.get(id).is_some_and(|s| s.kind == kind)),
            None => ix.stale.values().any(|s| s.kind == kind),
        }
    }

    /// The summaries of `kind` (only those of `ids`, if given), in no order.
    pub fn entries(&self, kind: DocKind, ids: Option<&BTreeSet<DocId>>) -> Vec<Arc<Entry>> {
        let ix = self.read();
        match ids {
            Some(ids) => ids.iter().filter_map(|id| ix.entries.get(id)).filter(|e| e.kind() == kind).cloned().collect(),
            None => ix.entries.values().filter(|e| e.kind() == kind).cloned().collect(),
        }
    }

    /// Resolves an id or unique prefix of a document of `kind`, as [`Core::resolve`] does, from
    /// the documents summarised or waiting to be.
    pub fn resolve(&self, kind: DocKind, id: &str) -> Result<DocId, EngineError> {
        let id = id.trim().to_ascii_lowercase();
        let not_found = || EngineError::NotFound { kind, id: id.clone() };
        if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let prefix = crate::ids::HexPrefix::parse(&id).ok_or_else(not_found)?;
        let ix = self.read();
        let known = ix.entries.iter().map(|(d, e)| (*d, e.kind())).chain(ix.stale.iter().map(|(d, s)| (*d, s.kind)));
        let matches: BTreeSet<DocId> = known.filter(|(d, k)| *k == kind && prefix.matches(d)).map(|(d, _)| d).collect();
        match matches.len() {
            0 => Err(not_found()),
            1 => matches.into_iter().next().ok_or_else(not_found),
            count => Err(EngineError::Ambiguous { prefix: id, count }),
        }
    }

    /// How many documents wait for their summary.
    pub fn backlog(&self) -> usize {
        self.read().stale.len()
    }
}

/// The engine's part: the shared index, and what only the engine needs.
#[derive(Default)]
pub(super) struct Summaries {
    shared: SummaryIndex,
    /// Annex → the draft or thread it records on.
    parent_of: HashMap<DocId, DocId>,
}

impl Summaries {
    /// The index the API reads.
    pub fn shared(&self) -> SummaryIndex {
        self.shared.clone()
    }
}

fn summarised(kind: DocKind) -> bool {
    matches!(kind, DocKind::Meeting | DocKind::Group | DocKind::Draft | DocKind::Thread)
}

fn hex_heads(heads: &[[u8; 32]]) -> Vec<String> {
    let mut v: Vec<String> = heads.iter().map(hex::encode).collect();
    v.sort();
    v
}

/// After a commit: the documents it changed, and the drafts and threads whose annexes it
/// changed, are stale until computed again.
pub(super) fn changed(core: &mut Core, ids: &[DocId]) {
    let mut stale = Vec::new();
    for id in ids {
        match core.docs.meta(*id).map(|m| m.kind) {
            Some(k) if summarised(k) => stale.push((*id, k)),
            Some(DocKind::Annex) => {
                let parent = match core.summaries.parent_of.get(id) {
                    Some(p) => Some(*p),
                    // A Party's first record on it: the annex names its parent.
                    None => core
                        .docs
                        .get(&core.store, *id)
                        .ok()
                        .and_then(|a| crate::workspace::util::get_str(&*a, &automerge::ROOT, "parent").ok().flatten())
                        .and_then(|p| p.parse::<DocId>().ok()),
                };
                if let Some(p) = parent
                    && let Some(k) = core.docs.meta(p).map(|m| m.kind).filter(|k| summarised(*k))
                {
                    core.summaries.parent_of.insert(*id, p);
                    stale.push((p, k));
                }
            }
            _ => {}
        }
    }
    if !stale.is_empty() {
        let mut ix = core.summaries.shared.write();
        for (id, kind) in stale {
            ix.mark_stale(id, kind);
        }
    }
}

/// Computes stale summaries (of `kind`, or all) until `budget` is spent (none: all of them).
/// Returns whether some are still stale.
pub(super) fn refresh(core: &mut Core, kind: Option<DocKind>, budget: Option<Duration>) -> bool {
    let t0 = Instant::now();
    let todo = core.summaries.shared.read().stale_of(kind);
    let mut done = 0;
    for (id, st) in &todo {
        if budget.is_some_and(|b| t0.elapsed() >= b) {
            break;
        }
        let entry = compute(core, *id, st.kind);
        if let Ok(e) = &entry {
            for (a, _) in e.heads.iter().skip(1) {
                core.summaries.parent_of.insert(*a, *id);
            }
        }
        // The engine's documents are the newest there are: whatever the mark, it is cleared.
        core.summaries.shared.write().settle(*id, st.kind, entry, None);
        done += 1;
    }
    done < todo.len()
}

impl Index {
    /// Puts a computed summary in place of a stale mark. With `mark` (the reader's, from a
    /// commit that may be older), only if the document was not marked again since.
    fn settle(&mut self, id: DocId, kind: DocKind, entry: Result<Entry, EngineError>, mark: Option<u64>) -> bool {
        if mark.is_some_and(|m| self.stale.get(&id).map(|s| s.mark) != Some(m)) {
            return false;
        }
        self.stale.remove(&id);
        match entry {
            Ok(e) => {
                self.insert(id, e);
                self.unwritten.insert(id);
            }
            Err(e) => {
                // As the lists did before summaries: a document that does not read is left out.
                tracing::warn!(%id, %kind, error = %e, "document does not read; left out of the list");
                self.remove(id);
            }
        }
        true
    }
}

/// The pinned peers changed: which annexes of a draft or thread count, and whose signatures
/// verify, may have too, so every draft's and thread's summary is computed again.
pub(super) fn peers_changed(core: &mut Core) {
    let ids: Vec<(DocId, DocKind)> = core
        .docs
        .all()
        .filter(|(_, m)| matches!(m.kind, DocKind::Draft | DocKind::Thread))
        .map(|(id, m)| (id, m.kind))
        .collect();
    let mut ix = core.summaries.shared.write();
    for (id, kind) in ids {
        ix.mark_stale(id, kind);
    }
}

/// Computes every stale summary of `kind`: what a list asks before it answers.
pub fn refresh_kind(core: &mut Core, kind: DocKind) {
    refresh(core, Some(kind), None);
}

impl Core {
    /// The draft that holds suggestion `sid` (none, or one): from the summaries, computing the
    /// stale drafts' first if it is not found among them.
    pub fn draft_of_suggestion(&mut self, sid: &str) -> Vec<DocId> {
        let found = |c: &Core| c.summaries.shared.read().suggestion_of.get(sid).copied();
        if let Some(id) = found(self) {
            return vec![id];
        }
        if self.summaries.shared.is_stale(DocKind::Draft, None) {
            refresh_kind(self, DocKind::Draft);
        }
        found(self).into_iter().collect()
    }
}
