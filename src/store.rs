//! The embedded, crash-safe store: one redb database in `DATA_DIR/store/liaison.redb`.
//!
//! redb is pure Rust (no C to build, no OpenSSL in the tree), transactional with copy-on-write
//! B-trees, and durable on commit: a commit returns only after fsync, and a crash at any point
//! leaves the last committed state. The engine commits once per batch of work, so that many
//! officers' edits and peer messages share one fsync.
//!
//! # Schema (version 2)
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `meta` | `&str` name | bytes: `schema` (u32 LE), `actor` (16 bytes: this node's automerge actor) |
//! | `docs` | `[u8; 16]` doc id | postcard [`DocMeta`] (kind, heads, owner, storage) |
//! | `certs` | `[u8; 16]` node actor | postcard `ActorCert`: a Party's certificate of a node's actor |
//! | `heads` | `([u8; 16], &[u8])` doc id, actor | postcard `Vec<SignedHead>`: that actor's newest signed changes (a few) |
//! | `doc_snapshots` | `[u8; 16]` doc id | the document compacted by `Automerge::save` |
//! | `doc_chunks` | `([u8; 16], u64)` doc id, sequence | an incremental save since the previous chunk |
//! | `sync_states` | `(&[u8], [u8; 16])` peer id bytes, doc id | automerge sync state (`State::encode`) |
//! | `peers_seen` | `&[u8]` peer id bytes | postcard [`PeerRecord`] |
//! | `peer_usage` | `&[u8]` peer id bytes | postcard [`PeerUsage`]: what the peer added here, against its quota |
//! | `items` | `(&str, [u8; 16])` provider, item id | postcard [`StoredItem`]: signed envelope (no plaintext) |
//! | `item_index` | `[u8; 16]` item id | `&str` provider: finds an item's partition |
//! | `item_chunks` | `([u8; 16], u32)` item id, chunk | ciphertext of one chunk |
//! | `item_keys` | `([u8; 16], &str)` item id, Party | postcard `LockedWrap`: the item key sealed to that Party (a `KeyWrap`), encrypted under a key in `keys/item-key-slots` that is overwritten when the item is destroyed |
//! | `consent` | `[u8; 16]` record id | postcard `SignedRecord` |
//! | `audit` | `u64` sequence | postcard `SignedEntry` |
//! | `originals` | `[u8; 16]` draft id | postcard `Original`: this node's own original of an executed draft |
//! | `summaries` | `[u8; 16]` doc id | JSON: what the lists show of a meeting, group, draft or thread, with the heads it was computed at (`store/summaries.rs`) |
//!
//! `meta` also holds `audit_head` (the signed head of the audit log, written with each append),
//! `peers_known` (the pinned peers as last seen, to audit changes made while stopped) and
//! `item_keys_locked` (set once every key wrap is locked under a key slot), and `upgrade_pending` (set when a version 1 store was converted: the engine still has to seal what
//! was written before authentication and copy its Party's records into its own documents).
//!
//! # Versions
//!
//! Version 1 (liaison before authenticated changes) had no `certs` or `heads`, and a `DocMeta`
//! without its owner. Opening an older store takes a copy of the file first
//! (`store/liaison.redb.v<N>-backup-<unix time>`), then runs each step of `MIGRATIONS` from its
//! version to this one, logging each; a newer version is refused before anything writes to it.
//!
//! Items are partitioned by provider (the first part of their key), and hold ciphertext only:
//! the title and body are encrypted before they reach the store, and the keys are sealed.
//!
//! A document is its snapshot followed by its chunks, in sequence order; `Automerge::load`
//! takes that concatenation in one call. Compaction rewrites the snapshot and drops the chunks.

mod items;
mod keyslots;
mod lock;
pub mod migrate;
mod read;
mod snapshot;
mod summaries;

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::authority::Owner;
use crate::authorship::{ActorCert, NodeActor, SignedHead};
use crate::ids::DocId;
use crate::workspace::DocKind;

pub use items::{StoredItem, wrap_aad};
pub use keyslots::{KeySlots, LockedWrap, SLOTS_FILE, copy_on_write_fs, unlock_with};
pub use lock::{DirLock, LockError, Role as LockRole};
pub use read::{ReadTx, StoreReader};
pub use snapshot::{StoreSnapshot, copy_table, snapshot_stopped};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const DOCS: TableDefinition<[u8; 16], &[u8]> = TableDefinition::new("docs");
const SNAPSHOTS: TableDefinition<[u8; 16], &[u8]> = TableDefinition::new("doc_snapshots");
const CHUNKS: TableDefinition<([u8; 16], u64), &[u8]> = TableDefinition::new("doc_chunks");
const SYNC_STATES: TableDefinition<(&[u8], [u8; 16]), &[u8]> = TableDefinition::new("sync_states");
const PEERS_SEEN: TableDefinition<&[u8], &[u8]> = TableDefinition::new("peers_seen");
// Added within schema 2: a store without it has no usage counted yet, which `init` creates.
const PEER_USAGE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("peer_usage");
const ITEMS: TableDefinition<(&str, [u8; 16]), &[u8]> = TableDefinition::new("items");
const ITEM_INDEX: TableDefinition<[u8; 16], &str> = TableDefinition::new("item_index");
const ITEM_CHUNKS: TableDefinition<([u8; 16], u32), &[u8]> = TableDefinition::new("item_chunks");
const ITEM_KEYS: TableDefinition<([u8; 16], &str), &[u8]> = TableDefinition::new("item_keys");
const CONSENT: TableDefinition<[u8; 16], &[u8]> = TableDefinition::new("consent");
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
const ORIGINALS: TableDefinition<[u8; 16], &[u8]> = TableDefinition::new("originals");
const CERTS: TableDefinition<[u8; 16], &[u8]> = TableDefinition::new("certs");
const HEADS: TableDefinition<([u8; 16], &[u8]), &[u8]> = TableDefinition::new("heads");
// Added within schema 2: derived data, made again from the documents when missing.
const SUMMARIES: TableDefinition<[u8; 16], &[u8]> = TableDefinition::new("summaries");

/// Schema version written by this code; a newer one is refused, an older one converted.
pub const SCHEMA_VERSION: u32 = 2;
/// Directory of the store inside the data dir.
pub const STORE_DIR: &str = "store";
/// The database file.
pub const DB_FILE: &str = "store/liaison.redb";
/// redb's page cache: enough for the working set, bounded so that memory stays predictable.
/// Lists are served from summaries in memory and a page's documents from the reader's cache, so
/// the store's own cache matters little: 64 MiB held 20 MB at the years workload's peak for no
/// measured gain over 16.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// What the store knows of a document without loading it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DocMeta {
    /// What the document is.
    pub kind: DocKind,
    /// Its heads after the last commit.
    pub heads: Vec<[u8; 32]>,
    /// Size of the snapshot.
    pub snapshot_bytes: u64,
    /// Total size of the chunks after it.
    pub chunk_bytes: u64,
    /// Sequence number for the next chunk.
    pub next_chunk: u64,
    /// Whose it is: who may write it (see [`crate::authority`]).
    pub owner: Owner,
}

/// A document's metadata as version 1 stored it.
#[derive(Deserialize)]
struct DocMetaV1 {
    kind: DocKind,
    heads: Vec<[u8; 32]>,
    snapshot_bytes: u64,
    chunk_bytes: u64,
    next_chunk: u64,
}

/// What we remember of a peer between runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PeerRecord {
    /// Last time (Unix ms) a sync exchange with the peer completed.
    pub last_sync_ms: Option<i64>,
}

/// What one peer has added here, counted against `[limits.peer]` `docs` and `bytes`. Kept in
/// the store, written with what it counts, so that a restart does not reset it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerUsage {
    /// Workspace documents it created here (sent whole, new to this node).
    pub docs: u64,
    /// Decompressed bytes of those documents and of the changes it applied.
    pub bytes: u64,
}

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the data dir.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// redb failed.
    #[error("store {}: {source}", .path.display())]
    Db {
        /// The database file.
        path: PathBuf,
        /// redb's error.
        source: Box<redb::Error>,
    },
    /// A record does not decode: the file was damaged or written by something else.
    #[error("store {}: damaged record in {table}: {reason}", .path.display())]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// The table.
        table: &'static str,
        /// What failed.
        reason: String,
    },
    /// The store was written by a newer liaison (or by something else).
    #[error("store {}: schema version {found} was written by a newer liaison; this one reads versions 1 to {SCHEMA_VERSION} (run the newer liaison, or restore a backup taken with this one)", .path.display())]
    Version {
        /// The database file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// Creating the store directory failed.
    #[error("store {}: {source}", .path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The schema version a store file says it has, read without writing to it; `None` if it cannot
/// be read so (no file yet, or a file that needs repair).
fn peek_schema(path: &Path) -> Option<u32> {
    if !path.exists() {
        return None;
    }
    let db = redb::ReadOnlyDatabase::open(path).ok()?;
    let tx = db.begin_read().ok()?;
    let meta = tx.open_table(META).ok()?;
    let v = meta.get("schema").ok()??;
    let bytes: [u8; 4] = v.value().try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

/// One step of the schema: converts a store of version `from` to `from + 1`, in one
/// transaction that also writes the new version. Steps run in order from the version found to
/// [`SCHEMA_VERSION`], after a copy of the old file was taken.
struct Migration {
    /// The version it converts.
    from: u32,
    /// What it does, for the log.
    what: &'static str,
    /// The conversion.
    run: fn(&Store) -> Result<(), StoreError>,
}

/// Every step, oldest first. A new schema version adds its step here.
const MIGRATIONS: &[Migration] = &[Migration {
    from: 1,
    what: "every document gets its owner; the engine then seals what was written before authentication",
    run: Store::upgrade_from_v1,
}];

/// The open store. Only one process may hold it.
pub struct Store {
    /// Shared with [`StoreReader`]s, which read committed state beside the writer.
    db: std::sync::Arc<Database>,
    path: PathBuf,
    _lock: DirLock,
    /// Where the keys of item key wraps live (see `keyslots`); opened once the tables are.
    slots: std::sync::Mutex<Option<KeySlots>>,
}

impl Store {
    /// Opens (creating if needed) the store of `data_dir`, after taking the data dir's lock. A
    /// store of an older version is copied aside (`store/liaison.redb.v<N>-backup-<unix time>`),
    /// then migrated step by step; one of a newer version is refused before anything writes to it.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Self::open_as(data_dir, LockRole::Command)
    }

    /// [`Store::open`] for `role`: a node serving it (`LockRole::Serve`) for its life, or a CLI
    /// command for a moment (the data dir's lock says who waits for whom).
    pub fn open_as(data_dir: &Path, role: LockRole) -> Result<Store, StoreError> {
        let lock = DirLock::acquire_as(data_dir, role)?;
        let dir = data_dir.join(STORE_DIR);
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io { path: dir.clone(), source })?;
        let path = data_dir.join(DB_FILE);
        let open = |path: &Path| {
            Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(path)
                .map_err(|e| StoreError::Db { path: path.to_path_buf(), source: Box::new(e.into()) })
        };
        let backup = |path: &Path, version: u32| -> Result<(), StoreError> {
            let backup = dir.join(format!("liaison.redb.v{version}-backup-{}", chrono::Utc::now().timestamp()));
            std::fs::copy(path, &backup).map_err(|source| StoreError::Io { path: backup.clone(), source })?;
            tracing::warn!(backup = %backup.display(), "store of version {version}: a copy was taken; converting it to version {SCHEMA_VERSION}");
            Ok(())
        };
        // The copy is taken before anything opens the file for writing: a read-write open of
        // redb commits when it closes (its allocator state, in the other header slot), so a copy
        // taken after one is no longer the file the old version left.
        let peeked = peek_schema(&path);
        if let Some(found) = peeked.filter(|v| *v > SCHEMA_VERSION) {
            return Err(StoreError::Version { path, found });
        }
        let copied = peeked.filter(|v| *v < SCHEMA_VERSION);
        if let Some(v) = copied {
            backup(&path, v)?;
        }
        let mut store = Store { db: open(&path)?.into(), path: path.clone(), _lock: lock, slots: Default::default() };
        if let Some(mut version) = store.schema()?.filter(|v| *v < SCHEMA_VERSION) {
            if copied.is_none() {
                // A file that could not be read without writing (redb had to repair it): the
                // copy is taken with the database closed, so that it is a consistent file.
                let Store { db, path, _lock, slots } = store;
                drop(db);
                backup(&path, version)?;
                store = Store { db: open(&path)?.into(), path, _lock, slots };
            }
            while version < SCHEMA_VERSION {
                let step = MIGRATIONS
                    .iter()
                    .find(|m| m.from == version)
                    .ok_or_else(|| StoreError::Version { path: store.path.clone(), found: version })?;
                (step.run)(&store)?;
                version += 1;
                tracing::warn!(from = step.from, to = version, "store migrated: {}", step.what);
            }
        }
        store.init()?;
        store.open_key_slots(data_dir)?;
        Ok(store)
    }

    /// Gives a restored store a new automerge actor. The node that wrote the backup may have made
    /// changes after it, under its actor and with sequence numbers the restored store will use
    /// again; a change that reuses an (actor, sequence) pair with other content would be refused
    /// by every peer. The old actor's changes stay valid under its certificate; the node issues
    /// one for the new actor at its next start.
    pub fn give_new_actor(data_dir: &Path) -> Result<(), StoreError> {
        let path = data_dir.join(DB_FILE);
        let db =
            Database::create(&path).map_err(|e| StoreError::Db { path: path.clone(), source: Box::new(e.into()) })?;
        let err = |e: redb::Error| StoreError::Db { path: path.clone(), source: Box::new(e) };
        let tx = db.begin_write().map_err(|e| err(e.into()))?;
        {
            let mut meta = tx.open_table(META).map_err(|e| err(e.into()))?;
            if meta.get("actor").map_err(|e| err(e.into()))?.is_some() {
                let mut actor = [0u8; 16];
                crate::ids::fill_random(&mut actor);
                meta.insert("actor", actor.as_slice()).map_err(|e| err(e.into()))?;
            }
        }
        tx.commit().map_err(|e| err(e.into()))
    }

    /// The schema version the store says it has, if it says one.
    fn schema(&self) -> Result<Option<u32>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let meta = match tx.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.db_err(e)),
        };
        let found = meta.get("schema").map_err(|e| self.db_err(e))?.map(|v| v.value().to_vec());
        match found {
            None => Ok(None),
            Some(v) => {
                Ok(Some(u32::from_le_bytes(v.as_slice().try_into().map_err(|_| self.corrupt("meta", "schema"))?)))
            }
        }
    }

    /// Converts a version 1 store in one transaction: every document gets its owner (the two
    /// documents the Parties shared are sealed, the rest joint), and `upgrade_pending` is set for
    /// the engine.
    fn upgrade_from_v1(&self) -> Result<(), StoreError> {
        use crate::workspace::party_docs::{LEGACY_MANDATES_ID, LEGACY_REGISTRY_ID};
        let tx = self.db.begin_write().map_err(|e| self.db_err(e))?;
        {
            let mut docs = tx.open_table(DOCS).map_err(|e| self.db_err(e))?;
            let mut rows = Vec::new();
            for row in docs.iter().map_err(|e| self.db_err(e))? {
                let (k, v) = row.map_err(|e| self.db_err(e))?;
                let old: DocMetaV1 = postcard::from_bytes(v.value()).map_err(|e| self.corrupt("docs", e))?;
                rows.push((k.value(), old));
            }
            for (id, old) in rows {
                let sealed = DocId(id) == LEGACY_REGISTRY_ID || DocId(id) == LEGACY_MANDATES_ID;
                let meta = DocMeta {
                    kind: old.kind,
                    heads: old.heads,
                    snapshot_bytes: old.snapshot_bytes,
                    chunk_bytes: old.chunk_bytes,
                    next_chunk: old.next_chunk,
                    owner: if sealed { Owner::Sealed } else { Owner::Joint },
                };
                let bytes = postcard::to_allocvec(&meta).map_err(|e| self.corrupt("docs", e))?;
                docs.insert(id, bytes.as_slice()).map_err(|e| self.db_err(e))?;
            }
            let mut meta = tx.open_table(META).map_err(|e| self.db_err(e))?;
            meta.insert("schema", 2u32.to_le_bytes().as_slice()).map_err(|e| self.db_err(e))?;
            meta.insert("upgrade_pending", [1u8].as_slice()).map_err(|e| self.db_err(e))?;
        }
        tx.commit().map_err(|e| self.db_err(e))
    }

    fn db_err(&self, e: impl Into<redb::Error>) -> StoreError {
        StoreError::Db { path: self.path.clone(), source: Box::new(e.into()) }
    }

    fn corrupt(&self, table: &'static str, reason: impl ToString) -> StoreError {
        StoreError::Corrupt { path: self.path.clone(), table, reason: reason.to_string() }
    }

    /// Creates the tables and checks the schema version.
    fn init(&self) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.db_err(e))?;
        {
            let mut meta = tx.open_table(META).map_err(|e| self.db_err(e))?;
            let found = meta.get("schema").map_err(|e| self.db_err(e))?.map(|v| v.value().to_vec());
            match found {
                None => {
                    meta.insert("schema", SCHEMA_VERSION.to_le_bytes().as_slice()).map_err(|e| self.db_err(e))?;
                    let mut actor = [0u8; 16];
                    crate::ids::fill_random(&mut actor);
                    meta.insert("actor", actor.as_slice()).map_err(|e| self.db_err(e))?;
                }
                Some(v) => {
                    let found =
                        u32::from_le_bytes(v.as_slice().try_into().map_err(|_| self.corrupt("meta", "schema"))?);
                    if found != SCHEMA_VERSION {
                        return Err(StoreError::Version { path: self.path.clone(), found });
                    }
                }
            }
            tx.open_table(DOCS).map_err(|e| self.db_err(e))?;
            tx.open_table(SNAPSHOTS).map_err(|e| self.db_err(e))?;
            tx.open_table(CHUNKS).map_err(|e| self.db_err(e))?;
            tx.open_table(SYNC_STATES).map_err(|e| self.db_err(e))?;
            tx.open_table(PEERS_SEEN).map_err(|e| self.db_err(e))?;
            tx.open_table(PEER_USAGE).map_err(|e| self.db_err(e))?;
            tx.open_table(ITEMS).map_err(|e| self.db_err(e))?;
            tx.open_table(ITEM_INDEX).map_err(|e| self.db_err(e))?;
            tx.open_table(ITEM_CHUNKS).map_err(|e| self.db_err(e))?;
            tx.open_table(ITEM_KEYS).map_err(|e| self.db_err(e))?;
            tx.open_table(CONSENT).map_err(|e| self.db_err(e))?;
            tx.open_table(AUDIT).map_err(|e| self.db_err(e))?;
            tx.open_table(ORIGINALS).map_err(|e| self.db_err(e))?;
            tx.open_table(CERTS).map_err(|e| self.db_err(e))?;
            tx.open_table(HEADS).map_err(|e| self.db_err(e))?;
        }
        tx.commit().map_err(|e| self.db_err(e))
    }

    /// This node's automerge actor id, fixed at creation so that every change it ever makes is
    /// attributable to it.
    pub fn actor(&self) -> Result<[u8; 16], StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let meta = tx.open_table(META).map_err(|e| self.db_err(e))?;
        let v = meta.get("actor").map_err(|e| self.db_err(e))?.ok_or_else(|| self.corrupt("meta", "no actor"))?;
        v.value().try_into().map_err(|_| self.corrupt("meta", "actor is not 16 bytes"))
    }

    /// Every actor certificate stored.
    pub fn certs(&self) -> Result<Vec<ActorCert>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(CERTS).map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.db_err(e))? {
            let (_, v) = row.map_err(|e| self.db_err(e))?;
            out.push(postcard::from_bytes(v.value()).map_err(|e| self.corrupt("certs", e))?);
        }
        Ok(out)
    }

    /// The signed heads of a document, one per actor.
    pub fn heads(&self, doc: DocId) -> Result<Vec<SignedHead>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(HEADS).map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        let lo: &[u8] = &[];
        for row in t.range((doc.0, lo)..).map_err(|e| self.db_err(e))? {
            let (k, v) = row.map_err(|e| self.db_err(e))?;
            if k.value().0 != doc.0 {
                break;
            }
            let heads: Vec<SignedHead> = postcard::from_bytes(v.value()).map_err(|e| self.corrupt("heads", e))?;
            out.extend(heads);
        }
        Ok(out)
    }

    /// Whether a converted version 1 store still waits for the engine's part of the upgrade.
    pub fn upgrade_pending(&self) -> Result<bool, StoreError> {
        Ok(self.meta_value_raw("upgrade_pending")?.is_some_and(|v| v == [1]))
    }

    fn meta_value_raw(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let meta = tx.open_table(META).map_err(|e| self.db_err(e))?;
        Ok(meta.get(key).map_err(|e| self.db_err(e))?.map(|v| v.value().to_vec()))
    }

    /// Every document's metadata.
    pub fn all_docs(&self) -> Result<Vec<(DocId, DocMeta)>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let docs = tx.open_table(DOCS).map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in docs.iter().map_err(|e| self.db_err(e))? {
            let (k, v) = row.map_err(|e| self.db_err(e))?;
            let meta: DocMeta = postcard::from_bytes(v.value()).map_err(|e| self.corrupt("docs", e))?;
            out.push((DocId(k.value()), meta));
        }
        Ok(out)
    }

    /// A document's bytes: snapshot then chunks, ready for `Automerge::load`.
    pub fn doc_bytes(&self, id: DocId) -> Result<Option<Vec<u8>>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let snaps = tx.open_table(SNAPSHOTS).map_err(|e| self.db_err(e))?;
        let Some(snap) = snaps.get(id.0).map_err(|e| self.db_err(e))? else {
            return Ok(None);
        };
        let mut bytes = snap.value().to_vec();
        let chunks = tx.open_table(CHUNKS).map_err(|e| self.db_err(e))?;
        for row in chunks.range((id.0, 0)..=(id.0, u64::MAX)).map_err(|e| self.db_err(e))? {
            let (_, v) = row.map_err(|e| self.db_err(e))?;
            bytes.extend_from_slice(v.value());
        }
        Ok(Some(bytes))
    }

    /// The saved sync states with `peer`, by document.
    pub fn sync_states(&self, peer: &[u8]) -> Result<Vec<(DocId, Vec<u8>)>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(SYNC_STATES).map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in t.range((peer, [0u8; 16])..=(peer, [0xffu8; 16])).map_err(|e| self.db_err(e))? {
            let (k, v) = row.map_err(|e| self.db_err(e))?;
            out.push((DocId(k.value().1), v.value().to_vec()));
        }
        Ok(out)
    }

    /// What we remember of `peer`.
    pub fn peer_record(&self, peer: &[u8]) -> Result<PeerRecord, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = tx.open_table(PEERS_SEEN).map_err(|e| self.db_err(e))?;
        match t.get(peer).map_err(|e| self.db_err(e))? {
            Some(v) => postcard::from_bytes(v.value()).map_err(|e| self.corrupt("peers_seen", e)),
            None => Ok(PeerRecord::default()),
        }
    }

    /// What `peer` has added here (nothing, for a peer never counted).
    pub fn peer_usage(&self, peer: &[u8]) -> Result<PeerUsage, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = match tx.open_table(PEER_USAGE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(PeerUsage::default()),
            Err(e) => return Err(self.db_err(e)),
        };
        match t.get(peer).map_err(|e| self.db_err(e))? {
            Some(v) => postcard::from_bytes(v.value()).map_err(|e| self.corrupt("peer_usage", e)),
            None => Ok(PeerUsage::default()),
        }
    }

    /// Size of the database file in bytes.
    pub fn size_bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one write transaction and commits it durably: when this returns `Ok`, every
    /// write of `f` survives a crash.
    pub fn write<T>(&self, f: impl FnOnce(&mut Writer<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.db_err(e))?;
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let out = {
            let mut w = Writer {
                slots: slots.as_mut(),
                docs: tx.open_table(DOCS).map_err(|e| self.db_err(e))?,
                snapshots: tx.open_table(SNAPSHOTS).map_err(|e| self.db_err(e))?,
                chunks: tx.open_table(CHUNKS).map_err(|e| self.db_err(e))?,
                sync_states: tx.open_table(SYNC_STATES).map_err(|e| self.db_err(e))?,
                peers_seen: tx.open_table(PEERS_SEEN).map_err(|e| self.db_err(e))?,
                peer_usage: tx.open_table(PEER_USAGE).map_err(|e| self.db_err(e))?,
                meta: tx.open_table(META).map_err(|e| self.db_err(e))?,
                items: tx.open_table(ITEMS).map_err(|e| self.db_err(e))?,
                item_index: tx.open_table(ITEM_INDEX).map_err(|e| self.db_err(e))?,
                item_chunks: tx.open_table(ITEM_CHUNKS).map_err(|e| self.db_err(e))?,
                item_keys: tx.open_table(ITEM_KEYS).map_err(|e| self.db_err(e))?,
                consent: tx.open_table(CONSENT).map_err(|e| self.db_err(e))?,
                audit: tx.open_table(AUDIT).map_err(|e| self.db_err(e))?,
                originals: tx.open_table(ORIGINALS).map_err(|e| self.db_err(e))?,
                certs: tx.open_table(CERTS).map_err(|e| self.db_err(e))?,
                heads: tx.open_table(HEADS).map_err(|e| self.db_err(e))?,
                summaries: tx.open_table(SUMMARIES).map_err(|e| self.db_err(e))?,
                path: &self.path,
            };
            f(&mut w)?
        };
        // New keys and shredded slots are on the disk before the commit that refers to them.
        if let Some(s) = slots.as_mut() {
            s.sync()?;
        }
        tx.commit().map_err(|e| self.db_err(e))?;
        Ok(out)
    }
}

/// The tables of one write transaction.
pub struct Writer<'t> {
    slots: Option<&'t mut KeySlots>,
    docs: redb::Table<'t, [u8; 16], &'static [u8]>,
    snapshots: redb::Table<'t, [u8; 16], &'static [u8]>,
    chunks: redb::Table<'t, ([u8; 16], u64), &'static [u8]>,
    sync_states: redb::Table<'t, (&'static [u8], [u8; 16]), &'static [u8]>,
    peers_seen: redb::Table<'t, &'static [u8], &'static [u8]>,
    peer_usage: redb::Table<'t, &'static [u8], &'static [u8]>,
    meta: redb::Table<'t, &'static str, &'static [u8]>,
    items: redb::Table<'t, (&'static str, [u8; 16]), &'static [u8]>,
    item_index: redb::Table<'t, [u8; 16], &'static str>,
    item_chunks: redb::Table<'t, ([u8; 16], u32), &'static [u8]>,
    item_keys: redb::Table<'t, ([u8; 16], &'static str), &'static [u8]>,
    consent: redb::Table<'t, [u8; 16], &'static [u8]>,
    audit: redb::Table<'t, u64, &'static [u8]>,
    originals: redb::Table<'t, [u8; 16], &'static [u8]>,
    certs: redb::Table<'t, [u8; 16], &'static [u8]>,
    heads: redb::Table<'t, ([u8; 16], &'static [u8]), &'static [u8]>,
    summaries: redb::Table<'t, [u8; 16], &'static [u8]>,
    path: &'t Path,
}

fn db_err(path: &Path, e: impl Into<redb::Error>) -> StoreError {
    StoreError::Db { path: path.to_path_buf(), source: Box::new(e.into()) }
}

impl Writer<'_> {
    /// Records a document's metadata.
    pub fn put_meta(&mut self, id: DocId, meta: &DocMeta) -> Result<(), StoreError> {
        let bytes = postcard::to_allocvec(meta).map_err(|e| StoreError::Corrupt {
            path: self.path.to_path_buf(),
            table: "docs",
            reason: e.to_string(),
        })?;
        self.docs.insert(id.0, bytes.as_slice()).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Replaces a document's snapshot and drops its chunks (they are inside the new snapshot).
    pub fn put_snapshot(&mut self, id: DocId, bytes: &[u8]) -> Result<(), StoreError> {
        self.snapshots.insert(id.0, bytes).map_err(|e| db_err(self.path, e))?;
        self.chunks.retain_in((id.0, 0)..=(id.0, u64::MAX), |_, _| false).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Appends an incremental save to a document.
    pub fn put_chunk(&mut self, id: DocId, seq: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.chunks.insert((id.0, seq), bytes).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Records the sync state with `peer` for a document.
    pub fn put_sync_state(&mut self, peer: &[u8], id: DocId, state: &[u8]) -> Result<(), StoreError> {
        self.sync_states.insert((peer, id.0), state).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Forgets every sync state with `peer` (it was unpinned).
    pub fn drop_sync_states(&mut self, peer: &[u8]) -> Result<(), StoreError> {
        self.sync_states
            .retain_in((peer, [0u8; 16])..=(peer, [0xffu8; 16]), |_, _| false)
            .map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Stores a verified actor certificate.
    pub fn put_cert(&mut self, cert: &ActorCert) -> Result<(), StoreError> {
        let bytes = postcard::to_allocvec(cert).map_err(|e| StoreError::Corrupt {
            path: self.path.to_path_buf(),
            table: "certs",
            reason: e.to_string(),
        })?;
        let NodeActor(actor) = cert.actor;
        self.certs.insert(actor, bytes.as_slice()).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Stores the verified signed heads kept of one actor in one document (replacing those
    /// stored before).
    pub fn put_heads(&mut self, doc: DocId, actor: &[u8], heads: &[SignedHead]) -> Result<(), StoreError> {
        let bytes = postcard::to_allocvec(heads).map_err(|e| StoreError::Corrupt {
            path: self.path.to_path_buf(),
            table: "heads",
            reason: e.to_string(),
        })?;
        self.heads.insert((doc.0, actor), bytes.as_slice()).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Marks the engine's part of a version 1 upgrade as done.
    pub fn finish_upgrade(&mut self) -> Result<(), StoreError> {
        self.meta.remove("upgrade_pending").map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Records what a peer has added here.
    pub fn put_peer_usage(&mut self, peer: &[u8], usage: &PeerUsage) -> Result<(), StoreError> {
        let bytes = postcard::to_allocvec(usage).map_err(|e| StoreError::Corrupt {
            path: self.path.to_path_buf(),
            table: "peer_usage",
            reason: e.to_string(),
        })?;
        self.peer_usage.insert(peer, bytes.as_slice()).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }

    /// Records what we remember of a peer.
    pub fn put_peer_record(&mut self, peer: &[u8], rec: &PeerRecord) -> Result<(), StoreError> {
        let bytes = postcard::to_allocvec(rec).map_err(|e| StoreError::Corrupt {
            path: self.path.to_path_buf(),
            table: "peers_seen",
            reason: e.to_string(),
        })?;
        self.peers_seen.insert(peer, bytes.as_slice()).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: DocKind) -> DocMeta {
        DocMeta { kind, heads: vec![[1; 32]], snapshot_bytes: 3, chunk_bytes: 2, next_chunk: 2, owner: Owner::Joint }
    }

    #[test]
    fn documents_are_snapshot_then_chunks_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let id = DocId::random();
        let actor = {
            let s = Store::open(dir.path()).unwrap();
            s.write(|w| {
                w.put_meta(id, &meta(DocKind::Draft))?;
                w.put_snapshot(id, b"abc")?;
                w.put_chunk(id, 1, b"e")?;
                w.put_chunk(id, 0, b"d")?;
                w.put_sync_state(b"peer-a", id, b"st")?;
                w.put_peer_record(b"peer-a", &PeerRecord { last_sync_ms: Some(5) })
            })
            .unwrap();
            s.actor().unwrap()
        };
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.actor().unwrap(), actor);
        assert_eq!(s.doc_bytes(id).unwrap().unwrap(), b"abcde");
        assert_eq!(s.all_docs().unwrap(), vec![(id, meta(DocKind::Draft))]);
        assert_eq!(s.sync_states(b"peer-a").unwrap(), vec![(id, b"st".to_vec())]);
        assert!(s.sync_states(b"peer-b").unwrap().is_empty());
        assert_eq!(s.peer_record(b"peer-a").unwrap().last_sync_ms, Some(5));
        assert_eq!(s.peer_usage(b"peer-a").unwrap(), PeerUsage::default());
        let used = PeerUsage { docs: 3, bytes: 4096 };
        s.write(|w| w.put_peer_usage(b"peer-a", &used)).unwrap();
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.peer_usage(b"peer-a").unwrap(), used, "a peer's usage survives a restart");
        s.write(|w| w.put_snapshot(id, b"xyz")).unwrap();
        assert_eq!(s.doc_bytes(id).unwrap().unwrap(), b"xyz", "a new snapshot drops the old chunks");
        s.write(|w| w.drop_sync_states(b"peer-a")).unwrap();
        assert!(s.sync_states(b"peer-a").unwrap().is_empty());
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let id = DocId::random();
        let r: Result<(), _> = s.write(|w| {
            w.put_snapshot(id, b"abc")?;
            Err(StoreError::Corrupt { path: "x".into(), table: "t", reason: "test".into() })
        });
        assert!(r.is_err());
        assert!(s.doc_bytes(id).unwrap().is_none());
    }

    #[test]
    fn a_store_of_a_newer_version_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let path = dir.path().join(DB_FILE);
        {
            let db = Database::create(&path).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(META).unwrap().insert("schema", 99u32.to_le_bytes().as_slice()).unwrap();
            tx.commit().unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let e = Store::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("schema version 99 was written by a newer liaison"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "the refused store was written to");
        assert!(MIGRATIONS.iter().enumerate().all(|(i, m)| m.from == 1 + i as u32), "a gap in the migrations");
        assert_eq!(MIGRATIONS.last().map(|m| m.from + 1), Some(SCHEMA_VERSION));
    }

    #[test]
    fn a_second_opener_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let _s = Store::open(dir.path()).unwrap();
        let e = Store::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("in use by another liaison process"), "{e}");
    }
}
