//! Sync with peers: sessions, the catalog exchange, snapshots for what a peer lacks, and the
//! automerge sync protocol per document for the rest.
//!
//! A session starts when a pinned Party peer connects. Each side first sends its catalog (every
//! document the other may have, with heads). From the other side's catalog each side knows:
//! documents already equal (nothing to do), documents the other lacks (send a compacted
//! snapshot, not the history), and documents that differ (run the sync protocol, from the sync
//! state saved last time, so a reconnect costs what changed). After that, a change to any
//! document is pushed at once to every peer in session.

use std::collections::{BTreeSet, HashMap, VecDeque};

use automerge::sync::{Have, Message, State, SyncDoc};
use automerge::{Automerge, ChangeHash};
use chrono::Utc;
use libp2p::PeerId;

use super::{Core, Origin, mono_ns};
use crate::config::{PeerRole, PinnedPeer};
use crate::ids::DocId;
use crate::net::protocol::{Batch, CatalogEntry, Frame, Hash};
use crate::net::{NetCmd, NetEvent};
use crate::policy::{self, Subject};
use crate::store::PeerRecord;
use crate::workspace::{self, DocKind, registry::REGISTRY_ID};

/// A batch stops growing past this size; the rest goes in the next one. Small enough to keep
/// a peer's per-batch apply short, large enough that per-batch overhead does not matter.
const SOFT_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Every pinned peer, and the session with each connected one.
pub(super) struct Peers {
    by_id: HashMap<PeerId, PeerState>,
}

pub(super) struct PeerState {
    pub pinned: PinnedPeer,
    pub connected: bool,
    pub session: Option<Session>,
    /// Sync state per document; loaded from the store when a session starts.
    pub states: HashMap<DocId, State>,
    /// The heads the peer last told us it has, per document.
    pub their_heads: HashMap<DocId, Vec<ChangeHash>>,
    pub record: PeerRecord,
    pub record_loaded: bool,
    /// What went each way since this process started.
    pub traffic: Traffic,
}

/// Traffic counters with one peer.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Traffic {
    /// Batches we sent.
    pub batches_sent: u64,
    /// Payload bytes we sent.
    pub bytes_sent: u64,
    /// Batches we received.
    pub batches_received: u64,
    /// Payload bytes we received.
    pub bytes_received: u64,
}

/// One connection's worth of sync with a peer.
#[derive(Default)]
pub(super) struct Session {
    send_catalog: bool,
    pub catalog_received: bool,
    in_flight: bool,
    want_snapshot: VecDeque<DocId>,
    want_snapshot_set: BTreeSet<DocId>,
    want_sync: BTreeSet<DocId>,
}

impl Session {
    fn snapshot(&mut self, doc: DocId) {
        self.want_sync.remove(&doc);
        if self.want_snapshot_set.insert(doc) {
            self.want_snapshot.push_back(doc);
        }
    }
    fn sync(&mut self, doc: DocId) {
        if !self.want_snapshot_set.contains(&doc) {
            self.want_sync.insert(doc);
        }
    }
}

/// Why a peer's batch was refused; its session ends.
struct Violation(String);

impl Peers {
    pub fn new(pinned: &[PinnedPeer]) -> Peers {
        let by_id = pinned.iter().map(|p| (p.peer_id, PeerState::new(p.clone()))).collect();
        Peers { by_id }
    }

    /// Encoded sync state for the store.
    pub fn state_bytes(&self, peer: &PeerId, doc: DocId) -> Option<Vec<u8>> {
        self.by_id.get(peer).and_then(|p| p.states.get(&doc)).map(State::encode)
    }

    pub fn note_exchange(&mut self, peer: &PeerId) {
        if let Some(p) = self.by_id.get_mut(peer) {
            p.record.last_sync_ms = Some(Utc::now().timestamp_millis());
        }
    }

    pub fn records(&self) -> Vec<(PeerId, PeerRecord)> {
        self.by_id.iter().filter(|(_, p)| p.record_loaded).map(|(id, p)| (*id, p.record.clone())).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&PeerId, &PeerState)> {
        self.by_id.iter()
    }
}

impl PeerState {
    fn new(pinned: PinnedPeer) -> Self {
        PeerState {
            pinned,
            connected: false,
            session: None,
            states: HashMap::new(),
            their_heads: HashMap::new(),
            record: PeerRecord::default(),
            record_loaded: false,
            traffic: Traffic::default(),
        }
    }
}

/// A sync state that says "the peer has exactly `heads`", so that the next local change goes
/// out in one message instead of a round of negotiation.
fn in_sync_state(heads: &[ChangeHash]) -> State {
    let mut s = State::new();
    s.shared_heads = heads.to_vec();
    s.their_heads = Some(heads.to_vec());
    s.their_need = Some(Vec::new());
    s.their_have = Some(vec![Have { last_sync: heads.to_vec(), bloom: Default::default() }]);
    s.last_sent_heads = heads.to_vec();
    s.have_responded = true;
    s
}

fn to_hashes(h: &[[u8; 32]]) -> Vec<ChangeHash> {
    h.iter().map(|h| ChangeHash(*h)).collect()
}

pub(super) fn on_net_event(core: &mut Core, ev: NetEvent) {
    match ev {
        NetEvent::Connected { peer } => connected(core, peer),
        NetEvent::Disconnected { peer } => {
            if let Some(p) = core.peers.by_id.get_mut(&peer) {
                p.connected = false;
                p.session = None;
                // In-flight bookkeeping of the old connection is void; the saved states
                // (shared heads) are what a new session starts from.
                p.states.clear();
                tracing::info!(%peer, party = %p.pinned.party_id, "peer disconnected");
            }
            let _ = core.events.send(super::Event::Peer { peer: peer.to_string(), connected: false });
        }
        NetEvent::Inbound { peer, request, batch } => inbound(core, peer, request, batch),
        NetEvent::Delivered { peer } => {
            if let Some(s) = core.peers.by_id.get_mut(&peer).and_then(|p| p.session.as_mut()) {
                s.in_flight = false;
            }
            core.peers.note_exchange(&peer);
        }
        NetEvent::Failed { peer, error } => {
            tracing::warn!(%peer, %error, "a batch to the peer was lost; restarting the session");
            if let Some(p) = core.peers.by_id.get_mut(&peer) {
                p.session = None;
                p.states.clear();
            }
            core.round.disconnects.push((peer, format!("batch lost: {error}")));
        }
    }
}

fn connected(core: &mut Core, peer: PeerId) {
    let Some(p) = core.peers.by_id.get_mut(&peer) else {
        // The allow-list makes this impossible; if it ever happens, the peer still gets nothing.
        tracing::warn!(%peer, "connection from a peer that is not pinned; ignored");
        return;
    };
    p.connected = true;
    let _ = core.events.send(super::Event::Peer { peer: peer.to_string(), connected: true });
    if !p.record_loaded {
        match core.store.peer_record(&peer.to_bytes()) {
            Ok(r) => p.record = r,
            Err(e) => tracing::warn!(%peer, error = %e, "cannot read what we knew of the peer"),
        }
        p.record_loaded = true;
    }
    if p.pinned.role != PeerRole::Party {
        tracing::info!(%peer, party = %p.pinned.party_id, role = %p.pinned.role, "third-party peer connected; it gets no workspace");
        return;
    }
    p.states.clear();
    match core.store.sync_states(&peer.to_bytes()) {
        Ok(saved) => {
            for (doc, bytes) in saved {
                match State::decode(&bytes) {
                    Ok(s) => {
                        p.states.insert(doc, s);
                    }
                    Err(e) => {
                        tracing::warn!(%peer, %doc, error = %e, "saved sync state unreadable; starting that document afresh")
                    }
                }
            }
        }
        Err(e) => {
            tracing::warn!(%peer, error = %e, "cannot read saved sync states; starting afresh")
        }
    }
    p.session = Some(Session { send_catalog: true, ..Session::default() });
    tracing::info!(%peer, party = %p.pinned.party_id, saved_states = p.states.len(), "peer connected; session started");
}

pub(super) fn set_peers(core: &mut Core, list: &[PinnedPeer]) {
    let wanted: HashMap<PeerId, &PinnedPeer> = list.iter().map(|p| (p.peer_id, p)).collect();
    let gone: Vec<PeerId> = core.peers.by_id.keys().filter(|id| !wanted.contains_key(id)).copied().collect();
    for id in gone {
        core.peers.by_id.remove(&id);
        core.round.forget_peers.push(id);
        tracing::info!(peer = %id, "peer unpinned; its sync state is forgotten");
    }
    for (id, pinned) in wanted {
        match core.peers.by_id.get_mut(&id) {
            Some(p) => {
                if p.pinned.role != pinned.role {
                    // A changed role changes what the peer may have: start over under the new one.
                    p.session = None;
                    p.states.clear();
                    core.round.disconnects.push((id, "its role changed".into()));
                }
                p.pinned = pinned.clone();
            }
            None => {
                core.peers.by_id.insert(id, PeerState::new(pinned.clone()));
            }
        }
    }
}

/// After commit: a document changed; every peer in session gets it.
pub(super) fn doc_changed(core: &mut Core, doc: DocId, _origin: Origin) {
    let Some(meta) = core.docs.meta(doc) else {
        return;
    };
    let kind = meta.kind;
    let heads = to_hashes(&meta.heads);
    for p in core.peers.by_id.values_mut() {
        let allowed = policy::may_send(Subject::WorkspaceDoc(kind), Some(&p.pinned)).is_allowed();
        let Some(s) = p.session.as_mut() else {
            continue;
        };
        if !allowed || !s.catalog_received {
            continue;
        }
        match p.their_heads.get(&doc) {
            // It has exactly what we have (it sent it): nothing to say, and no need to load it.
            Some(h) if *h == heads => {}
            Some(_) => s.sync(doc),
            None => s.snapshot(doc),
        }
    }
}

fn inbound(core: &mut Core, peer: PeerId, request: libp2p::request_response::InboundRequestId, batch: Batch) {
    let frames = batch.frames.len();
    let t0 = std::time::Instant::now();
    match apply_batch(core, peer, batch) {
        Ok(()) => {
            tracing::debug!(%peer, frames, ms = t0.elapsed().as_millis() as u64, "batch applied");
            core.round.acks.push((peer, request));
        }
        Err(Violation(reason)) => {
            tracing::warn!(%peer, %reason, "refused a peer's batch; dropping its session");
            core.net_cmd(NetCmd::Respond { request, reply: crate::net::protocol::Reply::Refused(reason.clone()) });
            if let Some(p) = core.peers.by_id.get_mut(&peer) {
                p.session = None;
                p.states.clear();
            }
            core.round.disconnects.push((peer, reason));
        }
    }
}

fn apply_batch(core: &mut Core, peer: PeerId, batch: Batch) -> Result<(), Violation> {
    let Some(p) = core.peers.by_id.get_mut(&peer) else {
        return Err(Violation("not pinned".into()));
    };
    p.traffic.batches_received += 1;
    p.traffic.bytes_received += batch.frames.iter().map(|f| f.payload_len() as u64).sum::<u64>();
    if p.session.is_none() {
        // Third parties have no session: whatever they send about the workspace is refused
        // before anything is stored.
        let reason = policy::may_accept(Subject::WorkspaceDoc(DocKind::Draft), Some(&p.pinned));
        return Err(Violation(match reason {
            policy::Decision::Deny(r) => r.to_string(),
            policy::Decision::Allow => "no session with this peer".into(),
        }));
    }
    let mut loaded = preload(core, peer, &batch.frames);
    for frame in batch.frames {
        match frame {
            Frame::Catalog(entries) => on_catalog(core, peer, entries)?,
            Frame::Snapshot { doc, kind, bytes } => {
                let pre = loaded.remove(&doc);
                on_snapshot(core, peer, doc, kind, bytes, pre)?
            }
            Frame::Sync { doc, msg } => on_sync(core, peer, doc, &msg)?,
        }
    }
    Ok(())
}

/// Loads (parses and verifies) the batch's snapshots of documents we do not have, on every
/// core at once: loading is nearly all the work of receiving documents, and each is
/// independent. Only kinds the peer may send are loaded; the rest is refused in order later.
fn preload(core: &Core, peer: PeerId, frames: &[Frame]) -> HashMap<DocId, Result<Automerge, String>> {
    let todo: Vec<(DocId, &[u8])> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Snapshot { doc, kind, bytes }
                if !core.docs.contains(*doc) && check_accept(core, peer, *kind).is_ok() =>
            {
                Some((*doc, bytes.as_slice()))
            }
            _ => None,
        })
        .collect();
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(todo.len().max(1));
    if workers <= 1 || todo.len() < 8 {
        return todo.into_iter().map(|(d, b)| (d, Automerge::load(b).map_err(|e| e.to_string()))).collect();
    }
    let per = todo.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = todo
            .chunks(per)
            .map(|part| {
                scope.spawn(move || {
                    part.iter().map(|(d, b)| (*d, Automerge::load(b).map_err(|e| e.to_string()))).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

fn check_accept(core: &Core, peer: PeerId, kind: DocKind) -> Result<(), Violation> {
    match policy::may_accept(Subject::WorkspaceDoc(kind), core.peers.by_id.get(&peer).map(|p| &p.pinned)) {
        policy::Decision::Allow => Ok(()),
        policy::Decision::Deny(r) => Err(Violation(r.to_string())),
    }
}

fn on_catalog(core: &mut Core, peer: PeerId, entries: Vec<CatalogEntry>) -> Result<(), Violation> {
    let mut theirs = HashMap::with_capacity(entries.len());
    for e in entries {
        check_accept(core, peer, e.kind)?;
        theirs.insert(e.doc, e.heads.into_iter().map(|h| ChangeHash(h.0)).collect::<Vec<_>>());
    }
    let ours: Vec<(DocId, DocKind, Vec<ChangeHash>)> =
        core.docs.all().map(|(id, m)| (id, m.kind, to_hashes(&m.heads))).collect();
    let Some(p) = core.peers.by_id.get_mut(&peer) else {
        return Ok(());
    };
    let Some(s) = p.session.as_mut() else {
        return Ok(());
    };
    s.catalog_received = true;
    let (mut equal, mut differ, mut missing) = (0, 0, 0);
    for (id, kind, heads) in ours {
        if !policy::may_send(Subject::WorkspaceDoc(kind), Some(&p.pinned)).is_allowed() {
            continue;
        }
        match theirs.get(&id) {
            None => {
                s.snapshot(id);
                missing += 1;
            }
            Some(h) if *h == heads => {
                let st = p.states.entry(id).or_default();
                if st.shared_heads != heads {
                    core.round.sync_dirty.insert((peer, id));
                }
                *st = in_sync_state(&heads);
                equal += 1;
            }
            Some(_) => {
                s.sync(id);
                differ += 1;
            }
        }
    }
    p.their_heads = theirs;
    tracing::info!(%peer, equal, differ, missing, "catalog received");
    Ok(())
}

fn on_snapshot(
    core: &mut Core,
    peer: PeerId,
    doc: DocId,
    kind: DocKind,
    bytes: Vec<u8>,
    preloaded: Option<Result<Automerge, String>>,
) -> Result<(), Violation> {
    check_accept(core, peer, kind)?;
    if (kind == DocKind::Registry) != (doc == REGISTRY_ID) {
        return Err(Violation(format!("document {doc} claims to be a {kind}, which it cannot be")));
    }
    let applied = mono_ns();
    let their_heads = if let Some(meta) = core.docs.meta(doc) {
        if meta.kind != kind {
            return Err(Violation(format!("document {doc} is a {}, the peer says {kind}", meta.kind)));
        }
        let d = core.docs.get(&core.store, doc).map_err(|e| Violation(format!("cannot merge into {doc}: {e}")))?;
        let before = d.get_heads();
        d.load_incremental(&bytes).map_err(|e| Violation(format!("snapshot of {doc} does not load: {e}")))?;
        if d.get_heads() != before {
            core.docs.mark_changed(doc);
            core.round.origins.insert(doc, (Origin::Peer(peer.to_string()), applied));
        }
        None
    } else {
        let d = match preloaded {
            Some(r) => r,
            None => Automerge::load(&bytes).map_err(|e| e.to_string()),
        }
        .map_err(|e| Violation(format!("snapshot of {doc} does not load: {e}")))?;
        if workspace::kind_of(&d) != Some(kind) {
            return Err(Violation(format!("snapshot of {doc} is not a {kind}")));
        }
        let heads = d.get_heads();
        core.docs.insert_received(doc, kind, d, bytes);
        core.round.origins.insert(doc, (Origin::Peer(peer.to_string()), applied));
        Some(heads)
    };
    let Some(p) = core.peers.by_id.get_mut(&peer) else {
        return Ok(());
    };
    match their_heads {
        Some(heads) => {
            p.states.insert(doc, in_sync_state(&heads));
            p.their_heads.insert(doc, heads);
            core.round.sync_dirty.insert((peer, doc));
        }
        None => {
            // We had the document already: let the protocol find out what each side lacks.
            p.their_heads.entry(doc).or_default();
            if let Some(s) = p.session.as_mut() {
                s.sync(doc);
            }
        }
    }
    Ok(())
}

fn on_sync(core: &mut Core, peer: PeerId, doc: DocId, msg: &[u8]) -> Result<(), Violation> {
    let Some(kind) = core.docs.meta(doc).map(|m| m.kind) else {
        return Err(Violation(format!("sync message for document {doc}, which we never had")));
    };
    check_accept(core, peer, kind)?;
    let m = Message::decode(msg).map_err(|e| Violation(format!("undecodable sync message for {doc}: {e}")))?;
    let applied = mono_ns();
    let Some(p) = core.peers.by_id.get_mut(&peer) else {
        return Ok(());
    };
    let state = p.states.entry(doc).or_default();
    let shared_before = state.shared_heads.clone();
    let d = core.docs.get(&core.store, doc).map_err(|e| Violation(format!("cannot apply to {doc}: {e}")))?;
    let before = d.get_heads();
    // automerge records a message's heads as "sent by us" when they equal ours, to save a
    // message. After concurrent edits merge, that leaves the peer never hearing that we reached
    // the merged heads (it would show us behind forever). Keep what we really sent, so that we
    // announce our heads once; the peer's answer to that is empty and the exchange ends.
    let really_sent = state.last_sent_heads.clone();
    d.receive_sync_message(state, m).map_err(|e| Violation(format!("sync message for {doc} does not apply: {e}")))?;
    state.last_sent_heads = really_sent;
    if d.get_heads() != before {
        core.docs.mark_changed(doc);
        core.round.origins.insert(doc, (Origin::Peer(peer.to_string()), applied));
    }
    if state.shared_heads != shared_before {
        core.round.sync_dirty.insert((peer, doc));
    }
    if let Some(h) = state.their_heads.clone() {
        p.their_heads.insert(doc, h);
    }
    if let Some(s) = p.session.as_mut() {
        s.sync(doc);
    }
    Ok(())
}

/// Sends every peer in session one batch, if it has none in flight and anything is due.
pub(super) fn flush_all(core: &mut Core) {
    let ids: Vec<PeerId> = core.peers.by_id.iter().filter(|(_, p)| p.session.is_some()).map(|(id, _)| *id).collect();
    for id in ids {
        if let Some(batch) = build_batch(core, id) {
            core.net_cmd(NetCmd::Send { peer: id, batch });
        }
    }
}

fn build_batch(core: &mut Core, peer: PeerId) -> Option<Batch> {
    let Core { store, docs, peers, .. } = core;
    let p = peers.by_id.get_mut(&peer)?;
    let s = p.session.as_mut()?;
    if s.in_flight {
        return None;
    }
    let mut frames = Vec::new();
    let mut size = 0usize;
    tracing::debug!(%peer, snapshots = s.want_snapshot.len(), syncs = s.want_sync.len(), "building a batch");
    if s.send_catalog {
        s.send_catalog = false;
        let entries: Vec<CatalogEntry> = docs
            .all()
            .filter(|(_, m)| policy::may_send(Subject::WorkspaceDoc(m.kind), Some(&p.pinned)).is_allowed())
            .map(|(id, m)| CatalogEntry { doc: id, kind: m.kind, heads: m.heads.iter().map(|h| Hash(*h)).collect() })
            .collect();
        size += entries.len() * 64;
        frames.push(Frame::Catalog(entries));
    }
    if s.catalog_received {
        while size < SOFT_BATCH_BYTES {
            let Some(doc) = s.want_snapshot.pop_front() else {
                break;
            };
            s.want_snapshot_set.remove(&doc);
            let Some(meta) = docs.meta(doc) else { continue };
            let (kind, heads) = (meta.kind, to_hashes(&meta.heads));
            match store.doc_bytes(doc) {
                Ok(Some(bytes)) => {
                    size += bytes.len();
                    frames.push(Frame::Snapshot { doc, kind, bytes });
                    p.states.insert(doc, in_sync_state(&heads));
                    p.their_heads.insert(doc, heads);
                }
                Ok(None) => {}
                Err(e) => tracing::error!(%doc, error = %e, "cannot read a document to send"),
            }
        }
        while size < SOFT_BATCH_BYTES {
            let Some(doc) = s.want_sync.pop_first() else {
                break;
            };
            let d = match docs.get(store, doc) {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(%doc, error = %e, "cannot load a document to sync");
                    continue;
                }
            };
            let state = p.states.entry(doc).or_default();
            if let Some(m) = d.generate_sync_message(state) {
                let msg = m.encode();
                size += msg.len();
                frames.push(Frame::Sync { doc, msg });
            }
        }
    }
    if frames.is_empty() {
        return None;
    }
    s.in_flight = true;
    p.traffic.batches_sent += 1;
    p.traffic.bytes_sent += frames.iter().map(|f| f.payload_len() as u64).sum::<u64>();
    tracing::debug!(%peer, frames = frames.len(), bytes = size, "sending batch");
    Some(Batch { frames })
}
