//! Witnessing the other Party's audit log, and having ours witnessed (see `crate::witness`).
//!
//! Each node sends its signed audit head to the other Party's nodes at the start of a session,
//! then whenever it has grown and a minute has passed. The receiver checks it against the
//! sender's node key, countersigns it, keeps it, and sends the countersigned head back, so each
//! side holds a copy. A head that does not follow the last one held of the same node (the log
//! went back, or changed at the same length) is kept too, logged as an error and audited.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use libp2p::PeerId;

use super::peers::Violation;
use super::{Core, audit_log};
use crate::audit::{Event, Head};
use crate::config::PeerRole;
use crate::net::protocol::Frame;
use crate::witness::{self, Witnessed};

/// How often a grown head is sent again to a peer in session.
const INTERVAL: Duration = Duration::from_secs(60);
/// Heads kept per witnessed node (newest; the first one is always kept too).
const KEEP: usize = 2048;
/// Meta key prefix of the heads witnessed of another node; `RECEIPTS` holds ours, witnessed.
const WITNESSED_PREFIX: &str = "witnessed/";
const RECEIPTS: &str = "witness-receipts";

#[derive(Default)]
pub(super) struct WitnessState {
    /// Per peer: the head length last sent and when.
    sent: HashMap<PeerId, (u64, Instant)>,
    /// Countersigned heads to send back, per peer.
    outbox: HashMap<PeerId, Vec<Witnessed>>,
}

fn other_party(core: &Core, peer: &PeerId) -> bool {
    core.peers
        .by_id
        .get(peer)
        .is_some_and(|p| p.pinned.role == PeerRole::Party && p.pinned.party_id != core.identity.party.id)
}

/// A session with `peer` began: its first batch carries our head.
pub(super) fn session_started(core: &mut Core, peer: PeerId) {
    core.witness.sent.remove(&peer);
}

/// Frames due to `peer`: our head when due, and the heads of its log we countersigned.
pub(super) fn frames(core: &mut Core, peer: PeerId, frames: &mut Vec<Frame>) {
    if !other_party(core, &peer) {
        return;
    }
    if let Some(receipts) = core.witness.outbox.remove(&peer) {
        frames.push(Frame::Witnessed(receipts));
    }
    let Some(head) = core.audit_log.head().cloned() else { return };
    let due = match core.witness.sent.get(&peer) {
        None => true,
        Some((len, at)) => *len != head.len && at.elapsed() >= INTERVAL,
    };
    if due {
        core.witness.sent.insert(peer, (head.len, Instant::now()));
        frames.push(Frame::AuditHead(head));
    }
}

fn load(core: &Core, key: &str) -> Vec<Witnessed> {
    core.store.meta_value::<Vec<Witnessed>>(key).ok().flatten().unwrap_or_default()
}

fn keep(core: &mut Core, key: String, mut list: Vec<Witnessed>, w: Witnessed) {
    list.push(w);
    if list.len() > KEEP {
        // Keep the first (the oldest evidence) and the newest.
        list.drain(1..list.len() - KEEP + 1);
    }
    core.round.bookkeeping.push(Box::new(move |wr| wr.put_meta_value(&key, &list)));
}

/// The other Party's node sent its head: check, countersign, keep, and send it back.
pub(super) fn on_head(core: &mut Core, peer: PeerId, head: Head) -> Result<(), Violation> {
    if !other_party(core, &peer) {
        return Err(Violation("an audit head from a peer that is not the other Party's node".into()));
    }
    let at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let w = witness::countersign(&core.crypto.node_key, &core.identity.peer_id, &peer, &head, at)
        .map_err(|e| Violation(format!("audit head refused: {e}")))?;
    let key = format!("{WITNESSED_PREFIX}{peer}");
    let list = load(core, &key);
    if let Some(last) = list.last() {
        if last.head == head {
            return Ok(());
        }
        if !witness::follows(&last.head, &head) {
            tracing::error!(
                %peer, last = last.head.len, now = head.len,
                "the other Party's node sent an audit head that does not follow the one witnessed before: its log was cut or rewritten"
            );
            audit_log::record(
                core,
                Event::WitnessConflict { node: peer.to_string(), witnessed_len: last.head.len, new_len: head.len },
            );
        }
    }
    core.witness.outbox.entry(peer).or_default().push(w.clone());
    keep(core, key, list, w);
    Ok(())
}

/// Our heads, countersigned by the other Party's node: kept as our copy of its witness.
pub(super) fn on_witnessed(core: &mut Core, peer: PeerId, receipts: Vec<Witnessed>) -> Result<(), Violation> {
    if !other_party(core, &peer) || receipts.len() > 64 {
        return Err(Violation("unexpected countersigned audit heads".into()));
    }
    let us = core.identity.peer_id.to_string();
    for w in receipts {
        if w.witness != peer.to_string() || w.node != us {
            return Err(Violation("a countersigned audit head that is not of our log by that peer".into()));
        }
        w.check().map_err(|e| Violation(format!("countersigned audit head refused: {e}")))?;
        let list = load(core, RECEIPTS);
        keep(core, RECEIPTS.into(), list, w);
    }
    Ok(())
}

impl Core {
    /// Every head this node holds witnessed: of the other Party's nodes' logs (countersigned
    /// here), and of ours (countersigned by them). `audit verify --witness` takes the former
    /// from the other Party.
    pub fn audit_witnessed(&self) -> Vec<Witnessed> {
        let mut out = load(self, RECEIPTS);
        let peers: Vec<PeerId> = self.peers.by_id.keys().copied().collect();
        for p in peers {
            out.extend(load(self, &format!("{WITNESSED_PREFIX}{p}")));
        }
        out
    }
}
