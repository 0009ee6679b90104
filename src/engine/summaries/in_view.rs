//! Summaries computed on the reader's threads, from the store's last commit, so that neither a
//! list nor the background keep-up makes the engine's round wait while a whole draft is read
//! (a 200-provision draft takes tens of milliseconds, and every keystroke makes it stale).
//!
//! The reader's commit may be older than the engine's newest: each stale mark has a number, and
//! a summary settles a mark only if the document was not marked again since the marks were
//! read (and the view began after that). A list that loses that race still answers with what it
//! computed, which holds every change committed before it was asked.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Entry, Summary, SummaryIndex, hex_heads, of_draft, of_meeting, of_thread};
use crate::engine::EngineError;
use crate::engine::reader::View;
use crate::ids::DocId;
use crate::workspace::{DocKind, group};

/// Computes the stale summaries of `kind` (all kinds if `None`; only those of `ids` if given)
/// from the store's last commit, until `budget` is spent. Settles the marks it may, and returns
/// what it computed, by document, and whether some were left for lack of time.
pub fn refresh(
    index: &SummaryIndex,
    v: &mut View<'_>,
    kind: Option<DocKind>,
    ids: Option<&BTreeSet<DocId>>,
    budget: Option<Duration>,
) -> Result<(HashMap<DocId, Arc<Entry>>, bool), EngineError> {
    let t0 = Instant::now();
    let todo: Vec<_> =
        index.read().stale_of(kind).into_iter().filter(|(d, _)| ids.is_none_or(|ids| ids.contains(d))).collect();
    if todo.is_empty() {
        return Ok((HashMap::new(), false));
    }
    // The marks were read before this commit was taken: it holds what each mark is about.
    v.renew()?;
    let mut out = HashMap::new();
    let mut done = 0;
    for (id, st) in &todo {
        if budget.is_some_and(|b| t0.elapsed() >= b) {
            break;
        }
        let entry = compute(v, *id, st.kind);
        // One document's sources at a time: a backlog of thousands never holds them all.
        v.release();
        let kept = entry.as_ref().ok().map(|e| Arc::new(e.clone()));
        index.write().settle(*id, st.kind, entry, Some(st.mark));
        if let Some(e) = kept {
            out.insert(*id, e);
        }
        done += 1;
    }
    Ok((out, done < todo.len()))
}

/// Reads one document (and its annexes) into its summary, as the engine's `compute` does.
fn compute(v: &mut View<'_>, id: DocId, kind: DocKind) -> Result<Entry, EngineError> {
    let sid = id.to_string();
    let heads_of = |v: &mut View<'_>, d: DocId| -> Result<(DocId, Vec<[u8; 32]>), EngineError> {
        Ok((d, v.doc(d)?.get_heads().into_iter().map(|h| h.0).collect()))
    };
    let mut heads = vec![heads_of(v, id)?];
    let (summary, suggestions, facts) = match kind {
        DocKind::Meeting => of_meeting(v.doc(id)?, &sid)?,
        DocKind::Group => (Summary::Group(Box::new(group::read(v.doc(id)?, &sid)?)), vec![], None),
        DocKind::Draft => {
            for a in v.annexes_of(id)? {
                heads.push(heads_of(v, a)?);
            }
            let (d, recs) = v.read_draft_with_records(id)?;
            of_draft(&d, &recs)
        }
        DocKind::Thread => {
            for a in v.annexes_of(id)? {
                heads.push(heads_of(v, a)?);
            }
            of_thread(v.read_thread(id)?)
        }
        other => return Err(crate::workspace::WorkspaceError::Malformed(format!("a {other} has no summary")).into()),
    };
    let version = hex_heads(&heads[0].1).join(",");
    Ok(Entry { summary, version, heads, suggestions, facts, listed: Default::default(), instants: Default::default() })
}
