//! The engine's documents: metadata of all of them, a bounded set loaded in memory, and their
//! persistence as snapshot plus incremental chunks.

mod collected;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use automerge::{ActorId, Automerge, Change, ChangeHash};

use self::collected::Collected;

use super::in_sync::{OurHeads, Touched};
use crate::authority::Owner;
use crate::ids::DocId;
use crate::store::{DocMeta, Store, StoreError, Writer};
use crate::workspace::DocKind;

/// One document as the engine holds it.
struct Slot {
    /// What the store has, as of the last commit (heads included).
    meta: DocMeta,
    /// The document, if loaded. Boxed: an `Automerge` is about 2.7 KiB before it holds anything,
    /// and every document of the node has a slot (11 MiB of map for workload A's 1,000 when
    /// inline, 270 MiB for 100,000).
    doc: Option<Box<Automerge>>,
    /// For the LRU: larger is more recent.
    last_used: u64,
    /// Its decompressed size as of the last commit, once measured (only documents that peers
    /// change are: see [`Docs::size`]).
    inflated: Option<u64>,
    /// Decompressed bytes peers added since the last commit.
    pending: u64,
    /// Its stored size, counted in [`Docs::loaded_bytes`] while it is loaded.
    weight: u64,
}

/// What must be written for a document at the next commit.
#[derive(Clone)]
pub(super) enum Dirty {
    /// The loaded document changed; write what changed since `meta.heads`.
    Changed,
    /// A document received whole from a peer: its bytes (already verified by loading them)
    /// become the snapshot as they are, which costs no re-encoding, unless the document
    /// changed after it came in the same round (its heads are no longer `heads`, those of the
    /// bytes): then it is saved whole, so that the snapshot holds what its metadata says.
    Received { bytes: Vec<u8>, heads: Vec<[u8; 32]> },
}

/// A change of metadata that takes effect once the transaction commits.
pub(super) struct Pending(Vec<(DocId, DocMeta, Option<u64>)>);

/// How to put a document back as it was before a peer's batch touched it, if the batch is
/// refused.
pub(super) enum Backup {
    /// It had nothing uncommitted: dropping it from memory brings back the stored state.
    Clean,
    /// It had uncommitted changes (an officer's, or an earlier batch's, this round): a copy,
    /// with the bytes peers had added.
    Dirty(Box<Automerge>, Dirty, u64),
    /// The batch brought it: forget it.
    New,
}

/// All documents of the node.
pub(super) struct Docs {
    slots: HashMap<DocId, Slot>,
    dirty: BTreeMap<DocId, Dirty>,
    loaded: usize,
    cap: usize,
    tick: u64,
    actor: ActorId,
    /// Documents with bytes added by peers since the last commit.
    grown: Vec<DocId>,
    /// The stored size of the loaded documents: the cache's second bound, [`CACHE_STORED_BYTES`].
    loaded_bytes: u64,
    /// The bound on `loaded_bytes` ([`CACHE_STORED_BYTES`]; smaller in tests).
    budget: u64,
    /// How many documents of each kind there are, kept as slots come and go (the status gives
    /// it after every keystroke).
    by_kind: BTreeMap<DocKind, usize>,
    /// The documents whose metadata changed or that came or went since the status last
    /// counted which documents each peer holds as we do ([`super::in_sync`]).
    touched: Touched,
    /// The changes of this round, collected once for the commit and the event ([`collected`]).
    collected: Collected,
    /// Documents received whole that the last commit stored, let go once the round is done
    /// ([`Docs::let_go_arrived`]).
    arrived: Vec<DocId>,
}

/// How much stored (compressed) document the cache keeps loaded, besides its count. A loaded
/// automerge document takes far more memory than its stored bytes (about 20 times for workload
/// A's small drafts), so a count alone lets a node that reads every document once (the search
/// index's first build, a bulk sync) hold hundreds of them: about 100 MiB in workload A.
const CACHE_STORED_BYTES: u64 = 2 * 1024 * 1024;

/// The most documents named as changed between two counts of the status; past it, the next
/// count compares every document, as one would once anyway.
const TOUCHED_NAMED: usize = 4096;

/// A loaded document, and its changes since some heads if there are not too many.
pub(super) type ChangesSince<'a> = (&'a Automerge, Option<Cow<'a, [Change]>>);

/// Changes as `save_after` writes them: their bytes one after the other.
fn raw(changes: &[Change]) -> Vec<u8> {
    let mut out = Vec::with_capacity(changes.iter().map(|c| c.raw_bytes().len()).sum());
    for c in changes {
        out.extend_from_slice(c.raw_bytes());
    }
    out
}

/// A document's weight in the cache: its stored bytes, at least one.
fn stored(meta: &DocMeta) -> u64 {
    meta.snapshot_bytes.saturating_add(meta.chunk_bytes).max(1)
}

/// Loading a document from the store failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored bytes are not a document.
    #[error("document {doc} in the store does not load: {reason}")]
    Corrupt {
        /// The document.
        doc: DocId,
        /// automerge's complaint.
        reason: String,
    },
    /// No such document.
    #[error("no document {0}")]
    Missing(DocId),
}

impl Docs {
    /// Reads every document's metadata; loads none of them.
    pub fn open(store: &Store, cap: usize, actor: ActorId) -> Result<Docs, StoreError> {
        let slots: HashMap<DocId, Slot> =
            store.all_docs()?.into_iter().map(|(id, meta)| (id, Slot::new(meta, None, 0))).collect();
        let mut by_kind = BTreeMap::new();
        for s in slots.values() {
            *by_kind.entry(s.meta.kind).or_default() += 1;
        }
        Ok(Docs {
            slots,
            dirty: BTreeMap::new(),
            loaded: 0,
            cap: cap.max(1),
            tick: 0,
            actor,
            grown: Vec::new(),
            loaded_bytes: 0,
            budget: CACHE_STORED_BYTES,
            by_kind,
            touched: Touched::default(),
            collected: Collected::default(),
            arrived: Vec::new(),
        })
    }

    /// Whether the document exists here.
    pub fn contains(&self, id: DocId) -> bool {
        self.slots.contains_key(&id)
    }

    /// A document's committed metadata.
    pub fn meta(&self, id: DocId) -> Option<&DocMeta> {
        self.slots.get(&id).map(|s| &s.meta)
    }

    /// Every document with its committed metadata, in id order.
    pub fn all(&self) -> impl Iterator<Item = (DocId, &DocMeta)> {
        let mut v: Vec<_> = self.slots.iter().map(|(id, s)| (*id, &s.meta)).collect();
        v.sort_by_key(|(id, _)| *id);
        v.into_iter()
    }

    /// The ids of one kind, in id order.
    pub fn ids_of(&self, kind: DocKind) -> Vec<DocId> {
        let mut v: Vec<_> = self.slots.iter().filter(|(_, s)| s.meta.kind == kind).map(|(id, _)| *id).collect();
        v.sort();
        v
    }

    /// Ids that start with `prefix` (lowercase hex). A whole id is looked up; a shorter prefix
    /// is compared nibble by nibble, without formatting each id (a keystroke names its draft by
    /// its whole id, and a workspace of years holds tens of thousands).
    pub fn ids_with_prefix(&self, prefix: &str) -> Vec<DocId> {
        if let Ok(id) = prefix.parse::<DocId>() {
            return if self.slots.contains_key(&id) { vec![id] } else { Vec::new() };
        }
        let Some(prefix) = crate::ids::HexPrefix::parse(prefix) else { return Vec::new() };
        let mut v: Vec<_> = self.slots.keys().filter(|id| prefix.matches(id)).copied().collect();
        v.sort();
        v
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// How many documents of each kind there are (those not committed yet included).
    pub fn by_kind(&self) -> &BTreeMap<DocKind, usize> {
        &self.by_kind
    }

    /// The documents whose heads changed, or that came or went, since this was last taken.
    pub fn take_touched(&mut self) -> Touched {
        std::mem::take(&mut self.touched)
    }

    fn came(&mut self, id: DocId, kind: DocKind) {
        *self.by_kind.entry(kind).or_default() += 1;
        self.touch(id);
    }

    fn went(&mut self, id: DocId, kind: DocKind) {
        if let Some(n) = self.by_kind.get_mut(&kind) {
            *n = n.saturating_sub(1);
        }
        self.touch(id);
    }

    /// Notes that `id`'s heads changed. Past [`TOUCHED_NAMED`] documents (a bootstrap takes in
    /// thousands before anyone reads the status), the next count compares them all.
    fn touch(&mut self, id: DocId) {
        if self.touched.all {
            return;
        }
        if self.touched.docs.len() >= TOUCHED_NAMED {
            self.touched.docs = Default::default();
            self.touched.all = true;
        } else {
            self.touched.docs.insert(id);
        }
    }

    /// The document, loaded from the store if it is not in memory.
    pub fn get(&mut self, store: &Store, id: DocId) -> Result<&mut Automerge, LoadError> {
        self.tick += 1;
        let tick = self.tick;
        let slot = self.slots.get_mut(&id).ok_or(LoadError::Missing(id))?;
        slot.last_used = tick;
        if slot.doc.is_none() {
            let bytes = store.doc_bytes(id)?.ok_or(LoadError::Missing(id))?;
            let mut doc = Automerge::load(&bytes).map_err(|e| LoadError::Corrupt { doc: id, reason: e.to_string() })?;
            doc.set_actor(self.actor.clone());
            slot.doc = Some(Box::new(doc));
            slot.weight = stored(&slot.meta);
            self.loaded_bytes = self.loaded_bytes.saturating_add(slot.weight);
            self.loaded += 1;
        }
        slot.doc.as_deref_mut().ok_or(LoadError::Missing(id))
    }

    /// This node's actor, which every document it writes uses.
    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    /// Adds a document created on this node.
    pub fn insert_local(&mut self, id: DocId, kind: DocKind, owner: Owner, mut doc: Automerge) {
        doc.set_actor(self.actor.clone());
        self.insert(id, kind, owner, Box::new(doc), Dirty::Changed);
    }

    /// Adds a document received whole from a peer, with the bytes it came as and their
    /// decompressed size.
    pub fn insert_received(
        &mut self,
        id: DocId,
        kind: DocKind,
        owner: Owner,
        mut doc: Box<Automerge>,
        bytes: Vec<u8>,
        inflated: u64,
    ) {
        doc.set_actor(self.actor.clone());
        let weight = (bytes.len() as u64).max(1);
        let heads = doc.get_heads().into_iter().map(|h| h.0).collect();
        self.insert(id, kind, owner, doc, Dirty::Received { bytes, heads });
        if let Some(s) = self.slots.get_mut(&id) {
            s.inflated = Some(inflated);
            self.loaded_bytes = self.loaded_bytes.saturating_add(weight).saturating_sub(s.weight);
            s.weight = weight;
        }
    }

    /// The document's decompressed size with what peers added this round. Measured from the
    /// store the first time it is asked for (a streaming pass, nothing kept), then kept up to
    /// date at each commit.
    pub fn size(&mut self, store: &Store, id: DocId) -> Result<u64, LoadError> {
        let slot = self.slots.get_mut(&id).ok_or(LoadError::Missing(id))?;
        let committed = match slot.inflated {
            Some(n) => n,
            None => {
                let n = match store.doc_bytes(id)? {
                    Some(bytes) => inflated(&bytes).ok_or_else(|| LoadError::Corrupt {
                        doc: id,
                        reason: "its stored bytes do not measure".into(),
                    })?,
                    None => 0,
                };
                slot.inflated = Some(n);
                n
            }
        };
        Ok(committed.saturating_add(slot.pending))
    }

    /// Notes that a peer added `bytes` (decompressed) to a document this round.
    pub fn grow(&mut self, id: DocId, bytes: u64) {
        if let Some(s) = self.slots.get_mut(&id) {
            s.pending = s.pending.saturating_add(bytes);
            self.grown.push(id);
        }
    }

    fn insert(&mut self, id: DocId, kind: DocKind, owner: Owner, doc: Box<Automerge>, dirty: Dirty) {
        self.tick += 1;
        let meta = DocMeta { kind, heads: Vec::new(), snapshot_bytes: 0, chunk_bytes: 0, next_chunk: 0, owner };
        let old = self.slots.insert(id, Slot::new(meta, Some(doc), self.tick));
        if let Some(old) = &old {
            self.went(id, old.meta.kind);
        }
        self.came(id, kind);
        if let Some(old) = old
            && old.doc.is_some()
        {
            self.loaded -= 1;
            self.loaded_bytes = self.loaded_bytes.saturating_sub(old.weight);
        }
        self.loaded += 1;
        self.loaded_bytes = self.loaded_bytes.saturating_add(1);
        self.dirty.insert(id, dirty);
    }

    /// What it takes to put `id` back as it is now, should a peer's batch that is about to
    /// change it be refused. Cheap unless the document has uncommitted changes.
    pub fn backup(&self, id: DocId) -> Backup {
        match (self.slots.get(&id), self.dirty.get(&id)) {
            (None, _) => Backup::New,
            (Some(s), Some(d)) => match &s.doc {
                Some(doc) => Backup::Dirty(doc.clone(), d.clone(), s.pending),
                None => Backup::Clean,
            },
            (Some(_), None) => Backup::Clean,
        }
    }

    /// Puts a document back as [`Docs::backup`] found it.
    pub fn restore(&mut self, id: DocId, backup: Backup) {
        match backup {
            Backup::New => {
                if let Some(s) = self.slots.remove(&id) {
                    self.went(id, s.meta.kind);
                    if s.doc.is_some() {
                        self.loaded -= 1;
                        self.loaded_bytes = self.loaded_bytes.saturating_sub(s.weight);
                    }
                }
                self.dirty.remove(&id);
            }
            Backup::Clean => {
                if let Some(s) = self.slots.get_mut(&id) {
                    s.pending = 0;
                    if s.doc.take().is_some() {
                        self.loaded -= 1;
                        self.loaded_bytes = self.loaded_bytes.saturating_sub(s.weight);
                    }
                }
                self.dirty.remove(&id);
            }
            Backup::Dirty(doc, d, pending) => {
                if let Some(s) = self.slots.get_mut(&id) {
                    if s.doc.is_none() {
                        self.loaded += 1;
                        self.loaded_bytes = self.loaded_bytes.saturating_add(s.weight);
                    }
                    s.doc = Some(doc);
                    s.pending = pending;
                }
                self.dirty.insert(id, d);
            }
        }
    }

    /// Notes that a loaded document changed and must be written at the next commit.
    pub fn mark_changed(&mut self, id: DocId) {
        self.dirty.entry(id).or_insert(Dirty::Changed);
    }

    /// Whether anything waits to be written.
    pub fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Writes every changed document into `w`: a chunk with what changed since the last
    /// commit, or a fresh snapshot once the chunks would outgrow it (compaction). Returns the
    /// metadata to adopt once the transaction commits, and which documents really changed.
    pub fn persist(&mut self, w: &mut Writer<'_>) -> Result<(Pending, Vec<DocId>), StoreError> {
        let mut pending = Vec::new();
        let mut changed = Vec::new();
        for (id, dirty) in &self.dirty {
            let Some(slot) = self.slots.get(id) else {
                continue;
            };
            let Some(doc) = slot.doc.as_ref() else {
                continue;
            };
            let heads: Vec<[u8; 32]> = doc.get_heads().into_iter().map(|h| h.0).collect();
            let mut meta = slot.meta.clone();
            // A measured size follows what is written: a new snapshot is measured again, a chunk
            // adds its own size.
            let mut size = slot.inflated;
            match dirty {
                Dirty::Received { bytes, heads: came } if *came == heads => {
                    w.put_snapshot(*id, bytes)?;
                    meta.snapshot_bytes = bytes.len() as u64;
                    meta.chunk_bytes = 0;
                    meta.next_chunk = 0;
                }
                // Received, then changed in the same round: its snapshot is not written yet
                // (`snapshot_bytes` 0), so what follows saves it whole.
                Dirty::Received { .. } | Dirty::Changed => {
                    if heads == meta.heads && meta.snapshot_bytes > 0 {
                        continue;
                    }
                    let old: Vec<ChangeHash> = meta.heads.iter().map(|h| ChangeHash(*h)).collect();
                    // What `save_after` gives, from the changes this round collected if it did.
                    let chunk = if meta.snapshot_bytes == 0 {
                        Vec::new()
                    } else {
                        let now: Vec<ChangeHash> = heads.iter().map(|h| ChangeHash(*h)).collect();
                        match self.collected.get(*id, &old, &now) {
                            Some(changes) => raw(changes),
                            None => {
                                let changes = doc.get_changes(&old);
                                let chunk = raw(&changes);
                                self.collected.note(*id, &old, &now, changes);
                                chunk
                            }
                        }
                    };
                    if meta.snapshot_bytes == 0 || meta.chunk_bytes + chunk.len() as u64 > meta.snapshot_bytes {
                        let snap = doc.save();
                        size = size.and_then(|_| inflated(&snap));
                        w.put_snapshot(*id, &snap)?;
                        meta.snapshot_bytes = snap.len() as u64;
                        meta.chunk_bytes = 0;
                        meta.next_chunk = 0;
                    } else {
                        size = size.and_then(|n| Some(n.saturating_add(inflated(&chunk)?)));
                        w.put_chunk(*id, meta.next_chunk, &chunk)?;
                        meta.chunk_bytes += chunk.len() as u64;
                        meta.next_chunk += 1;
                    }
                }
            }
            meta.heads = heads;
            w.put_meta(*id, &meta)?;
            pending.push((*id, meta, size));
            changed.push(*id);
        }
        Ok((Pending(pending), changed))
    }

    /// The transaction committed: adopt its metadata, and unload what exceeds the cache.
    pub fn committed(&mut self, pending: Pending) {
        for (id, meta, size) in pending.0 {
            if let Some(slot) = self.slots.get_mut(&id) {
                if slot.doc.is_some() {
                    self.loaded_bytes = self.loaded_bytes.saturating_sub(slot.weight).saturating_add(stored(&meta));
                    slot.weight = stored(&meta);
                }
                slot.meta = meta;
                slot.inflated = size;
                self.touch(id);
            }
        }
        for id in std::mem::take(&mut self.grown) {
            if let Some(s) = self.slots.get_mut(&id) {
                s.pending = 0;
            }
        }
        self.arrived.extend(self.dirty.iter().filter(|(_, d)| matches!(d, Dirty::Received { .. })).map(|(id, _)| *id));
        // Least recent of all: past the bound, what came whole goes before what this node uses.
        for id in &self.arrived {
            if let Some(s) = self.slots.get_mut(id) {
                s.last_used = 0;
            }
        }
        self.dirty.clear();
        self.collected.clear();
        self.evict();
    }

    /// Unloads the documents received whole that the last commit stored. No one on this node
    /// asked for them: a peer sent them because they are new here (a fresh node takes in the
    /// whole workspace this way). Kept, they filled the cache's bound with documents that are
    /// seldom read again on the engine (an officer's pages are the reader's), and a loaded
    /// document takes about ten times its stored bytes: 21 MB of workload A's receiving node.
    /// Called at the end of the round, after what the commit does with them (events, signed
    /// originals, the next messages to peers); one used again is loaded from the store.
    pub fn let_go_arrived(&mut self) {
        for id in std::mem::take(&mut self.arrived) {
            if self.dirty.contains_key(&id) {
                continue;
            }
            if let Some(s) = self.slots.get_mut(&id)
                && s.doc.take().is_some()
            {
                self.loaded -= 1;
                self.loaded_bytes = self.loaded_bytes.saturating_sub(s.weight);
            }
        }
    }

    /// Notes the changes a peer's message brought to `id`, from `before` to the document's
    /// heads now, collected while checking them: the commit and the event use them rather than
    /// collect them again.
    pub fn note_changes(&mut self, id: DocId, before: &[ChangeHash], changes: Vec<Change>) {
        let Some(now) = self.slots.get(&id).and_then(|s| s.doc.as_ref()).map(|d| d.get_heads()) else { return };
        self.collected.note(id, before, &now, changes);
    }

    /// The changes of `id` since `before` (the heads of the last commit), collected once per
    /// round: from what the round noted if they span exactly that, else from the document, and
    /// then only if there are at most `most` of them (`None` past it).
    pub fn changes_since(
        &mut self,
        store: &Store,
        id: DocId,
        before: &[ChangeHash],
        most: usize,
    ) -> Result<ChangesSince<'_>, LoadError> {
        self.get(store, id)?;
        let doc = self.slots.get(&id).and_then(|s| s.doc.as_deref()).ok_or(LoadError::Missing(id))?;
        let changes = match self.collected.get(id, before, &doc.get_heads()) {
            Some(changes) => Some(Cow::Borrowed(changes)),
            // Counting them needs no change built.
            None if doc.get_changes_meta(before).len() > most => None,
            None => Some(Cow::Owned(doc.get_changes(before))),
        };
        Ok((doc, changes))
    }

    /// The transaction failed: forget that documents received whole were ever here (they are
    /// not on disk, and the peer will send them again), keep local changes for the next try.
    pub fn commit_failed(&mut self) {
        self.collected.clear();
        let received: Vec<DocId> =
            self.dirty.iter().filter(|(_, d)| matches!(d, Dirty::Received { .. })).map(|(id, _)| *id).collect();
        for id in received {
            if let Some(s) = self.slots.remove(&id) {
                self.went(id, s.meta.kind);
                if s.doc.is_some() {
                    self.loaded -= 1;
                    self.loaded_bytes = self.loaded_bytes.saturating_sub(s.weight);
                }
            }
            self.dirty.remove(&id);
        }
    }

    /// Unloads what exceeds the cache, least recently used first; documents with uncommitted
    /// changes stay. Called after each commit and after each engine job (a read loads documents
    /// too: without this, reading every document once kept them all).
    pub fn trim(&mut self) {
        self.evict();
    }

    fn evict(&mut self) {
        if self.loaded <= self.cap && self.loaded_bytes <= self.budget {
            return;
        }
        let mut loaded: Vec<(u64, DocId)> = self
            .slots
            .iter()
            .filter(|(id, s)| s.doc.is_some() && !self.dirty.contains_key(id))
            .map(|(id, s)| (s.last_used, *id))
            .collect();
        loaded.sort();
        for (_, id) in loaded {
            if self.loaded <= self.cap && self.loaded_bytes <= self.budget {
                break;
            }
            if let Some(s) = self.slots.get_mut(&id) {
                s.doc = None;
                self.loaded -= 1;
                self.loaded_bytes = self.loaded_bytes.saturating_sub(s.weight);
            }
        }
    }
}

impl OurHeads for Docs {
    fn kind_and_heads(&self, doc: DocId) -> Option<(DocKind, &[[u8; 32]])> {
        self.slots.get(&doc).map(|s| (s.meta.kind, s.meta.heads.as_slice()))
    }
}

impl Slot {
    fn new(meta: DocMeta, doc: Option<Box<Automerge>>, last_used: u64) -> Slot {
        Slot { meta, doc, last_used, inflated: None, pending: 0, weight: 1 }
    }
}

/// The decompressed size of stored bytes (ours: no bound but their own).
fn inflated(bytes: &[u8]) -> Option<u64> {
    let all = super::sync::measure::Bound { bytes: u64::MAX, changes: u64::MAX, ops: u64::MAX };
    super::sync::measure::measure(bytes, &all).ok().map(|m| m.bytes)
}

#[cfg(test)]
mod tests;
