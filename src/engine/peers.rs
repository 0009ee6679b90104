//! Sessions with peers, the engine's part that owns them: every peer in effect, the session with
//! each connected one (what is due to it, the one batch in flight), the sync state per document
//! and the traffic counters.
//!
//! Every connected pinned peer has a session. What flows in it depends on the peer's role:
//! the workspace only with `party` peers; consent records and items under the policy. This part
//! keeps the sessions and calls no other part: what happens on the network is routed to the
//! parts by `dispatch`, which asks this one to open, end and account for sessions.

use std::collections::{BTreeSet, HashMap, VecDeque};

use automerge::sync::State;
use chrono::Utc;
use libp2p::PeerId;

use crate::config::{PeerLimits, PeerRole, PinnedPeer, SENT_BATCH_FRAMES};
use crate::ids::{DocId, ItemId, PartyId, RecordId};
use crate::store::{PeerRecord, PeerUsage, Store};

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
    /// The heads the peer last told us it has, per document, and how many are ours.
    pub their_heads: super::in_sync::TheirHeads,
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
            their_heads: Default::default(),
            record: PeerRecord::default(),
            record_loaded: false,
            traffic: Traffic::default(),
            usage: PeerUsage::default(),
            batch_usage: PeerUsage::default(),
        }
    }
}

impl Peers {
    /// A peer connected: opens its session, with the sync states saved with it (workspace
    /// peers) and what it added here before (its quota counts across restarts). Returns
    /// `false` for a peer that is not in effect (the allow-list makes that impossible).
    pub fn open_session(&mut self, peer: PeerId, store: &Store, own: &PartyId) -> bool {
        let Some(p) = self.by_id.get_mut(&peer) else {
            return false;
        };
        p.connected = true;
        if !p.record_loaded {
            match store.peer_record(&peer.to_bytes()) {
                Ok(r) => p.record = r,
                Err(e) => tracing::warn!(%peer, error = %e, "cannot read what we knew of the peer"),
            }
            // What it added before counts against its quota, across restarts.
            match store.peer_usage(&peer.to_bytes()) {
                Ok(u) => p.usage = u,
                Err(e) => tracing::warn!(%peer, error = %e, "cannot read what the peer added here"),
            }
            p.record_loaded = true;
        }
        let workspace = p.pinned.role == PeerRole::Party;
        let send_vouched = p.vouched_by.is_none() && workspace && &p.pinned.party_id == own;
        p.states.clear();
        if workspace {
            match store.sync_states(&peer.to_bytes()) {
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
        true
    }

    /// Ends a peer's session (refused, lost, role changed). The in-flight bookkeeping of the
    /// old connection is void; the saved states (shared heads) are what a new session starts
    /// from.
    pub fn end_session(&mut self, peer: &PeerId) {
        if let Some(p) = self.by_id.get_mut(peer) {
            p.session = None;
            p.states.clear();
        }
    }

    /// A peer's last connection closed.
    pub fn disconnected(&mut self, peer: &PeerId) {
        if let Some(p) = self.by_id.get_mut(peer) {
            p.connected = false;
            tracing::info!(%peer, party = %p.pinned.party_id, "peer disconnected");
        }
        self.end_session(peer);
    }

    /// Our batch in flight to `peer` was applied there: the next may go. Returns the items
    /// whose last chunk it carried, now transmitted.
    pub fn delivered(&mut self, peer: &PeerId) -> Vec<(ItemId, Option<RecordId>)> {
        match self.by_id.get_mut(peer).and_then(|p| p.session.as_mut()) {
            Some(s) => {
                s.in_flight = false;
                std::mem::take(&mut s.in_flight_done)
            }
            None => Vec::new(),
        }
    }

    /// The peers with a session.
    pub fn in_session(&self) -> Vec<PeerId> {
        self.by_id.iter().filter(|(_, p)| p.session.is_some()).map(|(id, _)| *id).collect()
    }

    /// Marks a batch as sent to `peer` (in flight until it answers) and counts it. `None` if
    /// its session is gone.
    pub fn sending(&mut self, peer: &PeerId, frames: &[crate::net::protocol::Frame]) -> Option<()> {
        let p = self.by_id.get_mut(peer)?;
        let s = p.session.as_mut()?;
        s.in_flight = true;
        p.traffic.batches_sent += 1;
        p.traffic.bytes_sent += frames.iter().map(|f| f.payload_len() as u64).sum::<u64>();
        Some(())
    }

    /// Whether a batch may be sent to `peer` now (in session, none in flight).
    pub fn ready(&self, peer: &PeerId) -> bool {
        self.by_id.get(peer).and_then(|p| p.session.as_ref()).is_some_and(|s| !s.in_flight)
    }
}
