//! Summaries in the store: taken at start-up when their heads are the documents', and written
//! with the commit after they are computed.

use std::collections::{BTreeSet, HashMap};

use super::{Entry, FORMAT, Index, Stored, Summaries, Summary, hex_heads, summarised};
use crate::engine::Core;
use crate::ids::DocId;
use crate::store::{StoreError, Writer};

/// Takes the stored summaries whose heads are the documents' stored heads; every other
/// meeting, group, draft and thread is marked stale.
pub(in crate::engine) fn load(core: &mut Core) -> Result<(), StoreError> {
    let rows = core.store.summaries()?;
    let mut ix = Index::default();
    let mut parent_of = HashMap::new();
    for (id, bytes) in rows {
        let Ok(s) = serde_json::from_slice::<Stored>(&bytes) else { continue };
        let Ok(heads) = s.heads.iter().map(|(d, h)| d.parse::<DocId>().map(|d| (d, h))).collect::<Result<Vec<_>, _>>()
        else {
            continue;
        };
        if s.format != FORMAT || heads.first().map(|(d, _)| *d) != Some(id) {
            continue;
        }
        let recorded: BTreeSet<DocId> = heads.iter().skip(1).map(|(d, _)| *d).collect();
        let fresh = heads.iter().all(|(d, h)| core.docs.meta(*d).is_some_and(|m| hex_heads(&m.heads) == **h))
            && match &s.summary {
                Summary::Draft(_) | Summary::Thread(_) => {
                    core.annexes_of(id).is_ok_and(|a| a.into_iter().collect::<BTreeSet<_>>() == recorded)
                }
                _ => true,
            };
        if !fresh {
            continue;
        }
        for a in &recorded {
            parent_of.insert(*a, id);
        }
        let version = heads.first().map(|(_, h)| h.join(",")).unwrap_or_default();
        let heads =
            heads.iter().map(|(d, _)| (*d, core.docs.meta(*d).map(|m| m.heads.clone()).unwrap_or_default())).collect();
        ix.insert(
            id,
            Entry {
                summary: s.summary,
                version,
                heads,
                suggestions: s.suggestions,
                facts: s.facts,
                listed: Default::default(),
                instants: Default::default(),
            },
        );
    }
    for (id, meta) in core.docs.all() {
        if summarised(meta.kind) && !ix.entries.contains_key(&id) {
            ix.mark_stale(id, meta.kind);
        }
    }
    if !ix.stale.is_empty() {
        tracing::info!(stale = ix.stale.len(), "summaries to compute (new or changed since they were stored)");
    }
    *core.summaries.shared.write() = ix;
    core.summaries.parent_of = parent_of;
    Ok(())
}

/// The summaries computed since the last commit (by the engine or the reader), encoded for the
/// store: [`put`] writes them into a transaction, [`written`] says it committed.
pub(in crate::engine) fn to_write(s: &Summaries) -> Vec<(DocId, Vec<u8>)> {
    let ix = s.shared.read();
    let mut out = Vec::with_capacity(ix.unwritten.len());
    for id in &ix.unwritten {
        let Some(e) = ix.entries.get(id) else { continue };
        let stored = Stored {
            format: FORMAT,
            heads: e.heads.iter().map(|(d, h)| (d.to_string(), hex_heads(h))).collect(),
            suggestions: e.suggestions.clone(),
            summary: e.summary.clone(),
            facts: e.facts.clone(),
        };
        match serde_json::to_vec(&stored) {
            Ok(bytes) => out.push((*id, bytes)),
            Err(e) => tracing::warn!(%id, error = %e, "summary does not encode; it will be computed again at start"),
        }
    }
    out
}

/// Writes what [`to_write`] gave into the round's transaction.
pub(in crate::engine) fn put(rows: &[(DocId, Vec<u8>)], w: &mut Writer<'_>) -> Result<(), StoreError> {
    for (id, bytes) in rows {
        w.put_summary(*id, bytes)?;
    }
    Ok(())
}

/// The transaction that [`put`] them committed. A summary computed again meanwhile stays
/// unwritten only until the next commit, or is computed again at start: never wrong.
pub(in crate::engine) fn written(s: &Summaries, rows: &[(DocId, Vec<u8>)]) {
    if rows.is_empty() {
        return;
    }
    let mut ix = s.shared.write();
    for (id, _) in rows {
        ix.unwritten.remove(id);
    }
}

/// Writes what waits, in a transaction of its own (background work, shutdown).
pub(in crate::engine) fn flush(core: &mut Core) {
    let rows = to_write(&core.summaries);
    if rows.is_empty() {
        return;
    }
    match core.store.write(|w| put(&rows, w)) {
        Ok(()) => written(&core.summaries, &rows),
        Err(e) => tracing::warn!(error = %e, "cannot write summaries; they will be computed again at start"),
    }
}
