//! A consistent copy of the store for a backup, taken while the node runs or while it is stopped.
//!
//! The copy is logical: a read transaction of the live database (redb readers never block its
//! writer, and see one committed state however long they last), copied table by table into a
//! fresh database file. Two things follow from copying rows rather than the file:
//! - the copy holds no freed pages, so nothing that was removed or replaced before the backup
//!   (an old key wrap, a dropped chunk) travels in it;
//! - the copy is a closed, clean redb file that opens without repair.
//!
//! The key slots (`keys/item-key-slots`) must match that same committed state: the slot bytes
//! are read while the store's slot lock is held (a writer holds it from its first slot write to
//! its commit), in the same moment the read transaction begins. Only the slots that the
//! snapshot's key wraps refer to are copied; every other slot is written as zeros, so a key
//! destroyed before the backup is never in it.

use std::collections::BTreeSet;
use std::path::Path;

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::keyslots::LockedWrap;
use super::{
    AUDIT, CERTS, CHUNKS, CONSENT, DB_FILE, DOCS, HEADS, ITEM_CHUNKS, ITEM_INDEX, ITEM_KEYS, ITEMS, META, ORIGINALS,
    PEER_USAGE, PEERS_SEEN, SLOTS_FILE, SNAPSHOTS, SYNC_STATES, Store, StoreError,
};

/// Bytes of one key slot.
const SLOT: usize = 32;

/// One committed state of the store, held open for copying.
pub struct StoreSnapshot {
    tx: ReadTransaction,
    /// The slot file as it was when the transaction began, with unused slots zeroed.
    slots: Vec<u8>,
    /// The schema version the snapshot says it has.
    schema: Option<u32>,
}

/// Copies every row of `def` that `from` sees into `to`; a table `from` lacks (an older schema)
/// is skipped. Answers the number of rows.
pub fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    from: &ReadTransaction,
    to: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<u64, redb::Error> {
    let src = match from.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut dst = to.open_table(def)?;
    let mut n = 0;
    for row in src.iter()? {
        let (k, v) = row?;
        dst.insert(k.value(), v.value())?;
        n += 1;
    }
    Ok(n)
}

impl Store {
    /// Takes a snapshot: cheap (a read transaction and the slot file, which is 32 bytes per
    /// item key); the copying is [`StoreSnapshot::write_to`], which does not hold up writers.
    pub fn snapshot(&self) -> Result<StoreSnapshot, StoreError> {
        let guard = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let data_dir = self.path.parent().and_then(Path::parent).unwrap_or(Path::new("."));
        let raw = read_slots(data_dir)?;
        drop(guard);
        snapshot_of(tx, raw, &self.path)
    }
}

/// Takes a snapshot of a stopped node's store, read-only (the caller holds the data dir's
/// lock). A store file that a crash left needing repair is opened for writing once, which
/// repairs it, as the node's next start would.
pub fn snapshot_stopped(data_dir: &Path) -> Result<StoreSnapshot, StoreError> {
    let path = data_dir.join(DB_FILE);
    let err = |e: redb::Error| StoreError::Db { path: path.clone(), source: Box::new(e) };
    let tx = match redb::ReadOnlyDatabase::open(&path) {
        Ok(db) => db.begin_read().map_err(|e| err(e.into()))?,
        Err(redb::DatabaseError::RepairAborted) | Err(redb::DatabaseError::Storage(_)) => {
            let db = Database::create(&path).map_err(|e| err(e.into()))?;
            db.begin_read().map_err(|e| err(e.into()))?
        }
        Err(e) => return Err(err(e.into())),
    };
    let raw = read_slots(data_dir)?;
    snapshot_of(tx, raw, &path)
}

fn read_slots(data_dir: &Path) -> Result<Vec<u8>, StoreError> {
    let file = data_dir.join(SLOTS_FILE);
    match std::fs::read(&file) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(StoreError::Io { path: file, source }),
    }
}

/// Keeps, of the slot file `raw`, only the slots the snapshot's key wraps use.
fn snapshot_of(tx: ReadTransaction, mut raw: Vec<u8>, path: &Path) -> Result<StoreSnapshot, StoreError> {
    let err = |e: redb::Error| StoreError::Db { path: path.to_path_buf(), source: Box::new(e) };
    let corrupt = |reason: String| StoreError::Corrupt { path: path.to_path_buf(), table: "item_keys", reason };
    let schema = match tx.open_table(META) {
        Ok(meta) => meta
            .get("schema")
            .map_err(|e| err(e.into()))?
            .and_then(|v| <[u8; 4]>::try_from(v.value()).ok())
            .map(u32::from_le_bytes),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(err(e.into())),
    };
    let locked = match tx.open_table(META) {
        Ok(meta) => meta.get("item_keys_locked").map_err(|e| err(e.into()))?.is_some_and(|v| v.value() == [1]),
        Err(_) => false,
    };
    let mut used = BTreeSet::new();
    if locked {
        let t = tx.open_table(ITEM_KEYS).map_err(|e| err(e.into()))?;
        for row in t.iter().map_err(|e| err(e.into()))? {
            let (_, v) = row.map_err(|e| err(e.into()))?;
            let w: LockedWrap = postcard::from_bytes(v.value()).map_err(|e| corrupt(e.to_string()))?;
            used.insert(w.slot as usize);
        }
    }
    for (i, slot) in raw.chunks_mut(SLOT).enumerate() {
        if !used.contains(&i) {
            slot.fill(0);
        }
    }
    Ok(StoreSnapshot { tx, slots: raw, schema })
}

impl StoreSnapshot {
    /// The schema version of the copied store (`None`: a store that never started).
    pub fn schema(&self) -> Option<u32> {
        self.schema
    }

    /// How many items the copy holds (their keys travel with it); 0 if it holds none.
    pub fn items(&self) -> u64 {
        use redb::ReadableTableMetadata;
        self.tx.open_table(ITEMS).ok().and_then(|t| t.len().ok()).unwrap_or(0)
    }

    /// Writes the copy under `dir` as a data dir holds it: `store/liaison.redb` and
    /// `keys/item-key-slots`. Answers the rows copied.
    pub fn write_to(self, dir: &Path) -> Result<u64, StoreError> {
        let path = dir.join(DB_FILE);
        let io = |p: &Path, source| StoreError::Io { path: p.to_path_buf(), source };
        for sub in [super::STORE_DIR, crate::keys::KEYS_DIR] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| io(&dir.join(sub), e))?;
        }
        let err = |e: redb::Error| StoreError::Db { path: path.clone(), source: Box::new(e) };
        let mut db = Database::create(&path).map_err(|e| err(e.into()))?;
        let to = db.begin_write().map_err(|e| err(e.into()))?;
        let from = &self.tx;
        let mut rows = 0;
        let mut add = |r: Result<u64, redb::Error>| -> Result<(), StoreError> {
            rows += r.map_err(err)?;
            Ok(())
        };
        add(copy_table(from, &to, META))?;
        add(copy_table(from, &to, DOCS))?;
        add(copy_table(from, &to, SNAPSHOTS))?;
        add(copy_table(from, &to, CHUNKS))?;
        add(copy_table(from, &to, SYNC_STATES))?;
        add(copy_table(from, &to, PEERS_SEEN))?;
        add(copy_table(from, &to, PEER_USAGE))?;
        add(copy_table(from, &to, ITEMS))?;
        add(copy_table(from, &to, ITEM_INDEX))?;
        add(copy_table(from, &to, ITEM_CHUNKS))?;
        add(copy_table(from, &to, ITEM_KEYS))?;
        add(copy_table(from, &to, CONSENT))?;
        add(copy_table(from, &to, AUDIT))?;
        add(copy_table(from, &to, ORIGINALS))?;
        add(copy_table(from, &to, CERTS))?;
        add(copy_table(from, &to, HEADS))?;
        to.commit().map_err(|e| err(e.into()))?;
        // One large write leaves the file grown by redb's regions, about three times the rows it
        // holds when items are large: compacting gives the archive only what it needs.
        db.compact().map_err(|e| err(e.into()))?;
        drop(db);
        let slots = dir.join(SLOTS_FILE);
        std::fs::write(&slots, &self.slots).map_err(|e| io(&slots, e))?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ItemId, PartyId};
    use crate::vault::KeyWrap;

    #[test]
    fn a_snapshot_holds_the_live_keys_and_no_destroyed_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (kept, gone) = (ItemId::random(), ItemId::random());
        let party: PartyId = "cica".parse().unwrap();
        let wrap = |item| KeyWrap {
            item,
            recipient: party.clone(),
            recipient_key: [7; 32],
            encapped: vec![1; 32],
            sealed: vec![2; 48],
        };
        store.write(|w| w.put_item_key(&wrap(kept)).and_then(|()| w.put_item_key(&wrap(gone)))).unwrap();
        let gone_key = store.item_key_material(gone).unwrap()[0].0;
        let kept_key = store.item_key_material(kept).unwrap()[0].0;
        store.write(|w| w.destroy_item_keys(gone)).unwrap();

        let snap = store.snapshot().unwrap();
        // A write after the snapshot is not in it.
        let later = ItemId::random();
        store.write(|w| w.put_item_key(&wrap(later))).unwrap();
        let later_key = store.item_key_material(later).unwrap()[0].0;
        let out = tempfile::tempdir().unwrap();
        snap.write_to(out.path()).unwrap();
        drop(store);

        let slots = std::fs::read(out.path().join(SLOTS_FILE)).unwrap();
        let has = |k: [u8; 32]| slots.chunks(SLOT).any(|s| s == k);
        assert!(has(kept_key), "the live key is not in the backup");
        assert!(!has(gone_key), "a key destroyed before the backup is in it");
        assert!(!has(later_key), "a key written after the snapshot is in it");
        let copy = Store::open(out.path()).unwrap();
        assert_eq!(copy.item_key_material(kept).unwrap().len(), 1);
        assert!(copy.item_key_material(gone).unwrap().is_empty());
        assert!(copy.item_key_material(later).unwrap().is_empty());
    }
}
