//! The engine's part of a backup taken while the node runs: the snapshot is taken on the
//! engine's thread, between two of its commits, so it is one committed state with the key slots
//! that state refers to; the copying happens elsewhere, and writers go on meanwhile.

use std::sync::Arc;

use super::{EngineError, EngineHandle};
use crate::store::StoreSnapshot;

impl EngineHandle {
    /// A snapshot of the store, for a backup.
    pub async fn store_snapshot(&self) -> Result<StoreSnapshot, EngineError> {
        self.read(|core| core.store.snapshot().map_err(|e| EngineError::Store(Arc::new(e)))).await
    }
}
