//! The audit log in the engine: events gathered during a round are chained, signed and written
//! in the round's own transaction, so that an action and its record land together or not at all.

use chrono::{SecondsFormat, Utc};

use super::{Core, EngineError};
use crate::audit::{self, AuditError, Event, Head, SignedEntry};
use crate::config::PinnedPeer;
use crate::store::Writer;

/// Notes `event` for the audit log; written when the round commits.
pub(super) fn record(core: &mut Core, event: Event) {
    core.round.audit.push(event);
}

/// Chains and signs the round's events after `head`; returns the entries and the new head.
pub(super) fn seal(core: &Core, events: Vec<Event>) -> (Vec<SignedEntry>, Option<Head>) {
    let mut head = core.audit_head.clone();
    let mut out = Vec::with_capacity(events.len());
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    for e in events {
        let (entry, h) = audit::append(&core.crypto.node_key, head.as_ref(), at.clone(), e);
        out.push(entry);
        head = Some(h);
    }
    (out, head)
}

/// Writes sealed entries and the head.
pub(super) fn write(
    w: &mut Writer<'_>,
    entries: &[SignedEntry],
    head: Option<&Head>,
) -> Result<(), crate::store::StoreError> {
    if let Some(h) = head {
        for e in entries {
            w.append_audit(e, h)?;
        }
    }
    Ok(())
}

/// The log, optionally only the entries about one item, named by its id or a unique prefix of
/// it (the item may be long gone from the store: the log still names it).
pub(super) fn show(core: &Core, item: Option<&str>) -> Result<Vec<SignedEntry>, EngineError> {
    let all = core.store.audit_entries().map_err(|e| EngineError::Store(std::sync::Arc::new(e)))?;
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
        self.round.writes.push(Box::new(move |w| w.put_meta_value("peers_known", &known)));
    }
}
