//! Sessions with peers: connection events, the dispatch of incoming batches, and the one batch
//! in flight per peer that carries everything due to it (workspace sync, consent records,
//! items).
//!
//! Every connected pinned peer has a session. What flows in it depends on the peer's role:
//! the workspace only with `party` peers; consent records and items under the policy.

use std::collections::{BTreeSet, HashMap, VecDeque};

use automerge::ChangeHash;
use automerge::sync::State;
use chrono::Utc;
use libp2p::PeerId;
use libp2p::request_response::InboundRequestId;

use super::{Core, bounds, consent, items, sync};
use crate::config::{PeerLimits, PeerRole, PinnedPeer, SENT_BATCH_FRAMES};
use crate::ids::{DocId, ItemId, RecordId};
use crate::net::protocol::{Batch, Frame, PresenceNote, Reply};
use crate::net::{NetCmd, NetEvent};
use crate::store::{PeerRecord, PeerUsage};

/// A batch stops growing past this size; the rest goes in the next one. Small enough to keep
/// a peer's per-batch apply short, large enough that per-batch overhead does not matter.
pub(super) const SOFT_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Whether a batch being built with `frames` frames may take another: every node takes
/// [`SENT_BATCH_FRAMES`] (`limits.peer.batch_frames` is at least that). A step may add a few
/// frames at once (an item's offer and chunks), hence the margin.
pub(super) fn room(frames: usize) -> bool {
    frames + 64 < SENT_BATCH_FRAMES as usize
}

/// Most item requests put in one batch (the rest wait for the next).
pub(super) const SENT_ITEM_REQUESTS: usize = 1024;

/// Every pinned peer, and the session with each connected one.
pub(super) struct Peers {
    /// The peers in effect: pinned by hand, and vouched for by our own Party's other nodes.
    pub(super) by_id: HashMap<PeerId, PeerState>,
    /// `[limits.peer]`: what each peer may send or make this node hold.
    pub(super) limits: PeerLimits,
    /// The peers pinned in node.toml (they win over vouched ones).
    pub(super) hand: Vec<PinnedPeer>,
    /// Vouched peers: see [`super::vouched`].
    pub(super) vouched: super::vouched::VouchedState,
}

pub(super) struct PeerState {
    pub pinned: PinnedPeer,
    /// The node of our own Party that vouched for this peer; `None` when pinned by hand.
    pub vouched_by: Option<PeerId>,
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
    /// What it has added here, against its quota (read from the store with `record`).
    pub usage: PeerUsage,
    /// What the batch being applied adds to `usage`, if it is accepted.
    pub batch_usage: PeerUsage,
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

/// An item on its way to a peer.
#[derive(Clone, Debug)]
pub(super) struct ItemSend {
    pub item: ItemId,
    /// The grant it goes under (to a third party).
    pub grant: Option<RecordId>,
    /// The next chunk to send; the offer goes with chunk 0.
    pub next_chunk: u32,
}

/// One connection's worth of exchange with a peer.
#[derive(Default)]
pub(super) struct Session {
    /// Whether the workspace is shared with this peer (a `party` peer).
    pub workspace: bool,
    pub in_flight: bool,
    pub send_catalog: bool,
    pub catalog_received: bool,
    pub want_snapshot: VecDeque<DocId>,
    pub want_snapshot_set: BTreeSet<DocId>,
    pub want_sync: BTreeSet<DocId>,
    /// Send every consent record the peer may see (once, at the start).
    pub send_all_records: bool,
    /// Records made or received since, to pass on.
    pub want_records: VecDeque<RecordId>,
    /// Send our list of items (to `party` peers, once at the start).
    pub send_item_list: bool,
    pub want_items: VecDeque<ItemSend>,
    /// Items whose last chunk is in the batch in flight: transmitted once it is acknowledged.
    pub in_flight_done: Vec<(ItemId, Option<RecordId>)>,
    /// Items to ask this peer for (a third party asking its providers).
    pub want_requests: Vec<ItemId>,
    /// Presence notes to pass on (ephemeral; the oldest are dropped past a few).
    pub presence: VecDeque<PresenceNote>,
    /// Send every actor certificate we know (once, at the start of a workspace session).
    pub send_certs: bool,
    /// Certificates learnt since, to pass on.
    pub want_certs: Vec<crate::authorship::ActorCert>,
    /// Send our signed list of the other Parties' peers (to our own Party's nodes).
    pub send_vouched: bool,
    /// The signed heads (actor, seq) sent in this session, by document.
    pub sent_heads: HashMap<DocId, std::collections::HashSet<(Vec<u8>, u64)>>,
}

impl Session {
    pub fn snapshot(&mut self, doc: DocId) {
        self.want_sync.remove(&doc);
        if self.want_snapshot_set.insert(doc) {
            self.want_snapshot.push_back(doc);
        }
    }
    pub fn sync(&mut self, doc: DocId) {
        if !self.want_snapshot_set.contains(&doc) {
            self.want_sync.insert(doc);
        }
    }
    /// Queues an item, unless it is on its way already.
    pub fn send_item(&mut self, item: ItemId, grant: Option<RecordId>) {
        if !self.want_items.iter().any(|s| s.item == item) {
            self.want_items.push_back(ItemSend { item, grant, next_chunk: 0 });
        }
    }
}

/// Why a peer's batch was refused; its session ends.
pub(super) struct Violation(pub String);

impl Peers {
    pub fn new(pinned: &[PinnedPeer], limits: PeerLimits) -> Peers {
        let by_id = pinned.iter().map(|p| (p.peer_id, PeerState::new(p.clone(), None))).collect();
        Peers { by_id, limits, hand: pinned.to_vec(), vouched: Default::default() }
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

    /// The pinned peers.
    pub fn pinned(&self) -> impl Iterator<Item = &PinnedPeer> {
        self.by_id.values().map(|p| &p.pinned)
    }

    /// A Party's signing key, from any of its nodes pinned by hand, else from one vouched for
    /// by our own Party.
    pub fn signing_key_of(&self, party: &crate::ids::PartyId) -> Option<[u8; 32]> {
        self.of_party(party).find_map(|p| p.signing_key)
    }

    /// A Party's sealing key, from any of its nodes pinned by hand, else from one vouched for.
    pub fn sealing_key_of(&self, party: &crate::ids::PartyId) -> Option<[u8; 32]> {
        self.of_party(party).find_map(|p| p.sealing_key)
    }

    /// A Party's nodes in effect, those pinned by hand first.
    fn of_party<'a>(&'a self, party: &'a crate::ids::PartyId) -> impl Iterator<Item = &'a PinnedPeer> + 'a {
        let mut nodes: Vec<&PeerState> = self.by_id.values().filter(|p| &p.pinned.party_id == party).collect();
        nodes.sort_by_key(|p| p.vouched_by.is_some());
        nodes.into_iter().map(|p| &p.pinned)
    }

    /// Whether `peer` is a node of our own Party pinned here by hand: the only peers whose
    /// vouched lists we take, and the only ones we send ours.
    pub fn is_own_party_node(&self, peer: &PeerId, own: &crate::ids::PartyId) -> bool {
        self.by_id
            .get(peer)
            .is_some_and(|p| p.vouched_by.is_none() && &p.pinned.party_id == own && p.pinned.role == PeerRole::Party)
    }
}

impl PeerState {
    pub(super) fn new(pinned: PinnedPeer, vouched_by: Option<PeerId>) -> Self {
        PeerState {
            pinned,
            vouched_by,
            connected: false,
            session: None,
            states: HashMap::new(),
            their_heads: HashMap::new(),
            record: PeerRecord::default(),
            record_loaded: false,
            traffic: Traffic::default(),
            usage: PeerUsage::default(),
            batch_usage: PeerUsage::default(),
        }
    }
}

pub(super) fn on_net_event(core: &mut Core, ev: NetEvent) {
    // Outside any batch: counted refusals whose interval is over are audited now.
    items::refusals::flush_expired(core);
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
            session_ended(core, peer);
            let _ = core.events.send(super::Event::Peer { peer: peer.to_string(), connected: false });
        }
        NetEvent::Inbound { peer, request, batch } => inbound(core, peer, request, batch),
        NetEvent::Delivered { peer } => {
            let done = match core.peers.by_id.get_mut(&peer).and_then(|p| p.session.as_mut()) {
                Some(s) => {
                    s.in_flight = false;
                    std::mem::take(&mut s.in_flight_done)
                }
                None => Vec::new(),
            };
            for (item, grant) in done {
                items::transmitted(core, peer, item, grant);
            }
            core.peers.note_exchange(&peer);
        }
        NetEvent::Failed { peer, error } => {
            tracing::warn!(%peer, %error, "a batch to the peer was lost; restarting the session");
            if let Some(p) = core.peers.by_id.get_mut(&peer) {
                p.session = None;
                p.states.clear();
            }
            session_ended(core, peer);
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
        // What it added before counts against its quota, across restarts.
        match core.store.peer_usage(&peer.to_bytes()) {
            Ok(u) => p.usage = u,
            Err(e) => tracing::warn!(%peer, error = %e, "cannot read what the peer added here"),
        }
        p.record_loaded = true;
    }
    let workspace = p.pinned.role == PeerRole::Party;
    let send_vouched = p.vouched_by.is_none() && workspace && p.pinned.party_id == core.identity.party.id;
    p.states.clear();
    if workspace {
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
            Err(e) => tracing::warn!(%peer, error = %e, "cannot read saved sync states; starting afresh"),
        }
    }
    p.session = Some(Session {
        workspace,
        send_certs: workspace,
        send_catalog: workspace,
        send_all_records: true,
        send_item_list: workspace,
        send_vouched,
        ..Session::default()
    });
    match p.pinned.role {
        PeerRole::Party => {
            tracing::info!(%peer, party = %p.pinned.party_id, saved_states = p.states.len(), "peer connected; session started")
        }
        PeerRole::ThirdParty => tracing::info!(
            %peer, party = %p.pinned.party_id,
            "third-party peer connected; it gets no workspace, only items a provider's grant names"
        ),
        PeerRole::Provider => {
            tracing::info!(%peer, party = %p.pinned.party_id, "provider peer connected; no workspace is shared with it")
        }
    }
    // A third party that connects may have grants waiting for it.
    items::schedule_grants_for(core, peer);
    // The other Party's node witnesses our audit head from the first batch.
    super::witness::session_started(core, peer);
}

/// The peers pinned in node.toml changed (a reload): they, and the vouched peers they do not
/// replace, are now in effect.
pub(super) fn set_peers(core: &mut Core, list: &[PinnedPeer]) {
    core.peers.hand = list.to_vec();
    super::vouched::hand_changed(core);
    apply(core);
}

/// Puts the peers in effect (pinned by hand, then vouched) in place of those before: sessions of
/// peers gone or changed in role end, and every change is audited.
pub(super) fn apply(core: &mut Core) {
    let list = super::vouched::effective(core);
    let wanted: HashMap<PeerId, &(PinnedPeer, Option<PeerId>)> = list.iter().map(|e| (e.0.peer_id, e)).collect();
    let gone: Vec<PeerId> = core.peers.by_id.keys().filter(|id| !wanted.contains_key(id)).copied().collect();
    let mut ended = gone.clone();
    for id in gone {
        if let Some(p) = core.peers.by_id.remove(&id) {
            let change = match p.vouched_by {
                Some(by) => format!("vouch of {by} withdrawn"),
                None => "unpinned".into(),
            };
            super::audit_log::record(
                core,
                crate::audit::Event::PeerConfig { peer: id.to_string(), party: p.pinned.party_id.to_string(), change },
            );
        }
        core.round.forget_peers.push(id);
        tracing::info!(peer = %id, "peer unpinned; its sync state is forgotten");
    }
    for (id, (pinned, vouched_by)) in wanted {
        let how = |role| match vouched_by {
            Some(by) => format!("vouched for by our node {by} as {role}"),
            None => format!("pinned as {role}"),
        };
        let change = match core.peers.by_id.get_mut(&id) {
            Some(p) => {
                let mut change = (p.pinned.role != pinned.role).then(|| format!("role changed to {}", pinned.role));
                if change.is_some() {
                    // A changed role changes what the peer may have: start over under the new one.
                    p.session = None;
                    p.states.clear();
                    core.round.disconnects.push((id, "its role changed".into()));
                    ended.push(id);
                }
                if p.vouched_by != *vouched_by {
                    change = Some(how(pinned.role));
                    p.vouched_by = *vouched_by;
                }
                p.pinned = pinned.clone();
                change
            }
            None => {
                core.peers.by_id.insert(id, PeerState::new(pinned.clone(), *vouched_by));
                Some(how(pinned.role))
            }
        };
        if let Some(change) = change {
            super::audit_log::record(
                core,
                crate::audit::Event::PeerConfig { peer: id.to_string(), party: pinned.party_id.to_string(), change },
            );
        }
    }
    for id in ended {
        session_ended(core, id);
    }
    super::vouched::tell_network(core);
}

/// A peer's session is over (refused, lost, closed, unpinned): its unfinished item transfers
/// are removed now, not at the next start, and its counted refusals are audited.
fn session_ended(core: &mut Core, peer: PeerId) {
    items::abandon(core, peer);
    items::refusals::flush(core, peer);
}

fn inbound(core: &mut Core, peer: PeerId, request: InboundRequestId, batch: Batch) {
    let frames = batch.frames.len();
    let t0 = std::time::Instant::now();
    core.begin_batch();
    bounds::begin(core, peer);
    let applied = apply_batch(core, peer, batch);
    super::vouched::batch_done(core, applied.is_ok());
    match applied {
        Ok(()) => {
            core.accept_batch();
            bounds::accept(core, peer);
            tracing::debug!(%peer, frames, ms = t0.elapsed().as_millis() as u64, "batch applied");
            core.round.acks.push((peer, request));
        }
        Err(Violation(reason)) => {
            core.metrics.batches_refused.inc();
            // Nothing of the batch is kept; only its refusal is recorded.
            if !core.undo_batch() {
                super::audit_log::record(
                    core,
                    crate::audit::Event::ReceiveRefused {
                        what: "workspace change".into(),
                        id: None,
                        from_peer: peer.to_string(),
                        reason: reason.clone(),
                    },
                );
            }
            tracing::warn!(%peer, %reason, "refused a peer's batch; nothing of it is kept; dropping its session");
            core.net_cmd(NetCmd::Respond { request, reply: Reply::Refused(reason.clone()) });
            if let Some(p) = core.peers.by_id.get_mut(&peer) {
                p.session = None;
                p.states.clear();
            }
            session_ended(core, peer);
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
        return Err(Violation("no session with this peer".into()));
    }
    // The bounds before anything is decompressed or loaded.
    let measured = bounds::check_batch(core, peer, &batch.frames)?;
    let mut loaded = sync::preload(core, peer, &batch.frames);
    // The workspace first: it is all-or-nothing, and checked whole before anything else of the
    // batch is looked at.
    let (workspace, rest): (Vec<_>, Vec<_>) = batch.frames.into_iter().zip(measured).partition(|(f, _)| {
        matches!(f, Frame::Certs(_) | Frame::Catalog(_) | Frame::Snapshot { .. } | Frame::Sync { .. })
    });
    let unmeasured = || Violation("a document that was not measured".into());
    // Vouched peers first: the workspace of the same batch may be signed by the Parties they
    // name (the certificates of the other Party's nodes, at a second node's first session).
    let (vouched, others): (Vec<_>, Vec<_>) =
        workspace.into_iter().chain(rest).partition(|(f, _)| matches!(f, Frame::Vouched(_)));
    for (frame, measured) in vouched.into_iter().chain(others) {
        match frame {
            Frame::Certs(certs) => core.on_certs(peer, certs)?,
            Frame::Catalog(entries) => sync::on_catalog(core, peer, entries)?,
            Frame::Snapshot { doc, kind, bytes, heads } => {
                let pre = sync::Prepared { loaded: loaded.remove(&doc), measured: measured.ok_or_else(unmeasured)? };
                sync::on_snapshot(core, peer, doc, kind, bytes, heads, pre)?
            }
            Frame::Sync { doc, msg, heads } => {
                sync::on_sync(core, peer, doc, &msg, heads, measured.ok_or_else(unmeasured)?)?
            }
            Frame::Records(records) => consent::on_records(core, peer, records)?,
            Frame::ItemList(list) => items::on_item_list(core, peer, list)?,
            Frame::ItemOffer { envelope, wraps, grant } => items::on_offer(core, peer, envelope, wraps, grant)?,
            Frame::ItemChunk { item, index, data } => items::on_chunk(core, peer, item, index, data)?,
            Frame::ItemRequest(item) => items::on_request(core, peer, item)?,
            Frame::Presence(notes) => super::presence::on_presence(core, peer, notes)?,
            Frame::AuditHead(head) => super::witness::on_head(core, peer, head)?,
            Frame::Witnessed(receipts) => super::witness::on_witnessed(core, peer, receipts)?,
            Frame::Vouched(list) => super::vouched::on_vouched(core, peer, *list)?,
        }
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
    let ready = core.peers.by_id.get(&peer).and_then(|p| p.session.as_ref()).is_some_and(|s| !s.in_flight);
    if !ready {
        return None;
    }
    let mut frames = Vec::new();
    let mut size = 0usize;
    super::vouched::frames(core, peer, &mut frames);
    super::presence::presence_frames(core, peer, &mut frames);
    super::witness::frames(core, peer, &mut frames);
    consent::record_frames(core, peer, &mut frames, &mut size);
    sync::workspace_frames(core, peer, &mut frames, &mut size);
    items::item_frames(core, peer, &mut frames, &mut size);
    if frames.is_empty() {
        return None;
    }
    let p = core.peers.by_id.get_mut(&peer)?;
    let s = p.session.as_mut()?;
    s.in_flight = true;
    p.traffic.batches_sent += 1;
    p.traffic.bytes_sent += frames.iter().map(|f| f.payload_len() as u64).sum::<u64>();
    tracing::debug!(%peer, frames = frames.len(), bytes = size, "sending batch");
    Some(Batch { frames })
}
