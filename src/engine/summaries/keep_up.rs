//! Keeping the summaries up to date in the background, on the reader's threads.

use std::sync::PoisonError;
use std::time::Duration;

use super::{FLUSH_EVERY, SLICE, flush, refresh_in_view};
use crate::engine::{EngineError, EngineHandle};

/// How long [`keep_up`] lets changes settle before it computes what they made stale: an officer
/// typing makes the same draft stale at every keystroke, and a list computes what it needs anyway.
const SETTLE: Duration = Duration::from_millis(250);
/// The longest [`keep_up`] waits for changes to settle.
const SETTLE_MAX: Duration = Duration::from_secs(2);

/// Works off the stale summaries (a store from before summaries, a bulk sync, the documents
/// officers are editing) on the reader's threads, in slices, so that lists find them ready;
/// the engine writes them with its next commit, or at once when [`FLUSH_EVERY`] wait. Ends with
/// the engine or when `stop` is cancelled.
pub async fn keep_up(engine: EngineHandle, stop: tokio_util::sync::CancellationToken) {
    let mut events = engine.subscribe();
    let index = engine.summaries();
    loop {
        while index.backlog() > 0 {
            // A node stopping does not wait for a backlog (a whole workspace after an upgrade).
            if stop.is_cancelled() {
                return;
            }
            let ix = index.clone();
            let more =
                match engine.view_background(move |v| Ok(refresh_in_view(&ix, v, None, None, Some(SLICE))?.1)).await {
                    Ok(more) => more,
                    Err(EngineError::Stopped) => return,
                    // A store that failed a read: lists still compute what they need; try again.
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot compute summaries; trying again in a second");
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                };
            if !more && index.backlog() > 0 {
                // What is left was marked again while it was computed: after the next change.
                break;
            }
            if index.0.read().unwrap_or_else(PoisonError::into_inner).unwritten.len() >= FLUSH_EVERY
                && engine
                    .read(|c| {
                        flush(c);
                        Ok(())
                    })
                    .await
                    .is_err()
            {
                return;
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            ev = events.recv() => {
                if let Err(tokio::sync::broadcast::error::RecvError::Closed) = ev {
                    return;
                }
            }
        }
        // Let a burst of changes (typing, a sync) end before computing what it made stale: quiet
        // for SETTLE, or at most SETTLE_MAX after it began.
        let most = tokio::time::sleep(SETTLE_MAX);
        tokio::pin!(most);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = &mut most => break,
                _ = tokio::time::sleep(SETTLE) => break,
                ev = events.recv() => {
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) = ev {
                        return;
                    }
                }
            }
        }
    }
}
