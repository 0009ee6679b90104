//! Refused item requests, audited without letting a peer write the log for us: the first
//! refusal of a peer for a reason in each interval of `limits.peer.refusal_audit_secs` gets its
//! own entry (so a single probe is on record at once, with its item), the rest of the interval
//! are counted and audited as one [`Event::RefusalsCounted`] when the interval is over, or when
//! the peer's session ends. A flood of 200,000 requests costs one signed entry per interval,
//! not 200,000.
//!
//! The reason is part of the key so that a refusal that means something new (a request for an
//! item whose grant was just revoked) is on record at once, not hidden in a count of requests
//! for items that do not exist. A peer cannot make reasons up: they come from the items, grants
//! and providers held here, and past [`MAX_REASONS`] per peer they share one count.
//!
//! Counted entries are written outside any peer batch (when the next network event comes, or
//! the session ends), so that a refused batch, which is undone, cannot take them with it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use libp2p::PeerId;

use crate::audit::Event;
use crate::engine::{Core, audit_log};
use crate::ids::ItemId;

/// One peer's refusals in the current interval.
pub(in crate::engine) struct Tally {
    started: Instant,
    /// Refused after the first, not audited yet.
    counted: u64,
    since: String,
    until: String,
    reason: String,
}

/// Most reasons counted apart for one peer; more share one count.
const MAX_REASONS: usize = 32;
/// The reason under which the refusals past [`MAX_REASONS`] are counted.
const OTHER: &str = "refused for other reasons";

/// Refusals per peer and reason.
#[derive(Default)]
pub(in crate::engine) struct Refusals {
    by_peer: HashMap<(PeerId, String), Tally>,
    /// Counts of intervals that ended inside a batch, to audit outside it.
    due: Vec<Event>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn counted_event(peer: PeerId, t: &Tally) -> Event {
    Event::RefusalsCounted {
        from_peer: peer.to_string(),
        what: "item request".into(),
        count: t.counted,
        since: t.since.clone(),
        until: t.until.clone(),
        reason: t.reason.clone(),
    }
}

/// A request of `peer` for `item` was refused for `reason`: audited if it is the first of its
/// interval, counted otherwise.
pub(in crate::engine) fn refused(core: &mut Core, peer: PeerId, item: ItemId, reason: String) {
    let interval = Duration::from_secs(core.peers.limits.refusal_audit_secs);
    let r = &mut core.items.refusals;
    let at = now();
    let known = r.by_peer.contains_key(&(peer, reason.clone()));
    let key = if known || r.by_peer.keys().filter(|(p, _)| *p == peer).count() < MAX_REASONS {
        (peer, reason.clone())
    } else {
        (peer, OTHER.to_string())
    };
    match r.by_peer.get_mut(&key) {
        Some(t) if t.started.elapsed() < interval => {
            if t.counted == 0 {
                t.since = at.clone();
            }
            t.counted += 1;
            t.until = at;
            t.reason = reason;
            tracing::debug!(%peer, %item, count = t.counted, "refused a request for an item (counted)");
            return;
        }
        Some(t) if t.counted > 0 => r.due.push(counted_event(peer, t)),
        _ => {}
    }
    r.by_peer.insert(
        key,
        Tally { started: Instant::now(), counted: 0, since: at.clone(), until: at, reason: reason.clone() },
    );
    tracing::warn!(%peer, %item, %reason, "refused a request for an item (more within the interval are counted)");
    audit_log::record(core, Event::TransmissionRefused { item, to_peer: peer.to_string(), reason });
}

fn write(core: &mut Core, events: Vec<Event>) {
    for e in events {
        if let Event::RefusalsCounted { from_peer, count, .. } = &e {
            tracing::warn!(peer = %from_peer, count, "refused requests for items, counted in one audit entry");
        }
        audit_log::record(core, e);
    }
}

/// Audits the counts of intervals that are over. Called outside any batch.
pub(in crate::engine) fn flush_expired(core: &mut Core) {
    let interval = Duration::from_secs(core.peers.limits.refusal_audit_secs);
    let r = &mut core.items.refusals;
    let mut due = std::mem::take(&mut r.due);
    r.by_peer.retain(|(peer, _), t| {
        let over = t.started.elapsed() >= interval;
        if over && t.counted > 0 {
            due.push(counted_event(*peer, t));
        }
        !over
    });
    write(core, due);
}

/// The peer's session ended: its count so far is audited. Its interval goes on, so that a peer
/// that reconnects to ask again is not audited afresh each time. Called outside any batch.
pub(in crate::engine) fn flush(core: &mut Core, peer: PeerId) {
    let r = &mut core.items.refusals;
    let mut due = std::mem::take(&mut r.due);
    for ((p, _), t) in r.by_peer.iter_mut() {
        if *p == peer && t.counted > 0 {
            due.push(counted_event(peer, t));
            t.counted = 0;
        }
    }
    write(core, due);
}
