//! The audit log in the engine: events gathered during a round are chained, signed and written
//! in the round's own transaction, so that an action and its record land together or not at all.
//!
//! [`AuditLog`] is the engine's part that owns the log's head and the events of the round not
//! yet sealed; the round seals them ([`AuditLog::seal`]), writes them in its commit
//! ([`Sealed::write`]) and, once that is durable, moves the head on ([`AuditLog::committed`]).

use chrono::{SecondsFormat, Utc};

use super::{Core, EngineError};
use crate::audit::{self, AuditError, Event, Head, SignedEntry};
use crate::config::PinnedPeer;
use crate::store::Writer;

/// The audit log's head (as committed) and the events noted this round.
pub(super) struct AuditLog {
    /// The head of the committed log; `None` before its first entry.
    head: Option<Head>,
    /// Events noted this round, sealed at its end.
    pending: Vec<Event>,
}

/// A round's events, chained and signed after the head, to be written in its commit.
pub(super) struct Sealed {
    entries: Vec<SignedEntry>,
    head: Option<Head>,
}

impl AuditLog {
    /// The log whose committed head is `head`.
    pub fn open(head: Option<Head>) -> AuditLog {
        AuditLog { head, pending: Vec::new() }
    }

    /// The committed head.
    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    /// Notes `event`; written when the round commits.
    pub fn record(&mut self, event: Event) {
        self.pending.push(event);
    }

    /// Whether the round has events to write.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Where the events noted so far end (to undo a refused batch's events to).
    pub fn mark(&self) -> usize {
        self.pending.len()
    }

    /// Drops the events noted since `mark`, but those `keep` says stay; says whether any stayed.
    pub fn undo_to(&mut self, mark: usize, keep: impl Fn(&Event) -> bool) -> bool {
        let tail: Vec<Event> = self.pending.drain(mark.min(self.pending.len())..).filter(|e| keep(e)).collect();
        let any = !tail.is_empty();
        self.pending.extend(tail);
        any
    }

    /// Chains and signs the round's events after the head with `key`. The head moves on only
    /// once they are committed ([`AuditLog::committed`]).
    pub fn seal(&mut self, key: &libp2p::identity::ed25519::Keypair) -> Sealed {
        let events = std::mem::take(&mut self.pending);
        let mut head = self.head.clone();
        let mut entries = Vec::with_capacity(events.len());
        let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        for e in events {
            let (entry, h) = audit::append(key, head.as_ref(), at.clone(), e);
            entries.push(entry);
            head = Some(h);
        }
        let head = if entries.is_empty() { None } else { head };
        Sealed { entries, head }
    }

    /// The sealed entries are durable: the head is theirs now.
    pub fn committed(&mut self, sealed: Sealed) {
        if sealed.head.is_some() {
            self.head = sealed.head;
        }
    }
}

impl Sealed {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The head after these entries, if there are any.
    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    /// Writes the entries and the head in the round's transaction.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), crate::store::StoreError> {
        if let Some(h) = &self.head {
            for e in &self.entries {
                w.append_audit(e, h)?;
            }
        }
        Ok(())
    }
}

/// Notes `event` for the audit log; written when the round commits.
pub(super) fn record(core: &mut Core, event: Event) {
    core.audit_log.record(event);
}

/// The log, optionally only the entries about one item, named by its id or a unique prefix of
/// it (the item may be long gone from the store: the log still names it).
pub(super) fn show(core: &Core, item: Option<&str>) -> Result<Vec<SignedEntry>, EngineError> {
    about(core.store.audit_entries().map_err(|e| EngineError::Store(std::sync::Arc::new(e)))?, item)
}

/// Of the log `all`, the entries about `item` (an id or a unique prefix), or all of them.
pub(super) fn about(all: Vec<SignedEntry>, item: Option<&str>) -> Result<Vec<SignedEntry>, EngineError> {
    match item {
        None => Ok(all),
        Some(prefix) => audit::entries_about(all, prefix).map_err(|e| match e {
            audit::ItemPrefixError::NotAnId(p) => EngineError::NoItem(p),
            audit::ItemPrefixError::Ambiguous { prefix, count } => EngineError::Ambiguous { prefix, count },
        }),
    }
}

/// Checks the whole stored log against this node's key and signed head.
pub(super) fn verify(core: &Core) -> Result<Result<u64, AuditError>, EngineError> {
    let entries = core.store.audit_entries().map_err(|e| EngineError::Store(std::sync::Arc::new(e)))?;
    let head = core.store.audit_head().map_err(|e| EngineError::Store(std::sync::Arc::new(e)))?;
    Ok(audit::verify(entries, &core.crypto.node_key.public().into(), head.as_ref()))
}

impl Core {
    /// The audit log, optionally about one item (its id or a unique prefix).
    pub fn audit_show(&self, item: Option<&str>) -> Result<Vec<SignedEntry>, EngineError> {
        show(self, item)
    }

    /// Notes an event from outside the engine (the API's accounts and logins) for the audit
    /// log: chained, signed and written with this round's commit like the engine's own, so the
    /// caller's `write` returns once it is durable.
    pub fn audit(&mut self, event: Event) {
        record(self, event);
    }

    /// Checks the audit log; the inner result names the first bad entry.
    pub fn audit_verify(&self) -> Result<Result<u64, AuditError>, EngineError> {
        verify(self)
    }
}

impl Core {
    /// Audits changes to the pinned peers made while the node was stopped (a hand edit of
    /// node.toml, or `peer add` without a running node).
    pub(super) fn audit_config_changes(&mut self, now: &[PinnedPeer]) {
        let before: Vec<(String, String, String)> = match self.store.meta_value("peers_known") {
            Ok(Some(v)) => v,
            _ => Vec::new(),
        };
        let after: Vec<(String, String, String)> =
            now.iter().map(|p| (p.peer_id.to_string(), p.party_id.to_string(), p.role.to_string())).collect();
        let change = |peer: &str, party: &str, change: String| crate::audit::Event::PeerConfig {
            peer: peer.to_string(),
            party: party.to_string(),
            change,
        };
        for (peer, party, role) in &after {
            match before.iter().find(|(p, _, _)| p == peer) {
                None => record(self, change(peer, party, format!("pinned as {role}"))),
                Some((_, _, r)) if r != role => record(self, change(peer, party, format!("role changed to {role}"))),
                _ => {}
            }
        }
        for (peer, party, _) in &before {
            if !after.iter().any(|(p, _, _)| p == peer) {
                record(self, change(peer, party, "unpinned".into()));
            }
        }
        self.remember_peers(now);
    }

    pub(super) fn remember_peers(&mut self, now: &[PinnedPeer]) {
        let known: Vec<(String, String, String)> =
            now.iter().map(|p| (p.peer_id.to_string(), p.party_id.to_string(), p.role.to_string())).collect();
        self.round.bookkeeping.push(Box::new(move |w| w.put_meta_value("peers_known", &known)));
    }
}
