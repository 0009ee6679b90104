//! The engine's part in vouched peers (see [`crate::vouch`] for the rule): it sends our own
//! Party's nodes the signed list of the peers pinned here for other Parties, takes theirs,
//! keeps the newest list of each in the store (meta `vouched-peers`), and puts the peers they
//! name in effect beside the hand-pinned ones, which win.
//!
//! A list is applied at once when its frame is read (before the rest of its batch, whose
//! certificates may be signed by the Parties it names) and put back if the batch is refused.

use std::collections::BTreeMap;

use libp2p::PeerId;

use super::Core;
use super::peers::Violation;
use crate::config::PinnedPeer;
use crate::net::NetCmd;
use crate::net::protocol::Frame;
use crate::vouch::{VouchError, VouchedList};

/// Store meta key: every list taken, postcard `Vec<VouchedList>`.
const META_KEY: &str = "vouched-peers";

/// A list taken, with the peers it names.
type Taken = (VouchedList, Vec<PinnedPeer>);

/// What the engine holds of vouched peers.
#[derive(Default)]
pub(super) struct VouchedState {
    /// The newest list of each issuer (a node of our own Party), with the peers it names.
    lists: BTreeMap<PeerId, Taken>,
    /// Our own list, signed when first needed after the hand-pinned peers changed.
    own: Option<VouchedList>,
    /// The list an issuer had before the batch being applied replaced it: put back if the
    /// batch is refused. `None` inside: it had none.
    undo: Option<(PeerId, Option<Taken>)>,
    /// The vouched peers the network was last told of.
    told: Vec<PinnedPeer>,
}

/// At start: the lists kept in the store, checked again against our Party key, of issuers
/// still pinned here as our own Party's nodes. The network task has not started reading its
/// commands yet, so it is told without blocking.
pub(super) fn load(core: &mut Core) {
    let lists: Vec<VouchedList> = match core.store.meta_value(META_KEY) {
        Ok(v) => v.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the vouched peers; starting without them");
            Vec::new()
        }
    };
    for list in lists {
        let Ok(issuer) = list.issuer.parse::<PeerId>() else { continue };
        if !core.peers.is_own_party_node(&issuer, &core.identity.party.id) {
            continue;
        }
        match verify(core, issuer, &list) {
            Ok(peers) => {
                core.peers.vouched.lists.insert(issuer, (list, peers));
            }
            Err(e) => tracing::warn!(%issuer, error = %e, "a stored vouched list no longer verifies; dropped"),
        }
    }
    if core.peers.vouched.lists.is_empty() {
        return;
    }
    let effective = effective(core);
    for (p, by) in effective {
        if let Some(by) = by
            && !core.peers.by_id.contains_key(&p.peer_id)
        {
            core.peers.by_id.insert(p.peer_id, super::peers::PeerState::new(p, Some(by)));
        }
    }
    let list = vouched_only(core);
    tracing::info!(peers = list.len(), "vouched peers loaded");
    if core.net.try_send(NetCmd::SetVouched(list.clone())).is_err() {
        tracing::warn!("cannot tell the network of the vouched peers");
    }
    core.peers.vouched.told = list;
}

fn verify(core: &Core, sender: PeerId, list: &VouchedList) -> Result<Vec<PinnedPeer>, VouchError> {
    let own_key = core.crypto.signing.verifying_key().to_bytes();
    list.verify(&core.identity.party.id, &own_key, &sender, &core.identity.peer_id)
}

/// The peers in effect: every hand-pinned one, then each vouched one not pinned by hand whose
/// Party's keys agree with those pinned by hand for it.
pub(super) fn effective(core: &Core) -> Vec<(PinnedPeer, Option<PeerId>)> {
    let hand = &core.peers.hand;
    let mut out: Vec<(PinnedPeer, Option<PeerId>)> = hand.iter().map(|p| (p.clone(), None)).collect();
    for (issuer, (_, peers)) in &core.peers.vouched.lists {
        for p in peers {
            if out.iter().any(|(q, _)| q.peer_id == p.peer_id) {
                continue;
            }
            let clash = hand.iter().find(|q| {
                q.party_id == p.party_id
                    && (q.signing_key.zip(p.signing_key).is_some_and(|(a, b)| a != b)
                        || q.sealing_key.zip(p.sealing_key).is_some_and(|(a, b)| a != b))
            });
            if let Some(q) = clash {
                tracing::warn!(
                    peer = %p.peer_id, party = %p.party_id, %issuer, pinned = %q.peer_id,
                    "a vouched peer's Party keys differ from those pinned here by hand; the vouched one is ignored"
                );
                continue;
            }
            out.push((p.clone(), Some(*issuer)));
        }
    }
    out
}

fn vouched_only(core: &Core) -> Vec<PinnedPeer> {
    let mut v: Vec<PinnedPeer> =
        core.peers.by_id.values().filter(|p| p.vouched_by.is_some()).map(|p| p.pinned.clone()).collect();
    v.sort_by_key(|p| p.peer_id);
    v
}

/// Tells the network task of the vouched peers, if they changed.
pub(super) fn tell_network(core: &mut Core) {
    let list = vouched_only(core);
    if list != core.peers.vouched.told {
        core.peers.vouched.told = list.clone();
        core.net_cmd(NetCmd::SetVouched(list));
    }
}

/// The hand-pinned peers changed: our own list is signed anew and sent to our Party's nodes in
/// session, and the lists of issuers no longer pinned as our nodes are dropped.
pub(super) fn hand_changed(core: &mut Core) {
    core.peers.vouched.own = None;
    let own = core.identity.party.id.clone();
    let issuers: Vec<PeerId> = core.peers.vouched.lists.keys().copied().collect();
    let mut dropped = false;
    for issuer in issuers {
        let still = core
            .peers
            .hand
            .iter()
            .any(|p| p.peer_id == issuer && p.party_id == own && p.role == crate::config::PeerRole::Party);
        if !still {
            core.peers.vouched.lists.remove(&issuer);
            tracing::info!(%issuer, "the node that vouched for peers is no longer pinned; its list is dropped");
            dropped = true;
        }
    }
    if dropped {
        persist(core);
    }
    for p in core.peers.by_id.values_mut() {
        if p.vouched_by.is_none()
            && p.pinned.party_id == own
            && let Some(s) = p.session.as_mut()
            && s.workspace
        {
            s.send_vouched = true;
        }
    }
}

fn persist(core: &mut Core) {
    let lists: Vec<VouchedList> = core.peers.vouched.lists.values().map(|(l, _)| l.clone()).collect();
    core.round.bookkeeping.push(Box::new(move |w| w.put_meta_value(META_KEY, &lists)));
}

/// A list from a peer: taken only from a node of our own Party pinned by hand, signed with our
/// Party key, issued by that node; the peers it names are in effect at once.
pub(super) fn on_vouched(core: &mut Core, peer: PeerId, list: VouchedList) -> Result<(), Violation> {
    if !core.peers.is_own_party_node(&peer, &core.identity.party.id) {
        return Err(Violation(VouchError::NotOwnParty { sender: peer.to_string() }.to_string()));
    }
    let peers = verify(core, peer, &list).map_err(|e| Violation(e.to_string()))?;
    let before = core.peers.vouched.lists.get(&peer);
    if before.is_some_and(|(l, _)| l.cards == list.cards) {
        return Ok(());
    }
    tracing::info!(%peer, cards = peers.len(), "our own Party's node vouched for peers");
    let before = core.peers.vouched.lists.insert(peer, (list, peers));
    if core.peers.vouched.undo.is_none() {
        core.peers.vouched.undo = Some((peer, before));
    }
    persist(core);
    super::dispatch::apply(core);
    Ok(())
}

/// The batch whose lists were applied is kept, or refused: then they are put back.
pub(super) fn batch_done(core: &mut Core, kept: bool) {
    let Some((issuer, before)) = core.peers.vouched.undo.take() else { return };
    if kept {
        return;
    }
    match before {
        Some(b) => core.peers.vouched.lists.insert(issuer, b),
        None => core.peers.vouched.lists.remove(&issuer),
    };
    super::dispatch::apply(core);
}

/// Our list, to our own Party's nodes: once per session, and again when it changes.
pub(super) fn frames(core: &mut Core, peer: PeerId, frames: &mut Vec<Frame>) {
    let due = core.peers.by_id.get(&peer).and_then(|p| p.session.as_ref()).is_some_and(|s| s.send_vouched);
    if !due || !core.peers.is_own_party_node(&peer, &core.identity.party.id) {
        return;
    }
    if core.peers.vouched.own.is_none() {
        let now = chrono::Utc::now().timestamp_millis();
        match VouchedList::issue(
            &core.crypto.signing,
            &core.identity.party.id,
            core.identity.peer_id,
            &core.peers.hand,
            now,
        ) {
            Ok(l) => core.peers.vouched.own = Some(l),
            Err(e) => {
                tracing::error!(error = %e, "cannot sign the list of vouched peers");
                return;
            }
        }
    }
    if let Some(own) = core.peers.vouched.own.clone() {
        frames.push(Frame::Vouched(Box::new(own)));
    }
    if let Some(s) = core.peers.by_id.get_mut(&peer).and_then(|p| p.session.as_mut()) {
        s.send_vouched = false;
    }
}
