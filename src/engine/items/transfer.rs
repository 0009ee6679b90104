//! Items between nodes: what a connecting third party is owed, the offer and chunk frames a
//! sender queues (the policy asked again before each step), and the receiver's checks on an
//! offer, each chunk and a request, before anything is stored.

use std::collections::HashSet;

use chrono::Utc;
use libp2p::PeerId;

use super::{Incoming, facts, our_key};
use crate::audit::Event;
use crate::config::PeerRole;
use crate::consent::{Record, SignedRecord};
use crate::engine::peers::{self, SOFT_BATCH_BYTES, Violation};
use crate::engine::{Core, audit_log, consent};
use crate::ids::{ItemId, RecordId};
use crate::net::protocol::Frame;
use crate::policy::{self, Decision, ItemFacts, Subject};
use crate::store::StoredItem;
use crate::vault::{self, KeyWrap, SignedEnvelope};

/// Queues, for a third party that just connected (or just got a grant), every item granted to
/// it that we hold and have not sent it yet.
pub(in crate::engine) fn schedule_grants_for(core: &mut Core, peer: PeerId) {
    let Some(p) = core.peers.by_id.get(&peer) else { return };
    if p.pinned.role != PeerRole::ThirdParty {
        return;
    }
    let third = p.pinned.party_id.clone();
    let us = core.identity.party.id.clone();
    let sent: HashSet<RecordId> = core
        .consent
        .records
        .values()
        .filter_map(|r| match &r.record {
            Record::Transmission(t) if t.third_party == third => Some(t.grant),
            _ => None,
        })
        .collect();
    let due: Vec<(ItemId, RecordId)> = core
        .consent
        .records
        .values()
        .filter_map(|r| match &r.record {
            Record::Grant(g) if g.holder == us && g.third_party == third && !sent.contains(&g.id) => {
                Some((g.item, g.id))
            }
            _ => None,
        })
        .collect();
    if let Some(s) = core.peers.by_id.get_mut(&peer).and_then(|p| p.session.as_mut()) {
        for (item, grant) in due {
            s.send_item(item, Some(grant));
        }
    }
}

/// The frames of items due to `peer`, up to the batch size (and the frames every node takes).
pub(in crate::engine) fn item_frames(core: &mut Core, peer: PeerId, frames: &mut Vec<Frame>, size: &mut usize) {
    if let Some(s) = core.peers.by_id.get_mut(&peer).and_then(|p| p.session.as_mut()) {
        let n = s.want_requests.len().min(peers::SENT_ITEM_REQUESTS);
        for item in s.want_requests.drain(..n) {
            frames.push(Frame::ItemRequest(item));
        }
    }
    let send_list = core
        .peers
        .by_id
        .get_mut(&peer)
        .and_then(|p| p.session.as_mut())
        .is_some_and(|s| std::mem::take(&mut s.send_item_list));
    if send_list {
        match core.store.items() {
            Ok(items) => frames
                .push(Frame::ItemList(items.iter().filter(|i| i.complete).map(|i| i.envelope.envelope.item).collect())),
            Err(e) => tracing::error!(error = %e, "cannot list items"),
        }
    }
    while *size < SOFT_BATCH_BYTES && peers::room(frames.len()) {
        let Some(next) =
            core.peers.by_id.get(&peer).and_then(|p| p.session.as_ref()).and_then(|s| s.want_items.front().cloned())
        else {
            break;
        };
        match item_step(core, peer, &next, frames, size) {
            Ok(Some(n)) => {
                if let Some(s) = core.peers.by_id.get_mut(&peer).and_then(|p| p.session.as_mut())
                    && let Some(f) = s.want_items.front_mut()
                {
                    f.next_chunk = n;
                }
            }
            Ok(None) => {
                if let Some(s) = core.peers.by_id.get_mut(&peer).and_then(|p| p.session.as_mut()) {
                    s.want_items.pop_front();
                    s.in_flight_done.push((next.item, next.grant));
                }
                core.items.known_by.entry(peer).or_default().insert(next.item);
            }
            Err(reason) => {
                if let Some(s) = core.peers.by_id.get_mut(&peer).and_then(|p| p.session.as_mut()) {
                    s.want_items.pop_front();
                }
                tracing::warn!(%peer, item = %next.item, %reason, "item not sent");
                audit_log::record(
                    core,
                    Event::TransmissionRefused { item: next.item, to_peer: peer.to_string(), reason },
                );
            }
        }
    }
}

/// Adds what of one item fits; returns the next chunk to send, or `None` when all is sent.
fn item_step(
    core: &mut Core,
    peer: PeerId,
    send: &peers::ItemSend,
    frames: &mut Vec<Frame>,
    size: &mut usize,
) -> Result<Option<u32>, String> {
    let item = core
        .store
        .item(send.item)
        .map_err(|e| e.to_string())?
        .filter(|i| i.complete)
        .ok_or("the item is not held here")?;
    let pinned = core.peers.by_id.get(&peer).map(|p| p.pinned.clone()).ok_or("the peer is not pinned")?;
    // The policy decides at every step, so that a revocation stops a transfer under way.
    let decision = policy::may_send(&Subject::Item(facts(core, &item.envelope)), Some(&pinned));
    let grant = match decision {
        Decision::Deny(r) => return Err(r.to_string()),
        Decision::Allow => None,
        Decision::AllowUnderGrant(g) => Some(g),
    };
    if send.next_chunk == 0 {
        let wraps = match grant {
            None => core.store.item_keys(send.item).map_err(|e| e.to_string())?,
            Some(_) => {
                // Only now, with a grant the policy accepted, is the key sealed to the third party.
                let to =
                    pinned.sealing_key.ok_or_else(|| format!("no sealing key is pinned for {}", pinned.party_id))?;
                let key = our_key(core, &item).ok_or("no key of ours to re-seal")?;
                vec![vault::seal_key(&key, &item.envelope, &pinned.party_id, &to).map_err(|e| e.to_string())?]
            }
        };
        let grant_record = grant.and_then(|g| core.consent.records.get(&g).cloned()).map(Box::new);
        *size += 1024;
        frames.push(Frame::ItemOffer { envelope: Box::new(item.envelope.clone()), wraps, grant: grant_record });
    }
    let mut n = send.next_chunk;
    while n < item.envelope.envelope.chunks {
        if (*size >= SOFT_BATCH_BYTES || !peers::room(frames.len())) && n > send.next_chunk {
            return Ok(Some(n));
        }
        let data = core.store.item_chunk(send.item, n).map_err(|e| e.to_string())?.ok_or("a chunk is missing here")?;
        *size += data.len();
        frames.push(Frame::ItemChunk { item: send.item, index: n, data });
        n += 1;
    }
    Ok(None)
}

/// A peer acknowledged the batch that carried an item's last chunk.
pub(in crate::engine) fn transmitted(core: &mut Core, peer: PeerId, item: ItemId, grant: Option<RecordId>) {
    let to_party = core.peers.by_id.get(&peer).map(|p| p.pinned.party_id.clone());
    audit_log::record(
        core,
        Event::Transmitted {
            item,
            to_peer: peer.to_string(),
            to_party: to_party.as_ref().map(ToString::to_string).unwrap_or_default(),
            grant,
        },
    );
    // An onward transmission to a third party is reported to the provider, signed by us.
    if let (Some(grant), Some(third)) = (grant, to_party)
        && let Some(Record::Grant(g)) = core.consent.records.get(&grant).map(|r| r.record.clone())
    {
        let t = crate::consent::Transmission {
            id: RecordId::random(),
            grant,
            item,
            provider: g.provider.clone(),
            holder: core.identity.party.id.clone(),
            third_party: third,
            to_peer: peer.to_string(),
            at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        match SignedRecord::sign(Record::Transmission(t), &core.crypto.signing) {
            Ok(r) => consent::add_record(core, r, "this node".into()),
            Err(e) => tracing::error!(error = %e, "cannot sign a transmission report"),
        }
    }
}

pub(in crate::engine) fn on_item_list(core: &mut Core, peer: PeerId, list: Vec<ItemId>) -> Result<(), Violation> {
    let role = core.peers.by_id.get(&peer).map(|p| p.pinned.role);
    if role != Some(PeerRole::Party) {
        return Err(Violation("only the Parties' nodes exchange item lists".into()));
    }
    let theirs: HashSet<ItemId> = list.into_iter().collect();
    let ours: Vec<ItemId> = core
        .store
        .items()
        .map_err(|e| Violation(format!("cannot read items: {e}")))?
        .iter()
        .filter(|i| i.complete)
        .map(|i| i.envelope.envelope.item)
        .filter(|i| !theirs.contains(i))
        .collect();
    core.items.known_by.entry(peer).or_default().extend(theirs);
    if let Some(s) = core.peers.by_id.get_mut(&peer).and_then(|p| p.session.as_mut()) {
        for i in ours {
            s.send_item(i, None);
        }
    }
    Ok(())
}

/// Bytes of the tag ChaCha20-Poly1305 adds to each chunk (see [`crate::vault`]).
const TAG_BYTES: u64 = 16;

/// The exact size of chunk `index` of an item as the vault seals it: 1 MiB of plaintext in
/// every chunk but the last, which has the rest (at least one chunk, maybe empty), each with
/// its tag. The signed envelope gives the count and the plaintext size, so a chunk of any other
/// size is refused before it is written.
fn chunk_len(env: &vault::Envelope, index: u32) -> u64 {
    let chunk = vault::CHUNK_BYTES as u64;
    if index + 1 < env.chunks {
        chunk + TAG_BYTES
    } else {
        env.plaintext_bytes.saturating_sub(u64::from(env.chunks.saturating_sub(1)) * chunk) + TAG_BYTES
    }
}

/// What is wrong with an offer's shape against `[limits.peer]`, if anything.
fn offer_shape(env: &vault::Envelope, item_chunks: u32) -> Option<String> {
    if env.chunks > item_chunks {
        return Some(format!("it claims {} chunks, past limits.peer.item_chunks ({item_chunks})", env.chunks));
    }
    let needed = env.plaintext_bytes.div_ceil(vault::CHUNK_BYTES as u64).max(1);
    (u64::from(env.chunks) != needed)
        .then(|| format!("it claims {} chunks for {} bytes, which take {needed}", env.chunks, env.plaintext_bytes))
}

/// The peer's session is over: its unfinished transfers are forgotten and their chunks
/// removed (in this round's commit), instead of staying on disk until the next start.
pub(in crate::engine) fn abandon(core: &mut Core, peer: PeerId) {
    let gone: Vec<(ItemId, bool)> =
        core.items.incoming.iter().filter(|(_, i)| i.from == peer).map(|(id, i)| (*id, i.skip)).collect();
    if gone.is_empty() {
        return;
    }
    tracing::info!(%peer, count = gone.len(), "removing the peer's unfinished item transfers");
    for (item, skip) in gone {
        core.items.incoming.remove(&item);
        if !skip {
            core.round.writes.push(Box::new(move |w| w.drop_item_chunks(item)));
        }
    }
}

/// Refuses an item, logging and auditing why.
fn refuse(core: &mut Core, peer: PeerId, item: ItemId, reason: String) -> Violation {
    audit_log::record(
        core,
        Event::ReceiveRefused {
            what: "item".into(),
            id: Some(item.to_string()),
            from_peer: peer.to_string(),
            reason: reason.clone(),
        },
    );
    Violation(format!("item {item} refused: {reason}"))
}

pub(in crate::engine) fn on_offer(
    core: &mut Core,
    peer: PeerId,
    envelope: Box<SignedEnvelope>,
    wraps: Vec<KeyWrap>,
    grant: Option<Box<SignedRecord>>,
) -> Result<(), Violation> {
    let grant = grant.map(|g| *g);
    let item = envelope.envelope.item;
    let Some(pinned) = core.peers.by_id.get(&peer).map(|p| p.pinned.clone()) else {
        return Err(Violation("not pinned".into()));
    };
    // The bounds first: what the offer would make us hold, before anything else is looked at.
    let limits = core.peers.limits.clone();
    if let Some(why) = offer_shape(&envelope.envelope, limits.item_chunks) {
        return Err(refuse(core, peer, item, why));
    }
    let pending = core.items.incoming.iter().filter(|(id, i)| i.from == peer && **id != item).count();
    if pending >= limits.pending_offers as usize {
        let why = format!(
            "{pending} offers of this peer are unfinished, as many as limits.peer.pending_offers ({})",
            limits.pending_offers
        );
        return Err(refuse(core, peer, item, why));
    }
    let us = core.identity.party.id.clone();
    let provider = envelope.envelope.provider.clone();
    // The provider's signature, against its pinned key.
    let pk = if provider == us {
        Some(core.crypto.signing.verifying_key().to_bytes())
    } else {
        core.peers.signing_key_of(&provider)
    };
    let Some(pk) = pk else {
        return Err(refuse(core, peer, item, format!("no signing key is pinned for its provider {provider}")));
    };
    if let Err(e) = envelope.verify(&pk) {
        return Err(refuse(core, peer, item, format!("forged or tampered envelope: {e}")));
    }
    // The grant, for a third party: signed by the provider, for this content and this node's Party.
    if let Some(g) = &grant {
        if let Err(e) = g.verify(|p| {
            if *p == us { Some(core.crypto.signing.verifying_key().to_bytes()) } else { core.peers.signing_key_of(p) }
        }) {
            return Err(refuse(core, peer, item, format!("forged or tampered grant: {e}")));
        }
        if !matches!(g.record, Record::Grant(_)) {
            return Err(refuse(core, peer, item, "what came as its grant is not a grant".into()));
        }
    }
    let grant_ref = grant.as_ref().and_then(|g| match &g.record {
        Record::Grant(x) => Some(x),
        _ => None,
    });
    let revoked = grant_ref.is_some_and(|g| {
        core.consent.records.values().any(|r| matches!(&r.record, Record::Revocation(v) if v.grant == g.id))
    });
    let facts = ItemFacts {
        item,
        provider: &provider,
        content_hash: envelope.content_hash(),
        grants: grant_ref.map(|g| vec![(g, revoked)]).unwrap_or_default(),
        now: Utc::now(),
    };
    if let Decision::Deny(r) = policy::may_accept(&Subject::Item(facts), Some(&pinned), &us) {
        return Err(refuse(core, peer, item, r.to_string()));
    }
    // Key wraps: the one to us must be to our own key; others to the keys pinned for their Party.
    for w in &wraps {
        let expected =
            if w.recipient == us { Some(core.crypto.sealing_public) } else { core.peers.sealing_key_of(&w.recipient) };
        if w.item != item || expected.is_some_and(|k| k != w.recipient_key) {
            return Err(refuse(
                core,
                peer,
                item,
                format!("its key is sealed to a key that is not the pinned key of {}", w.recipient),
            ));
        }
    }
    if pinned.role == PeerRole::Provider && !wraps.iter().any(|w| w.recipient == us) {
        return Err(refuse(core, peer, item, "no key sealed to this node's Party came with it".into()));
    }
    // An item its provider deleted is not taken again (a holder that was away may still offer it).
    let have = core.store.item(item).map_err(|e| Violation(e.to_string()))?.is_some_and(|i| i.complete)
        || consent::deleted(core, item);
    let hasher = crate::vault::Hasher::like(&envelope.envelope.ciphertext_hash);
    core.items
        .incoming
        .insert(item, Incoming { from: peer, envelope: *envelope, wraps, grant, next: 0, hasher, skip: have });
    if !have {
        core.round.writes.push(Box::new(move |w| w.drop_item_chunks(item)));
    }
    Ok(())
}

pub(in crate::engine) fn on_chunk(
    core: &mut Core,
    peer: PeerId,
    item: ItemId,
    index: u32,
    data: Vec<u8>,
) -> Result<(), Violation> {
    let Some(inc) = core.items.incoming.get_mut(&item) else {
        return Err(Violation(format!("chunk of item {item}, which was not offered")));
    };
    if inc.from != peer || index != inc.next || index >= inc.envelope.envelope.chunks {
        return Err(Violation(format!("chunk {index} of item {item} out of order")));
    }
    // Its exact size is known from the signed envelope: checked before a byte is written.
    let want = chunk_len(&inc.envelope.envelope, index);
    if data.len() as u64 != want {
        let why = format!("chunk {index} has {} bytes where its signed envelope makes it {want}", data.len());
        return Err(refuse(core, peer, item, why));
    }
    let Some(inc) = core.items.incoming.get_mut(&item) else { return Ok(()) };
    inc.next += 1;
    if inc.skip {
        if inc.next == inc.envelope.envelope.chunks {
            core.items.incoming.remove(&item);
            core.items.known_by.entry(peer).or_default().insert(item);
        }
        return Ok(());
    }
    inc.hasher.update(&data);
    core.round.writes.push(Box::new(move |w| w.put_item_chunk(item, index, &data)));
    if inc.next < inc.envelope.envelope.chunks {
        return Ok(());
    }
    let Some(inc) = core.items.incoming.remove(&item) else { return Ok(()) };
    if inc.hasher.finish() != inc.envelope.envelope.ciphertext_hash {
        core.round.writes.push(Box::new(move |w| w.drop_item_chunks(item)));
        return Err(refuse(core, peer, item, "its ciphertext does not match the signed envelope".into()));
    }
    let us = core.identity.party.id.clone();
    let third_party_here = core.peers.by_id.get(&peer).is_some_and(|p| p.pinned.role == PeerRole::Provider);
    // A third party keeps only its own key; the Parties keep every wrap (each opens its own).
    let wraps: Vec<KeyWrap> = inc.wraps.into_iter().filter(|w| !third_party_here || w.recipient == us).collect();
    let grant_id = inc.grant.as_ref().map(|g| g.record.id());
    let stored = StoredItem {
        envelope: inc.envelope.clone(),
        complete: true,
        from_peer: Some(peer.to_string()),
        grant: grant_id,
        stored_at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    core.round.writes.push(Box::new(move |w| {
        w.put_item(&stored)?;
        for wrap in &wraps {
            w.put_item_key(wrap)?;
        }
        Ok(())
    }));
    if let Some(g) = inc.grant
        && !core.consent.records.contains_key(&g.record.id())
    {
        consent::add_record(core, g, peer.to_string());
    }
    audit_log::record(
        core,
        Event::ItemReceived {
            item,
            provider: inc.envelope.envelope.provider.to_string(),
            from_peer: peer.to_string(),
            grant: grant_id,
        },
    );
    core.items.known_by.entry(peer).or_default().insert(item);
    // Pass it on to the Party's other nodes that are not known to have it.
    if !third_party_here {
        let known = core.items.known_by.clone();
        for (id, p) in core.peers.by_id.iter_mut() {
            if *id != peer
                && p.pinned.role == PeerRole::Party
                && !known.get(id).is_some_and(|k| k.contains(&item))
                && let Some(s) = p.session.as_mut()
            {
                s.send_item(item, None);
            }
        }
    }
    Ok(())
}

/// A peer asks for an item. A third party gets it only under a grant; otherwise the refusal is
/// audited, and the peer learns nothing (not even whether the item exists).
pub(in crate::engine) fn on_request(core: &mut Core, peer: PeerId, item: ItemId) -> Result<(), Violation> {
    let Some(pinned) = core.peers.by_id.get(&peer).map(|p| p.pinned.clone()) else {
        return Err(Violation("not pinned".into()));
    };
    let stored = core.store.item(item).map_err(|e| Violation(e.to_string()))?.filter(|i| i.complete);
    let decision = match &stored {
        None => Decision::Deny(policy::DenyReason::NoGrant {
            third_party: pinned.party_id.clone(),
            provider: pinned.party_id.clone(),
        }),
        Some(i) => policy::may_send(&Subject::Item(facts(core, &i.envelope)), Some(&pinned)),
    };
    match decision {
        Decision::Deny(r) => {
            let reason = if stored.is_none() { "no such item is held here".to_string() } else { r.to_string() };
            super::refusals::refused(core, peer, item, reason);
        }
        Decision::Allow => {
            if let Some(s) = core.peers.by_id.get_mut(&peer).and_then(|p| p.session.as_mut()) {
                s.send_item(item, None);
            }
        }
        Decision::AllowUnderGrant(g) => {
            if let Some(s) = core.peers.by_id.get_mut(&peer).and_then(|p| p.session.as_mut()) {
                s.send_item(item, Some(g));
            }
        }
    }
    Ok(())
}
