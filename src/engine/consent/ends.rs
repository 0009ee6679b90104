//! How a grant or an item ends: a revocation carried out at the third party, a grant's expiry
//! (carried out by the clock on every node), and the provider's deletion of an item. Each one
//! destroys the item's key where it must (see `store::keyslots`) and is audited.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{DeleteRefusal, EXPIRED_KEY, add_record, make, now, revoke, sign, store_err};
use crate::audit::Event;
use crate::consent::{Deletion, ExpiryAck, Grant, Record, Revocation, RevocationAck};
use crate::engine::{Core, EngineError, audit_log};
use crate::ids::{ItemId, PartyId, RecordId};

/// `item delete`: the provider deletes its item. Every grant of it is revoked first (so third
/// parties destroy their copies), then a signed deletion makes every Party node that holds it
/// destroy it, this one included.
pub(in crate::engine) fn delete_item(core: &mut Core, item: ItemId, officer: &str) -> Result<RecordId, DeleteRefusal> {
    let stored = core.store.item(item).map_err(store_err)?.ok_or_else(|| EngineError::NoItem(item.to_string()))?;
    let provider = stored.envelope.envelope.provider.clone();
    if provider != core.identity.party.id {
        return Err(DeleteRefusal::NotItsProvider { item, provider });
    }
    let revoked: HashSet<RecordId> = core
        .consent
        .records
        .values()
        .filter_map(|r| match &r.record {
            Record::Revocation(v) => Some(v.grant),
            _ => None,
        })
        .collect();
    let open: Vec<RecordId> = core
        .consent
        .records
        .values()
        .filter_map(|r| match &r.record {
            Record::Grant(g) if g.item == item && !revoked.contains(&g.id) => Some(g.id),
            _ => None,
        })
        .collect();
    for g in open {
        revoke(core, &g.to_string(), officer)?;
    }
    let d = Deletion { id: RecordId::random(), item, provider, at: now(), officer: officer.to_string() };
    Ok(make(core, Record::Deletion(d), officer)?)
}

/// Whether the provider deleted this item: it is not taken again from anyone.
pub(in crate::engine) fn deleted(core: &Core, item: ItemId) -> bool {
    core.consent.records.values().any(|r| matches!(&r.record, Record::Deletion(d) if d.item == item))
}

/// At a third party: a revocation arrived; destroy the item's key (and its ciphertext), and
/// confirm to the Parties.
pub(super) fn destroy(core: &mut Core, v: &Revocation) {
    destroy_item(core, v.item, &v.provider, Some(v.id));
    tracing::info!(item = %v.item, revocation = %v.id, "grant revoked: the item's key is destroyed");
    let ack = RevocationAck {
        id: RecordId::random(),
        revocation: v.id,
        grant: v.grant,
        item: v.item,
        provider: v.provider.clone(),
        third_party: core.identity.party.id.clone(),
        at: now(),
    };
    match sign(core, Record::RevocationAck(ack)) {
        Ok(r) => add_record(core, r, "this node".into()),
        Err(e) => tracing::error!(error = %e, "cannot sign the confirmation of a revocation"),
    }
}

/// Removes an item here: its key slots are overwritten (see `store::keyslots`), so what may
/// linger of its envelope and ciphertext in the store's freed pages opens with nothing.
pub(super) fn destroy_item(core: &mut Core, item: ItemId, provider: &PartyId, revocation: Option<RecordId>) {
    let provider = provider.clone();
    core.round.writes.push(Box::new(move |w| w.remove_item(item, &provider)));
    audit_log::record(core, Event::KeyDestroyed { item, revocation });
}

/// When a grant's expiry has come, if it has one.
fn expiry(g: &Grant) -> Option<DateTime<Utc>> {
    g.expires.as_deref().and_then(|e| DateTime::parse_from_rfc3339(e).ok()).map(|t| t.with_timezone(&Utc))
}

/// Whether the grant an item was received under (at a third party) has expired or been revoked:
/// from that moment the item is not shown, even before `expire_due` has destroyed it.
pub(in crate::engine) fn grant_lapsed(core: &Core, grant: Option<RecordId>) -> bool {
    let Some(id) = grant else { return false };
    if core.consent.records.values().any(|r| matches!(&r.record, Record::Revocation(v) if v.grant == id)) {
        return true;
    }
    match core.consent.records.get(&id).map(|r| &r.record) {
        Some(Record::Grant(g)) => expiry(g).is_some_and(|t| t <= Utc::now()),
        // Received under a grant not held here: nothing proves it still stands.
        _ => true,
    }
}

/// Carries out every grant expiry that has come: each node audits it once; the third party
/// named destroys the item's key by itself and confirms with a signed record. Run at start and
/// every second.
pub(in crate::engine) fn expire_due(core: &mut Core) {
    let now = Utc::now();
    let us = core.identity.party.id.clone();
    let due: Vec<Grant> = core
        .consent
        .records
        .values()
        .filter_map(|r| match &r.record {
            Record::Grant(g) if !core.consent.expired.contains(&g.id) && expiry(g).is_some_and(|t| t <= now) => {
                Some(g.clone())
            }
            _ => None,
        })
        .collect();
    if due.is_empty() {
        return;
    }
    for g in &due {
        core.consent.expired.insert(g.id);
        audit_log::record(
            core,
            Event::GrantExpired { grant: g.id, item: g.item, third_party: g.third_party.to_string() },
        );
        if g.third_party == us {
            let held = core.store.item(g.item).ok().flatten().is_some_and(|i| i.grant == Some(g.id));
            if held {
                destroy_item(core, g.item, &g.provider, None);
                tracing::info!(item = %g.item, grant = %g.id, "grant expired: the item's key is destroyed");
            }
            let ack = ExpiryAck {
                id: RecordId::random(),
                grant: g.id,
                item: g.item,
                provider: g.provider.clone(),
                third_party: us.clone(),
                at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            };
            match sign(core, Record::ExpiryAck(ack)) {
                Ok(r) => add_record(core, r, "this node".into()),
                Err(e) => tracing::error!(error = %e, "cannot sign the confirmation of an expiry"),
            }
        }
    }
    let expired: Vec<RecordId> = core.consent.expired.iter().copied().collect();
    core.round.writes.push(Box::new(move |w| w.put_meta_value(EXPIRED_KEY, &expired)));
}
