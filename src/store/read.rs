//! Reading the store beside its writer. redb's read transactions are MVCC: one sees the last
//! commit, whole, while the engine writes the next, and never waits for it. The engine's second
//! reader (`engine::reader`) reads documents through here, so that officers' reads do not queue
//! behind the engine's rounds.

use std::path::PathBuf;
use std::sync::Arc;

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable};

use super::{AUDIT, CERTS, CHUNKS, CONSENT, DOCS, DocMeta, HEADS, META, SNAPSHOTS, Store, StoreError};
use crate::authorship::{ActorCert, SignedHead};
use crate::ids::DocId;

/// A handle that reads what the store has committed; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct StoreReader {
    db: Arc<Database>,
    path: PathBuf,
}

/// One read transaction: everything read through it is of one commit.
pub struct ReadTx {
    tx: ReadTransaction,
    path: PathBuf,
}

impl Store {
    /// A reader of this store's committed state, for other threads.
    pub fn reader(&self) -> StoreReader {
        StoreReader { db: self.db.clone(), path: self.path.clone() }
    }
}

impl StoreReader {
    /// Starts a read of the last commit.
    pub fn begin(&self) -> Result<ReadTx, StoreError> {
        let tx = self.db.begin_read().map_err(|e| db_err(&self.path, e))?;
        Ok(ReadTx { tx, path: self.path.clone() })
    }
}

fn db_err(path: &std::path::Path, e: impl Into<redb::Error>) -> StoreError {
    StoreError::Db { path: path.to_path_buf(), source: Box::new(e.into()) }
}

impl ReadTx {
    fn err(&self, e: impl Into<redb::Error>) -> StoreError {
        db_err(&self.path, e)
    }

    fn corrupt(&self, table: &'static str, reason: impl ToString) -> StoreError {
        StoreError::Corrupt { path: self.path.clone(), table, reason: reason.to_string() }
    }

    /// A document's committed metadata, if the store holds it.
    pub fn meta(&self, id: DocId) -> Result<Option<DocMeta>, StoreError> {
        let t = self.tx.open_table(DOCS).map_err(|e| self.err(e))?;
        match t.get(id.0).map_err(|e| self.err(e))? {
            Some(v) => Ok(Some(postcard::from_bytes(v.value()).map_err(|e| self.corrupt("docs", e))?)),
            None => Ok(None),
        }
    }

    /// The documents whose hex id starts with `hex`, with their metadata: a range of the table
    /// (the prefix's whole bytes), not a scan of it.
    pub fn docs_with_prefix(&self, hex: &str) -> Result<Vec<(DocId, DocMeta)>, StoreError> {
        let whole: Vec<u8> =
            (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
        let mut lo = [0u8; 16];
        let mut hi = [0xffu8; 16];
        lo[..whole.len()].copy_from_slice(&whole);
        hi[..whole.len()].copy_from_slice(&whole);
        let t = self.tx.open_table(DOCS).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in t.range(lo..=hi).map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            let id = DocId(k.value());
            if !id.to_string().starts_with(hex) {
                continue;
            }
            out.push((id, postcard::from_bytes(v.value()).map_err(|e| self.corrupt("docs", e))?));
        }
        Ok(out)
    }

    /// Every document with its committed metadata, in id order.
    pub fn all_docs(&self) -> Result<Vec<(DocId, DocMeta)>, StoreError> {
        let t = self.tx.open_table(DOCS).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            out.push((DocId(k.value()), postcard::from_bytes(v.value()).map_err(|e| self.corrupt("docs", e))?));
        }
        Ok(out)
    }

    /// A document's whole bytes (snapshot then chunks), ready for `Automerge::load`.
    pub fn doc_bytes(&self, id: DocId) -> Result<Option<Vec<u8>>, StoreError> {
        let snaps = self.tx.open_table(SNAPSHOTS).map_err(|e| self.err(e))?;
        let Some(snap) = snaps.get(id.0).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        let mut bytes = snap.value().to_vec();
        bytes.extend(self.chunks_from(id, 0)?);
        Ok(Some(bytes))
    }

    /// The chunks of a document from sequence `from` on, concatenated: what
    /// `Automerge::load_incremental` takes to bring a copy at an older commit up to this one.
    pub fn chunks_from(&self, id: DocId, from: u64) -> Result<Vec<u8>, StoreError> {
        let chunks = self.tx.open_table(CHUNKS).map_err(|e| self.err(e))?;
        let mut bytes = Vec::new();
        for row in chunks.range((id.0, from)..=(id.0, u64::MAX)).map_err(|e| self.err(e))? {
            let (_, v) = row.map_err(|e| self.err(e))?;
            bytes.extend_from_slice(v.value());
        }
        Ok(bytes)
    }

    /// Every row of `table`, decoded, in key order.
    fn all<K: redb::Key + 'static, T: serde::de::DeserializeOwned>(
        &self,
        table: redb::TableDefinition<K, &'static [u8]>,
        name: &'static str,
    ) -> Result<Vec<T>, StoreError> {
        let t = self.tx.open_table(table).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.err(e))? {
            let (_, v) = row.map_err(|e| self.err(e))?;
            out.push(postcard::from_bytes(v.value()).map_err(|e| self.corrupt(name, e))?);
        }
        Ok(out)
    }

    /// Every actor certificate stored (each was verified when it came).
    pub fn certs(&self) -> Result<Vec<ActorCert>, StoreError> {
        self.all(CERTS, "certs")
    }

    /// Every consent record (each was verified when it came, or made here).
    pub fn records(&self) -> Result<Vec<crate::consent::SignedRecord>, StoreError> {
        self.all(CONSENT, "consent")
    }

    /// The audit log, in order.
    pub fn audit_entries(&self) -> Result<Vec<crate::audit::SignedEntry>, StoreError> {
        self.all(AUDIT, "audit")
    }

    /// The audit log's signed head, as committed with its last entry.
    pub fn audit_head(&self) -> Result<Option<crate::audit::Head>, StoreError> {
        let t = self.tx.open_table(META).map_err(|e| self.err(e))?;
        match t.get("audit_head").map_err(|e| self.err(e))? {
            Some(v) => Ok(Some(postcard::from_bytes(v.value()).map_err(|e| self.corrupt("meta", e))?)),
            None => Ok(None),
        }
    }

    /// The signed heads of a document, every actor's.
    pub fn heads(&self, doc: DocId) -> Result<Vec<SignedHead>, StoreError> {
        let t = self.tx.open_table(HEADS).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        let lo: &[u8] = &[];
        for row in t.range((doc.0, lo)..).map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            if k.value().0 != doc.0 {
                break;
            }
            let list: Vec<SignedHead> = postcard::from_bytes(v.value()).map_err(|e| self.corrupt("heads", e))?;
            out.extend(list);
        }
        Ok(out)
    }
}
