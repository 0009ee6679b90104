//! Items in the engine: provision (upload, sealing, signing), the list, decryption for an
//! officer, and transfer between nodes: to the Parties' nodes always, to a third party only
//! under a grant the policy accepts, checked again by the receiver before it stores anything.
//!
//! An item travels as an offer (signed envelope, key wraps, and for a third party the grant)
//! followed by its chunks in order, spread over batches so that any size moves in bounded
//! memory. The receiver checks the envelope's signature against the provider's pinned key and,
//! once the last chunk is in, the SHA-256 of the ciphertext against the signed one; only then
//! is the item stored as complete. Until then its chunks are just bytes with no key.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use libp2p::PeerId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::peers::{SOFT_BATCH_BYTES, Violation};
use super::{Core, EngineError, audit_log};
use crate::audit::Event;
use crate::config::PeerRole;
use crate::consent::{Record, SignedRecord};
use crate::ids::{ItemId, PartyId, RecordId};
use crate::net::protocol::Frame;
use crate::policy::{self, Decision, ItemFacts, Subject};
use crate::store::StoredItem;
use crate::vault::{self, ItemKey, KeyWrap, Sealer, SignedEnvelope, VaultError};

/// An item being received: chunks must come in order, and are hashed as they come.
pub(super) struct Incoming {
    from: PeerId,
    envelope: SignedEnvelope,
    wraps: Vec<KeyWrap>,
    grant: Option<SignedRecord>,
    next: u32,
    hasher: Sha256,
    /// We have it already: take the chunks off the wire and drop them.
    skip: bool,
}

/// The engine's item state that is not in the store.
#[derive(Default)]
pub(super) struct ItemState {
    pub incoming: HashMap<ItemId, Incoming>,
    /// Per peer, the items it is known to hold (its list, what we sent, what it sent us).
    pub known_by: HashMap<PeerId, HashSet<ItemId>>,
}

/// An item as officers see it in a list.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ItemView {
    /// Id.
    pub id: String,
    /// Providing Party.
    pub provider: String,
    /// Handling marking.
    pub marking: String,
    /// Title, if this node can decrypt it.
    pub title: Option<String>,
    /// Size of the body.
    pub bytes: u64,
    /// When it was provided.
    pub created_at: String,
    /// The mandate it cites.
    pub mandate: Option<String>,
    /// Whether an officer here can decrypt it.
    pub readable: bool,
    /// The peer it came from, if not provided here.
    pub from_peer: Option<String>,
    /// The item's content hash, hex (what grants name).
    pub content_hash: String,
    /// Whether the provider's signature over the envelope verifies against its pinned key. A
    /// false here means the stored item was altered (or the provider's key is not pinned).
    #[serde(default)]
    pub signature_ok: bool,
}

/// The answer of `liaison explain`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Explanation {
    /// The item.
    pub item: String,
    /// The peer asked about.
    pub to: String,
    /// Its organisation and role, if pinned.
    pub to_party: Option<String>,
    /// Whether it may go.
    pub allowed: bool,
    /// The grant it would go under.
    pub grant: Option<String>,
    /// Why not, if not.
    pub reason: Option<String>,
}

fn err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Item(e.to_string())
}

// ---- provision ----

/// Stores one encrypted chunk of an upload in progress.
pub(super) fn stage_chunk(core: &mut Core, item: ItemId, index: u32, ciphertext: Vec<u8>) {
    core.round.writes.push(Box::new(move |w| w.put_item_chunk(item, index, &ciphertext)));
}

/// Drops the chunks of an upload that did not finish.
pub(super) fn abort_upload(core: &mut Core, item: ItemId) {
    core.round.writes.push(Box::new(move |w| w.drop_item_chunks(item)));
}

/// Seals, signs and stores a provided item, and sends it to the Parties' nodes.
pub(super) fn finish_upload(
    core: &mut Core,
    sealer: Sealer,
    title: &str,
    marking: String,
    mandate: Option<String>,
    officer: &str,
) -> Result<ItemView, EngineError> {
    let us = core.identity.party.id.clone();
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (env, key) = sealer
        .finish(us.clone(), now.clone(), marking.clone(), mandate.clone(), title, &core.crypto.signing)
        .map_err(err)?;
    let item = env.envelope.item;
    // The key is sealed to every Party entitled to the item: ours, and each Party pinned as such.
    let mut parties: Vec<(PartyId, [u8; 32])> = vec![(us.clone(), core.crypto.sealing_public)];
    for p in core.peers.pinned() {
        if p.role != PeerRole::Party || parties.iter().any(|(id, _)| *id == p.party_id) {
            continue;
        }
        match p.sealing_key {
            Some(k) => parties.push((p.party_id.clone(), k)),
            None => {
                tracing::warn!(party = %p.party_id, "no sealing key pinned for this Party: it will hold the item but cannot read it")
            }
        }
    }
    let mut wraps = Vec::new();
    for (party, k) in &parties {
        wraps.push(vault::seal_key(&key, &env, party, k).map_err(err)?);
    }
    let stored = StoredItem { envelope: env.clone(), complete: true, from_peer: None, grant: None, stored_at: now };
    core.round.writes.push(Box::new(move |w| {
        w.put_item(&stored)?;
        for wrap in &wraps {
            w.put_item_key(wrap)?;
        }
        Ok(())
    }));
    audit_log::record(
        core,
        Event::ItemProvided {
            item,
            marking,
            bytes: env.envelope.plaintext_bytes,
            officer: officer.to_string(),
            mandate: env.envelope.mandate.clone(),
        },
    );
    for (peer, p) in core.peers.by_id.iter_mut() {
        if p.pinned.role == PeerRole::Party
            && let Some(s) = p.session.as_mut()
        {
            s.send_item(item, None);
            let _ = peer;
        }
    }
    Ok(view(
        core,
        &StoredItem { envelope: env, complete: true, from_peer: None, grant: None, stored_at: String::new() },
        Some(&key),
    ))
}

// ---- reading ----

fn our_key(core: &Core, item: &StoredItem) -> Option<ItemKey> {
    let wrap = core.store.item_key(item.envelope.envelope.item, &core.identity.party.id).ok()??;
    vault::open_key(&wrap, &item.envelope, &core.crypto.sealing_secret).ok()
}

fn view(core: &Core, item: &StoredItem, key: Option<&ItemKey>) -> ItemView {
    let e = &item.envelope.envelope;
    let signature_ok = provider_key(core, &e.provider).is_some_and(|pk| item.envelope.verify(&pk).is_ok());
    ItemView {
        id: e.item.to_string(),
        provider: e.provider.to_string(),
        marking: e.marking.clone(),
        title: key.and_then(|k| vault::open_title(k, e).ok()),
        bytes: e.plaintext_bytes,
        created_at: e.created_at.clone(),
        mandate: e.mandate.clone(),
        readable: key.is_some(),
        from_peer: item.from_peer.clone(),
        content_hash: hex::encode(item.envelope.content_hash()),
        signature_ok,
    }
}

/// The pinned signing key of a providing Party (ours for our own items).
fn provider_key(core: &Core, provider: &PartyId) -> Option<[u8; 32]> {
    if *provider == core.identity.party.id {
        Some(core.crypto.signing.verifying_key().to_bytes())
    } else {
        core.peers.signing_key_of(provider)
    }
}

/// Every complete item here, newest first. Titles are decrypted in memory for the list.
pub(super) fn list(core: &Core) -> Result<Vec<ItemView>, EngineError> {
    let items = core.store.items().map_err(store_err)?;
    let mut out: Vec<ItemView> =
        items.iter().filter(|i| i.complete).map(|i| view(core, i, our_key(core, i).as_ref())).collect();
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    Ok(out)
}

fn store_err(e: crate::store::StoreError) -> EngineError {
    EngineError::Store(std::sync::Arc::new(e))
}

/// Resolves an item id or unique prefix.
pub(super) fn resolve(core: &Core, id: &str) -> Result<ItemId, EngineError> {
    let id = id.trim().to_ascii_lowercase();
    let not_found = || EngineError::NoItem(id.clone());
    if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let items = core.store.items().map_err(store_err)?;
    let matches: Vec<ItemId> = items
        .iter()
        .filter(|i| i.complete)
        .map(|i| i.envelope.envelope.item)
        .filter(|i| i.to_string().starts_with(&id))
        .collect();
    match matches.len() {
        0 => Err(not_found()),
        1 => Ok(matches[0]),
        count => Err(EngineError::Ambiguous { prefix: id, count }),
    }
}

/// Prepares an item for an officer to read: checks the provider's signature and the stored
/// ciphertext against it, records the decryption in the audit log, and returns the envelope
/// and key; the caller decrypts chunk by chunk.
pub(super) fn open(core: &mut Core, id: ItemId, officer: &str) -> Result<(SignedEnvelope, ItemKey), EngineError> {
    let item = core
        .store
        .item(id)
        .map_err(store_err)?
        .filter(|i| i.complete)
        .ok_or_else(|| EngineError::NoItem(id.to_string()))?;
    let provider = &item.envelope.envelope.provider;
    let pk = provider_key(core, provider).ok_or_else(|| {
        err(format!("item {id}: no signing key of its provider {provider} is pinned, so it cannot be checked"))
    })?;
    item.envelope.verify(&pk).map_err(err)?;
    // The whole ciphertext must be what the provider signed before any of it is decrypted.
    let mut h = Sha256::new();
    for i in 0..item.envelope.envelope.chunks {
        let c = core
            .store
            .item_chunk(id, i)
            .map_err(store_err)?
            .ok_or_else(|| err(VaultError::HashMismatch { item: id }))?;
        h.update(&c);
    }
    let digest: [u8; 32] = h.finalize().into();
    if digest != item.envelope.envelope.ciphertext_hash {
        return Err(err(VaultError::HashMismatch { item: id }));
    }
    let key = our_key(core, &item)
        .ok_or_else(|| err(format!("item {id}: no key sealed to {} is held here", core.identity.party.id)))?;
    audit_log::record(core, Event::ItemDecrypted { item: id, officer: officer.to_string() });
    Ok((item.envelope, key))
}

/// One stored chunk.
pub(super) fn chunk(core: &Core, id: ItemId, index: u32) -> Result<Vec<u8>, EngineError> {
    core.store
        .item_chunk(id, index)
        .map_err(store_err)?
        .ok_or_else(|| err(format!("item {id}: chunk {index} is missing")))
}

/// The facts the policy needs about an item: its grants (signature-checked when they were
/// stored) and whether each was revoked.
fn facts<'a>(core: &'a Core, env: &'a SignedEnvelope) -> ItemFacts<'a> {
    let item = env.envelope.item;
    let revoked: HashSet<RecordId> = core
        .consent
        .records
        .values()
        .filter_map(|r| match &r.record {
            Record::Revocation(v) if v.item == item => Some(v.grant),
            _ => None,
        })
        .collect();
    let grants = core
        .consent
        .records
        .values()
        .filter_map(|r| match &r.record {
            Record::Grant(g) if g.item == item => Some((g, revoked.contains(&g.id))),
            _ => None,
        })
        .collect();
    ItemFacts { item, provider: &env.envelope.provider, content_hash: env.content_hash(), grants, now: Utc::now() }
}

/// `liaison explain ITEM --to PEER`: the policy's answer and its reason.
pub(super) fn explain(core: &Core, id: ItemId, to: &str) -> Result<Explanation, EngineError> {
    let item = core.store.item(id).map_err(store_err)?.ok_or_else(|| EngineError::NoItem(id.to_string()))?;
    let peer = core.peers.pinned().find(|p| p.peer_id.to_string() == to).or_else(|| {
        let by_party: Vec<_> = core.peers.pinned().filter(|p| p.party_id.as_str() == to).collect();
        (by_party.len() == 1).then(|| by_party[0])
    });
    let d = policy::may_send(&Subject::Item(facts(core, &item.envelope)), peer);
    let (allowed, grant, reason) = match d {
        Decision::Allow => (true, None, None),
        Decision::AllowUnderGrant(g) => (true, Some(g.to_string()), None),
        Decision::Deny(r) => (false, None, Some(r.to_string())),
    };
    Ok(Explanation {
        item: id.to_string(),
        to: to.to_string(),
        to_party: peer.map(|p| format!("{} ({})", p.party_id, p.role)),
        allowed,
        grant,
        reason,
    })
}

// ---- between nodes ----

/// Queues, for a third party that just connected (or just got a grant), every item granted to
/// it that we hold and have not sent it yet.
pub(super) fn schedule_grants_for(core: &mut Core, peer: PeerId) {
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

/// The frames of items due to `peer`, up to the batch size.
pub(super) fn item_frames(core: &mut Core, peer: PeerId, frames: &mut Vec<Frame>, size: &mut usize) {
    if let Some(s) = core.peers.by_id.get_mut(&peer).and_then(|p| p.session.as_mut()) {
        for item in std::mem::take(&mut s.want_requests) {
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
    while *size < SOFT_BATCH_BYTES {
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
    send: &super::peers::ItemSend,
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
        if *size >= SOFT_BATCH_BYTES && n > send.next_chunk {
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
pub(super) fn transmitted(core: &mut Core, peer: PeerId, item: ItemId, grant: Option<RecordId>) {
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
            Ok(r) => super::consent::add_record(core, r, "this node".into()),
            Err(e) => tracing::error!(error = %e, "cannot sign a transmission report"),
        }
    }
}

pub(super) fn on_item_list(core: &mut Core, peer: PeerId, list: Vec<ItemId>) -> Result<(), Violation> {
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

pub(super) fn on_offer(
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
    let have = core.store.item(item).map_err(|e| Violation(e.to_string()))?.is_some_and(|i| i.complete);
    core.items.incoming.insert(
        item,
        Incoming { from: peer, envelope: *envelope, wraps, grant, next: 0, hasher: Sha256::new(), skip: have },
    );
    if !have {
        core.round.writes.push(Box::new(move |w| w.drop_item_chunks(item)));
    }
    Ok(())
}

pub(super) fn on_chunk(
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
    let digest: [u8; 32] = inc.hasher.finalize().into();
    if digest != inc.envelope.envelope.ciphertext_hash {
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
        super::consent::add_record(core, g, peer.to_string());
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
pub(super) fn on_request(core: &mut Core, peer: PeerId, item: ItemId) -> Result<(), Violation> {
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
            tracing::warn!(%peer, %item, %reason, "refused a request for an item");
            audit_log::record(core, Event::TransmissionRefused { item, to_peer: peer.to_string(), reason });
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

/// Removes what remains of transfers and uploads a crash interrupted: chunks with no complete
/// item. They are ciphertext without a key, but they are not wanted.
pub(super) fn cleanup(core: &mut Core) {
    match core.store.orphan_chunk_items() {
        Ok(orphans) if !orphans.is_empty() => {
            tracing::info!(count = orphans.len(), "dropping chunks of unfinished item transfers");
            core.round.writes.push(Box::new(move |w| {
                for i in &orphans {
                    w.drop_item_chunks(*i)?;
                }
                Ok(())
            }));
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot look for unfinished item transfers"),
    }
}

impl Core {
    /// Stores one encrypted chunk of an upload in progress.
    pub fn item_stage_chunk(&mut self, item: ItemId, index: u32, ciphertext: Vec<u8>) {
        stage_chunk(self, item, index, ciphertext);
    }

    /// Drops an upload that did not finish.
    pub fn item_abort(&mut self, item: ItemId) {
        abort_upload(self, item);
    }

    /// Finishes an upload: seals, signs, stores and sends the item to the Parties' nodes.
    pub fn item_finish(
        &mut self,
        sealer: Sealer,
        title: &str,
        marking: String,
        mandate: Option<String>,
        officer: &str,
    ) -> Result<ItemView, EngineError> {
        finish_upload(self, sealer, title, marking, mandate, officer)
    }

    /// Every item held here.
    pub fn item_list(&self) -> Result<Vec<ItemView>, EngineError> {
        list(self)
    }

    /// An item id from an id or unique prefix.
    pub fn item_resolve(&self, id: &str) -> Result<ItemId, EngineError> {
        resolve(self, id)
    }

    /// Opens an item for an officer (audited); see [`open`].
    pub fn item_open(&mut self, id: ItemId, officer: &str) -> Result<(SignedEnvelope, ItemKey), EngineError> {
        open(self, id, officer)
    }

    /// One stored chunk.
    pub fn item_chunk(&self, id: ItemId, index: u32) -> Result<Vec<u8>, EngineError> {
        chunk(self, id, index)
    }

    /// The policy's answer for sending an item to a peer (peer id, or party id if unique).
    pub fn item_explain(&self, id: ItemId, to: &str) -> Result<Explanation, EngineError> {
        explain(self, id, to)
    }

    /// On a third party's node: asks the connected provider peers for an item granted to us.
    /// Returns how many were asked.
    pub fn item_request(&mut self, id: ItemId) -> usize {
        let mut n = 0;
        for p in self.peers.by_id.values_mut() {
            if p.pinned.role == PeerRole::Provider
                && let Some(s) = p.session.as_mut()
            {
                s.want_requests.push(id);
                n += 1;
            }
        }
        n
    }
}
