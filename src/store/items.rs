//! Storage of the vault (items partitioned by provider, their chunks and key wraps), of consent
//! records, and of the audit log. Everything stored here is ciphertext, signed records, or ids.

use redb::{ReadableDatabase, ReadableTable};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::keyslots::{KeySlots, LockedWrap};
use super::{
    AUDIT, CONSENT, ITEM_CHUNKS, ITEM_INDEX, ITEM_KEYS, ITEMS, META, ORIGINALS, Store, StoreError, Writer, db_err,
};
use crate::audit::{Head, SignedEntry};
use crate::consent::SignedRecord;
use crate::ids::{ItemId, PartyId, RecordId};
use crate::vault::{KeyWrap, SignedEnvelope};

/// An item as a node keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredItem {
    /// The provider's signed envelope.
    pub envelope: SignedEnvelope,
    /// Whether every chunk is here and matches the signed ciphertext hash.
    pub complete: bool,
    /// The peer it came from (none if provided here).
    pub from_peer: Option<String>,
    /// The grant it came under (on a third party's node).
    pub grant: Option<RecordId>,
    /// When it was stored here.
    pub stored_at: String,
}

fn decode<T: DeserializeOwned>(s: &Store, table: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| s.corrupt(table, e))
}

fn encode<T: Serialize>(w: &Writer<'_>, table: &'static str, v: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(v).map_err(|e| StoreError::Corrupt {
        path: w.path.to_path_buf(),
        table,
        reason: e.to_string(),
    })
}

impl Store {
    /// One item, wherever its partition.
    pub fn item(&self, id: ItemId) -> Result<Option<StoredItem>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let index = tx.open_table(ITEM_INDEX).map_err(|e| self.db_err(e))?;
        let Some(provider) = index.get(id.0).map_err(|e| self.db_err(e))? else {
            return Ok(None);
        };
        let items = tx.open_table(ITEMS).map_err(|e| self.db_err(e))?;
        match items.get((provider.value(), id.0)).map_err(|e| self.db_err(e))? {
            Some(v) => Ok(Some(decode(self, "items", v.value())?)),
            None => Ok(None),
        }
    }

    /// Every item, partition by partition.
    pub fn items(&self) -> Result<Vec<StoredItem>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let items = tx.open_table(ITEMS).map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in items.iter().map_err(|e| self.db_err(e))? {
            let (_, v) = row.map_err(|e| self.db_err(e))?;
            out.push(decode(self, "items", v.value())?);
        }
        Ok(out)
    }

    /// One chunk's ciphertext.
    pub fn item_chunk(&self, id: ItemId, index: u32) -> Result<Option<Vec<u8>>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(ITEM_CHUNKS).map_err(|e| self.db_err(e))?;
        Ok(t.get((id.0, index)).map_err(|e| self.db_err(e))?.map(|v| v.value().to_vec()))
    }

    /// How many chunks of an item are stored.
    pub fn item_chunk_count(&self, id: ItemId) -> Result<u32, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(ITEM_CHUNKS).map_err(|e| self.db_err(e))?;
        let n = t.range((id.0, 0)..=(id.0, u32::MAX)).map_err(|e| self.db_err(e))?.count();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Items that have chunks stored but no complete record: transfers or uploads a crash cut
    /// short.
    pub fn orphan_chunk_items(&self) -> Result<Vec<ItemId>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let chunks = tx.open_table(ITEM_CHUNKS).map_err(|e| self.db_err(e))?;
        let index = tx.open_table(ITEM_INDEX).map_err(|e| self.db_err(e))?;
        let items = tx.open_table(ITEMS).map_err(|e| self.db_err(e))?;
        let mut out: Vec<ItemId> = Vec::new();
        for row in chunks.iter().map_err(|e| self.db_err(e))? {
            let (k, _) = row.map_err(|e| self.db_err(e))?;
            let id = ItemId(k.value().0);
            if out.last() == Some(&id) {
                continue;
            }
            let complete = match index.get(id.0).map_err(|e| self.db_err(e))? {
                Some(p) => match items.get((p.value(), id.0)).map_err(|e| self.db_err(e))? {
                    Some(v) => decode::<StoredItem>(self, "items", v.value())?.complete,
                    None => false,
                },
                None => false,
            };
            if !complete {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The item's key sealed to `party`, if we hold one (none once destroyed).
    pub fn item_key(&self, id: ItemId, party: &PartyId) -> Result<Option<KeyWrap>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(ITEM_KEYS).map_err(|e| self.db_err(e))?;
        match t.get((id.0, party.as_str())).map_err(|e| self.db_err(e))? {
            Some(v) => self.unlock_wrap(id, party.as_str(), v.value()),
            None => Ok(None),
        }
    }

    /// Every key wrap of an item.
    pub fn item_keys(&self, id: ItemId) -> Result<Vec<KeyWrap>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(ITEM_KEYS).map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in t.range((id.0, "")..).map_err(|e| self.db_err(e))? {
            let (k, v) = row.map_err(|e| self.db_err(e))?;
            if k.value().0 != id.0 {
                break;
            }
            out.extend(self.unlock_wrap(id, k.value().1, v.value())?);
        }
        Ok(out)
    }

    fn unlock_wrap(&self, id: ItemId, party: &str, bytes: &[u8]) -> Result<Option<KeyWrap>, StoreError> {
        let locked: LockedWrap = decode(self, "item_keys", bytes)?;
        let slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(slots) = slots.as_ref() else { return Err(self.corrupt("item_keys", "key slots not open")) };
        match slots.unlock(&locked, &wrap_aad(id, party))? {
            Some(plain) => Ok(Some(decode(self, "item_keys", &plain)?)),
            None => Ok(None),
        }
    }

    /// The key slot and locked bytes of each wrap of an item, for forensic tests that check they
    /// are gone from the disk after destruction.
    #[doc(hidden)]
    pub fn item_key_material(&self, id: ItemId) -> Result<Vec<KeyMaterial>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(ITEM_KEYS).map_err(|e| self.db_err(e))?;
        let slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = Vec::new();
        for row in t.range((id.0, "")..).map_err(|e| self.db_err(e))? {
            let (k, v) = row.map_err(|e| self.db_err(e))?;
            if k.value().0 != id.0 {
                break;
            }
            let locked: LockedWrap = decode(self, "item_keys", v.value())?;
            if let Some(key) = slots.as_ref().map(|s| s.raw_key(locked.slot)).transpose()?.flatten() {
                out.push((key, v.value().to_vec()));
            }
        }
        Ok(out)
    }

    /// Opens the key slots; a store whose wraps predate them has each one locked now.
    pub(super) fn open_key_slots(&self, data_dir: &std::path::Path) -> Result<(), StoreError> {
        if let Some(fs) = super::copy_on_write_fs(data_dir) {
            tracing::warn!(
                data_dir = %data_dir.display(),
                fs,
                "the data dir is on a copy-on-write file system: a destroyed item key may stay on the disk until the blocks are reused; use ext4 or xfs, or full-disk encryption"
            );
        }
        let locked = self.meta_value::<bool>("item_keys_locked")?.unwrap_or(false);
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(ITEM_KEYS).map_err(|e| self.db_err(e))?;
        let mut used = std::collections::BTreeSet::new();
        let mut legacy = Vec::new();
        for row in t.iter().map_err(|e| self.db_err(e))? {
            let (k, v) = row.map_err(|e| self.db_err(e))?;
            if locked {
                used.insert(decode::<LockedWrap>(self, "item_keys", v.value())?.slot);
            } else {
                legacy.push(decode::<KeyWrap>(self, "item_keys", v.value())?);
                let _ = k;
            }
        }
        drop(t);
        drop(tx);
        let slots = KeySlots::open(data_dir, &used)?;
        *self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(slots);
        if !locked {
            // Wraps kept before key slots existed: locked now. Their old bytes may stay in
            // freed pages until reused; items destroyed from now on leave nothing that opens.
            let n = legacy.len();
            self.write(|w| {
                for wrap in &legacy {
                    w.put_item_key(wrap)?;
                }
                w.put_meta_value("item_keys_locked", &true)
            })?;
            if n > 0 {
                tracing::info!(wraps = n, "item key wraps locked under destroyable key slots");
            }
        }
        Ok(())
    }

    /// Every consent record.
    pub fn records(&self) -> Result<Vec<SignedRecord>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(CONSENT).map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.db_err(e))? {
            let (_, v) = row.map_err(|e| self.db_err(e))?;
            out.push(decode(self, "consent", v.value())?);
        }
        Ok(out)
    }

    /// The audit log, in order.
    pub fn audit_entries(&self) -> Result<Vec<SignedEntry>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(AUDIT).map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.db_err(e))? {
            let (_, v) = row.map_err(|e| self.db_err(e))?;
            out.push(decode(self, "audit", v.value())?);
        }
        Ok(out)
    }

    /// The audit log's signed head.
    pub fn audit_head(&self) -> Result<Option<Head>, StoreError> {
        self.meta_value("audit_head")
    }

    /// This node's original of an executed draft.
    pub fn original(&self, doc: crate::ids::DocId) -> Result<Option<crate::workspace::draft::Original>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(ORIGINALS).map_err(|e| self.db_err(e))?;
        match t.get(doc.0).map_err(|e| self.db_err(e))? {
            Some(v) => Ok(Some(decode(self, "originals", v.value())?)),
            None => Ok(None),
        }
    }

    /// A postcard value kept in `meta`.
    pub fn meta_value<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(META).map_err(|e| self.db_err(e))?;
        match t.get(key).map_err(|e| self.db_err(e))? {
            Some(v) => Ok(Some(decode(self, "meta", v.value())?)),
            None => Ok(None),
        }
    }
}

impl Writer<'_> {
    /// Stores (or replaces) an item in its provider's partition.
    pub fn put_item(&mut self, item: &StoredItem) -> Result<(), StoreError> {
        let env = &item.envelope.envelope;
        let bytes = encode(self, "items", item)?;
        self.items.insert((env.provider.as_str(), env.item.0), bytes.as_slice()).map_err(|e| db_err(self.path, e))?;
        self.item_index.insert(env.item.0, env.provider.as_str()).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Stores one chunk of an item.
    pub fn put_item_chunk(&mut self, id: ItemId, index: u32, ciphertext: &[u8]) -> Result<(), StoreError> {
        self.item_chunks.insert((id.0, index), ciphertext).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Stores an item key sealed to a Party, locked under a fresh key slot (a wrap it replaces
    /// has its slot shredded).
    pub fn put_item_key(&mut self, wrap: &KeyWrap) -> Result<(), StoreError> {
        let plain = encode(self, "item_keys", wrap)?;
        let aad = wrap_aad(wrap.item, wrap.recipient.as_str());
        let path = self.path.to_path_buf();
        let slots = self.slots.as_deref_mut().ok_or_else(|| StoreError::Corrupt {
            path,
            table: "item_keys",
            reason: "key slots not open".into(),
        })?;
        let locked = slots.lock(&plain, &aad)?;
        let bytes = encode(self, "item_keys", &locked)?;
        let old = self
            .item_keys
            .insert((wrap.item.0, wrap.recipient.as_str()), bytes.as_slice())
            .map_err(|e| db_err(self.path, e))?
            .map(|v| v.value().to_vec());
        if let Some(old) = old {
            self.shred_locked(&old)?;
        }
        Ok(())
    }

    fn shred_locked(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        // A value that is not a locked wrap (a legacy one being replaced) has no slot.
        if let (Ok(old), Some(slots)) = (postcard::from_bytes::<LockedWrap>(bytes), self.slots.as_deref_mut()) {
            slots.shred(old.slot)?;
        }
        Ok(())
    }

    /// Destroys every key wrap of an item: its key slots are overwritten with zeros (synced
    /// before the commit), so nothing on this disk can decrypt it any more.
    pub fn destroy_item_keys(&mut self, id: ItemId) -> Result<(), StoreError> {
        let mut old = Vec::new();
        for row in self.item_keys.range((id.0, "")..=(id.0, "\u{10ffff}")).map_err(|e| db_err(self.path, e))? {
            let (_, v) = row.map_err(|e| db_err(self.path, e))?;
            old.push(v.value().to_vec());
        }
        for bytes in old {
            self.shred_locked(&bytes)?;
        }
        self.item_keys.retain_in((id.0, "")..=(id.0, "\u{10ffff}"), |_, _| false).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Drops an item's chunks (an aborted upload, or a transfer to start over).
    pub fn drop_item_chunks(&mut self, id: ItemId) -> Result<(), StoreError> {
        self.item_chunks.retain_in((id.0, 0)..=(id.0, u32::MAX), |_, _| false).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Removes an item entirely (its envelope, chunks and keys).
    pub fn remove_item(&mut self, id: ItemId, provider: &PartyId) -> Result<(), StoreError> {
        self.items.remove((provider.as_str(), id.0)).map_err(|e| db_err(self.path, e))?;
        self.item_index.remove(id.0).map_err(|e| db_err(self.path, e))?;
        self.drop_item_chunks(id)?;
        self.destroy_item_keys(id)
    }

    /// Stores a consent record.
    pub fn put_record(&mut self, r: &SignedRecord) -> Result<(), StoreError> {
        let bytes = encode(self, "consent", r)?;
        self.consent.insert(r.record.id().0, bytes.as_slice()).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Appends an audit entry and moves the signed head, in this same transaction.
    pub fn append_audit(&mut self, e: &SignedEntry, head: &Head) -> Result<(), StoreError> {
        let bytes = encode(self, "audit", e)?;
        self.audit.insert(e.entry.seq, bytes.as_slice()).map_err(|e| db_err(self.path, e))?;
        self.put_meta_value("audit_head", head)
    }

    /// Keeps this node's original of an executed draft.
    pub fn put_original(
        &mut self,
        doc: crate::ids::DocId,
        o: &crate::workspace::draft::Original,
    ) -> Result<(), StoreError> {
        let bytes = encode(self, "originals", o)?;
        self.originals.insert(doc.0, bytes.as_slice()).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Stores a postcard value in `meta`.
    pub fn put_meta_value<T: Serialize>(&mut self, key: &str, v: &T) -> Result<(), StoreError> {
        let bytes = encode(self, "meta", v)?;
        self.meta.insert(key, bytes.as_slice()).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }
}

/// A wrap's slot key and its locked bytes as stored.
pub type KeyMaterial = ([u8; 32], Vec<u8>);

/// What a locked wrap is bound to: its item and recipient Party.
#[doc(hidden)]
pub fn wrap_aad(id: ItemId, party: &str) -> Vec<u8> {
    [&id.0[..], party.as_bytes()].concat()
}
