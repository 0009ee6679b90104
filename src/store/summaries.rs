//! Table `summaries`: one row per meeting, group, draft and thread, what the lists show of it
//! (see `engine::summaries`). The value is JSON (the summaries flatten their titles, which
//! postcard cannot), and records the heads it was computed at: a row whose heads are not the
//! document's is recomputed, so a lost or old row costs time, never a wrong list. Nothing of a
//! provided item is in it (attachments are item ids only).

use redb::{ReadableDatabase, ReadableTable};

use super::{SUMMARIES, Store, StoreError, Writer, db_err};
use crate::ids::DocId;

impl Store {
    /// Every stored summary, as bytes (the engine decodes them). A store from before summaries
    /// has the table only after its first write: none then.
    pub fn summaries(&self) -> Result<Vec<(DocId, Vec<u8>)>, StoreError> {
        let tx = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = match tx.open_table(SUMMARIES) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.db_err(e)),
        };
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.db_err(e))? {
            let (k, v) = row.map_err(|e| self.db_err(e))?;
            out.push((DocId(k.value()), v.value().to_vec()));
        }
        Ok(out)
    }
}

impl Writer<'_> {
    /// Records a document's summary (replacing the one before).
    pub fn put_summary(&mut self, id: DocId, bytes: &[u8]) -> Result<(), StoreError> {
        self.summaries.insert(id.0, bytes).map_err(|e| db_err(self.path, e))?;
        Ok(())
    }
}
