//! Presence: which officers are at which draft, shown live to every editor of it at both Parties'
//! nodes. Ephemeral: broadcast to subscribers and passed to the other Party's node in the next
//! batch, never stored or replayed.
//!
//! [`Presence`] is the engine's part that owns the notes queued for each peer in session.

use std::collections::{HashMap, VecDeque};

use libp2p::PeerId;

use super::peers::Violation;
use super::{Core, EngineError, Event};
use crate::config::PeerRole;
use crate::ids::DocId;
use crate::net::protocol::{Frame, PresenceNote};
use crate::workspace::DocKind;

/// Notes queued per peer past this are dropped, oldest first: presence is refreshed every few
/// seconds, so a stale note is worth nothing.
const MAX_QUEUED: usize = 32;

/// The presence notes waiting for each peer's next batch.
#[derive(Default)]
pub(super) struct Presence {
    queued: HashMap<PeerId, VecDeque<PresenceNote>>,
}

impl Presence {
    /// Queues `note` for each of `peers` (dropping the oldest past [`MAX_QUEUED`]).
    fn queue(&mut self, note: &PresenceNote, peers: impl Iterator<Item = PeerId>) {
        for peer in peers {
            let q = self.queued.entry(peer).or_default();
            if q.len() >= MAX_QUEUED {
                q.pop_front();
            }
            q.push_back(note.clone());
        }
    }

    /// Adds the notes queued for `peer` to its next batch.
    pub fn frames(&mut self, peer: PeerId, frames: &mut Vec<Frame>) {
        if let Some(q) = self.queued.remove(&peer)
            && !q.is_empty()
        {
            frames.push(Frame::Presence(q.into()));
        }
    }

    /// A session ended: what was queued for it is stale.
    pub fn session_ended(&mut self, peer: &PeerId) {
        self.queued.remove(peer);
    }
}

fn check(note: &PresenceNote) -> Result<(), String> {
    let short =
        |s: &Option<String>, max: usize| s.as_ref().is_none_or(|s| s.len() <= max && !s.chars().any(char::is_control));
    if note.officer.is_empty() || note.officer.len() > 100 || note.officer.chars().any(char::is_control) {
        return Err("presence with a bad officer name".into());
    }
    if !short(&note.provision, 64) || !short(&note.lang, 8) {
        return Err("presence with a bad provision or language".into());
    }
    Ok(())
}

fn event(note: &PresenceNote, party: String) -> Event {
    Event::Presence {
        doc: note.doc.to_string(),
        officer: note.officer.clone(),
        party,
        provision: note.provision.clone(),
        lang: note.lang.clone(),
    }
}

/// An officer here is at a draft: tell our subscribers and the other Party's node.
pub fn announce(core: &mut Core, note: PresenceNote) -> Result<(), EngineError> {
    check(&note).map_err(|reason| {
        EngineError::Workspace(std::sync::Arc::new(crate::workspace::WorkspaceError::Invalid {
            field: "presence",
            reason,
        }))
    })?;
    let _ = core.events.send(event(&note, core.identity.party.id.to_string()));
    let in_session = core.peers.iter().filter(|(_, p)| p.pinned.role == PeerRole::Party && p.session.is_some());
    core.presence.queue(&note, in_session.map(|(id, _)| *id));
    Ok(())
}

/// Presence from a peer: only another Party's node may send it, only about drafts we hold.
pub(super) fn on_presence(core: &mut Core, peer: PeerId, notes: Vec<PresenceNote>) -> Result<(), Violation> {
    let Some(p) = core.peers.by_id.get(&peer) else {
        return Err(Violation("not pinned".into()));
    };
    if p.pinned.role != PeerRole::Party {
        return Err(Violation("presence from a peer that is not a Party".into()));
    }
    let party = p.pinned.party_id.to_string();
    for n in notes {
        check(&n).map_err(Violation)?;
        if is_draft(core, n.doc) {
            let _ = core.events.send(event(&n, party.clone()));
        }
    }
    Ok(())
}

fn is_draft(core: &Core, doc: DocId) -> bool {
    core.docs.meta(doc).is_some_and(|m| m.kind == DocKind::Draft)
}
