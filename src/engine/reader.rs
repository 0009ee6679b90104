//! The second reader: single-document pages (a draft, a meeting, a group, a thread, their
//! histories, a draft's diff) and the list of documents' heads, served off the engine's thread,
//! so that an officer's read does not queue behind the engine's writes (a peer pushing 100,000
//! documents kept `/api/status` waiting 6.5 s when every read was a job on the engine).
//!
//! It reads the store's committed state: a redb read transaction sees the last commit whole
//! while the engine writes the next. The engine commits before it answers a write, so a read
//! made after a write returned sees that write (read-your-writes) without any message between
//! them. The store is the one source of truth; this reader keeps only a cache.
//!
//! Its cache of loaded documents (`reader/cache.rs`) is its own, shared by the reads running at
//! once, and bounded ([`CACHE_DOCS`], [`CACHE_BYTES`]). A cached copy is checked against the
//! document's committed heads at every read; a copy at older heads takes the chunks committed
//! since (`Automerge::load_incremental`) instead of loading the whole document again, unless the
//! engine compacted it meanwhile. Reads run on tokio's blocking
//! threads, at most [`READ_THREADS`] at once: a burst of reads waits for a permit, and leaves the
//! engine its core.

mod cache;
pub(super) mod editing;
pub(super) mod kept_texts;
mod outlines;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use automerge::Automerge;

use super::{EngineError, EngineHandle, HistoryEntry, status};
use crate::authorship::{Certs, HeadBook};
use crate::config::{PeerRole, PinnedPeer};
use crate::ids::{DocId, PartyId};
use crate::store::{DocMeta, ReadTx, StoreError, StoreReader};
use crate::workspace::DocKind;
use crate::workspace::draft::provision::{Outline, ProvisionAt, read_provision_in};
use crate::workspace::draft::{self, Draft, Records};
use crate::workspace::group::{self, Group};
use crate::workspace::meeting::{self, Meeting};
use crate::workspace::party_docs::PartyDoc;
use crate::workspace::thread::{self, Thread};

/// Documents the reader keeps loaded.
pub const CACHE_DOCS: usize = 64;
/// Stored bytes (snapshot and chunks) of the documents it keeps loaded; a larger document is
/// read and then dropped.
pub const CACHE_BYTES: u64 = 32 * 1024 * 1024;
/// Reads at once; the machine's other cores stay the engine's and the network's.
pub const READ_THREADS: usize = 2;

/// What the engine tells the reader besides what the store holds: who this node is and which
/// peers are pinned (whose Parties' records a draft shows, with which keys they are checked).
/// Published at the end of each round.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadCtx {
    /// Our Party.
    pub party: PartyId,
    /// Our Party's signing key.
    pub own_key: [u8; 32],
    /// The pinned peers.
    pub pinned: Vec<PinnedPeer>,
    /// This node's public key: it signs the audit log's head.
    pub node_key: libp2p::identity::PublicKey,
}

impl ReadCtx {
    /// Our Party and every pinned Party, each once, in order.
    fn parties(&self) -> Vec<PartyId> {
        let mut parties: Vec<PartyId> = self.pinned.iter().map(|p| p.party_id.clone()).collect();
        parties.push(self.party.clone());
        parties.sort();
        parties.dedup();
        parties
    }
}

/// The reader: shared between the engine (which publishes to it) and the API (which reads).
pub struct Reader {
    store: StoreReader,
    cache: cache::DocCache,
    ctx: RwLock<Arc<ReadCtx>>,
    /// The status the engine published last.
    pub(super) status: status::Board,
    permits: tokio::sync::Semaphore,
    /// Background reads (the search index, summaries kept up): one at a time, and never one of
    /// the pages' `permits`, so that an officer's page never waits behind them.
    background: tokio::sync::Semaphore,
    /// The histories' steps of recently shown documents, extended by what changed since.
    steps: Mutex<HashMap<DocId, crate::workspace::history::KeptSteps>>,
    /// Pages read lately, with the heads they were read at ([`View::page`]).
    pages: Mutex<std::collections::VecDeque<Page>>,
    /// History entries' text changes, by their document and heads.
    texts: kept_texts::KeptTexts,
    /// Drafts' outlines, carried over the commits that leave them as they were.
    pub(super) outlines: outlines::Outlines,
    /// Drafts' provisions' texts, carried over the commits that leave them as they were.
    pub(super) contents: outlines::Contents,
    /// The documents officers are editing: kept loaded by every read.
    pub(super) editing: editing::Editing,
}

/// How many pages are kept: a few officers on a few drafts.
const PAGES: usize = 16;
/// The longest history kept as a page (the web app asks for 50 entries).
const KEPT_HISTORY_LIMIT: usize = 200;

/// A page as read: what was asked, the documents it was read from at their heads, and the
/// engine's context it was read under. The same ask over the same heads reads the same.
struct Page {
    key: String,
    sources: Vec<(DocId, Vec<[u8; 32]>)>,
    ctx: Arc<ReadCtx>,
    value: Arc<dyn std::any::Any + Send + Sync>,
}

impl Reader {
    fn kept_steps(&self) -> std::sync::MutexGuard<'_, HashMap<DocId, crate::workspace::history::KeptSteps>> {
        self.steps.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The steps the reader keeps, all documents together (a step is about 400 bytes with its
/// labels, so at most about 40 MB), and at most per document: a larger one is worked out at
/// each request, as before.
const KEPT_STEPS: usize = 100_000;
const KEPT_STEPS_PER_DOC: usize = 100_000;

fn store_err(e: StoreError) -> EngineError {
    EngineError::Store(Arc::new(e))
}

impl Reader {
    /// A reader of `store`, for the node of `ctx`.
    pub fn new(store: StoreReader, ctx: ReadCtx) -> Reader {
        Reader {
            store,
            cache: cache::DocCache::new(),
            ctx: RwLock::new(Arc::new(ctx)),
            status: status::Board::default(),
            permits: tokio::sync::Semaphore::new(READ_THREADS),
            background: tokio::sync::Semaphore::new(1),
            steps: Mutex::new(HashMap::new()),
            pages: Mutex::new(std::collections::VecDeque::new()),
            texts: kept_texts::KeptTexts::default(),
            outlines: outlines::Outlines::default(),
            contents: outlines::Contents::default(),
            editing: editing::Editing::default(),
        }
    }

    /// The engine's word on who we are and which peers are pinned, as of its last round.
    pub(super) fn publish_ctx(&self, ctx: ReadCtx) {
        *self.ctx.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ctx);
    }

    /// Runs `f` over the last commit, on this thread (blocking).
    pub fn view_blocking<T>(&self, f: impl FnOnce(&mut View<'_>) -> Result<T, EngineError>) -> Result<T, EngineError> {
        self.view_keeping(Keep::Pages, f)
    }

    fn view_keeping<T>(
        &self,
        keep: Keep,
        f: impl FnOnce(&mut View<'_>) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let ctx = self.ctx.read().unwrap_or_else(|e| e.into_inner()).clone();
        let tx = self.store.begin().map_err(store_err)?;
        let mut view = View { reader: self, tx, ctx, held: HashMap::new(), certs: None, keep };
        f(&mut view)
    }
}

/// Whether a read keeps the documents it loads in the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keep {
    /// A page: its documents are likely read again soon (the next keystroke's page).
    Pages,
    /// A read over many documents once (a list's summaries, keep-up, the search index): it
    /// uses what the cache holds, and brings it up to date, but does not fill the cache with
    /// the rest. Filling it, the reads after a bootstrap kept 64 drafts loaded, a loaded draft
    /// being many times its stored size.
    Passing,
}

impl EngineHandle {
    /// Runs `f` over the store's last commit on one of the reader's threads, without waiting for
    /// the engine: it sees every write acknowledged before it was called.
    pub async fn view<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut View<'_>) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, EngineError> {
        self.view_under(&self.reader.permits, Keep::Pages, f).await
    }

    /// As [`view`](Self::view), for a read over many documents once (a list): the documents
    /// it loads are not kept.
    pub async fn view_many<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut View<'_>) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, EngineError> {
        self.view_under(&self.reader.permits, Keep::Passing, f).await
    }

    /// As [`view_many`](Self::view_many), for work no one waits on: on a thread of its own, one
    /// at a time.
    pub async fn view_background<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut View<'_>) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, EngineError> {
        self.view_under(&self.reader.background, Keep::Passing, f).await
    }

    async fn view_under<T: Send + 'static>(
        &self,
        permits: &tokio::sync::Semaphore,
        keep: Keep,
        f: impl FnOnce(&mut View<'_>) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let _permit = permits.acquire().await.map_err(|_| EngineError::Stopped)?;
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || reader.view_keeping(keep, f)).await.map_err(|_| EngineError::Stopped)?
    }

    /// A draft with both Parties' records on it (`GET /api/drafts/{id}`).
    pub async fn show_draft(&self, id: String) -> Result<Draft, EngineError> {
        self.view(move |v| {
            let id = v.resolve(DocKind::Draft, &id)?;
            v.page(format!("draft {id}"), id, |v| v.read_draft(id))
        })
        .await
    }

    /// A working group.
    pub async fn show_group(&self, id: String) -> Result<Group, EngineError> {
        self.view(move |v| {
            let id = v.resolve(DocKind::Group, &id)?;
            Ok(group::read(v.doc(id)?, &id.to_string())?)
        })
        .await
    }

    /// A meeting, its attachments filled in for a caller who may (or may not) read items.
    /// Filling them in opens item keys, which only the engine holds: a meeting that attaches
    /// nothing (most) never waits for the engine.
    pub async fn show_meeting(&self, id: String, may_read: bool) -> Result<Meeting, EngineError> {
        let mut m = self
            .view(move |v| {
                let id = v.resolve(DocKind::Meeting, &id)?;
                Ok(meeting::read(v.doc(id)?, &id.to_string())?)
            })
            .await?;
        if !m.attachments.is_empty() {
            let mut list = std::mem::take(&mut m.attachments);
            m.attachments = self
                .read(move |c| {
                    c.fill_attachments(&mut list, may_read)?;
                    Ok(list)
                })
                .await?;
        }
        Ok(m)
    }

    /// A thread with each Party's messages, attachments filled in as for a meeting.
    pub async fn show_thread(&self, id: String, may_read: bool) -> Result<Thread, EngineError> {
        let mut t = self
            .view(move |v| {
                let id = v.resolve(DocKind::Thread, &id)?;
                v.read_thread(id)
            })
            .await?;
        if t.messages.iter().any(|m| !m.attachments.is_empty()) {
            let mut lists: Vec<_> = t.messages.iter_mut().map(|m| std::mem::take(&mut m.attachments)).collect();
            lists = self
                .read(move |c| {
                    for l in &mut lists {
                        c.fill_attachments(l, may_read)?;
                    }
                    Ok(lists)
                })
                .await?;
            for (m, l) in t.messages.iter_mut().zip(lists) {
                m.attachments = l;
            }
        }
        Ok(t)
    }

    /// The history of a document of `kind` (see [`super::Core::history_in`]).
    pub async fn show_history(
        &self,
        kind: DocKind,
        id: String,
        provision: Option<String>,
        lang: Option<String>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, EngineError> {
        self.view(move |v| {
            let id = v.resolve(kind, &id)?;
            let provision = match &provision {
                Some(p) => Some(draft::resolve_provision(v.doc(id)?, p)?),
                None => None,
            };
            // Who wrote what is also told by the signed heads, which can grow while the
            // documents' heads stay (a node's signature after a legacy seal).
            let mut signed = v.tx.heads(id).map_err(store_err)?.len();
            for a in v.annexes_of(id)? {
                signed += v.tx.heads(a).map_err(store_err)?.len();
            }
            let read = |v: &mut View<'_>| super::history::entries(v, id, provision.as_deref(), lang.as_deref(), limit);
            // Only pages of the size a page shows are kept: a client asking for long histories
            // under many limits would otherwise fill the kept pages with them.
            if limit > KEPT_HISTORY_LIMIT {
                return read(v);
            }
            let key = format!("history {id} {provision:?} {lang:?} {limit} signed {signed}");
            v.page(key, id, read)
        })
        .await
    }

    /// Two versions of a draft compared.
    pub async fn draft_diff(
        &self,
        id: String,
        lang: Option<String>,
        from: Option<String>,
        to: Option<String>,
    ) -> Result<draft::Comparison, EngineError> {
        self.view(move |v| {
            let id = v.resolve(DocKind::Draft, &id)?;
            Ok(draft::diff(v.doc(id)?, lang.as_deref(), from.as_deref(), to.as_deref())?)
        })
        .await
    }

    /// Every consent request with its state, newest first (`consent list`), from the store's last
    /// commit: the records a round adds are in it once the round has committed.
    pub async fn consent_list(&self) -> Result<Vec<super::ConsentView>, EngineError> {
        self.view(|v| {
            let records = v.tx.records().map_err(store_err)?;
            Ok(super::consent::views(records.iter(), &v.ctx.party))
        })
        .await
    }

    /// Every liaison officer of our Party and of each pinned Party whose registry is held, by
    /// Party then name. A registry's id follows from its Party's, so no other document is read.
    pub async fn officers(&self) -> Result<Vec<crate::workspace::registry::Officer>, EngineError> {
        self.view(|v| {
            let mut out = Vec::new();
            for p in v.ctx.parties() {
                let id = PartyDoc::Registry.id(&p);
                if v.meta(id)?.is_some_and(|m| m.kind == DocKind::Registry) {
                    out.extend(crate::workspace::registry::list(v.doc(id)?)?);
                }
            }
            out.sort_by(|a, b| (&a.party, &a.name).cmp(&(&b.party, &b.name)));
            Ok(out)
        })
        .await
    }

    /// Every mandate of our Party and of each pinned Party whose list is held, by Party then
    /// reference, each saying whether it is in force today.
    pub async fn mandates(&self) -> Result<Vec<crate::workspace::mandates::Mandate>, EngineError> {
        self.view(|v| {
            let today = chrono::Utc::now().date_naive();
            let mut out = Vec::new();
            for p in v.ctx.parties() {
                let id = PartyDoc::Mandates.id(&p);
                if v.meta(id)?.is_some_and(|m| m.kind == DocKind::Mandates) {
                    out.extend(crate::workspace::mandates::list(v.doc(id)?)?.into_iter().map(|mut m| {
                        m.in_force = m.in_force(today);
                        m
                    }));
                }
            }
            out.sort_by(|a, b| (&a.party, &a.reference).cmp(&(&b.party, &b.reference)));
            Ok(out)
        })
        .await
    }

    /// The audit log as last committed, optionally only the entries about one item (its id or a
    /// unique prefix).
    pub async fn audit_show(&self, item: Option<String>) -> Result<Vec<crate::audit::SignedEntry>, EngineError> {
        self.view(move |v| super::audit_log::about(v.tx.audit_entries().map_err(store_err)?, item.as_deref())).await
    }

    /// Checks the audit log as last committed against this node's key and the signed head
    /// committed with it; with how many entries it holds.
    pub async fn audit_verify(&self) -> Result<(Result<u64, crate::audit::AuditError>, u64), EngineError> {
        self.view(|v| {
            let entries = v.tx.audit_entries().map_err(store_err)?;
            let head = v.tx.audit_head().map_err(store_err)?;
            let total = entries.len() as u64;
            Ok((crate::audit::verify(entries, &v.ctx.node_key, head.as_ref()), total))
        })
        .await
    }

    /// Every document with its kind and committed heads (hex, sorted) (`GET /api/docs`).
    pub async fn doc_heads(&self) -> Result<Vec<super::DocInfo>, EngineError> {
        self.view(|v| {
            Ok(v.tx
                .all_docs()
                .map_err(store_err)?
                .into_iter()
                .map(|(id, m)| {
                    let mut heads: Vec<String> = m.heads.iter().map(hex::encode).collect();
                    heads.sort();
                    super::DocInfo { id: id.to_string(), kind: m.kind, heads }
                })
                .collect())
        })
        .await
    }
}

/// One read: the store's last commit, the documents it loaded, and the engine's context.
pub struct View<'r> {
    reader: &'r Reader,
    tx: ReadTx,
    ctx: Arc<ReadCtx>,
    held: HashMap<DocId, Arc<Automerge>>,
    certs: Option<Certs>,
    keep: Keep,
}

impl Drop for View<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

impl View<'_> {
    /// Resolves an id or unique prefix (4 hex digits or more) of a document of `kind`, as
    /// [`super::Core::resolve`] does.
    pub fn resolve(&mut self, kind: DocKind, id: &str) -> Result<DocId, EngineError> {
        let id = id.trim().to_ascii_lowercase();
        let not_found = || EngineError::NotFound { kind, id: id.clone() };
        if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let matches: Vec<DocId> = self
            .tx
            .docs_with_prefix(&id)
            .map_err(store_err)?
            .into_iter()
            .filter(|(_, m)| m.kind == kind)
            .map(|(d, _)| d)
            .collect();
        match matches.len() {
            0 => Err(not_found()),
            1 => Ok(matches[0]),
            count => Err(EngineError::Ambiguous { prefix: id, count }),
        }
    }

    /// The document as last committed: from the cache if its copy is at the committed heads,
    /// brought up to them with the chunks committed since if it is older, else from the store.
    pub fn doc(&mut self, id: DocId) -> Result<&Automerge, EngineError> {
        self.load(id)?;
        self.held.get(&id).map(|c| &**c).ok_or_else(|| LoadMissing(id).into())
    }

    fn load(&mut self, id: DocId) -> Result<(), EngineError> {
        if self.held.contains_key(&id) {
            return Ok(());
        }
        let meta = self.tx.meta(id).map_err(store_err)?.ok_or(LoadMissing(id))?;
        let keep = self.keep == Keep::Pages || self.reader.editing.is(id);
        let doc = self.reader.cache.get(id, &meta, &self.tx, keep)?;
        self.held.insert(id, doc);
        Ok(())
    }

    /// Provision `pid` of draft `id` (`GET /api/drafts/{id}/provisions/{pid}`), with the
    /// draft's outline kept across reads (see [`outlines`]).
    pub fn provision(&mut self, id: DocId, pid: &str, lang: Option<&str>) -> Result<ProvisionAt, EngineError> {
        let heads = self.tx.meta(id).map_err(store_err)?.ok_or(LoadMissing(id))?.heads;
        let kept = self.reader.outlines.get(id, &heads);
        let doc = self.doc(id)?;
        let outline = match kept {
            Some(o) => o,
            None => {
                let o = Arc::new(Outline::read(doc)?);
                self.reader.outlines.put(id, &heads, o.clone());
                o
            }
        };
        let doc = self.held(id)?;
        Ok(read_provision_in(doc, &outline, pid, lang)?)
    }

    fn held(&self, id: DocId) -> Result<&Automerge, EngineError> {
        self.held.get(&id).map(|c| &**c).ok_or_else(|| LoadMissing(id).into())
    }

    fn certs_known(&mut self) -> Result<&Certs, EngineError> {
        if self.certs.is_none() {
            let mut certs = Certs::default();
            for c in self.tx.certs().map_err(store_err)? {
                // Stored certificates were verified when they came (as the engine loads them).
                let _ = certs.add(c);
            }
            self.certs = Some(certs);
        }
        Ok(self.certs.get_or_insert_with(Certs::default))
    }

    /// The annexes of a draft or thread held here, as [`super::Core::annexes_of`] finds them:
    /// of our Party, of the Parties pinned, and of any Party whose node's certificate we hold.
    pub fn annexes_of(&mut self, parent: DocId) -> Result<Vec<DocId>, EngineError> {
        let ctx = self.ctx.clone();
        let mut parties: Vec<PartyId> = vec![ctx.party.clone()];
        let pinned = ctx.pinned.iter().filter(|p| p.role == PeerRole::Party).map(|p| p.party_id.clone());
        let certified: Vec<PartyId> = self.certs_known()?.all().map(|c| c.party.clone()).collect();
        for p in pinned.chain(certified) {
            if !parties.contains(&p) {
                parties.push(p);
            }
        }
        let mut out = Vec::new();
        for p in parties {
            let id = PartyDoc::Annex(parent).id(&p);
            if self.tx.meta(id).map_err(store_err)?.is_some() {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// What `read` gives for document `id` (and its annexes), kept for the next ask with the same
    /// `key` while those documents stay at the same heads: an unchanged draft's page is read
    /// once, however many officers open it, and a change to it or to a Party's records on it
    /// reads it again. A page is at most a draft's words, and [`PAGES`] are kept.
    pub fn page<T: Clone + Send + Sync + 'static>(
        &mut self,
        key: String,
        id: DocId,
        read: impl FnOnce(&mut Self) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let mut sources = Vec::new();
        for d in std::iter::once(id).chain(self.annexes_of(id)?) {
            sources.push((d, self.tx.meta(d).map_err(store_err)?.map(|m| m.heads).unwrap_or_default()));
        }
        // Who wrote a change is told by the node certificates held: one more may name more.
        let key = format!("{key} certs {}", self.certs_known()?.all().count());
        let kept = {
            let pages = self.reader.pages.lock().unwrap_or_else(|e| e.into_inner());
            pages
                .iter()
                .find(|p| p.key == key && p.sources == sources && *p.ctx == *self.ctx)
                .and_then(|p| p.value.downcast_ref::<T>().cloned())
        };
        if let Some(v) = kept {
            return Ok(v);
        }
        let v = read(self)?;
        let mut pages = self.reader.pages.lock().unwrap_or_else(|e| e.into_inner());
        pages.retain(|p| p.key != key);
        pages.push_front(Page { key, sources, ctx: self.ctx.clone(), value: Arc::new(v.clone()) });
        pages.truncate(PAGES);
        Ok(v)
    }

    /// A document's committed metadata (kind, heads), if it is held.
    pub fn meta(&self, id: DocId) -> Result<Option<DocMeta>, EngineError> {
        self.tx.meta(id).map_err(store_err)
    }

    /// Every document's committed metadata.
    pub fn metas(&self) -> Result<Vec<(DocId, DocMeta)>, EngineError> {
        self.tx.all_docs().map_err(store_err)
    }

    /// Begins again at the store's last commit (and the engine's last word on who we are): what
    /// was committed before this call is seen. The documents held go back to the cache.
    pub fn renew(&mut self) -> Result<(), EngineError> {
        self.release();
        self.tx = self.reader.store.begin().map_err(store_err)?;
        self.ctx = self.reader.ctx.read().unwrap_or_else(|e| e.into_inner()).clone();
        self.certs = None;
        Ok(())
    }

    /// Lets go of the documents held (the bounded cache keeps what it may), so that a read over
    /// many documents holds a few at a time.
    pub fn release(&mut self) {
        self.held.clear();
    }

    /// A draft with both Parties' records, signatures checked against the pinned keys.
    pub fn read_draft(&mut self, id: DocId) -> Result<Draft, EngineError> {
        Ok(self.read_draft_with_records(id)?.0)
    }

    /// A draft and the records it was read with.
    pub fn read_draft_with_records(&mut self, id: DocId) -> Result<(Draft, Records), EngineError> {
        let annexes = self.annexes_of(id)?;
        self.load(id)?;
        for a in &annexes {
            self.load(*a)?;
        }
        let ctx = self.ctx.clone();
        let key_of = |p: &PartyId| {
            if *p == ctx.party {
                Some(ctx.own_key)
            } else {
                ctx.pinned.iter().find(|x| x.party_id == *p).and_then(|x| x.signing_key)
            }
        };
        let mut recs = Records::default();
        for a in &annexes {
            recs.add(self.held(*a)?, &key_of)?;
        }
        // Each provision's texts as the last read found them, less those changed since (a
        // keystroke's read reads one provision's texts, not every one).
        let heads = self.tx.meta(id).map_err(store_err)?.ok_or(LoadMissing(id))?.heads;
        let kept = self.reader.contents.get(id, &heads);
        let (d, contents) = draft::read_kept(self.held(id)?, &recs, &id.to_string(), kept.as_deref())?;
        self.reader.contents.put(id, &heads, Arc::new(contents));
        Ok((d, recs))
    }

    /// A thread with each Party's messages.
    pub fn read_thread(&mut self, id: DocId) -> Result<Thread, EngineError> {
        let annexes = self.annexes_of(id)?;
        self.load(id)?;
        for a in &annexes {
            self.load(*a)?;
        }
        let refs: Vec<&Automerge> = annexes.iter().map(|a| self.held(*a)).collect::<Result<_, _>>()?;
        Ok(thread::read(self.held(id)?, &refs, &id.to_string())?)
    }
}

impl super::history::Source for View<'_> {
    fn annexes(&mut self, id: DocId) -> Result<Vec<DocId>, EngineError> {
        self.annexes_of(id)
    }
    fn kind_owner(&mut self, id: DocId) -> Result<Option<(DocKind, crate::authority::Owner)>, EngineError> {
        Ok(self.tx.meta(id).map_err(store_err)?.map(|m| (m.kind, m.owner)))
    }
    fn book(&mut self, id: DocId) -> Result<HeadBook, EngineError> {
        let mut b = HeadBook::new();
        for h in self.tx.heads(id).map_err(store_err)? {
            b.keep(h);
        }
        Ok(b)
    }
    fn certs(&mut self) -> Result<Certs, EngineError> {
        Ok(self.certs_known()?.clone())
    }
    fn doc(&mut self, id: DocId) -> Result<&Automerge, EngineError> {
        View::doc(self, id)
    }
    fn kept_texts(&mut self, key: &kept_texts::TextsKey) -> Option<Vec<super::history::TextChange>> {
        self.reader.texts.get(key)
    }
    fn keep_texts(&mut self, key: kept_texts::TextsKey, texts: &[super::history::TextChange]) {
        self.reader.texts.put(key, texts);
    }
    fn steps(&mut self, id: DocId, kind: DocKind) -> Result<Vec<crate::workspace::history::Step>, EngineError> {
        // Taken out while it is brought up to date: another reader thread works out its own.
        let mut kept = self.reader.kept_steps().remove(&id).unwrap_or_default();
        kept.update(View::doc(self, id)?, kind);
        let steps = kept.steps.clone();
        if kept.len() <= KEPT_STEPS_PER_DOC {
            let mut all = self.reader.kept_steps();
            let mut total: usize = all.values().map(|k| k.len()).sum::<usize>() + kept.len();
            while total > KEPT_STEPS {
                let Some(other) = all.keys().next().copied() else { break };
                total -= all.remove(&other).map_or(0, |k| k.len());
            }
            all.insert(id, kept);
        }
        Ok(steps)
    }
}

/// A document the store does not hold (any more).
struct LoadMissing(DocId);

impl From<LoadMissing> for EngineError {
    fn from(m: LoadMissing) -> Self {
        EngineError::from(super::LoadError::Missing(m.0))
    }
}

#[cfg(test)]
mod tests;
