//! What a list of items shows, worked out once per item and kept: checking the provider's
//! signature (Ed25519) and opening the title (HPKE, then the AEAD) cost about 0.15 ms an item,
//! on the engine's thread, so a list of 1,000 items held every write behind it for 150 ms.
//!
//! An entry is used again only while what it was worked out from is the same: the signed
//! envelope (its content hash covers the signature), the provider's pinned key, and our Party's
//! key wrap as the store holds it now. A wrap that is gone (destroyed, revoked, expired, its grant
//! lapsed) drops the title from memory at the next list.

use std::collections::{HashMap, HashSet};

use super::{Core, ItemView, grant_lapsed_of, provider_key};
use crate::ids::ItemId;
use crate::store::StoredItem;
use crate::vault::{self, KeyWrap};

/// The entries, one per item listed.
#[derive(Default)]
pub(in crate::engine) struct ViewCache(std::sync::Mutex<HashMap<ItemId, Seen>>);

struct Seen {
    content_hash: [u8; 32],
    provider_key: Option<[u8; 32]>,
    signature_ok: bool,
    /// The wrap the title was opened with, whether it opened, and the title and file name.
    wrap: Option<KeyWrap>,
    key_ok: bool,
    label: Option<(String, Option<String>)>,
}

impl ViewCache {
    /// The views of `items` (complete ones), newest first.
    pub(super) fn list(&self, core: &Core, items: &[StoredItem]) -> Vec<ItemView> {
        let mut seen = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let listed: HashSet<ItemId> = items.iter().map(|i| i.envelope.envelope.item).collect();
        seen.retain(|id, _| listed.contains(id));
        let mut out: Vec<ItemView> = items.iter().filter(|i| i.complete).map(|i| view(core, i, &mut seen)).collect();
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        out
    }
}

fn view(core: &Core, item: &StoredItem, cache: &mut HashMap<ItemId, Seen>) -> ItemView {
    let e = &item.envelope.envelope;
    let content_hash = item.envelope.content_hash();
    let provider_key = provider_key(core, &e.provider);
    let wrap = if grant_lapsed_of(core, item) {
        None
    } else {
        core.store.item_key(e.item, &core.identity.party.id).ok().flatten()
    };
    let fresh = |content_hash, provider_key: Option<[u8; 32]>| Seen {
        content_hash,
        provider_key,
        signature_ok: provider_key.is_some_and(|pk| item.envelope.verify(&pk).is_ok()),
        wrap: None,
        key_ok: false,
        label: None,
    };
    let s = cache.entry(e.item).or_insert_with(|| fresh(content_hash, provider_key));
    if s.content_hash != content_hash || s.provider_key != provider_key {
        *s = fresh(content_hash, provider_key);
    }
    if s.wrap != wrap {
        let key = wrap.as_ref().and_then(|w| vault::open_key(w, &item.envelope, &core.crypto.sealing_secret).ok());
        s.key_ok = key.is_some();
        s.label = key.and_then(|k| vault::open_label(&k, e).ok());
        s.wrap = wrap;
    }
    ItemView {
        id: e.item.to_string(),
        provider: e.provider.to_string(),
        marking: e.marking.clone(),
        title: s.label.as_ref().map(|(t, _)| t.clone()),
        bytes: e.plaintext_bytes,
        created_at: e.created_at.clone(),
        mandate: e.mandate.clone(),
        readable: s.key_ok,
        from_peer: item.from_peer.clone(),
        content_hash: hex::encode(content_hash),
        signature_ok: s.signature_ok,
        file_name: s.label.as_ref().and_then(|(_, f)| f.clone()),
    }
}
