//! The reader's cache of loaded documents, shared by the reads that run at once.
//!
//! A page's two requests (a draft and its history) and the summaries kept up all read the same
//! draft, often right after an edit. Each used to take the cached copy out for itself, so the
//! second read found nothing and loaded the whole document again (tens of milliseconds for a
//! draft of 200 provisions). Now a copy is shared (`Arc`): the reads at its heads read it
//! together, and one read brings it up to date (or loads it) while the others wanting it wait
//! for that, not for a load of their own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use automerge::Automerge;

use super::{CACHE_BYTES, CACHE_DOCS, LoadMissing, store_err};
use crate::engine::EngineError;
use crate::ids::DocId;
use crate::store::{DocMeta, ReadTx};

/// How long a read waits for another one loading the same document before it loads it itself:
/// longer than a whole load of the largest document the cache keeps.
const WAIT_FOR_LOAD: Duration = Duration::from_secs(2);

pub(super) struct DocCache {
    inner: Mutex<Inner>,
    /// Signalled when a document's load ends (done or failed).
    loaded: Condvar,
    /// Documents loaded whole from the store (a miss, or a copy that could not catch up).
    pub full_loads: AtomicU64,
    /// Cached copies brought up to date with the chunks committed since.
    pub caught_up: AtomicU64,
}

#[derive(Default)]
struct Inner {
    docs: HashMap<DocId, Slot>,
    tick: u64,
}

enum Slot {
    /// One read is loading it (or bringing it up to date); the others wait.
    Loading,
    Ready(Entry),
}

/// A document loaded at the commit `meta` describes.
struct Entry {
    doc: Arc<Automerge>,
    meta: DocMeta,
    last_used: u64,
}

fn stored_bytes(m: &DocMeta) -> u64 {
    m.snapshot_bytes.saturating_add(m.chunk_bytes)
}

impl DocCache {
    pub fn new() -> DocCache {
        DocCache {
            inner: Mutex::new(Inner::default()),
            loaded: Condvar::new(),
            full_loads: AtomicU64::new(0),
            caught_up: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many documents are kept loaded.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().docs.values().filter(|s| matches!(s, Slot::Ready(_))).count()
    }

    /// Document `id` as committed at `meta`, read from `tx`: the kept copy if it is at those
    /// heads, else that copy brought up to them with the chunks committed since, else loaded
    /// whole, and kept only if `keep`.
    pub fn get(&self, id: DocId, meta: &DocMeta, tx: &ReadTx, keep: bool) -> Result<Arc<Automerge>, EngineError> {
        // A document too large to keep is loaded by each read for itself, at once: waiting for
        // another read's load would get nothing.
        let keep = keep && stored_bytes(meta) <= CACHE_BYTES;
        let deadline = Instant::now() + WAIT_FOR_LOAD;
        let mut inner = self.lock();
        loop {
            inner.tick += 1;
            let tick = inner.tick;
            let own = match inner.docs.get_mut(&id) {
                Some(Slot::Ready(e)) if e.meta.heads == meta.heads => {
                    e.last_used = tick;
                    return Ok(e.doc.clone());
                }
                // Another read is loading it: wait for that, up to a point.
                Some(Slot::Loading) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if !left.is_zero() {
                        inner = self.loaded.wait_timeout(inner, left).unwrap_or_else(|e| e.into_inner()).0;
                        continue;
                    }
                    true
                }
                // A copy newer than this read's commit (a read begun earlier): this read loads
                // its own, and leaves the newer one kept.
                Some(Slot::Ready(e)) => {
                    e.meta.snapshot_bytes == meta.snapshot_bytes && e.meta.next_chunk > meta.next_chunk
                }
                // Not kept, and not to be: loaded for this read alone.
                None => !keep,
            };
            if own {
                drop(inner);
                return Ok(Arc::new(self.load_whole(id, tx)?));
            }
            break;
        }
        let old = match inner.docs.insert(id, Slot::Loading) {
            Some(Slot::Ready(e)) => Some(e),
            _ => None,
        };
        drop(inner);
        // Whatever happens below (an error, a panic), the mark goes and the waiters wake.
        let mut loading = Loading { cache: self, id, done: None };
        let doc = match old.map(|e| self.catch_up(id, e, meta, tx)).transpose()?.flatten() {
            Some(doc) => doc,
            None => self.load_whole(id, tx)?,
        };
        let doc = Arc::new(doc);
        loading.done = Some(Entry { doc: doc.clone(), meta: meta.clone(), last_used: 0 });
        Ok(doc)
    }

    /// Brings a copy at an older commit up to `meta` with the chunks written since; `None` when
    /// it cannot (the engine compacted the document meanwhile, or the result is not at the
    /// committed heads).
    fn catch_up(&self, id: DocId, old: Entry, meta: &DocMeta, tx: &ReadTx) -> Result<Option<Automerge>, EngineError> {
        // A compaction rewrites the snapshot and restarts the chunks: then what follows the copy's
        // last chunk is not known, and the heads check below catches any case this misses.
        if old.meta.snapshot_bytes != meta.snapshot_bytes || meta.next_chunk <= old.meta.next_chunk {
            return Ok(None);
        }
        let bytes = tx.chunks_from(id, old.meta.next_chunk).map_err(store_err)?;
        // A read still holding the old copy keeps it; this one works on its own.
        let mut doc = Arc::try_unwrap(old.doc).unwrap_or_else(|shared| (*shared).clone());
        if doc.load_incremental(&bytes).is_err() {
            return Ok(None);
        }
        let heads: Vec<[u8; 32]> = doc.get_heads().into_iter().map(|h| h.0).collect();
        if heads != meta.heads {
            return Ok(None);
        }
        self.caught_up.fetch_add(1, Ordering::Relaxed);
        Ok(Some(doc))
    }

    fn load_whole(&self, id: DocId, tx: &ReadTx) -> Result<Automerge, EngineError> {
        let bytes = tx.doc_bytes(id).map_err(store_err)?.ok_or(LoadMissing(id))?;
        let doc = Automerge::load(&bytes)
            .map_err(|e| EngineError::from(crate::engine::LoadError::Corrupt { doc: id, reason: e.to_string() }))?;
        self.full_loads.fetch_add(1, Ordering::Relaxed);
        Ok(doc)
    }
}

/// The mark of a load under way: on drop, the loaded copy (if any) replaces it, within the
/// cache's bounds, and the reads waiting for it wake.
struct Loading<'c> {
    cache: &'c DocCache,
    id: DocId,
    done: Option<Entry>,
}

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        let mut inner = self.cache.lock();
        inner.docs.remove(&self.id);
        if let Some(mut e) = self.done.take()
            && stored_bytes(&e.meta) <= CACHE_BYTES
        {
            inner.tick += 1;
            e.last_used = inner.tick;
            inner.docs.insert(self.id, Slot::Ready(e));
            evict(&mut inner);
        }
        drop(inner);
        self.cache.loaded.notify_all();
    }
}

/// Drops the least recently used copies beyond [`CACHE_DOCS`] and [`CACHE_BYTES`] (a read that
/// holds one keeps it until it ends).
fn evict(inner: &mut Inner) {
    loop {
        let ready = inner.docs.values().filter_map(|s| match s {
            Slot::Ready(e) => Some(e),
            Slot::Loading => None,
        });
        let (count, bytes) = ready.fold((0usize, 0u64), |(n, b), e| (n + 1, b + stored_bytes(&e.meta)));
        if count <= CACHE_DOCS && bytes <= CACHE_BYTES {
            return;
        }
        let oldest = inner
            .docs
            .iter()
            .filter_map(|(id, s)| match s {
                Slot::Ready(e) => Some((*id, e.last_used)),
                Slot::Loading => None,
            })
            .min_by_key(|(_, used)| *used)
            .map(|(id, _)| id);
        match oldest {
            Some(id) => inner.docs.remove(&id),
            None => return,
        };
    }
}
