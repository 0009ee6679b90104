//! The round's router for the network: a connection event, a peer's batch, or the batch due to
//! a peer is routed here to the parts that own what it concerns (sessions in `peers`, documents
//! in `sync`, consent records, item transfers, presence, witnessed heads, vouched peers). The
//! parts do not call each other through the sessions: `peers` keeps the sessions and calls no
//! other part, and this module is the one place that knows them all.

use std::collections::HashMap;

use libp2p::PeerId;
use libp2p::request_response::InboundRequestId;

use super::peers::{PeerState, Violation};
use super::{Core, bounds, consent, items, sync};
use crate::config::PinnedPeer;
use crate::net::protocol::{Batch, Frame, Reply};
use crate::net::{NetCmd, NetEvent};

pub(super) fn on_net_event(core: &mut Core, ev: NetEvent) {
    // Outside any batch: counted refusals whose interval is over are audited now.
    items::refusals::flush_expired(core);
    match ev {
        NetEvent::Connected { peer } => connected(core, peer),
        NetEvent::Disconnected { peer } => {
            core.peers.disconnected(&peer);
            session_ended(core, peer);
            let _ = core.events.send(super::Event::Peer { peer: peer.to_string(), connected: false });
        }
        NetEvent::Inbound { peer, request, batch } => inbound(core, peer, request, batch),
        NetEvent::Delivered { peer } => {
            for (item, grant) in core.peers.delivered(&peer) {
                items::transmitted(core, peer, item, grant);
            }
            core.peers.note_exchange(&peer);
        }
        NetEvent::Failed { peer, error } => {
            tracing::warn!(%peer, %error, "a batch to the peer was lost; restarting the session");
            core.peers.end_session(&peer);
            session_ended(core, peer);
            core.round.disconnects.push((peer, format!("batch lost: {error}")));
        }
    }
}

fn connected(core: &mut Core, peer: PeerId) {
    if !core.peers.open_session(peer, &core.store, &core.identity.party.id) {
        // The allow-list makes this impossible; if it ever happens, the peer still gets nothing.
        tracing::warn!(%peer, "connection from a peer that is not pinned; ignored");
        return;
    }
    let _ = core.events.send(super::Event::Peer { peer: peer.to_string(), connected: true });
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
/// are removed now, not at the next start, its counted refusals are audited, and the presence
/// queued for it is dropped.
fn session_ended(core: &mut Core, peer: PeerId) {
    items::abandon(core, peer);
    items::refusals::flush(core, peer);
    core.presence.session_ended(&peer);
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
            core.peers.end_session(&peer);
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

/// Sends every peer in session one batch, if it has none in flight and anything is due;
/// answers whether any batch went.
pub(super) fn flush_all(core: &mut Core) -> bool {
    let mut sent = false;
    for id in core.peers.in_session() {
        if let Some(batch) = build_batch(core, id) {
            core.net_cmd(NetCmd::Send { peer: id, batch });
            sent = true;
        }
    }
    sent
}

fn build_batch(core: &mut Core, peer: PeerId) -> Option<Batch> {
    if !core.peers.ready(&peer) {
        return None;
    }
    let mut frames = Vec::new();
    let mut size = 0usize;
    super::vouched::frames(core, peer, &mut frames);
    core.presence.frames(peer, &mut frames);
    super::witness::frames(core, peer, &mut frames);
    consent::record_frames(core, peer, &mut frames, &mut size);
    sync::workspace_frames(core, peer, &mut frames, &mut size);
    items::item_frames(core, peer, &mut frames, &mut size);
    if frames.is_empty() {
        return None;
    }
    core.peers.sending(&peer, &frames)?;
    tracing::debug!(%peer, frames = frames.len(), bytes = size, "sending batch");
    Some(Batch { frames })
}
