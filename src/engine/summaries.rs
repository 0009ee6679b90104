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
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

mod in_view;

pub use in_view::refresh as refresh_in_view;

use super::{Core, EngineError, EngineHandle};
use crate::ids::DocId;
use crate::store::{StoreError, Writer};
use crate::workspace::group::{self, Group};
use crate::workspace::meeting::{self, Meeting};
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
}

impl Entry {
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
        let ix = self.read();
        let known = ix.entries.iter().map(|(d, e)| (*d, e.kind())).chain(ix.stale.iter().map(|(d, s)| (*d, s.kind)));
        let matches: BTreeSet<DocId> =
            known.filter(|(d, k)| *k == kind && d.to_string().starts_with(&id)).map(|(d, _)| d).collect();
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

/// Takes the stored summaries whose heads are the documents' stored heads; every other
/// meeting, group, draft and thread is marked stale.
pub(super) fn load(core: &mut Core) -> Result<(), StoreError> {
    let rows = core.store.summaries()?;
    let mut ix = Index::default();
    let mut parent_of = HashMap::new();
    for (id, bytes) in rows {
        let Ok(s) = serde_json::from_slice::<Stored>(&bytes) else { continue };
        let Ok(heads) = s.heads.iter().map(|(d, h)| d.parse::<DocId>().map(|d| (d, h))).collect::<Result<Vec<_>, _>>()
        else {
            continue;
        };
        if s.format != FORMAT || heads.first().map(|(d, _)| *d) != Some(id) {
            continue;
        }
        let recorded: BTreeSet<DocId> = heads.iter().skip(1).map(|(d, _)| *d).collect();
        let fresh = heads.iter().all(|(d, h)| core.docs.meta(*d).is_some_and(|m| hex_heads(&m.heads) == **h))
            && match &s.summary {
                Summary::Draft(_) | Summary::Thread(_) => {
                    core.annexes_of(id).is_ok_and(|a| a.into_iter().collect::<BTreeSet<_>>() == recorded)
                }
                _ => true,
            };
        if !fresh {
            continue;
        }
        for a in &recorded {
            parent_of.insert(*a, id);
        }
        let version = heads.first().map(|(_, h)| h.join(",")).unwrap_or_default();
        let heads =
            heads.iter().map(|(d, _)| (*d, core.docs.meta(*d).map(|m| m.heads.clone()).unwrap_or_default())).collect();
        ix.insert(id, Entry { summary: s.summary, version, heads, suggestions: s.suggestions, facts: s.facts });
    }
    for (id, meta) in core.docs.all() {
        if summarised(meta.kind) && !ix.entries.contains_key(&id) {
            ix.mark_stale(id, meta.kind);
        }
    }
    if !ix.stale.is_empty() {
        tracing::info!(stale = ix.stale.len(), "summaries to compute (new or changed since they were stored)");
    }
    *core.summaries.shared.write() = ix;
    core.summaries.parent_of = parent_of;
    Ok(())
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

/// Reads one document (and its annexes) into its summary.
fn compute(core: &mut Core, id: DocId, kind: DocKind) -> Result<Entry, EngineError> {
    let sid = id.to_string();
    let heads_of = |core: &mut Core, d: DocId| -> Result<(DocId, Vec<[u8; 32]>), EngineError> {
        Ok((d, core.doc(d)?.get_heads().into_iter().map(|h| h.0).collect()))
    };
    let mut heads = vec![heads_of(core, id)?];
    let (summary, suggestions, facts) = match kind {
        DocKind::Meeting => of_meeting(core.doc(id)?, &sid)?,
        DocKind::Group => (Summary::Group(Box::new(group::read(core.doc(id)?, &sid)?)), vec![], None),
        DocKind::Draft => {
            for a in core.annexes_of(id)? {
                heads.push(heads_of(core, a)?);
            }
            let recs = core.draft_records(id)?;
            of_draft(&draft::read_with(core.doc(id)?, &recs, &sid)?, &recs)
        }
        DocKind::Thread => {
            for a in core.annexes_of(id)? {
                heads.push(heads_of(core, a)?);
            }
            of_thread(core.read_thread(id)?)
        }
        other => return Err(crate::workspace::WorkspaceError::Malformed(format!("a {other} has no summary")).into()),
    };
    let version = hex_heads(&heads[0].1).join(",");
    Ok(Entry { summary, version, heads, suggestions, facts })
}

/// A meeting's summary and its invitation's sequence.
fn of_meeting(doc: &automerge::Automerge, id: &str) -> Result<(Summary, Vec<String>, Option<Facts>), EngineError> {
    let facts = Facts::Meeting { sequence: meeting::sequence(doc) };
    Ok((Summary::Meeting(Box::new(meeting::read(doc, id)?)), vec![], Some(facts)))
}

/// A draft's summary, its suggestions' ids (of any state) and the inbox's facts.
fn of_draft(d: &draft::Draft, recs: &draft::Records) -> (Summary, Vec<String>, Option<Facts>) {
    let suggestions = recs.parties.iter().flat_map(|r| r.suggestions.iter().map(|s| s.id.clone())).collect();
    let facts = Facts::Draft(Box::new(crate::inbox::DraftFacts::from(d)));
    (Summary::Draft(Box::new(draft_summary(d))), suggestions, Some(facts))
}

/// A thread's summary and the inbox's facts.
fn of_thread(t: crate::workspace::thread::Thread) -> (Summary, Vec<String>, Option<Facts>) {
    let facts = Facts::Thread(Box::new(crate::inbox::ThreadFacts::from(&t)));
    (Summary::Thread(Box::new(thread_summary(t))), vec![], Some(facts))
}

/// What the draft list shows of a draft.
pub fn draft_summary(d: &draft::Draft) -> DraftSummary {
    DraftSummary {
        chars: d.text.chars().count(),
        stale: draft::stale_provisions(d).len(),
        provisions: d.provisions.len(),
        id: d.id.clone(),
        group: d.group.clone(),
        title: d.title.clone(),
        titles: d.titles.clone(),
        lang: d.lang.clone(),
        languages: d.languages.clone(),
        state: d.state,
        updated_at: d.updated_at.clone(),
        suggestions_open: d.open_suggestions.len(),
        comments: d.provisions.iter().map(|p| p.comments.len()).sum(),
        versions: d.versions.len(),
    }
}

/// What the thread list shows of a thread.
pub fn thread_summary(t: crate::workspace::thread::Thread) -> ThreadSummary {
    let last = t.messages.last();
    let mut participants: Vec<Author> = Vec::new();
    for m in &t.messages {
        if let Some(a) = &m.author
            && !participants.contains(a)
        {
            participants.push(a.clone());
        }
    }
    participants.sort_by(|a, b| (&a.party, &a.officer).cmp(&(&b.party, &b.officer)));
    ThreadSummary {
        last_at: last.map(|m| m.at.clone()),
        last_by: last.and_then(|m| m.author.clone()),
        messages: t.messages.len(),
        participants,
        id: t.id,
        subject: t.subject,
        titles: t.titles,
    }
}

/// The summaries computed since the last commit (by the engine or the reader), encoded for the
/// store: [`put`] writes them into a transaction, [`written`] says it committed.
pub(super) fn to_write(s: &Summaries) -> Vec<(DocId, Vec<u8>)> {
    let ix = s.shared.read();
    let mut out = Vec::with_capacity(ix.unwritten.len());
    for id in &ix.unwritten {
        let Some(e) = ix.entries.get(id) else { continue };
        let stored = Stored {
            format: FORMAT,
            heads: e.heads.iter().map(|(d, h)| (d.to_string(), hex_heads(h))).collect(),
            suggestions: e.suggestions.clone(),
            summary: e.summary.clone(),
            facts: e.facts.clone(),
        };
        match serde_json::to_vec(&stored) {
            Ok(bytes) => out.push((*id, bytes)),
            Err(e) => tracing::warn!(%id, error = %e, "summary does not encode; it will be computed again at start"),
        }
    }
    out
}

/// Writes what [`to_write`] gave into the round's transaction.
pub(super) fn put(rows: &[(DocId, Vec<u8>)], w: &mut Writer<'_>) -> Result<(), StoreError> {
    for (id, bytes) in rows {
        w.put_summary(*id, bytes)?;
    }
    Ok(())
}

/// The transaction that [`put`] them committed. A summary computed again meanwhile stays
/// unwritten only until the next commit, or is computed again at start: never wrong.
pub(super) fn written(s: &Summaries, rows: &[(DocId, Vec<u8>)]) {
    if rows.is_empty() {
        return;
    }
    let mut ix = s.shared.write();
    for (id, _) in rows {
        ix.unwritten.remove(id);
    }
}

/// Writes what waits, in a transaction of its own (background work, shutdown).
pub(super) fn flush(core: &mut Core) {
    let rows = to_write(&core.summaries);
    if rows.is_empty() {
        return;
    }
    match core.store.write(|w| put(&rows, w)) {
        Ok(()) => written(&core.summaries, &rows),
        Err(e) => tracing::warn!(error = %e, "cannot write summaries; they will be computed again at start"),
    }
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

/// How long [`keep_up`] lets changes settle before it computes what they made stale: an officer
/// typing makes the same draft stale at every keystroke, and a list computes what it needs anyway.
const SETTLE: Duration = Duration::from_millis(250);
/// The longest [`keep_up`] waits for changes to settle.
const SETTLE_MAX: Duration = Duration::from_secs(2);

/// Works off the stale summaries (a store from before summaries, a bulk sync, the documents
/// officers are editing) on the reader's threads, in slices, so that lists find them ready;
/// the engine writes them with its next commit, or at once when [`FLUSH_EVERY`] wait. Ends with
/// the engine or when `stop` is cancelled.
pub async fn keep_up(engine: EngineHandle, stop: tokio_util::sync::CancellationToken) {
    let mut events = engine.subscribe();
    let index = engine.summaries();
    loop {
        while index.backlog() > 0 {
            // A node stopping does not wait for a backlog (a whole workspace after an upgrade).
            if stop.is_cancelled() {
                return;
            }
            let ix = index.clone();
            let more =
                match engine.view_background(move |v| Ok(refresh_in_view(&ix, v, None, None, Some(SLICE))?.1)).await {
                    Ok(more) => more,
                    Err(EngineError::Stopped) => return,
                    // A store that failed a read: lists still compute what they need; try again.
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot compute summaries; trying again in a second");
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                };
            if !more && index.backlog() > 0 {
                // What is left was marked again while it was computed: after the next change.
                break;
            }
            if index.0.read().unwrap_or_else(PoisonError::into_inner).unwritten.len() >= FLUSH_EVERY
                && engine
                    .read(|c| {
                        flush(c);
                        Ok(())
                    })
                    .await
                    .is_err()
            {
                return;
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            ev = events.recv() => {
                if let Err(tokio::sync::broadcast::error::RecvError::Closed) = ev {
                    return;
                }
            }
        }
        // Let a burst of changes (typing, a sync) end before computing what it made stale: quiet
        // for SETTLE, or at most SETTLE_MAX after it began.
        let most = tokio::time::sleep(SETTLE_MAX);
        tokio::pin!(most);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = &mut most => break,
                _ = tokio::time::sleep(SETTLE) => break,
                ev = events.recv() => {
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) = ev {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use automerge::Automerge;

    use super::*;
    use crate::workspace::party_docs::PartyDoc;
    use crate::workspace::testing::ctx;
    use crate::workspace::thread;

    fn new_draft(text: &str) -> Automerge {
        let mut d = Automerge::new();
        draft::create(
            &mut d,
            &ctx("ana", "cica"),
            &draft::NewDraft {
                titles: Titles {
                    title_en: Some("Joint proposals".into()), title_ru: Some("Совместные".into())
                },
                group: "g1".into(),
                title: "Joint proposals".into(),
                lang: "en".into(),
                text: text.into(),
                languages: vec!["en".into(), "ru".into()],
                parties: vec!["cica".into(), "sco-rats".into()],
            },
        )
        .unwrap();
        d
    }

    fn annex(parent: DocId, party: &str) -> Automerge {
        let mut a = PartyDoc::Annex(parent).genesis(&party.parse().unwrap()).unwrap();
        a.set_actor(automerge::ActorId::random());
        a
    }

    #[test]
    fn a_draft_summary_counts_what_the_list_shows() {
        let id = DocId([7; 16]);
        let d = new_draft("Article 1. Scope\n\nArticle 2. Terms");
        let read = draft::read(&d, &id.to_string()).unwrap();
        let (p1, p2) = (read.provisions[0].id.clone(), read.provisions[1].id.clone());
        let mut a = annex(id, "cica");
        draft::comment(&mut a, &d, &ctx("ana", "cica"), &p1, "Too broad", None).unwrap();
        draft::comment(&mut a, &d, &ctx("ana", "cica"), &p2, "Fine", None).unwrap();
        let sid = draft::suggest(&mut a, &d, &ctx("ana", "cica"), &p2, "en", "Article 2. Definitions").unwrap();
        let recs = draft::Records::read(&[&a], &|_| None).unwrap();
        let full = draft::read_with(&d, &recs, &id.to_string()).unwrap();
        let s = draft_summary(&full);
        assert_eq!((s.provisions, s.comments, s.suggestions_open, s.versions), (2, 2, 1, 0));
        assert_eq!(s.chars, "Article 1. Scope\n\nArticle 2. Terms".chars().count());
        assert_eq!((s.lang.as_str(), s.languages.len(), s.group.as_str()), ("en", 2, "g1"));
        assert_eq!(s.titles.title_ru.as_deref(), Some("Совместные"));
        assert_eq!((s.state, s.updated_at.clone()), (full.state, full.updated_at.clone()));
        assert!(recs.parties[0].suggestions.iter().any(|x| x.id == sid));
    }

    #[test]
    fn a_thread_summary_has_the_last_message_and_who_wrote() {
        let id = DocId([9; 16]);
        let mut t = Automerge::new();
        thread::start(&mut t, &ctx("ana", "cica"), "Lists", &Titles::default()).unwrap();
        let (mut a, mut b) = (annex(id, "cica"), annex(id, "sco-rats"));
        thread::post(&mut a, &ctx("ana", "cica"), "Our list.").unwrap();
        thread::post(&mut a, &ctx("ana", "cica"), "And another.").unwrap();
        let mut late = ctx("oleg", "sco-rats");
        late.now += chrono::Duration::hours(1);
        thread::post(&mut b, &late, "Received.").unwrap();
        let s = thread_summary(thread::read(&t, &[&a, &b], &id.to_string()).unwrap());
        assert_eq!((s.messages, s.subject.as_str()), (3, "Lists"));
        assert_eq!(s.last_by.as_ref().map(|a| a.officer.as_str()), Some("oleg"));
        let who: Vec<(&str, &str)> = s.participants.iter().map(|a| (a.party.as_str(), a.officer.as_str())).collect();
        assert_eq!(who, vec![("cica", "ana"), ("sco-rats", "oleg")]);
    }

    fn s_of(d: &Automerge) -> Summary {
        Summary::Draft(Box::new(draft_summary(&draft::read(d, "ab").unwrap())))
    }

    #[test]
    fn stored_summaries_read_back_as_the_lists_show_them() {
        let d = new_draft("One");
        let s = s_of(&d);
        let mut m = Automerge::new();
        meeting::create(
            &mut m,
            &ctx("ana", "cica"),
            &meeting::NewMeeting {
                title: "Consultation".into(),
                titles: Titles { title_en: None, title_ru: Some("Консультация".into()) },
                starts: "2027-02-10T10:00:00Z".into(),
                tz: None,
                ends: None,
                kind: meeting::MeetingKind::Consultation,
                venue: Some("Astana".into()),
                sidelines_of: None,
            },
        )
        .unwrap();
        let ms = Summary::Meeting(Box::new(meeting::read(&m, "cd").unwrap()));
        let facts = Facts::Draft(Box::new(crate::inbox::DraftFacts::from(&draft::read(&d, "ab").unwrap())));
        for (s, inbox) in [(s, Some(facts)), (ms, None)] {
            let stored = Stored {
                format: FORMAT,
                heads: vec![("00".repeat(16), vec!["11".repeat(32)])],
                suggestions: vec!["s1".into()],
                summary: s.clone(),
                facts: inbox.clone(),
            };
            let back: Stored = serde_json::from_slice(&serde_json::to_vec(&stored).unwrap()).unwrap();
            assert_eq!(serde_json::to_value(&back.summary).unwrap(), serde_json::to_value(&s).unwrap());
            assert_eq!(back.suggestions, vec!["s1".to_string()]);
            assert_eq!(serde_json::to_value(&back.facts).unwrap(), serde_json::to_value(&inbox).unwrap());
        }
        // The facts are the inbox's, never a list's: a draft's summary does not carry them.
        assert!(serde_json::to_value(s_of(&d)).unwrap().get("stale_version").is_none());
    }

    fn entry(kind: DocKind, suggestions: &[&str]) -> Entry {
        let summary = match kind {
            DocKind::Draft => Summary::Draft(Box::new(draft_summary(&draft::read(&new_draft("x"), "ab").unwrap()))),
            _ => Summary::Thread(Box::new(ThreadSummary {
                id: String::new(),
                subject: String::new(),
                titles: Titles::default(),
                messages: 0,
                last_at: None,
                last_by: None,
                participants: vec![],
            })),
        };
        Entry {
            summary,
            version: String::new(),
            heads: vec![],
            suggestions: suggestions.iter().map(|s| s.to_string()).collect(),
            facts: None,
        }
    }

    #[test]
    fn the_index_finds_suggestions_resolves_prefixes_and_knows_what_is_stale() {
        let ix = SummaryIndex::default();
        let d1: DocId = "abcd0000000000000000000000000001".parse().unwrap();
        let d2: DocId = "abcd0000000000000000000000000002".parse().unwrap();
        let t1: DocId = "ef000000000000000000000000000001".parse().unwrap();
        ix.write().insert(d1, entry(DocKind::Draft, &["s1", "s2"]));
        ix.write().insert(d2, entry(DocKind::Draft, &["s3"]));
        ix.write().insert(t1, entry(DocKind::Thread, &[]));
        assert_eq!(ix.read().suggestion_of.get("s2"), Some(&d1));
        // A draft computed again drops the suggestions it no longer holds.
        ix.write().insert(d1, entry(DocKind::Draft, &["s1"]));
        assert_eq!(ix.read().suggestion_of.get("s2"), None);
        assert_eq!(ix.read().suggestion_of.get("s1"), Some(&d1));

        assert!(matches!(ix.resolve(DocKind::Draft, "abcd"), Err(EngineError::Ambiguous { count: 2, .. })));
        assert_eq!(ix.resolve(DocKind::Draft, "ABCD0000000000000000000000000002").unwrap(), d2);
        assert!(matches!(ix.resolve(DocKind::Draft, "ef00"), Err(EngineError::NotFound { .. })));
        assert_eq!(ix.resolve(DocKind::Thread, "ef00").unwrap(), t1);

        assert!(!ix.is_stale(DocKind::Draft, None));
        ix.write().mark_stale(d2, DocKind::Draft);
        assert!(ix.is_stale(DocKind::Draft, None));
        assert!(!ix.is_stale(DocKind::Thread, None));
        assert!(!ix.is_stale(DocKind::Draft, Some(&[d1].into_iter().collect())));
        assert!(ix.is_stale(DocKind::Draft, Some(&[d2].into_iter().collect())));
        assert_eq!(ix.entries(DocKind::Draft, None).len(), 2);
        assert_eq!(ix.entries(DocKind::Draft, Some(&[d1, t1].into_iter().collect())).len(), 1);
    }
}
