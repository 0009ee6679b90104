//! Consent in the engine: making requests, grants, denials and revocations; accepting those of
//! peers after checking their signatures against pinned keys; and what each one sets off
//! (a grant starts the transmission at the holder, a revocation stops it and makes the third
//! party destroy the key and confirm).
//!
//! Records replicate to every `party` peer; a third party sees only the grants and revocations
//! that name it (the policy says which).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use libp2p::PeerId;
use serde::{Deserialize, Serialize};

use super::peers::{SOFT_BATCH_BYTES, Violation};
use super::{Core, EngineError, audit_log, items};
use crate::audit::Event;
use crate::config::PeerRole;
use crate::consent::{Denial, Grant, Record, Request, Revocation, SignedRecord};
use crate::ids::{PartyId, RecordId};
use crate::net::protocol::Frame;
use crate::policy::{self, Decision, Subject};

mod ends;
mod refusal;

use ends::{delete_item, destroy, destroy_item};
pub(super) use ends::{deleted, expire_due, grant_lapsed};
use refusal::Lookup;
pub use refusal::{AnswerRefusal, DeleteRefusal, RequestRefusal, RevokeRefusal};

/// Every consent record this node holds.
#[derive(Default)]
pub(super) struct ConsentState {
    pub records: BTreeMap<RecordId, SignedRecord>,
    /// Grants whose expiry this node has carried out (audited, and at the third party the key
    /// destroyed); kept in the store's meta as `grants_expired`.
    pub expired: BTreeSet<RecordId>,
    /// Which peer delivered which revocation: the same one from the provider and from the
    /// holder is expected, the same one twice from one peer is a replay.
    pub revocations_from: HashSet<(RecordId, PeerId)>,
}

/// Meta key of the grants whose expiry was carried out.
const EXPIRED_KEY: &str = "grants_expired";

/// A request and what became of it, as `consent list` shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConsentView {
    /// The request id.
    pub request: String,
    /// The item.
    pub item: String,
    /// Its provider (who answers).
    pub provider: String,
    /// The requesting Party.
    pub requester: String,
    /// The third party.
    pub third_party: String,
    /// The purpose.
    pub purpose: String,
    /// When asked.
    pub requested_at: String,
    /// `pending`, `granted`, `denied`, `revoked` or `expired`.
    pub state: String,
    /// The grant, once granted.
    pub grant: Option<String>,
    /// Its expiry.
    pub expires: Option<String>,
    /// Whether the item went to the third party (a transmission was reported).
    pub transmitted: bool,
    /// Whether the third party confirmed destroying the key after a revocation.
    pub key_destroyed: bool,
    /// Whether this node's Party is the one to answer.
    pub ours_to_answer: bool,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn sign(core: &Core, r: Record) -> Result<SignedRecord, EngineError> {
    SignedRecord::sign(r, &core.crypto.signing).map_err(|e| EngineError::Signing(std::sync::Arc::new(e)))
}

fn find<'a>(core: &'a Core, id: &str) -> Result<&'a SignedRecord, Lookup> {
    let id = id.trim().to_ascii_lowercase();
    let m: Vec<&SignedRecord> =
        core.consent.records.values().filter(|r| r.record.id().to_string().starts_with(&id)).collect();
    match (id.len() >= 4, m.len()) {
        (true, 1) => Ok(m[0]),
        (true, n) if n > 1 => Err(Lookup::Ambiguous(id, n)),
        _ => Err(Lookup::Unknown(id)),
    }
}

fn store_err(e: crate::store::StoreError) -> EngineError {
    EngineError::Store(std::sync::Arc::new(e))
}

/// `consent request`: ask the item's provider to let it go to a third party.
pub(super) fn request(
    core: &mut Core,
    item: &str,
    third_party: PartyId,
    purpose: String,
    officer: &str,
) -> Result<RecordId, RequestRefusal> {
    let id = items::resolve(core, item)?;
    let stored = core.store.item(id).map_err(store_err)?.ok_or_else(|| EngineError::NoItem(id.to_string()))?;
    let env = &stored.envelope.envelope;
    let us = core.identity.party.id.clone();
    if third_party == us || core.peers.pinned().any(|p| p.party_id == third_party && p.role == PeerRole::Party) {
        return Err(RequestRefusal::ConsentForParty { party: third_party });
    }
    if purpose.trim().is_empty() {
        return Err(RequestRefusal::PurposeMissing);
    }
    let r = Request {
        id: RecordId::random(),
        item: id,
        content_hash: stored.envelope.content_hash(),
        provider: env.provider.clone(),
        requester: us,
        third_party,
        purpose,
        at: now(),
        officer: officer.to_string(),
    };
    Ok(make(core, Record::Request(r), officer)?)
}

/// How a request was answered: a grant over a denial, as the list shows it (see [`views`]).
fn answered(core: &Core, request: RecordId) -> Option<&'static str> {
    let mut out = None;
    for r in core.consent.records.values() {
        match &r.record {
            Record::Grant(g) if g.request == request => return Some("granted"),
            Record::Denial(d) if d.request == request => out = Some("denied"),
            _ => {}
        }
    }
    out
}

fn own_request(core: &Core, id: &str) -> Result<Request, AnswerRefusal> {
    let r = match &find(core, id)?.record {
        Record::Request(r) => r.clone(),
        other => {
            return Err(AnswerRefusal::ConsentWrongKind {
                id: other.id(),
                kind: other.kind().into(),
                expected: "request".into(),
            });
        }
    };
    if r.provider != core.identity.party.id {
        return Err(AnswerRefusal::NotTheProvider { request: r.id, provider: r.provider });
    }
    if let Some(a) = answered(core, r.id) {
        return Err(AnswerRefusal::Answered { request: r.id, answer: a.to_string() });
    }
    Ok(r)
}

/// `consent grant`: the provider consents, signing a grant for exactly this content.
pub(super) fn grant(
    core: &mut Core,
    request: &str,
    expires: Option<String>,
    officer: &str,
) -> Result<RecordId, AnswerRefusal> {
    let r = own_request(core, request)?;
    if let Some(e) = &expires {
        let t = DateTime::parse_from_rfc3339(e).map_err(|_| AnswerRefusal::ExpiryInvalid { value: e.clone() })?;
        if t.with_timezone(&Utc) <= Utc::now() {
            return Err(AnswerRefusal::ExpiryPast { value: e.clone() });
        }
    }
    let stored =
        core.store.item(r.item).map_err(store_err)?.ok_or_else(|| AnswerRefusal::NoItem { id: r.item.to_string() })?;
    if stored.envelope.content_hash() != r.content_hash {
        return Err(AnswerRefusal::ContentChanged { request: r.id, item: r.item });
    }
    let g = Grant {
        id: RecordId::random(),
        request: r.id,
        item: r.item,
        content_hash: r.content_hash,
        provider: r.provider,
        holder: r.requester,
        third_party: r.third_party,
        purpose: r.purpose,
        expires,
        at: now(),
        officer: officer.to_string(),
    };
    Ok(make(core, Record::Grant(g), officer)?)
}

/// `consent deny`.
pub(super) fn deny(core: &mut Core, request: &str, officer: &str) -> Result<RecordId, AnswerRefusal> {
    let r = own_request(core, request)?;
    let d = Denial {
        id: RecordId::random(),
        request: r.id,
        item: r.item,
        provider: r.provider,
        holder: r.requester,
        at: now(),
        officer: officer.to_string(),
    };
    Ok(make(core, Record::Denial(d), officer)?)
}

/// `consent revoke`: withdraw a grant; the holder stops, the third party destroys the key.
pub(super) fn revoke(core: &mut Core, grant: &str, officer: &str) -> Result<RecordId, RevokeRefusal> {
    let g = match &find(core, grant)?.record {
        Record::Grant(g) => g.clone(),
        other => {
            return Err(RevokeRefusal::ConsentWrongKind {
                id: other.id(),
                kind: other.kind().into(),
                expected: "grant".into(),
            });
        }
    };
    if g.provider != core.identity.party.id {
        return Err(RevokeRefusal::NotTheGrantor { grant: g.id, provider: g.provider });
    }
    if core.consent.records.values().any(|r| matches!(&r.record, Record::Revocation(v) if v.grant == g.id)) {
        return Err(RevokeRefusal::RevokedAlready { grant: g.id });
    }
    let v = Revocation {
        id: RecordId::random(),
        grant: g.id,
        item: g.item,
        provider: g.provider,
        holder: g.holder,
        third_party: g.third_party,
        at: now(),
        officer: officer.to_string(),
    };
    Ok(make(core, Record::Revocation(v), officer)?)
}

/// Signs a record an officer here made, and adds it; returns its id.
fn make(core: &mut Core, record: Record, officer: &str) -> Result<RecordId, EngineError> {
    let id = record.id();
    let signed = sign(core, record)?;
    add_record(core, signed, officer.to_string());
    Ok(id)
}

/// Stores a record (made here or accepted from a peer), audits it, passes it on, and does what
/// it calls for.
pub(super) fn add_record(core: &mut Core, r: SignedRecord, by: String) {
    let id = r.record.id();
    let record = r.record.clone();
    core.consent.records.insert(id, r.clone());
    core.round.writes.push(Box::new(move |w| w.put_record(&r)));
    audit_log::record(
        core,
        Event::Consent {
            kind: record.kind().into(),
            record: id,
            item: record.item(),
            third_party: record.third_party_concerned().map(ToString::to_string),
            by,
        },
    );
    for p in core.peers.by_id.values_mut() {
        if let Some(s) = p.session.as_mut() {
            s.want_records.push_back(id);
        }
    }
    let us = core.identity.party.id.clone();
    match &record {
        Record::Grant(g) if g.holder == us => {
            let peers: Vec<PeerId> = core
                .peers
                .by_id
                .iter()
                .filter(|(_, p)| p.pinned.role == PeerRole::ThirdParty && p.pinned.party_id == g.third_party)
                .map(|(id, _)| *id)
                .collect();
            for peer in peers {
                items::schedule_grants_for(core, peer);
            }
        }
        Record::Revocation(v) if v.third_party == us => destroy(core, v),
        Record::Deletion(d) => {
            // Only an item of the deletion's signer: a Party deletes its own items.
            let held = core.store.item(d.item).ok().flatten();
            if held.is_some_and(|i| i.envelope.envelope.provider == d.provider) {
                destroy_item(core, d.item, &d.provider, None);
                tracing::info!(item = %d.item, provider = %d.provider, "item deleted by its provider: destroyed here");
            }
        }
        _ => {}
    }
}

fn key_of(core: &Core, p: &PartyId) -> Option<[u8; 32]> {
    if *p == core.identity.party.id {
        Some(core.crypto.signing.verifying_key().to_bytes())
    } else {
        core.peers.signing_key_of(p)
    }
}

/// Records from a peer: each must be one the policy lets it give us, signed by the Party its
/// kind requires (checked against that Party's pinned key).
pub(super) fn on_records(core: &mut Core, peer: PeerId, records: Vec<SignedRecord>) -> Result<(), Violation> {
    let Some(pinned) = core.peers.by_id.get(&peer).map(|p| p.pinned.clone()) else {
        return Err(Violation("not pinned".into()));
    };
    let us = core.identity.party.id.clone();
    let mut records = records;
    records.sort_by_key(|r| r.record.rank());
    for r in records {
        let id = r.record.id();
        let kind = r.record.kind();
        let refuse = |core: &mut Core, reason: String| {
            audit_log::record(
                core,
                Event::ReceiveRefused {
                    what: kind.into(),
                    id: Some(id.to_string()),
                    from_peer: peer.to_string(),
                    reason: reason.clone(),
                },
            );
            Violation(format!("{kind} {id} refused: {reason}"))
        };
        if let Decision::Deny(reason) = policy::may_accept(&Subject::Record(&r.record), Some(&pinned), &us) {
            return Err(refuse(core, reason.to_string()));
        }
        if let Err(e) = r.verify(|p| key_of(core, p)) {
            return Err(refuse(core, e.to_string()));
        }
        if let Some(known) = core.consent.records.get(&id) {
            if known != &r {
                return Err(refuse(core, "a different record with the same id is held here".into()));
            }
            let again_from_this_peer = !core.consent.revocations_from.insert((id, peer));
            if again_from_this_peer && matches!(&r.record, Record::Revocation(v) if v.third_party == us) {
                // Carried out already: a replay is refused (and audited), not carried out twice.
                // (The same revocation from the provider and from the holder is not a replay.)
                let reason = "replayed revocation: it was already carried out here".to_string();
                tracing::warn!(%peer, revocation = %id, "{reason}");
                audit_log::record(
                    core,
                    Event::ReceiveRefused {
                        what: kind.into(),
                        id: Some(id.to_string()),
                        from_peer: peer.to_string(),
                        reason,
                    },
                );
            }
            continue;
        }
        let fits = {
            let records = &core.consent.records;
            r.record.fits(|id| records.get(id).map(|s| &s.record))
        };
        match fits {
            Ok(()) => {}
            // A confirmation or report may come before what it refers to (from another peer);
            // it sets nothing off, so it is kept. A revocation must find its grant.
            Err(crate::consent::Misfit::Unknown(_)) if !matches!(r.record, Record::Revocation(_)) => {}
            Err(m) => return Err(refuse(core, m.to_string())),
        }
        if matches!(r.record, Record::Revocation(_)) {
            core.consent.revocations_from.insert((id, peer));
        }
        add_record(core, r, peer.to_string());
    }
    Ok(())
}

/// The record frames due to `peer`: at the start of a session every record it may see, then
/// each new one.
pub(super) fn record_frames(core: &mut Core, peer: PeerId, frames: &mut Vec<Frame>, size: &mut usize) {
    let us = core.identity.party.id.clone();
    let Some(p) = core.peers.by_id.get_mut(&peer) else { return };
    let Some(s) = p.session.as_mut() else { return };
    let ids: Vec<RecordId> = if std::mem::take(&mut s.send_all_records) {
        s.want_records.clear();
        core.consent.records.keys().copied().collect()
    } else {
        s.want_records.drain(..).collect()
    };
    let acked: Vec<RecordId> = core
        .consent
        .records
        .values()
        .filter_map(|r| match &r.record {
            Record::RevocationAck(a) if a.third_party == p.pinned.party_id => Some(a.revocation),
            _ => None,
        })
        .collect();
    let transmitted: HashSet<RecordId> = core
        .consent
        .records
        .values()
        .filter_map(|r| match &r.record {
            Record::Transmission(t) if t.provider == us && t.third_party == p.pinned.party_id => Some(t.grant),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    let mut ids = ids;
    ids.sort_by_key(|id| core.consent.records.get(id).map(|r| r.record.rank()));
    for id in ids {
        let Some(r) = core.consent.records.get(&id) else { continue };
        if !policy::may_send(&Subject::Record(&r.record), Some(&p.pinned)).is_allowed() {
            continue;
        }
        if p.pinned.role == PeerRole::ThirdParty {
            // Grants travel with their items. A revocation goes from the holder, and from the
            // provider too once a transmission report says the third party received the item
            // (so it reaches the third party while the holder is down), until it is confirmed.
            match &r.record {
                Record::Revocation(v)
                    if !acked.contains(&v.id) && (v.holder == us || transmitted.contains(&v.grant)) => {}
                _ => continue,
            }
        }
        *size += 256;
        out.push(r.clone());
    }
    if !out.is_empty() {
        frames.push(Frame::Records(out));
    }
    let _ = SOFT_BATCH_BYTES;
}

/// Every consent request with its state, newest first.
pub(super) fn list(core: &Core) -> Vec<ConsentView> {
    views(core.consent.records.values(), &core.identity.party.id)
}

/// Every consent request among `records` with its state, newest first, as Party `us` sees it:
/// one pass to index the answers by request and grant, one to make the views.
pub(super) fn views<'a>(records: impl Iterator<Item = &'a SignedRecord> + Clone, us: &PartyId) -> Vec<ConsentView> {
    let mut grant_of = HashMap::new();
    let mut denied = HashSet::new();
    let mut revoked = HashSet::new();
    let mut transmitted = HashSet::new();
    let mut destroyed = HashSet::new();
    for r in records.clone() {
        match &r.record {
            Record::Grant(g) => {
                grant_of.insert(g.request, g);
            }
            Record::Denial(d) => {
                denied.insert(d.request);
            }
            Record::Revocation(v) => {
                revoked.insert(v.grant);
            }
            Record::Transmission(t) => {
                transmitted.insert(t.grant);
            }
            Record::RevocationAck(a) => {
                destroyed.insert(a.grant);
            }
            Record::ExpiryAck(a) => {
                destroyed.insert(a.grant);
            }
            _ => {}
        }
    }
    let now = Utc::now();
    let mut out = Vec::new();
    for r in records {
        let Record::Request(q) = &r.record else { continue };
        let mut view = ConsentView {
            request: q.id.to_string(),
            item: q.item.to_string(),
            provider: q.provider.to_string(),
            requester: q.requester.to_string(),
            third_party: q.third_party.to_string(),
            purpose: q.purpose.clone(),
            requested_at: q.at.clone(),
            state: "pending".into(),
            grant: None,
            expires: None,
            transmitted: false,
            key_destroyed: false,
            ours_to_answer: &q.provider == us,
        };
        // A grant and a denial of one request (two of the provider's officers at once, on two
        // nodes): the grant shows, since the holder acts on it.
        if denied.contains(&q.id) {
            view.state = "denied".into();
        }
        if let Some(g) = grant_of.get(&q.id) {
            view.state = "granted".into();
            view.grant = Some(g.id.to_string());
            view.expires = g.expires.clone();
            if let Some(e) = &g.expires
                && DateTime::parse_from_rfc3339(e).is_ok_and(|t| t.with_timezone(&Utc) <= now)
            {
                view.state = "expired".into();
            }
            if revoked.contains(&g.id) {
                view.state = "revoked".into();
            }
            view.transmitted = transmitted.contains(&g.id);
            view.key_destroyed = destroyed.contains(&g.id);
        }
        out.push(view);
    }
    out.sort_by(|a, b| b.requested_at.cmp(&a.requested_at));
    out
}

/// Loads the records at start.
pub(super) fn load(core: &mut Core) -> Result<(), crate::store::StoreError> {
    for r in core.store.records()? {
        core.consent.records.insert(r.record.id(), r);
    }
    core.consent.expired =
        core.store.meta_value::<Vec<RecordId>>(EXPIRED_KEY)?.unwrap_or_default().into_iter().collect();
    expire_due(core);
    Ok(())
}

impl Core {
    /// `consent request`.
    pub fn consent_request(
        &mut self,
        item: &str,
        third_party: PartyId,
        purpose: String,
        officer: &str,
    ) -> Result<RecordId, RequestRefusal> {
        request(self, item, third_party, purpose, officer)
    }

    /// `consent grant`.
    pub fn consent_grant(
        &mut self,
        request_id: &str,
        expires: Option<String>,
        officer: &str,
    ) -> Result<RecordId, AnswerRefusal> {
        grant(self, request_id, expires, officer)
    }

    /// `consent deny`.
    pub fn consent_deny(&mut self, request_id: &str, officer: &str) -> Result<RecordId, AnswerRefusal> {
        deny(self, request_id, officer)
    }

    /// `consent revoke`.
    pub fn consent_revoke(&mut self, grant_id: &str, officer: &str) -> Result<RecordId, RevokeRefusal> {
        revoke(self, grant_id, officer)
    }

    /// `item delete`: the provider deletes its item (id or unique prefix) everywhere.
    pub fn item_delete(&mut self, item: &str, officer: &str) -> Result<RecordId, DeleteRefusal> {
        let item = items::resolve(self, item)?;
        delete_item(self, item, officer)
    }

    /// Carries out the grant expiries that have come (the node calls this every second).
    pub fn expire_grants(&mut self) {
        expire_due(self)
    }

    /// `consent list`.
    pub fn consent_list(&self) -> Vec<ConsentView> {
        list(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{RevocationAck, Transmission};
    use crate::ids::ItemId;

    fn p(s: &str) -> PartyId {
        s.parse().unwrap()
    }

    fn signed(record: Record) -> SignedRecord {
        // `views` reads records already verified; the signature is not its business.
        SignedRecord { record, signature: [0; 64] }
    }

    fn request(at: &str, provider: &str) -> Request {
        Request {
            id: RecordId::random(),
            item: ItemId::random(),
            content_hash: [1; 32],
            provider: p(provider),
            requester: p("sco-rats"),
            third_party: p("un-oct"),
            purpose: "assessment".into(),
            at: at.into(),
            officer: "ivan".into(),
        }
    }

    fn grant(q: &Request, expires: Option<&str>) -> Grant {
        Grant {
            id: RecordId::random(),
            request: q.id,
            item: q.item,
            content_hash: [1; 32],
            provider: q.provider.clone(),
            holder: p("sco-rats"),
            third_party: p("un-oct"),
            purpose: q.purpose.clone(),
            expires: expires.map(String::from),
            at: "2026-11-28T10:00:00Z".into(),
            officer: "ana".into(),
        }
    }

    fn denial(q: &Request) -> Denial {
        Denial {
            id: RecordId::random(),
            request: q.id,
            item: q.item,
            provider: q.provider.clone(),
            holder: p("sco-rats"),
            at: "2026-11-28T10:00:00Z".into(),
            officer: "ana".into(),
        }
    }

    #[test]
    fn each_request_shows_what_became_of_it() {
        let pending = request("1", "cica");
        let expired = request("2", "cica");
        let revoked = request("3", "cica");
        let denied = request("4", "cica");
        let both = request("5", "cica");
        let theirs = request("6", "sco-rats");
        let g_expired = grant(&expired, Some("2000-01-01T00:00:00Z"));
        let g_revoked = grant(&revoked, None);
        let revocation = Revocation {
            id: RecordId::random(),
            grant: g_revoked.id,
            item: revoked.item,
            provider: p("cica"),
            holder: p("sco-rats"),
            third_party: p("un-oct"),
            at: "x".into(),
            officer: "ana".into(),
        };
        let sent = Transmission {
            id: RecordId::random(),
            grant: g_revoked.id,
            item: revoked.item,
            provider: p("cica"),
            holder: p("sco-rats"),
            third_party: p("un-oct"),
            to_peer: "peer".into(),
            at: "x".into(),
        };
        let ack = RevocationAck {
            id: RecordId::random(),
            revocation: revocation.id,
            grant: g_revoked.id,
            item: revoked.item,
            provider: p("cica"),
            third_party: p("un-oct"),
            at: "x".into(),
        };
        let records: Vec<SignedRecord> = [
            Record::Request(pending.clone()),
            Record::Request(expired.clone()),
            Record::Grant(g_expired.clone()),
            Record::Request(revoked.clone()),
            Record::Grant(g_revoked.clone()),
            Record::Revocation(revocation),
            Record::Transmission(sent),
            Record::RevocationAck(ack),
            Record::Request(denied.clone()),
            Record::Denial(denial(&denied)),
            Record::Request(both.clone()),
            Record::Denial(denial(&both)),
            Record::Grant(grant(&both, None)),
            Record::Request(theirs.clone()),
        ]
        .into_iter()
        .map(signed)
        .collect();
        let v = views(records.iter(), &p("cica"));
        let of = |q: &Request| v.iter().find(|x| x.request == q.id.to_string()).unwrap();
        assert_eq!(v.iter().map(|x| x.requested_at.as_str()).collect::<Vec<_>>(), ["6", "5", "4", "3", "2", "1"]);
        assert_eq!((of(&pending).state.as_str(), of(&pending).grant.as_ref()), ("pending", None));
        assert_eq!(of(&expired).state, "expired");
        assert_eq!(of(&expired).grant, Some(g_expired.id.to_string()));
        let r = of(&revoked);
        assert_eq!((r.state.as_str(), r.transmitted, r.key_destroyed), ("revoked", true, true));
        assert_eq!(of(&denied).state, "denied");
        assert_eq!(of(&both).state, "granted", "the grant shows over a denial: the holder acts on it");
        assert!(of(&pending).ours_to_answer && !of(&theirs).ours_to_answer);
        // The same whatever order the records come in.
        let back = views(records.iter().rev(), &p("cica"));
        assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&v).unwrap());
    }
}
