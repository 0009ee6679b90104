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

use super::Refusal;
use super::{Core, EngineError, audit_log};
use crate::audit::Event;
use crate::config::PeerRole;
use crate::consent::{Record, SignedRecord};
use crate::ids::{ItemId, PartyId, RecordId};
use crate::policy::{self, Decision, ItemFacts, Subject};
use crate::store::StoredItem;
use crate::vault::{self, ItemKey, KeyWrap, Sealer, SignedEnvelope, VaultError};

mod granted;
mod links;
pub(super) mod refusals;
mod transfer;
mod views;
pub use granted::{Granted, GrantedItem, ItemRefusal};
pub use links::{Citations, citations};
pub(super) use transfer::{
    abandon, item_frames, on_chunk, on_item_list, on_offer, on_request, schedule_grants_for, transmitted,
};

/// An item being received: chunks must come in order, and are hashed as they come.
pub(super) struct Incoming {
    from: PeerId,
    envelope: SignedEnvelope,
    wraps: Vec<KeyWrap>,
    grant: Option<SignedRecord>,
    next: u32,
    hasher: crate::vault::Hasher,
    /// We have it already: take the chunks off the wire and drop them.
    skip: bool,
}

/// The engine's item state that is not in the store.
#[derive(Default)]
pub(super) struct ItemState {
    pub incoming: HashMap<ItemId, Incoming>,
    /// Per peer, the items it is known to hold (its list, what we sent, what it sent us).
    pub known_by: HashMap<PeerId, HashSet<ItemId>>,
    /// Refused requests, counted per peer for the audit log.
    pub refusals: refusals::Refusals,
    /// What the list shows of each item, kept (see [`views`]).
    pub views: views::ViewCache,
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
    /// The name of the file it was provided from, if kept (decrypted like the title).
    #[serde(default)]
    pub file_name: Option<String>,
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
    /// Why not, as a code with parameters (see [`crate::policy::DenyReason::refusal`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<serde_json::Value>,
}

fn err(e: VaultError) -> EngineError {
    EngineError::Vault(std::sync::Arc::new(e))
}

// ---- provision ----

/// Stores one encrypted chunk of an upload in progress.
pub(super) fn stage_chunk(core: &mut Core, item: ItemId, index: u32, ciphertext: bytes::Bytes) {
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
    core.check_may_provide()?;
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
    if grant_lapsed_of(core, item) {
        return None;
    }
    let wrap = core.store.item_key(item.envelope.envelope.item, &core.identity.party.id).ok()??;
    vault::open_key(&wrap, &item.envelope, &core.crypto.sealing_secret).ok()
}

fn view(core: &Core, item: &StoredItem, key: Option<&ItemKey>) -> ItemView {
    let e = &item.envelope.envelope;
    let signature_ok = provider_key(core, &e.provider).is_some_and(|pk| item.envelope.verify(&pk).is_ok());
    let (title, file_name) = match key.and_then(|k| vault::open_label(k, e).ok()) {
        Some((t, f)) => (Some(t), f),
        None => (None, None),
    };
    ItemView {
        id: e.item.to_string(),
        provider: e.provider.to_string(),
        marking: e.marking.clone(),
        title,
        bytes: e.plaintext_bytes,
        created_at: e.created_at.clone(),
        mandate: e.mandate.clone(),
        readable: key.is_some(),
        from_peer: item.from_peer.clone(),
        content_hash: hex::encode(item.envelope.content_hash()),
        signature_ok,
        file_name,
    }
}

/// Received under a grant that has expired or was revoked: unreadable from that moment, even
/// before the key is destroyed.
fn grant_lapsed_of(core: &Core, item: &StoredItem) -> bool {
    super::consent::grant_lapsed(core, item.grant)
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
    Ok(core.items.views.list(core, &items))
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
    let pk = provider_key(core, provider)
        .ok_or_else(|| EngineError::from(Refusal::ProviderUnknown { item: id, provider: provider.clone() }))?;
    item.envelope.verify(&pk).map_err(err)?;
    // The whole ciphertext must be what the provider signed before any of it is decrypted (on
    // every core for BLAKE3 items: 100 MiB in about 8 ms here).
    let e = &item.envelope.envelope;
    let whole = vault::check_parallel(&e.ciphertext_hash, e.chunks, |i| {
        core.store.item_chunk(id, i).map_err(store_err)?.ok_or_else(|| err(VaultError::HashMismatch { item: id }))
    })?;
    if !whole {
        return Err(err(VaultError::HashMismatch { item: id }));
    }
    if super::consent::grant_lapsed(core, item.grant) {
        return Err(Refusal::ConsentLapsed { item: id }.into());
    }
    let key = our_key(core, &item)
        .ok_or_else(|| EngineError::from(Refusal::NoKey { item: id, party: core.identity.party.id.clone() }))?;
    audit_log::record(core, Event::ItemDecrypted { item: id, officer: officer.to_string() });
    Ok((item.envelope, key))
}

/// One stored chunk.
pub(super) fn chunk(core: &Core, id: ItemId, index: u32) -> Result<Vec<u8>, EngineError> {
    core.store.item_chunk(id, index).map_err(store_err)?.ok_or(EngineError::ChunkMissing { item: id, index })
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
    let (allowed, grant, reason, refusal) = match d {
        Decision::Allow => (true, None, None, None),
        Decision::AllowUnderGrant(g) => (true, Some(g.to_string()), None, None),
        Decision::Deny(r) => (false, None, Some(r.to_string()), Some(r.refusal())),
    };
    Ok(Explanation {
        item: id.to_string(),
        to: to.to_string(),
        to_party: peer.map(|p| format!("{} ({})", p.party_id, p.role)),
        allowed,
        grant,
        reason,
        refusal,
    })
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
    pub fn item_stage_chunk(&mut self, item: ItemId, index: u32, ciphertext: bytes::Bytes) {
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
