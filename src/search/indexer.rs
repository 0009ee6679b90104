//! The task that keeps the indexes up to date with the engine, and the handle the API asks.
//!
//! It follows the engine's events: a changed document is read on the engine's thread (in
//! chunks, so that other work interleaves) and indexed here, on tokio's blocking pool; the
//! events that arrived meanwhile are taken as one batch. A search first asks the task to take
//! every event already sent and index it, so that a change is found as soon as the API has
//! acknowledged it, or as soon as this node holds a peer's change.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::extract::{self, Part};
use super::{Hits, SearchError, SearchIndex, SearchQuery};
use crate::engine::{EngineHandle, Event};
use crate::workspace::DocKind;

/// Documents read in one engine job: bounds how long one job holds the engine's thread.
const DOCS_PER_JOB: usize = 64;

/// Bytes of words given to the index in one commit (see [`extract::Extracted::split`]).
const APPLY_BYTES: usize = 2 << 20;

/// The node's search: the two indexes and the task that feeds them. Cheap to clone.
#[derive(Clone)]
pub struct Search {
    inner: Arc<Inner>,
    tx: mpsc::Sender<oneshot::Sender<()>>,
}

struct Inner {
    /// The shared workspace, on disk.
    workspace: SearchIndex,
    /// The titles of the items this node can read, in memory only.
    items: SearchIndex,
}

/// What the task has still to index.
#[derive(Default)]
struct Pending {
    docs: BTreeSet<String>,
    items: bool,
    /// Events were lost (the task fell behind): compare every document's stamp.
    all: bool,
}

impl Pending {
    fn note(&mut self, ev: Result<Event, broadcast::error::TryRecvError>) -> bool {
        match ev {
            Ok(Event::DocChanged { doc, kind, .. }) => {
                if matches!(kind, DocKind::Meeting | DocKind::Group | DocKind::Draft | DocKind::Thread | DocKind::Annex)
                {
                    self.docs.insert(doc);
                }
            }
            Ok(Event::VaultChanged) => self.items = true,
            Ok(_) => {}
            Err(broadcast::error::TryRecvError::Lagged(_)) => {
                self.all = true;
                self.items = true;
            }
            Err(_) => return false,
        }
        true
    }

    fn is_empty(&self) -> bool {
        self.docs.is_empty() && !self.items && !self.all
    }
}

impl Search {
    /// Opens (or builds) the indexes under `dir` and starts the task that keeps them up to date
    /// with `engine` until `stopping`. The first build runs in the task: searches wait for it,
    /// the node's start does not.
    pub async fn start(
        dir: &Path,
        engine: EngineHandle,
        stopping: CancellationToken,
    ) -> Result<(Search, tokio::task::JoinHandle<()>), SearchError> {
        let dir = dir.to_path_buf();
        let inner = tokio::task::spawn_blocking(move || -> Result<Inner, SearchError> {
            Ok(Inner { workspace: SearchIndex::open_dir(&dir)?, items: SearchIndex::in_memory()? })
        })
        .await
        .map_err(|e| SearchError::Index(e.to_string()))??;
        let inner = Arc::new(inner);
        // Subscribed before the first build: nothing committed after it is missed.
        let events = engine.subscribe();
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(tracing::Instrument::instrument(
            run(inner.clone(), engine, events, rx, stopping),
            tracing::info_span!("search"),
        ));
        Ok((Search { inner, tx }, task))
    }

    /// The best hits for `q`. `may_read_item` says whether the caller may read an item (by
    /// id); the titles of the others are never answered.
    pub async fn query(
        &self,
        q: SearchQuery,
        may_read_item: impl Fn(&str) -> bool + Send + 'static,
    ) -> Result<Hits, SearchError> {
        self.catch_up().await?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut hits = inner.workspace.search(&q, &|_| true)?;
            hits.extend(inner.items.search(&q, &|h| may_read_item(&h.doc))?);
            hits.sort_by(|a, b| b.score.total_cmp(&a.score));
            hits.truncate(q.limit);
            Ok(Hits { hits, query: q.text })
        })
        .await
        .map_err(|e| SearchError::Index(e.to_string()))?
    }

    /// Waits until every change the engine announced so far is indexed.
    pub async fn catch_up(&self) -> Result<(), SearchError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(tx).await.map_err(|_| SearchError::Stopped)?;
        rx.await.map_err(|_| SearchError::Stopped)
    }

    /// How many parts the workspace's index holds (for status and benchmarks).
    pub fn workspace_parts(&self) -> u64 {
        self.inner.workspace.parts()
    }
}

async fn run(
    inner: Arc<Inner>,
    engine: EngineHandle,
    mut events: broadcast::Receiver<Event>,
    mut asks: mpsc::Receiver<oneshot::Sender<()>>,
    stopping: CancellationToken,
) {
    let mut pending = Pending { all: true, items: true, ..Default::default() };
    'run: loop {
        // What arrived meanwhile joins this batch.
        while pending.note(events.try_recv()) {}
        if !pending.is_empty() {
            // Let a burst of changes end first: an officer typing changes the same draft at each
            // keystroke, and reading it whole each time is work for nothing. A search does not
            // wait for this: it asks, and what is pending is indexed at once.
            let mut asked = Vec::new();
            if !pending.all {
                // Quiet for SETTLE, or at most SETTLE_MAX after the burst began.
                let most = tokio::time::sleep(SETTLE_MAX);
                tokio::pin!(most);
                loop {
                    tokio::select! {
                        biased;
                        _ = stopping.cancelled() => break 'run,
                        ask = asks.recv() => match ask {
                            Some(reply) => {
                                asked.push(reply);
                                break;
                            }
                            None => break 'run,
                        },
                        _ = &mut most => break,
                        _ = tokio::time::sleep(SETTLE) => break,
                        ev = events.recv() => {
                            if !pending.note(ev.map_err(lagged)) {
                                break 'run;
                            }
                        }
                    }
                }
                while pending.note(events.try_recv()) {}
            }
            let batch = std::mem::take(&mut pending);
            if let Err(e) = index(&inner, &engine, batch, &stopping).await {
                if matches!(e, SearchError::Stopped) {
                    break;
                }
                tracing::error!(error = %e, "indexing failed; trying again by the documents' heads in a second");
                // Nothing of the failed batch is lost: the next one compares every document's
                // heads with those indexed.
                pending.all = true;
                pending.items = true;
                tokio::select! {
                    _ = stopping.cancelled() => break,
                    _ = tokio::time::sleep(RETRY) => {}
                }
            }
            for reply in asked {
                let _ = reply.send(());
            }
            continue;
        }
        tokio::select! {
            biased;
            _ = stopping.cancelled() => break,
            ask = asks.recv() => match ask {
                Some(reply) => {
                    while pending.note(events.try_recv()) {}
                    if !pending.is_empty() {
                        let batch = std::mem::take(&mut pending);
                        match index(&inner, &engine, batch, &stopping).await {
                            Ok(()) | Err(SearchError::Stopped) => {}
                            Err(e) => {
                                tracing::error!(error = %e, "indexing failed; trying again by the documents' heads");
                                pending.all = true;
                                pending.items = true;
                            }
                        }
                    }
                    let _ = reply.send(());
                }
                None => break,
            },
            ev = events.recv() => {
                if !pending.note(ev.map_err(lagged)) {
                    break;
                }
            }
        }
    }
    tracing::debug!("search indexer stopped");
}

/// Indexes one batch. Stops between chunks once the node is stopping: what is left is found
/// again at the next start (every document whose heads are not the ones indexed), and a fresh
/// node's first build of a large workspace would otherwise hold its shutdown for half a minute.
async fn index(
    inner: &Arc<Inner>,
    engine: &EngineHandle,
    mut batch: Pending,
    stopping: &CancellationToken,
) -> Result<(), SearchError> {
    let stopped = |e: crate::engine::EngineError| match e {
        crate::engine::EngineError::Stopped => SearchError::Stopped,
        e => SearchError::Index(e.to_string()),
    };
    let mut removed = Vec::new();
    if batch.all {
        // Every document whose heads are not the ones indexed, and those gone.
        let now = engine.view_background(extract::stamps).await.map_err(stopped)?;
        let had = inner.workspace.stamps();
        batch.docs.extend(now.iter().filter(|(id, (_, st))| had.get(*id) != Some(st)).map(|(id, _)| id.clone()));
        removed = had.keys().filter(|id| !now.contains_key(*id)).cloned().collect();
        if !batch.docs.is_empty() {
            tracing::info!(documents = batch.docs.len(), "building the search index of the documents changed");
        }
    }
    let docs: Vec<String> = std::mem::take(&mut batch.docs).into_iter().collect();
    for chunk in docs.chunks(DOCS_PER_JOB) {
        if stopping.is_cancelled() {
            return Err(SearchError::Stopped);
        }
        let ids: BTreeSet<String> = chunk.iter().cloned().collect();
        let got = engine.view_background(move |v| extract::extract(v, &ids)).await.map_err(stopped)?;
        for group in got.split(APPLY_BYTES) {
            let inner = inner.clone();
            blocking(move || {
                let docs = group.units.len();
                let applied = inner.workspace.apply(group.units, group.stamps, Vec::new())?;
                tracing::debug!(
                    docs,
                    added = applied.added,
                    deleted = applied.deleted,
                    "indexed the parts that changed"
                );
                Ok(())
            })
            .await?;
        }
    }
    if !removed.is_empty() {
        let inner = inner.clone();
        blocking(move || inner.workspace.apply(Vec::new(), Vec::new(), removed).map(drop)).await?;
    }
    if batch.items {
        let parts: Vec<Part> = engine.read(|c| extract::items(c)).await.map_err(stopped)?;
        let inner = inner.clone();
        blocking(move || inner.items.replace_all(parts)).await?;
    }
    Ok(())
}

/// How long the indexer lets a burst of changes end before it reads what they changed.
const SETTLE: Duration = Duration::from_millis(300);
/// The longest the indexer waits for changes to settle.
const SETTLE_MAX: Duration = Duration::from_secs(2);
/// How long the indexer waits after a failed batch before it tries again.
const RETRY: Duration = Duration::from_secs(1);

fn lagged(e: broadcast::error::RecvError) -> broadcast::error::TryRecvError {
    match e {
        broadcast::error::RecvError::Lagged(n) => broadcast::error::TryRecvError::Lagged(n),
        broadcast::error::RecvError::Closed => broadcast::error::TryRecvError::Closed,
    }
}

async fn blocking(f: impl FnOnce() -> Result<(), SearchError> + Send + 'static) -> Result<(), SearchError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| SearchError::Index(e.to_string()))?
}
