//! What `liaison status` shows: the peers and how far each is in sync, the documents, the store.

use std::collections::BTreeMap;

use chrono::{SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::Core;
use crate::policy::{self, Subject};

/// The node's status.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Our Party's id.
    pub party_id: String,
    /// Our Party's name.
    pub party_name: String,
    /// Our peer id.
    pub peer_id: String,
    /// Documents by kind.
    pub documents: BTreeMap<String, usize>,
    /// All documents.
    pub documents_total: usize,
    /// Size of the store file in bytes.
    pub store_bytes: u64,
    /// Every pinned peer.
    pub peers: Vec<PeerStatus>,
}

/// One document as `/api/docs` lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DocInfo {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: crate::workspace::DocKind,
    /// Heads as committed, hex, sorted.
    pub heads: Vec<String>,
}

/// One peer's status.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PeerStatus {
    /// Its peer id.
    pub peer_id: String,
    /// Its Party (or organisation).
    pub party_id: String,
    /// `party` or `third-party`.
    pub role: String,
    /// Whether a connection is open.
    pub connected: bool,
    /// Last completed exchange, RFC 3339.
    pub last_sync: Option<String>,
    /// Documents it may have.
    pub shared: usize,
    /// Of those, how many are known equal on both sides.
    pub in_sync: usize,
    /// How many are not yet equal on both sides (either side lacks changes of the other, or
    /// the peer lacks the document), as of the last exchange.
    pub behind: usize,
    /// What went each way since the node started.
    pub traffic: super::peers::Traffic,
    /// Where it is dialled.
    #[serde(default)]
    pub addrs: Vec<String>,
    /// The node of our own Party that vouched for this peer; absent when pinned by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vouched_by: Option<String>,
}

/// Worked out at the end of a round that an officer waited for, so its cost is paid per
/// keystroke: the documents by kind are counted as they come and go ([`super::docs::Docs`]),
/// and each peer's documents held as ours are counted again only where heads changed on either
/// side since the last status ([`super::in_sync`]); the rule of what may go to a peer is asked
/// once per kind, not per document.
pub(super) fn status(core: &mut Core) -> NodeStatus {
    let by_kind = core.docs.by_kind().clone();
    // Every peer is brought up to date with what changed here: the next status sees no more.
    let touched = core.docs.take_touched();
    let mut peers = Vec::new();
    for (id, p) in core.peers.by_id.iter_mut() {
        p.their_heads.recount(&core.docs, &touched);
        let allowed: Vec<crate::workspace::DocKind> = by_kind
            .iter()
            .filter(|(k, n)| **n > 0 && policy::may_send(&Subject::WorkspaceDoc(**k), Some(&p.pinned)).is_allowed())
            .map(|(k, _)| *k)
            .collect();
        let shared = allowed.iter().map(|k| by_kind[k]).sum();
        let in_sync = p.their_heads.equal_of(&allowed);
        peers.push(PeerStatus {
            peer_id: id.to_string(),
            party_id: p.pinned.party_id.to_string(),
            role: p.pinned.role.to_string(),
            connected: p.connected,
            last_sync: p
                .record
                .last_sync_ms
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            shared,
            in_sync,
            behind: shared - in_sync,
            traffic: p.traffic,
            addrs: p.pinned.addrs.iter().map(|a| a.to_string()).collect(),
            vouched_by: p.vouched_by.map(|by| by.to_string()),
        });
    }
    peers.sort_by(|a, b| (&a.party_id, &a.peer_id).cmp(&(&b.party_id, &b.peer_id)));
    NodeStatus {
        party_id: core.identity.party.id.to_string(),
        party_name: core.identity.party.name.clone(),
        peer_id: core.identity.peer_id.to_string(),
        documents: by_kind.into_iter().filter(|(_, n)| *n > 0).map(|(k, n)| (k.to_string(), n)).collect(),
        documents_total: core.docs.len(),
        store_bytes: core.store.size_bytes(),
        peers,
    }
}

/// The status as the engine last published it, for `/api/status`, `/metrics` and `liaison
/// status` to read without waiting for the engine.
#[derive(Default)]
pub(crate) struct Board {
    current: std::sync::RwLock<Option<std::sync::Arc<NodeStatus>>>,
    /// What it cost to work out last time, and when that was: the next is worked out once ten
    /// times that has passed, so that a node taking in many small rounds spends at most about a
    /// tenth of its time on it.
    last: std::sync::Mutex<Option<(std::time::Instant, std::time::Duration)>>,
    /// A round went by without publishing: the status shown may be older than the last commit.
    stale: std::sync::atomic::AtomicBool,
    /// Someone read a stale status: the next round publishes whatever it costs.
    wanted: std::sync::atomic::AtomicBool,
}

impl Board {
    /// The status last published, and whether a later round has not been published.
    pub(crate) fn get(&self) -> (Option<std::sync::Arc<NodeStatus>>, bool) {
        use std::sync::atomic::Ordering;
        let stale = self.stale.load(Ordering::Acquire);
        if stale {
            self.wanted.store(true, Ordering::Release);
        }
        (self.current.read().unwrap_or_else(|e| e.into_inner()).clone(), stale)
    }

    fn due(&self) -> bool {
        match *self.last.lock().unwrap_or_else(|e| e.into_inner()) {
            Some((at, cost)) => at.elapsed() >= cost * 10,
            None => true,
        }
    }
}

/// Marks the published status as older than the engine's state (something changed after it was
/// published in the round): the next reader has the next round publish it.
pub(super) fn mark_stale(core: &Core) {
    core.reader.status.stale.store(true, std::sync::atomic::Ordering::Release);
}

/// Publishes the status at the end of a round: always when an officer waited for the round
/// (`force`: the status they read next shows what they did) or asked for a fresh one, otherwise
/// when it is due (see [`Board`]).
pub(super) fn publish(core: &mut Core, force: bool) {
    use std::sync::atomic::Ordering;
    // Cheap (a few peers), and the reader checks a draft's records with these keys.
    core.reader.publish_ctx(super::reader::ReadCtx {
        party: core.identity.party.id.clone(),
        own_key: core.crypto.signing.verifying_key().to_bytes(),
        pinned: core.peers.pinned().cloned().collect(),
        node_key: core.crypto.node_key.public().into(),
    });
    let board = &core.reader.status;
    if !(force || board.wanted.swap(false, Ordering::AcqRel) || board.due()) {
        board.stale.store(true, Ordering::Release);
        return;
    }
    let t0 = std::time::Instant::now();
    let s = std::sync::Arc::new(status(core));
    let board = &core.reader.status;
    *board.current.write().unwrap_or_else(|e| e.into_inner()) = Some(s);
    board.stale.store(false, Ordering::Release);
    *board.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((std::time::Instant::now(), t0.elapsed()));
}
