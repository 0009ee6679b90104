//! `[limits.peer]` on a peer's batch, checked before the work they bound: the number of frames
//! first, then what its snapshots and sync messages decompress to and hold (measured without
//! decompressing or loading them, see [`measure`]), each against the per-document bounds, all
//! of them together against the per-batch bound, and the documents new here against what the
//! peer may still add (its quota, kept in the store). A batch past a bound is refused whole:
//! the refusal is audited once and logged, the peer's session is dropped, and nothing of the
//! batch is loaded or kept.
//!
//! Bounds that need the document as it is here (its size, changes and ops with the incoming
//! ones) are checked where it is at hand, just before the changes are applied: see
//! [`check_growth`].

use automerge::ReadDoc;
use automerge::sync::Message;
use libp2p::PeerId;

use super::peers::Violation;
use super::sync::measure::{self, Bound, Measure, Over};
use super::{Core, audit_log};
use crate::audit::Event;
use crate::config::PeerLimits;
use crate::ids::DocId;
use crate::net::protocol::Frame;
use crate::store::PeerUsage;

/// Refuses the batch for being past a bound: audited (a refusal, so it stays when the batch is
/// undone), logged, and the session will be dropped.
pub(super) fn over(core: &mut Core, peer: PeerId, reason: String) -> Violation {
    tracing::warn!(%peer, %reason, "a peer's batch is past a bound; refused whole");
    core.metrics.batches_over_bound.inc();
    audit_log::record(
        core,
        Event::ReceiveRefused {
            what: "batch past a bound".into(),
            id: None,
            from_peer: peer.to_string(),
            reason: reason.clone(),
        },
    );
    Violation(reason)
}

/// What a sync message's changes amount to (its heads, need and Bloom filters are bounded by
/// its encoded size).
pub(super) fn measure_sync(msg: &[u8], bound: &Bound) -> Result<Measure, Over> {
    let m = Message::decode(msg).map_err(|e| Over::Malformed(format!("undecodable sync message: {e}")))?;
    let mut left = *bound;
    let mut total = Measure::default();
    for chunk in m.changes.iter() {
        let one = measure::measure(chunk, &left)?;
        left.bytes -= one.bytes;
        left.changes -= one.changes;
        left.ops -= one.ops;
        total += one;
    }
    Ok(total)
}

/// Checks a batch's frames against the bounds; returns what each snapshot and sync frame
/// amounts to, in frame order (`None` for other frames), for [`check_growth`] and the accounting.
pub(super) fn check_batch(core: &mut Core, peer: PeerId, frames: &[Frame]) -> Result<Vec<Option<Measure>>, Violation> {
    let limits = core.peers.limits.clone();
    if frames.len() as u64 > u64::from(limits.batch_frames) {
        let reason = format!(
            "{} frames in one batch, more than limits.peer.batch_frames ({})",
            frames.len(),
            limits.batch_frames
        );
        return Err(over(core, peer, reason));
    }
    let used = core.peers.by_id.get(&peer).map(|p| p.usage).unwrap_or_default();
    let mut batch_left = limits.batch_doc_bytes;
    let mut new_docs = 0u64;
    let mut new_bytes = 0u64;
    let mut seen_new: std::collections::HashSet<DocId> = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(frames.len());
    for f in frames {
        let (doc, what, m) = match f {
            Frame::Snapshot { doc, bytes, .. } => {
                (*doc, "snapshot", measure::measure(bytes, &bound(&limits, batch_left)))
            }
            Frame::Sync { doc, msg, .. } => (*doc, "sync message", measure_sync(msg, &bound(&limits, batch_left))),
            _ => {
                out.push(None);
                continue;
            }
        };
        let m = match m {
            Ok(m) => m,
            Err(Over::Malformed(why)) => {
                return Err(Violation(format!("the {what} of document {doc} does not load: {why}")));
            }
            Err(Over::Bytes(b)) if b < limits.doc_bytes => {
                let reason = format!(
                    "the batch's documents decompress past limits.peer.batch_doc_bytes ({})",
                    limits.batch_doc_bytes
                );
                return Err(over(core, peer, reason));
            }
            Err(e) => return Err(over(core, peer, format!("the {what} of document {doc} {e}"))),
        };
        batch_left -= m.bytes;
        let new = matches!(f, Frame::Snapshot { .. }) && !core.docs.contains(doc) && seen_new.insert(doc);
        new_docs += u64::from(new);
        new_bytes = new_bytes.saturating_add(m.bytes);
        if used.docs + new_docs > limits.docs {
            let reason = format!(
                "document {doc} would be the {}th this peer created here, past limits.peer.docs ({})",
                used.docs + new_docs,
                limits.docs
            );
            return Err(over(core, peer, reason));
        }
        if used.bytes.saturating_add(new_bytes) > limits.bytes {
            let reason = format!(
                "this peer would have added {} bytes of documents here, past limits.peer.bytes ({})",
                used.bytes.saturating_add(new_bytes),
                limits.bytes
            );
            return Err(over(core, peer, reason));
        }
        out.push(Some(m));
    }
    Ok(out)
}

fn bound(l: &PeerLimits, batch_left: u64) -> Bound {
    Bound { bytes: l.doc_bytes.min(batch_left), changes: l.doc_changes, ops: l.doc_ops }
}

/// Before a peer's changes (`incoming`) are applied to a document we hold: the document with
/// them must stay within the per-document bounds.
pub(super) fn check_growth(core: &mut Core, peer: PeerId, doc: DocId, incoming: Measure) -> Result<(), Violation> {
    let l = core.peers.limits.clone();
    let size = core.docs.size(&core.store, doc).map_err(|e| Violation(format!("document {doc}: {e}")))?;
    let d = core.docs.get(&core.store, doc).map_err(|e| Violation(format!("document {doc}: {e}")))?;
    let stats = d.stats();
    let reason = if size.saturating_add(incoming.bytes) > l.doc_bytes {
        format!("document {doc} would grow past limits.peer.doc_bytes ({}) decompressed", l.doc_bytes)
    } else if stats.num_changes.saturating_add(incoming.changes) > l.doc_changes {
        format!("document {doc} would hold more than limits.peer.doc_changes ({}) changes", l.doc_changes)
    } else if stats.num_ops.saturating_add(incoming.ops) > l.doc_ops {
        format!("document {doc} would hold more than limits.peer.doc_ops ({}) operations", l.doc_ops)
    } else {
        return Ok(());
    };
    Err(over(core, peer, reason))
}

/// Counts what a peer's batch added (a document new here, decompressed bytes), kept only if the
/// batch is accepted: see [`accept`].
pub(super) fn count(core: &mut Core, peer: PeerId, new_doc: bool, bytes: u64) {
    if let Some(p) = core.peers.by_id.get_mut(&peer) {
        p.batch_usage.docs += u64::from(new_doc);
        p.batch_usage.bytes = p.batch_usage.bytes.saturating_add(bytes);
    }
}

/// A peer's batch is starting: nothing of it is counted yet.
pub(super) fn begin(core: &mut Core, peer: PeerId) {
    if let Some(p) = core.peers.by_id.get_mut(&peer) {
        p.batch_usage = PeerUsage::default();
    }
}

/// The batch is accepted: what it added counts, and is written with it.
pub(super) fn accept(core: &mut Core, peer: PeerId) {
    let Some(p) = core.peers.by_id.get_mut(&peer) else { return };
    let added = std::mem::take(&mut p.batch_usage);
    if added == PeerUsage::default() {
        return;
    }
    p.usage.docs += added.docs;
    p.usage.bytes = p.usage.bytes.saturating_add(added.bytes);
    let usage = p.usage;
    core.round.bookkeeping.push(Box::new(move |w| w.put_peer_usage(&peer.to_bytes(), &usage)));
}
