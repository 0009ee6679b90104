//! How the rest of the node talks to the engine: jobs run on its thread, answered once the
//! round that ran them has committed (writes) or at once (reads).

use tokio::sync::{broadcast, oneshot};

use super::{Core, EngineError, EngineHandle, Event, Job, Msg, NodeStatus, status};
use crate::config::PinnedPeer;

impl EngineHandle {
    /// Runs `f` on the engine's thread; answers once the round that ran it has committed.
    /// Use for changes: when this returns `Ok`, the change is durable.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Core) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |core| {
            let out = f(core);
            Some(Box::new(move |committed: Result<(), EngineError>| {
                let _ = tx.send(committed.and(out));
            }))
        });
        self.tx.send(Msg::Job(job)).await.map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)?
    }

    /// Runs `f` on the engine's thread and answers at once. Use for reads.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Core) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |core| {
            let _ = tx.send(f(core));
            None
        });
        self.tx.send(Msg::Job(job)).await.map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)?
    }

    /// The node's status as the engine published it at the end of a round (see
    /// [`status::publish`]): answered at once, however busy the engine is. When rounds went by
    /// unpublished, the engine is asked (without waiting) to publish at its next round.
    pub async fn status(&self) -> Result<NodeStatus, EngineError> {
        match self.reader.status.get() {
            (Some(s), stale) => {
                if stale {
                    let nudge: Job = Box::new(|_| None);
                    let _ = self.tx.try_send(Msg::Job(nudge));
                }
                Ok((*s).clone())
            }
            // Not published yet (the engine publishes before its thread starts): ask it.
            (None, _) => self.read(|core| Ok(status::status(core))).await,
        }
    }

    /// Tells the engine that the pinned peers changed.
    /// Answers once a round after the change has ended, so that the status read next (a
    /// published snapshot, see [`status::Board`]) shows the new peers.
    pub async fn set_peers(&self, peers: Vec<PinnedPeer>) -> Result<(), EngineError> {
        self.tx.send(Msg::SetPeers(peers)).await.map_err(|_| EngineError::Stopped)?;
        self.write(|_| Ok(())).await
    }

    /// Asks the engine to finish its round, persist and stop.
    pub async fn shutdown(&self) {
        let _ = self.tx.send(Msg::Shutdown).await;
    }

    /// The summaries the lists read, without the engine's queue.
    pub fn summaries(&self) -> &super::summaries::SummaryIndex {
        &self.summaries
    }

    /// Subscribes to the engine's events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
}
