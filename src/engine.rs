//! The engine: the one actor that owns the workspace documents, the sync state with every peer
//! and the store. It runs on its own OS thread, because everything it does is synchronous CPU
//! and disk work (automerge, redb) that must not stall the async runtime.
//!
//! It works in rounds. Each round takes every message waiting (officers' requests through the
//! API, peer batches through the network), applies them all, commits once, and only then
//! acknowledges them: an officer's change is durable before the API answers, and a peer's batch
//! is durable before the peer hears "ack". One fsync serves the whole round. Then it sends each
//! peer one batch with everything that peer is missing.
//!
//! Its state is in parts that own their data, each behind a small interface: the documents
//! ([`docs::Docs`]), the sessions with peers (`peers::Peers`: sync state, the batch in flight),
//! the audit log (`audit_log::AuditLog`: its head, the round's events), presence
//! (`presence::Presence`: notes queued per peer), witnessed heads (`witness`), certificates and
//! signed heads (`auth`). What happens on the network is routed to the parts by `dispatch`; the
//! parts do not call back into the sessions. The round (`Core::finish_round`) is the one place
//! that commits: it asks each part for what it has to write, writes it all in one transaction,
//! and tells each part once it is durable.

mod audit_log;
mod auth;
mod backup;
mod bounds;
pub mod changes;
mod consent;
mod dispatch;
pub mod docs;
mod drafts;
mod handle;
mod history;
mod in_sync;
mod items;
mod parties;
mod peers;
mod presence;
mod reader;
mod records;
pub mod refusal;
mod status;
pub mod summaries;
mod sync;
mod upgrade;
mod vouched;
mod witness;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::thread::JoinHandle;

use automerge::{ActorId, Automerge};
use libp2p::PeerId;
use libp2p::request_response::InboundRequestId;
use tokio::sync::{broadcast, mpsc};

use crate::config::{PartyConfig, PinnedPeer};
use crate::ids::DocId;
use crate::net::protocol::Reply;
use crate::net::{NetCmd, NetEvent};
use crate::store::{Store, StoreError};
use crate::workspace::party_docs::PartyDoc;
use crate::workspace::{self, DocKind, WorkspaceError};
use docs::{Docs, LoadError};
use peers::Peers;

pub use auth::import_own_documents;
pub use consent::{AnswerRefusal, ConsentView, DeleteRefusal, RequestRefusal, RevokeRefusal};
pub use drafts::OriginalSource;
pub use history::{HistoryEntry, TextChange};
pub use items::{Citations, Granted, GrantedItem, ItemRefusal, citations};
pub use items::{Explanation, ItemView};
pub use parties::PartyInfo;
pub use peers::Traffic;
pub use presence::announce as announce_presence;
pub use reader::{Reader, View};
pub use refusal::Refusal;
pub use status::{DocInfo, NodeStatus, PeerStatus};

/// Most messages taken into one round; bounds the latency of the round's first message.
const MAX_ROUND: usize = 512;
/// Capacity of the engine's inbox.
pub const INBOX_CAPACITY: usize = 1024;

/// Why an engine request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// No document has that id (or prefix).
    #[error("no {kind} with id {id:?}")]
    NotFound {
        /// The kind asked for.
        kind: DocKind,
        /// The id or prefix given.
        id: String,
    },
    /// The prefix matches several documents.
    #[error("{prefix:?} matches {count} documents; give more of the id")]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// How many match.
        count: usize,
    },
    /// The request is not acceptable.
    #[error("{0}")]
    Workspace(Arc<WorkspaceError>),
    /// A stored document does not load.
    #[error("{0}")]
    Load(Arc<LoadError>),
    /// The store failed; nothing of the request was kept.
    #[error("the store failed, nothing was saved: {0}")]
    Store(Arc<StoreError>),
    /// The engine has stopped.
    #[error("the node is shutting down")]
    Stopped,
    /// No item has that id (or prefix).
    #[error("no item {0:?} is held here")]
    NoItem(String),
    /// An item's cryptography failed: sealing or signing one, or a stored one that does not
    /// open (its signature, ciphertext or title was altered). Not the officer's to fix.
    #[error("{0}")]
    Vault(Arc<crate::vault::VaultError>),
    /// A chunk of a complete item is missing from the store.
    #[error("item {item}: chunk {index} is missing from the store")]
    ChunkMissing {
        /// The item.
        item: crate::ids::ItemId,
        /// The chunk.
        index: u32,
    },
    /// Signing with a key held here failed (a consent record, a certificate, a head).
    #[error("signing failed: {0}")]
    Signing(Arc<crate::signing::SignatureError>),
    /// The node's own keys do not load.
    #[error("the node's keys: {0}")]
    Keys(Arc<crate::keys::KeyError>),
    /// The node's key is not an Ed25519 secret, as its actor certificate needs.
    #[error("the node key is not an Ed25519 secret")]
    NodeKeyShape,
    /// The node's own actor certificate conflicts with one stored.
    #[error("the node's certificate: {0}")]
    Certificate(Arc<crate::authorship::AuthError>),
    /// An officer's request refused, as a code with parameters (see [`Refusal`]).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// An item operation refused by a rule, with its code.
    #[error("{0}")]
    ItemRefused(ItemRefusal),
}

impl From<WorkspaceError> for EngineError {
    fn from(e: WorkspaceError) -> Self {
        EngineError::Workspace(Arc::new(e))
    }
}

impl From<LoadError> for EngineError {
    fn from(e: LoadError) -> Self {
        EngineError::Load(Arc::new(e))
    }
}

/// Where a change came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "from", content = "peer")]
pub enum Origin {
    /// An officer at this node.
    Local,
    /// A peer node.
    Peer(String),
}

/// What the engine announces to subscribers (the API's event stream, benchmarks).
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
pub enum Event {
    /// A document changed and the change is durable.
    DocChanged {
        /// The document.
        doc: String,
        /// Its kind.
        kind: DocKind,
        /// Where the change came from.
        origin: Origin,
        /// Its heads now, hex.
        heads: Vec<String>,
        /// `CLOCK_MONOTONIC` in ns when the change was applied in memory here (comparable
        /// across processes of one machine, for latency measurements).
        applied_mono_ns: u64,
        /// What changed: a draft's provision in a language, its title or structure, a
        /// meeting's field, a message added (see [`changes`]); `any` when not computed.
        changed: Vec<changes::Changed>,
    },
    /// An officer is at a draft, here or at the other Party's node (ephemeral).
    Presence {
        /// The draft.
        doc: String,
        /// The officer.
        officer: String,
        /// Their Party.
        party: String,
        /// The provision they are in.
        provision: Option<String>,
        /// The language they are in.
        lang: Option<String>,
    },
    /// Items, consent records or the audit log changed (committed).
    VaultChanged,
    /// A peer connected or disconnected.
    Peer {
        /// The peer.
        peer: String,
        /// Whether it is connected now.
        connected: bool,
    },
}

type Completion = Box<dyn FnOnce(Result<(), EngineError>) + Send>;
type Job = Box<dyn FnOnce(&mut Core) -> Option<Completion> + Send>;

/// A message to the engine.
pub enum Msg {
    /// Work for the engine, from the API.
    Job(Job),
    /// Something happened on the network.
    Net(NetEvent),
    /// The pinned peers changed.
    SetPeers(Vec<PinnedPeer>),
    /// Finish the round, persist, and stop.
    Shutdown,
}

/// Who this node is, for status and policy.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The Party.
    pub party: PartyConfig,
    /// This node's libp2p id.
    pub peer_id: PeerId,
}

/// What the engine needs to start.
pub struct EngineOptions {
    /// Who we are.
    pub identity: Identity,
    /// Documents kept loaded.
    pub cache_docs: usize,
    /// The pinned peers.
    pub peers: Vec<PinnedPeer>,
    /// The keys the engine signs and unseals with.
    pub crypto: Crypto,
    /// The Party's rules for its officers.
    pub policy: crate::config::PolicyConfig,
    /// Bounds on what each peer may send or make this node hold.
    pub limits: crate::config::PeerLimits,
    /// Where the engine counts what `/metrics` shows.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The keys the engine uses.
pub struct Crypto {
    /// The Party's signing key (envelopes, consent records).
    pub signing: ed25519_dalek::SigningKey,
    /// The Party's sealing secret (opens item keys sealed to the Party).
    pub sealing_secret: [u8; 32],
    /// Its public half.
    pub sealing_public: [u8; 32],
    /// This node's key (signs the audit log).
    pub node_key: libp2p::identity::ed25519::Keypair,
}

/// The state the engine's thread owns. Jobs get `&mut Core`.
pub struct Core {
    store: Store,
    docs: Docs,
    identity: Identity,
    peers: Peers,
    net: mpsc::Sender<NetCmd>,
    events: broadcast::Sender<Event>,
    round: Round,
    crypto: Crypto,
    policy: crate::config::PolicyConfig,
    consent: consent::ConsentState,
    items: items::ItemState,
    /// The audit log's head and the round's events (see [`audit_log::AuditLog`]).
    audit_log: audit_log::AuditLog,
    witness: witness::WitnessState,
    /// Presence notes waiting for each peer's next batch.
    presence: presence::Presence,
    /// Certificates, signed heads, and our signing of our own.
    auth: auth::Auth,
    /// What the peer batch being applied changed, to undo if it is refused.
    stage: Option<auth::Stage>,
    /// Round times, refusals and the audit log's length, for `/metrics`.
    metrics: Arc<crate::metrics::Metrics>,
    /// The second reader, which serves pages and the status off this thread.
    reader: Arc<Reader>,
    /// What the lists show of each document, kept at commit (shared with the API).
    summaries: summaries::Summaries,
}

type Write = Box<dyn FnOnce(&mut crate::store::Writer<'_>) -> Result<(), StoreError> + Send>;

/// What a round accumulates until its commit.
#[derive(Default)]
struct Round {
    completions: Vec<Completion>,
    acks: Vec<(PeerId, InboundRequestId)>,
    origins: HashMap<DocId, (Origin, u64)>,
    disconnects: Vec<(PeerId, String)>,
    sync_dirty: BTreeSet<(PeerId, DocId)>,
    forget_peers: Vec<PeerId>,
    /// Writes of items and consent records, in the round's transaction.
    writes: Vec<Write>,
    /// Writes of the node's own records (what a peer has added against its quota, the peers
    /// known, witnessed heads, vouched lists), in the same transaction. Unlike `writes` they
    /// change nothing an officer sees of the vault: a peer's every batch counts its usage, and
    /// announcing each as a vault change made every subscriber (the search's item titles, each
    /// web app's item pages) read the vault again at each keystroke the peer's officer typed.
    bookkeeping: Vec<Write>,
    /// The newest change of each of our actors in each document changed by an officer this
    /// round: signed once at the end of the round.
    own_heads: std::collections::BTreeMap<(DocId, Vec<u8>), (u64, [u8; 32])>,
}

/// Handle to the engine: cheap to clone; every method is a request to the engine's thread.
#[derive(Clone)]
pub struct EngineHandle {
    tx: mpsc::Sender<Msg>,
    events: broadcast::Sender<Event>,
    /// Reads that do not queue behind the engine's writes.
    reader: Arc<Reader>,
    /// The lists' summaries, read without the engine's queue.
    summaries: summaries::SummaryIndex,
}

/// Starts the engine's thread. `inbox` is the receiving end of the channel whose sender the
/// network task also holds.
pub fn spawn(
    store: Store,
    opts: EngineOptions,
    inbox: (mpsc::Sender<Msg>, mpsc::Receiver<Msg>),
    net: mpsc::Sender<NetCmd>,
) -> Result<(EngineHandle, JoinHandle<()>), EngineError> {
    let actor = ActorId::from(store.actor().map_err(|e| EngineError::Store(Arc::new(e)))?.as_slice());
    let docs = Docs::open(&store, opts.cache_docs, actor).map_err(|e| EngineError::Store(Arc::new(e)))?;
    let auth = auth::Auth::open(
        &store,
        &opts.identity.party.id,
        &opts.crypto.signing,
        &opts.crypto.node_key,
        opts.identity.peer_id,
    )?;
    let (events, _) = broadcast::channel(4096);
    let peers = Peers::new(&opts.peers, opts.limits);
    let audit_log = audit_log::AuditLog::open(store.audit_head().map_err(|e| EngineError::Store(Arc::new(e)))?);
    let reader = Arc::new(Reader::new(
        store.reader(),
        reader::ReadCtx {
            party: opts.identity.party.id.clone(),
            own_key: opts.crypto.signing.verifying_key().to_bytes(),
            pinned: opts.peers.clone(),
            node_key: opts.crypto.node_key.public().into(),
        },
    ));
    let mut core = Core {
        store,
        docs,
        identity: opts.identity,
        peers,
        net,
        events: events.clone(),
        round: Round::default(),
        crypto: opts.crypto,
        policy: opts.policy,
        consent: consent::ConsentState::default(),
        items: items::ItemState::default(),
        audit_log,
        witness: Default::default(),
        presence: Default::default(),
        auth,
        stage: None,
        metrics: opts.metrics.clone(),
        reader: reader.clone(),
        summaries: Default::default(),
    };
    core.metrics.audit_entries.set(core.audit_log.head().map_or(0, |h| h.len as i64));
    consent::load(&mut core).map_err(|e| EngineError::Store(Arc::new(e)))?;
    summaries::load(&mut core).map_err(|e| EngineError::Store(Arc::new(e)))?;
    vouched::load(&mut core);
    items::cleanup(&mut core);
    if core.audit_log.head().is_none() {
        // A store that knows its peers has started before, so it had a log: say so loudly and
        // in the new log itself.
        let after_loss = matches!(core.store.meta_value::<Vec<(String, String, String)>>("peers_known"), Ok(Some(_)));
        if after_loss {
            tracing::error!(
                "the audit log is missing although this node has run before; starting a new log that records the loss"
            );
        }
        let node = core.identity.peer_id.to_string();
        audit_log::record(&mut core, crate::audit::Event::LogStarted { node, after_loss });
    }
    core.audit_config_changes(&opts.peers);
    // Our Party's registry and mandates exist from the first start (no peer yet, so no network
    // use); a store from before authentication is upgraded first.
    upgrade::run_if_pending(&mut core)?;
    core.ensure_own_docs()?;
    let (tx, mut rx) = inbox;
    let shared = core.summaries.shared();
    let thread = std::thread::Builder::new()
        .name("liaison-engine".into())
        .spawn(move || {
            let _ = crate::sched::prefer_short_waits("engine");
            let span = tracing::info_span!("engine");
            let _g = span.enter();
            while let Some(first) = rx.blocking_recv() {
                let mut stop = false;
                let mut msgs = vec![first];
                while msgs.len() < MAX_ROUND {
                    match rx.try_recv() {
                        Ok(m) => msgs.push(m),
                        Err(_) => break,
                    }
                }
                for m in msgs {
                    match m {
                        Msg::Shutdown => stop = true,
                        m => core.handle(m),
                    }
                }
                core.finish_round();
                if stop {
                    core.shutdown();
                    break;
                }
            }
            tracing::debug!("engine stopped");
        })
        .map_err(|e| EngineError::Store(Arc::new(StoreError::Io { path: "engine thread".into(), source: e })))?;
    Ok((EngineHandle { tx, events, reader, summaries: shared }, thread))
}

impl Core {
    fn handle(&mut self, m: Msg) {
        match m {
            Msg::Job(job) => {
                if let Some(c) = job(self) {
                    self.round.completions.push(c);
                }
                // A read loads documents too; without this, reading each once kept them all.
                self.docs.trim();
            }
            Msg::Net(ev) => dispatch::on_net_event(self, ev),
            Msg::SetPeers(list) => {
                if self.peers.hand != list {
                    summaries::peers_changed(self);
                }
                dispatch::set_peers(self, &list);
                self.remember_peers(&list);
            }
            Msg::Shutdown => {}
        }
    }

    /// Our Party's registry and mandates exist from the first start, created the same way on
    /// each of its nodes.
    fn ensure_own_docs(&mut self) -> Result<(), EngineError> {
        self.own_party_doc(PartyDoc::Registry)?;
        self.own_party_doc(PartyDoc::Mandates)?;
        self.publish_own_names()?;
        self.finish_round();
        Ok(())
    }

    /// Commits the round, answers everyone who waited for it, and sends peers what changed.
    fn finish_round(&mut self) {
        let mut round = std::mem::take(&mut self.round);
        // One signature per actor of ours and document changed, in the same commit.
        self.sign_own_heads(std::mem::take(&mut round.own_heads));
        let needs_write = self.docs.has_dirty()
            || self.auth.has_dirty()
            || !round.sync_dirty.is_empty()
            || !round.forget_peers.is_empty()
            || !round.writes.is_empty()
            || !round.bookkeeping.is_empty()
            || self.audit_log.has_pending();
        let sealed = self.audit_log.seal(&self.crypto.node_key);
        // Items, consent records and audit entries live outside the documents; subscribers hear
        // of them once they are committed, to refresh what they show.
        let vault_changed = !round.writes.is_empty() || !sealed.is_empty();
        let writes = round.writes;
        let bookkeeping = round.bookkeeping;
        let t0 = std::time::Instant::now();
        // Summaries the reader computed are written with the next commit that writes anyway.
        let sums = if needs_write { summaries::to_write(&self.summaries) } else { Vec::new() };
        let result = if needs_write {
            let docs = &mut self.docs;
            let peers = &self.peers;
            let auth = &mut self.auth;
            self.store.write(|w| {
                let out = docs.persist(w)?;
                summaries::put(&sums, w)?;
                auth.persist(w)?;
                for (peer, doc) in &round.sync_dirty {
                    if let Some(state) = peers.state_bytes(peer, *doc) {
                        w.put_sync_state(&peer.to_bytes(), *doc, &state)?;
                    }
                }
                for peer in &round.forget_peers {
                    w.drop_sync_states(&peer.to_bytes())?;
                }
                for f in writes.into_iter().chain(bookkeeping) {
                    f(w)?;
                }
                sealed.write(w)?;
                Ok(Some(out))
            })
        } else {
            Ok(None)
        };
        if needs_write {
            tracing::debug!(ms = t0.elapsed().as_millis() as u64, "round committed");
            self.metrics.round_seconds.observe(t0.elapsed().as_secs_f64());
        }
        let outcome = match result {
            Ok(Some((pending, changed))) => {
                let mut what = changes::of_round(&mut self.docs, &self.store, &changed);
                let before: Vec<(DocId, Vec<[u8; 32]>)> =
                    changed.iter().filter_map(|id| Some((*id, self.docs.meta(*id)?.heads.clone()))).collect();
                self.docs.committed(pending);
                for (id, before) in before {
                    if let (Some(meta), Some(what)) = (self.docs.meta(id), what.get(&id)) {
                        self.reader.outlines.committed(id, &before, &meta.heads, what);
                        self.reader.contents.committed(id, &before, &meta.heads, what);
                    }
                }
                // What an officer is editing stays loaded for the reads that follow each change.
                self.reader.editing.committed(&changed);
                self.auth.committed();
                summaries::written(&self.summaries, &sums);
                if let Some(h) = sealed.head() {
                    self.metrics.audit_entries.set(h.len as i64);
                }
                self.audit_log.committed(sealed);
                for id in &changed {
                    self.keep_original(*id);
                }
                summaries::changed(self, &changed);
                for id in changed {
                    let (origin, applied) = round.origins.get(&id).cloned().unwrap_or((Origin::Local, mono_ns()));
                    sync::doc_changed(self, id, origin.clone());
                    if let Some(meta) = self.docs.meta(id) {
                        let _ = self.events.send(Event::DocChanged {
                            doc: id.to_string(),
                            kind: meta.kind,
                            origin,
                            heads: meta.heads.iter().map(hex::encode).collect(),
                            applied_mono_ns: applied,
                            changed: what.remove(&id).unwrap_or_default(),
                        });
                    }
                }
                if vault_changed {
                    let _ = self.events.send(Event::VaultChanged);
                }
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "commit failed; the round's changes are not acknowledged");
                self.docs.commit_failed();
                Err(EngineError::Store(Arc::new(e)))
            }
        };
        // Before anyone is answered: the status they read next shows what they did.
        status::publish(self, !round.completions.is_empty());
        for c in round.completions {
            c(outcome.clone());
        }
        for (peer, request) in round.acks {
            let reply = match &outcome {
                Ok(()) => Reply::Ack,
                Err(e) => Reply::Refused(e.to_string()),
            };
            self.net_cmd(NetCmd::Respond { request, reply });
            if outcome.is_ok() {
                self.peers.note_exchange(&peer);
            }
        }
        for (peer, reason) in round.disconnects {
            self.net_cmd(NetCmd::Disconnect { peer, reason });
        }
        // What went to the peers changes what the status says of them (in sync, behind), after
        // this round's status was published: the next reader asks for a new one.
        if dispatch::flush_all(self) {
            status::mark_stale(self);
        }
        self.docs.let_go_arrived();
    }

    fn shutdown(&mut self) {
        summaries::flush(self);
        let records = self.peers.records();
        if let Err(e) = self.store.write(|w| {
            for (peer, rec) in &records {
                w.put_peer_record(&peer.to_bytes(), rec)?;
            }
            Ok(())
        }) {
            tracing::warn!(error = %e, "could not save peer records at shutdown");
        }
    }

    /// Sends a command to the network task. The channel is sized so that the protocol (one
    /// batch in flight per peer) never fills it; if the network task is gone we are shutting
    /// down and the command no longer matters.
    fn net_cmd(&self, cmd: NetCmd) {
        if self.net.blocking_send(cmd).is_err() {
            tracing::debug!("network task gone; command dropped");
        }
    }

    // ---- what jobs use ----

    /// Resolves an id or unique prefix of a document of `kind`.
    pub fn resolve(&self, kind: DocKind, id: &str) -> Result<DocId, EngineError> {
        let id = id.trim().to_ascii_lowercase();
        let not_found = || EngineError::NotFound { kind, id: id.clone() };
        if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let matches: Vec<DocId> = self
            .docs
            .ids_with_prefix(&id)
            .into_iter()
            .filter(|d| self.docs.meta(*d).is_some_and(|m| m.kind == kind))
            .collect();
        match matches.len() {
            0 => Err(not_found()),
            1 => Ok(matches[0]),
            count => Err(EngineError::Ambiguous { prefix: id, count }),
        }
    }

    /// Reads a document.
    pub fn doc(&mut self, id: DocId) -> Result<&Automerge, EngineError> {
        Ok(&*self.docs.get(&self.store, id)?)
    }

    /// Changes a document with `f`; the change is committed at the end of the round. The rule
    /// of who may write what is applied first: a document of the other Party, a sealed one, or
    /// an executed draft is refused before anything is written.
    pub fn change<T>(
        &mut self,
        id: DocId,
        f: impl FnOnce(&mut Automerge) -> Result<T, WorkspaceError>,
    ) -> Result<T, EngineError> {
        self.check_own_write(id)?;
        let doc = self.docs.get(&self.store, id)?;
        let before = doc.get_heads();
        let out = f(doc)?;
        if doc.get_heads() != before {
            self.docs.mark_changed(id);
            self.round.origins.insert(id, (Origin::Local, mono_ns()));
            self.note_own_changes(id, &before);
        }
        Ok(out)
    }

    /// Changes one of our Party's documents (created if this node does not hold it yet).
    pub fn change_own<T>(
        &mut self,
        pd: PartyDoc,
        f: impl FnOnce(&mut Automerge) -> Result<T, WorkspaceError>,
    ) -> Result<T, EngineError> {
        let id = self.own_party_doc(pd)?;
        self.change(id, f)
    }

    /// Creates a joint document of `kind` with `f`, written with this node's actor.
    pub fn create(
        &mut self,
        kind: DocKind,
        f: impl FnOnce(&mut Automerge) -> Result<(), WorkspaceError>,
    ) -> Result<DocId, EngineError> {
        let mut doc = Automerge::new();
        doc.set_actor(self.docs.actor().clone());
        f(&mut doc)?;
        if workspace::kind_of(&doc) != Some(kind) {
            return Err(WorkspaceError::Malformed(format!("new document is not a {kind}")).into());
        }
        let id = DocId::random();
        self.docs.insert_local(id, kind, crate::authority::Owner::Joint, doc);
        self.round.origins.insert(id, (Origin::Local, mono_ns()));
        self.note_own_changes(id, &[]);
        Ok(id)
    }

    /// The ids of every document of `kind`.
    pub fn ids_of(&self, kind: DocKind) -> Vec<DocId> {
        self.docs.ids_of(kind)
    }

    /// Every document with its kind and committed heads (hex, sorted).
    pub fn doc_heads(&self) -> Vec<DocInfo> {
        self.docs
            .all()
            .map(|(id, m)| {
                let mut heads: Vec<String> = m.heads.iter().map(hex::encode).collect();
                heads.sort();
                DocInfo { id: id.to_string(), kind: m.kind, heads }
            })
            .collect()
    }

    /// Refuses `action` without a recorded mandate when the Party's policy requires one, and a
    /// cited mandate that is not recorded for our Party.
    pub fn check_mandate(
        &mut self,
        action: crate::config::MandatedAction,
        mandate: Option<&str>,
    ) -> Result<(), EngineError> {
        let party = self.identity.party.id.clone();
        match mandate {
            None if self.policy.require_mandate.contains(&action) => Err(Refusal::MandateRequired { action }.into()),
            None => Ok(()),
            Some(reference) => {
                let id = self.own_party_doc(PartyDoc::Mandates)?;
                let doc = self.doc(id)?;
                let reference = reference.to_string();
                match crate::workspace::mandates::find(doc, &reference)? {
                    Some(m) if m.in_force(chrono::Utc::now().date_naive()) => Ok(()),
                    Some(m) if m.withdrawn_at.is_some() => {
                        Err(Refusal::MandateWithdrawn { reference, party, on: m.withdrawn_at.unwrap_or_default() }
                            .into())
                    }
                    Some(m) => Err(Refusal::MandateNotInForce { reference, party, date: m.date }.into()),
                    None => Err(Refusal::MandateUnknown { reference, party }.into()),
                }
            }
        }
    }

    /// Who this node is.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process on the machine, so that a
/// benchmark can compare when node A made a change and node B applied it.
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec we pass, which lives on our stack.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}
