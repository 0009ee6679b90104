//! Sync with peers: sessions, the catalog exchange, snapshots for what a peer lacks, and the
//! automerge sync protocol per document for the rest.
//!
//! A workspace session starts when a pinned Party peer connects. Each side first sends its catalog (every
//! document the other may have, with heads). From the other side's catalog each side knows:
//! documents already equal (nothing to do), documents the other lacks (send a compacted
//! snapshot, not the history), and documents that differ (run the sync protocol, from the sync
//! state saved last time, so a reconnect costs what changed). After that, a change to any
//! document is pushed at once to every peer in session.

use std::collections::HashMap;

use automerge::sync::{Have, Message, State, SyncDoc};
use automerge::{Automerge, ChangeHash, ReadDoc};
use libp2p::PeerId;

pub(super) mod measure;

use super::peers::{self, SOFT_BATCH_BYTES, Violation};
use super::{Core, Origin, mono_ns};
use super::{auth, bounds};
use crate::authority::{DocFacts, Owner};
use crate::authorship::SignedHead;
use crate::config::SENT_BATCH_DOC_BYTES;
use crate::ids::DocId;
use crate::net::protocol::{CatalogEntry, Frame, Hash};
use crate::policy::{self, Subject};
use crate::workspace::party_docs::PartyDoc;
use crate::workspace::{self, DocKind};

/// A sync state that says "the peer has exactly `heads`", so that the next local change goes
/// out in one message instead of a round of negotiation.
fn in_sync_state(heads: &[ChangeHash]) -> State {
    let mut s = State::new();
    s.shared_heads = heads.to_vec();
    s.their_heads = Some(heads.to_vec());
    s.their_need = Some(Vec::new());
    s.their_have = Some(vec![Have { last_sync: heads.to_vec(), bloom: Default::default() }]);
    s.last_sent_heads = heads.to_vec();
    s.have_responded = true;
    s
}

fn to_hashes(h: &[[u8; 32]]) -> Vec<ChangeHash> {
    h.iter().map(|h| ChangeHash(*h)).collect()
}

/// After commit: a document changed; every peer in session gets it.
pub(super) fn doc_changed(core: &mut Core, doc: DocId, _origin: Origin) {
    let Some(meta) = core.docs.meta(doc) else {
        return;
    };
    let kind = meta.kind;
    let heads = to_hashes(&meta.heads);
    for p in core.peers.by_id.values_mut() {
        let allowed = policy::may_send(&Subject::WorkspaceDoc(kind), Some(&p.pinned)).is_allowed();
        let Some(s) = p.session.as_mut() else {
            continue;
        };
        if !allowed || !s.catalog_received {
            continue;
        }
        match p.their_heads.get(&doc) {
            // It has exactly what we have (it sent it): nothing to say, and no need to load it.
            Some(h) if *h == heads => {}
            Some(_) => s.sync(doc),
            None => s.snapshot(doc),
        }
    }
}

/// What the whole documents one batch sends decompress to, at most (past one document): the
/// receiver holds every document of a batch loaded until it commits, and a loaded document takes
/// several times its decompressed size, so this bounds the receiver's memory while it takes in a
/// workspace. Smaller costs round trips (each batch waits for the last one's acknowledgement).
/// Measured on workload A: 2 MiB gave 0.46 of the baseline and a receiving peak of 99 MiB, 1 MiB
/// 0.42 and 81 MiB, 512 KiB 0.46 and 78 MiB.
const SNAPSHOT_BATCH_INFLATED: u64 = 1024 * 1024;

/// A snapshot loaded ahead. Boxed: the preloaded map of a batch of small documents would otherwise be mostly the
/// `Automerge` structs themselves (about 2.7 KiB each, 7 MiB for workload A's batch).
pub(super) type Preloaded = Result<Box<Automerge>, String>;

/// What was found of a snapshot before it is applied: what it measures (always), and the
/// document loaded ahead (if it is new here).
pub(super) struct Prepared {
    pub loaded: Option<Preloaded>,
    pub measured: measure::Measure,
}

/// Runs automerge on a peer's bytes. automerge panics on some malformed input (a change whose
/// seq skips a number, for one): that is the peer's fault, refused like any other, and must not
/// take the node down.
pub(super) fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(format!("{what}: automerge could not process it (malformed input)")))
}

fn load_snapshot(bytes: &[u8]) -> Preloaded {
    guarded("snapshot", || Automerge::load(bytes).map_err(|e| e.to_string()).and_then(disjoint_op_ids).map(Box::new))
}

/// automerge loads a document in which two changes of one actor share op ids, and panics later,
/// outside any guard, when it writes them out (to sync them): refuse it now (tests/fuzz_peer.rs).
fn disjoint_op_ids(d: Automerge) -> Result<Automerge, String> {
    let mut metas = d.get_changes_meta(&[]);
    metas.sort_by(|a, b| (&a.actor, a.seq).cmp(&(&b.actor, b.seq)));
    if let Some(w) = metas.windows(2).find(|w| w[0].actor == w[1].actor && w[1].start_op <= w[0].max_op) {
        return Err(format!("changes {} and {} of actor {} share op ids", w[0].seq, w[1].seq, w[1].actor));
    }
    Ok(d)
}

/// Loads (parses and verifies) the batch's snapshots of documents we do not have, with the
/// metadata of every change in them, on every core at once: loading is nearly all the work of
/// receiving documents, and each is independent. Only kinds the peer may send are loaded; the
/// rest is refused in order later.
pub(super) fn preload(core: &Core, peer: PeerId, frames: &[Frame]) -> HashMap<DocId, Preloaded> {
    let todo: Vec<(DocId, &[u8])> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Snapshot { doc, kind, bytes, .. }
                if !core.docs.contains(*doc) && check_accept(core, peer, *kind).is_ok() =>
            {
                Some((*doc, bytes.as_slice()))
            }
            _ => None,
        })
        .collect();
    // Asked only for a batch worth the threads: `available_parallelism` reads the cgroup's files
    // at each call (an open, a read and a close on every batch, a keystroke's included).
    if todo.len() < 8 {
        return todo.into_iter().map(|(d, b)| (d, load_snapshot(b))).collect();
    }
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(todo.len());
    if workers <= 1 {
        return todo.into_iter().map(|(d, b)| (d, load_snapshot(b))).collect();
    }
    let per = todo.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = todo
            .chunks(per)
            .map(|part| scope.spawn(move || part.iter().map(|(d, b)| (*d, load_snapshot(b))).collect::<Vec<_>>()))
            .collect();
        // A worker that panicked preloads nothing: its documents are loaded again, one by one
        // and with the error reported, where the batch is applied.
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

fn check_accept(core: &Core, peer: PeerId, kind: DocKind) -> Result<(), Violation> {
    let pinned = core.peers.by_id.get(&peer).map(|p| &p.pinned);
    match policy::may_accept(&Subject::WorkspaceDoc(kind), pinned, &core.identity.party.id) {
        policy::Decision::Deny(r) => Err(Violation(r.to_string())),
        _ => Ok(()),
    }
}

pub(super) fn on_catalog(core: &mut Core, peer: PeerId, entries: Vec<CatalogEntry>) -> Result<(), Violation> {
    let mut theirs = HashMap::with_capacity(entries.len());
    for e in entries {
        check_accept(core, peer, e.kind)?;
        theirs.insert(e.doc, e.heads.into_iter().map(|h| ChangeHash(h.0)).collect::<Vec<_>>());
    }
    let ours: Vec<(DocId, DocKind, Vec<ChangeHash>)> =
        core.docs.all().map(|(id, m)| (id, m.kind, to_hashes(&m.heads))).collect();
    let Some(p) = core.peers.by_id.get_mut(&peer) else {
        return Ok(());
    };
    let Some(s) = p.session.as_mut() else {
        return Ok(());
    };
    s.catalog_received = true;
    let (mut equal, mut differ, mut missing) = (0, 0, 0);
    for (id, kind, heads) in ours {
        if !policy::may_send(&Subject::WorkspaceDoc(kind), Some(&p.pinned)).is_allowed() {
            continue;
        }
        match theirs.get(&id) {
            None => {
                s.snapshot(id);
                missing += 1;
            }
            Some(h) if *h == heads => {
                let st = p.states.entry(id).or_default();
                if st.shared_heads != heads {
                    core.round.sync_dirty.insert((peer, id));
                }
                *st = in_sync_state(&heads);
                equal += 1;
            }
            Some(_) => {
                s.sync(id);
                differ += 1;
            }
        }
    }
    p.their_heads.replace(theirs);
    tracing::info!(%peer, equal, differ, missing, "catalog received");
    Ok(())
}

pub(super) fn on_snapshot(
    core: &mut Core,
    peer: PeerId,
    doc: DocId,
    kind: DocKind,
    bytes: Vec<u8>,
    heads: Vec<SignedHead>,
    prepared: Prepared,
) -> Result<(), Violation> {
    let Prepared { loaded: preloaded, measured } = prepared;
    check_accept(core, peer, kind)?;
    if core.docs.contains(doc) {
        bounds::check_growth(core, peer, doc, measured)?;
    }
    core.on_heads(doc, heads)?;
    let applied = mono_ns();
    let their_heads = if let Some(meta) = core.docs.meta(doc) {
        if meta.kind != kind {
            return Err(Violation(format!("document {doc} is a {}, the peer says {kind}", meta.kind)));
        }
        let (kind, owner, frozen) = core.facts_of(doc).map_err(|e| Violation(format!("document {doc}: {e}")))?;
        core.stage_doc(doc);
        let d = core.docs.get(&core.store, doc).map_err(|e| Violation(format!("cannot merge into {doc}: {e}")))?;
        let before = d.get_heads();
        // Collecting the changes: changes automerge takes but cannot write back (one actor's op
        // ids used twice) panic at commit, outside any guard; here they are refused
        // (tests/fuzz_peer.rs). The commit writes what is collected here.
        let collected = guarded("snapshot", || {
            d.load_incremental(&bytes).map(|_| d.get_changes(&before)).map_err(|e| e.to_string())
        })
        .map_err(|e| Violation(format!("snapshot of {doc} does not load: {e}")))?;
        let incomplete = !d.get_missing_deps(&[]).is_empty();
        let changed = d.get_heads() != before;
        let new = auth::change_facts(d, &before);
        if incomplete {
            return Err(Violation(format!("snapshot of {doc} lacks changes its changes depend on")));
        }
        let genesis = identity_genesis(doc, d);
        core.check_changes(doc, &DocFacts { kind, owner: &owner, frozen }, genesis, &new)?;
        check_root_unchanged(core, doc, kind, &owner)?;
        if changed {
            core.docs.mark_changed(doc);
            core.docs.note_changes(doc, &before, collected);
            core.docs.grow(doc, measured.bytes);
            bounds::count(core, peer, false, measured.bytes);
            core.round.origins.insert(doc, (Origin::Peer(peer.to_string()), applied));
        }
        None
    } else {
        let d = match preloaded {
            Some(r) => r,
            None => load_snapshot(&bytes),
        }
        .map_err(|e| Violation(format!("snapshot of {doc} does not load: {e}")))?;
        if !d.get_missing_deps(&[]).is_empty() {
            return Err(Violation(format!("snapshot of {doc} lacks changes its changes depend on")));
        }
        let who = auth::identify(doc, &d)?;
        if who.kind != kind {
            return Err(Violation(format!("snapshot of {doc} is not a {kind}")));
        }
        let frozen = match who.party_doc {
            Some(PartyDoc::Annex(parent)) if core.docs.meta(parent).is_some_and(|m| m.kind == DocKind::Draft) => {
                core.draft_frozen(parent, true).map_err(|e| Violation(format!("document {parent}: {e}")))?
            }
            _ => false,
        };
        let heads = d.get_heads();
        core.stage_doc(doc);
        core.docs.insert_received(doc, kind, who.owner.clone(), d, bytes, measured.bytes);
        bounds::count(core, peer, true, measured.bytes);
        core.check_whole(doc, &DocFacts { kind, owner: &who.owner, frozen }, who.genesis)?;
        core.round.origins.insert(doc, (Origin::Peer(peer.to_string()), applied));
        Some(heads)
    };
    let Some(p) = core.peers.by_id.get_mut(&peer) else {
        return Ok(());
    };
    match their_heads {
        Some(heads) => {
            p.states.insert(doc, in_sync_state(&heads));
            p.their_heads.insert(doc, heads);
            core.round.sync_dirty.insert((peer, doc));
        }
        None => {
            // We had the document already: let the protocol find out what each side lacks.
            p.their_heads.know(doc);
            if let Some(s) = p.session.as_mut() {
                s.sync(doc);
            }
        }
    }
    Ok(())
}

/// The hash of a document's fixed first change, if it has one (a Party's documents).
fn identity_genesis(doc: DocId, d: &Automerge) -> Option<[u8; 32]> {
    crate::workspace::party_docs::identify(doc, d).ok().and_then(|i| i.genesis)
}

/// A document's root says what it is and whose: nobody may change that once it exists.
fn check_root_unchanged(core: &mut Core, doc: DocId, kind: DocKind, owner: &Owner) -> Result<(), Violation> {
    let d = core.docs.get(&core.store, doc).map_err(|e| Violation(format!("document {doc}: {e}")))?;
    if workspace::kind_of(d) != Some(kind) {
        return Err(Violation(format!("a change turns document {doc} from a {kind} into something else")));
    }
    if let Owner::Party(p) = owner
        && crate::workspace::party_docs::party_of(d).as_ref() != Some(p)
    {
        return Err(Violation(format!("a change moves {p}'s document {doc} to another Party")));
    }
    Ok(())
}

pub(super) fn on_sync(
    core: &mut Core,
    peer: PeerId,
    doc: DocId,
    msg: &[u8],
    heads: Vec<SignedHead>,
    measured: measure::Measure,
) -> Result<(), Violation> {
    let Some(kind) = core.docs.meta(doc).map(|m| m.kind) else {
        return Err(Violation(format!("sync message for document {doc}, which we never had")));
    };
    check_accept(core, peer, kind)?;
    let m = Message::decode(msg).map_err(|e| Violation(format!("undecodable sync message for {doc}: {e}")))?;
    if !m.changes.is_empty() {
        bounds::check_growth(core, peer, doc, measured)?;
    }
    core.on_heads(doc, heads)?;
    let (kind, owner, frozen) = core.facts_of(doc).map_err(|e| Violation(format!("document {doc}: {e}")))?;
    let applied = mono_ns();
    core.stage_doc(doc);
    let Core { peers, docs, store, .. } = &mut *core;
    let Some(p) = peers.by_id.get_mut(&peer) else {
        return Ok(());
    };
    let state = p.states.entry(doc).or_default();
    let shared_before = state.shared_heads.clone();
    let d = docs.get(store, doc).map_err(|e| Violation(format!("cannot apply to {doc}: {e}")))?;
    let before = d.get_heads();
    // automerge records a message's heads as "sent by us" when they equal ours, to save a
    // message. After concurrent edits merge, that leaves the peer never hearing that we reached
    // the merged heads (it would show us behind forever). Keep what we really sent, so that we
    // announce our heads once; the peer's answer to that is empty and the exchange ends.
    let really_sent = state.last_sent_heads.clone();
    // Collecting the changes: as for snapshots, a change that cannot be written back is
    // refused now, and the commit writes what is collected here.
    let collected = guarded("sync message", || {
        d.receive_sync_message(state, m).map(|_| d.get_changes(&before)).map_err(|e| e.to_string())
    })
    .map_err(|e| Violation(format!("sync message for {doc} does not apply: {e}")))?;
    state.last_sent_heads = really_sent;
    let changed = d.get_heads() != before;
    // Every change must come with what it depends on (a sender sends everything since the heads
    // both sides share), so that each can be checked now and none waits unchecked.
    if !d.get_missing_deps(&[]).is_empty() {
        return Err(Violation(format!("sync message for {doc} lacks changes its changes depend on")));
    }
    let new = if changed { auth::change_facts(d, &before) } else { Vec::new() };
    let genesis = if changed { identity_genesis(doc, d) } else { None };
    let shared_changed = state.shared_heads != shared_before;
    let their = state.their_heads.clone();
    if changed {
        core.check_changes(doc, &DocFacts { kind, owner: &owner, frozen }, genesis, &new)?;
        check_root_unchanged(core, doc, kind, &owner)?;
        core.docs.mark_changed(doc);
        core.docs.note_changes(doc, &before, collected);
        core.docs.grow(doc, measured.bytes);
        bounds::count(core, peer, false, measured.bytes);
        core.round.origins.insert(doc, (Origin::Peer(peer.to_string()), applied));
    }
    if shared_changed {
        core.round.sync_dirty.insert((peer, doc));
    }
    let Some(p) = core.peers.by_id.get_mut(&peer) else {
        return Ok(());
    };
    if let Some(h) = their {
        p.their_heads.insert(doc, h);
    }
    if let Some(s) = p.session.as_mut() {
        s.sync(doc);
    }
    Ok(())
}

/// Adds the workspace frames due to `peer` to a batch being built: certificates and the
/// catalog at the start of a session, then snapshots of documents it lacks, then sync messages,
/// each with the signed heads that prove who made its changes.
pub(super) fn workspace_frames(core: &mut Core, peer: PeerId, frames: &mut Vec<Frame>, size: &mut usize) {
    let Some(p) = core.peers.by_id.get_mut(&peer) else { return };
    let Some(s) = p.session.as_mut() else { return };
    if !s.workspace {
        return;
    }
    if s.send_certs {
        s.send_certs = false;
        s.want_certs.clear();
        let all_certs: Vec<crate::authorship::ActorCert> = core.auth.certs.all().cloned().collect();
        *size += all_certs.len() * 200;
        frames.push(Frame::Certs(all_certs));
    } else if !s.want_certs.is_empty() {
        let c = std::mem::take(&mut s.want_certs);
        *size += c.len() * 200;
        frames.push(Frame::Certs(c));
    }
    if s.send_catalog {
        s.send_catalog = false;
        let entries: Vec<CatalogEntry> = core
            .docs
            .all()
            .filter(|(_, m)| policy::may_send(&Subject::WorkspaceDoc(m.kind), Some(&p.pinned)).is_allowed())
            .map(|(id, m)| CatalogEntry { doc: id, kind: m.kind, heads: m.heads.iter().map(|h| Hash(*h)).collect() })
            .collect();
        *size += entries.len() * 64;
        frames.push(Frame::Catalog(entries));
    }
    if !s.catalog_received {
        return;
    }
    // What the documents decompress to counts too: the receiver bounds it per batch
    // (`limits.peer.batch_doc_bytes`), so a batch stops growing past SENT_BATCH_DOC_BYTES.
    let mut inflated = 0u64;
    let unbounded = measure::Bound { bytes: u64::MAX, changes: u64::MAX, ops: u64::MAX };
    let mut snapshots = Vec::new();
    while *size < SOFT_BATCH_BYTES && inflated < SNAPSHOT_BATCH_INFLATED && peers::room(frames.len() + snapshots.len())
    {
        let Some(doc) = s.want_snapshot.pop_front() else { break };
        s.want_snapshot_set.remove(&doc);
        let Some(meta) = core.docs.meta(doc) else { continue };
        let (kind, heads) = (meta.kind, to_hashes(&meta.heads));
        match core.store.doc_bytes(doc) {
            Ok(Some(bytes)) => {
                *size += bytes.len();
                inflated += measure::measure(&bytes, &unbounded).map_or(bytes.len() as u64, |m| m.bytes);
                snapshots.push((doc, kind, bytes, heads));
            }
            Ok(None) => {}
            Err(e) => tracing::error!(%doc, error = %e, "cannot read a document to send"),
        }
    }
    let mut syncs = Vec::new();
    while *size < SOFT_BATCH_BYTES
        && inflated < SENT_BATCH_DOC_BYTES
        && peers::room(frames.len() + snapshots.len() + syncs.len())
    {
        let Some(doc) = s.want_sync.pop_first() else { break };
        let d = match core.docs.get(&core.store, doc) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(%doc, error = %e, "cannot load a document to sync");
                continue;
            }
        };
        let state = p.states.entry(doc).or_default();
        let sent_before = state.sent_hashes.clone();
        if let Some(mut m) = d.generate_sync_message(state) {
            crate::authorship::close_over_dependencies(d, state, &sent_before, &mut m);
            let msg = m.encode();
            *size += msg.len();
            inflated += bounds::measure_sync(&msg, &unbounded).map_or(msg.len() as u64, |m| m.bytes);
            syncs.push((doc, msg));
        }
    }
    for (doc, kind, bytes, heads) in snapshots {
        let signed = core.heads_for(doc);
        if let Some(p) = core.peers.by_id.get_mut(&peer) {
            if let Some(s) = p.session.as_mut() {
                let sent = s.sent_heads.entry(doc).or_default();
                for h in &signed {
                    sent.insert((h.actor.clone(), h.seq));
                }
            }
            p.states.insert(doc, in_sync_state(&heads));
            p.their_heads.insert(doc, heads);
        }
        frames.push(Frame::Snapshot { doc, kind, bytes, heads: signed });
    }
    for (doc, msg) in syncs {
        let heads = unsent_heads(core, peer, doc);
        frames.push(Frame::Sync { doc, msg, heads });
    }
}

/// The signed heads of `doc` that this session has not sent yet.
fn unsent_heads(core: &mut Core, peer: PeerId, doc: DocId) -> Vec<SignedHead> {
    let all = core.heads_for(doc);
    let Some(s) = core.peers.by_id.get_mut(&peer).and_then(|p| p.session.as_mut()) else { return all };
    let sent = s.sent_heads.entry(doc).or_default();
    all.into_iter().filter(|h| sent.insert((h.actor.clone(), h.seq))).collect()
}
