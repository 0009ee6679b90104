//! Consent: the providing Party's control over onward transmission of its items (Protocol:
//! "information received under the present Protocol may not be transmitted to third parties
//! without the prior consent of the providing Party").
//!
//! Every step is a record signed by the Party whose step it is:
//!
//! | record | signed by | says |
//! | --- | --- | --- |
//! | [`Request`] | the holder (requesting Party) | may we pass this item to that third party, for this purpose? |
//! | [`Grant`] | the provider | yes: this item (by content hash), to this third party, for this purpose, until then |
//! | [`Denial`] | the provider | no |
//! | [`Revocation`] | the provider | the grant is withdrawn: transmit no more, destroy the key |
//! | [`RevocationAck`] | the third party | the key is destroyed |
//! | [`Transmission`] | the holder | the item went to the third party under the grant |
//!
//! Signatures are checked against the signer Party's pinned key, and a record is only accepted
//! from the Party that must sign it. Pure code: no I/O.

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::ids::{ItemId, PartyId, RecordId};
use crate::signing::{self, SignatureError};

/// A request to pass an item on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Record id.
    pub id: RecordId,
    /// The item.
    pub item: ItemId,
    /// Its content hash.
    #[serde(with = "serde_bytes")]
    pub content_hash: [u8; 32],
    /// Its provider, who must answer.
    pub provider: PartyId,
    /// The Party asking (it holds the item).
    pub requester: PartyId,
    /// Who would receive it.
    pub third_party: PartyId,
    /// What for.
    pub purpose: String,
    /// When, RFC 3339.
    pub at: String,
    /// The officer who asked.
    pub officer: String,
}

/// The provider's consent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Record id.
    pub id: RecordId,
    /// The request answered.
    pub request: RecordId,
    /// The item.
    pub item: ItemId,
    /// Its content hash: the grant covers exactly this content.
    #[serde(with = "serde_bytes")]
    pub content_hash: [u8; 32],
    /// The provider (signer).
    pub provider: PartyId,
    /// The Party that may transmit.
    pub holder: PartyId,
    /// The only recipient.
    pub third_party: PartyId,
    /// The purpose consented to.
    pub purpose: String,
    /// Until when, RFC 3339; none means until revoked.
    pub expires: Option<String>,
    /// When granted.
    pub at: String,
    /// The provider's officer who granted it.
    pub officer: String,
}

/// The provider's refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denial {
    /// Record id.
    pub id: RecordId,
    /// The request answered.
    pub request: RecordId,
    /// The item.
    pub item: ItemId,
    /// The provider (signer).
    pub provider: PartyId,
    /// The requester.
    pub holder: PartyId,
    /// When.
    pub at: String,
    /// The provider's officer.
    pub officer: String,
}

/// The provider withdraws a grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Record id.
    pub id: RecordId,
    /// The grant withdrawn.
    pub grant: RecordId,
    /// The item.
    pub item: ItemId,
    /// The provider (signer).
    pub provider: PartyId,
    /// The holder, which must transmit no more.
    pub holder: PartyId,
    /// The third party, which must destroy the key.
    pub third_party: PartyId,
    /// When.
    pub at: String,
    /// The provider's officer.
    pub officer: String,
}

/// The third party confirms that it destroyed the item's key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationAck {
    /// Record id.
    pub id: RecordId,
    /// The revocation carried out.
    pub revocation: RecordId,
    /// The grant.
    pub grant: RecordId,
    /// The item.
    pub item: ItemId,
    /// The item's provider.
    pub provider: PartyId,
    /// The third party (signer).
    pub third_party: PartyId,
    /// When the key was destroyed.
    pub at: String,
}

/// The third party confirms that it destroyed the item's key because the grant expired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryAck {
    /// Record id.
    pub id: RecordId,
    /// The grant that expired.
    pub grant: RecordId,
    /// The item.
    pub item: ItemId,
    /// The item's provider.
    pub provider: PartyId,
    /// The third party (signer).
    pub third_party: PartyId,
    /// When the key was destroyed.
    pub at: String,
}

/// The provider deletes an item: every Party node that holds it destroys it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    /// Record id.
    pub id: RecordId,
    /// The item.
    pub item: ItemId,
    /// The provider (signer).
    pub provider: PartyId,
    /// When.
    pub at: String,
    /// The provider's officer.
    pub officer: String,
}

/// The holder reports an onward transmission to the provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transmission {
    /// Record id.
    pub id: RecordId,
    /// The grant it was made under.
    pub grant: RecordId,
    /// The item.
    pub item: ItemId,
    /// The item's provider.
    pub provider: PartyId,
    /// The holder (signer).
    pub holder: PartyId,
    /// The recipient.
    pub third_party: PartyId,
    /// The recipient node's peer id.
    pub to_peer: String,
    /// When.
    pub at: String,
}

/// Any consent record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// A request.
    Request(Request),
    /// A grant.
    Grant(Grant),
    /// A denial.
    Denial(Denial),
    /// A revocation.
    Revocation(Revocation),
    /// A confirmation of key destruction.
    RevocationAck(RevocationAck),
    /// A report of an onward transmission.
    Transmission(Transmission),
    /// A confirmation of key destruction at a grant's expiry.
    ExpiryAck(ExpiryAck),
    /// The provider deleted the item.
    Deletion(Deletion),
}

impl Record {
    /// The record's id.
    pub fn id(&self) -> RecordId {
        match self {
            Record::Request(r) => r.id,
            Record::Grant(r) => r.id,
            Record::Denial(r) => r.id,
            Record::Revocation(r) => r.id,
            Record::RevocationAck(r) => r.id,
            Record::Transmission(r) => r.id,
            Record::ExpiryAck(r) => r.id,
            Record::Deletion(r) => r.id,
        }
    }

    /// The item it is about.
    pub fn item(&self) -> ItemId {
        match self {
            Record::Request(r) => r.item,
            Record::Grant(r) => r.item,
            Record::Denial(r) => r.item,
            Record::Revocation(r) => r.item,
            Record::RevocationAck(r) => r.item,
            Record::Transmission(r) => r.item,
            Record::ExpiryAck(r) => r.item,
            Record::Deletion(r) => r.item,
        }
    }

    /// The Party that must have signed it.
    pub fn signer(&self) -> &PartyId {
        match self {
            Record::Request(r) => &r.requester,
            Record::Grant(r) => &r.provider,
            Record::Denial(r) => &r.provider,
            Record::Revocation(r) => &r.provider,
            Record::RevocationAck(r) => &r.third_party,
            Record::Transmission(r) => &r.holder,
            Record::ExpiryAck(r) => &r.third_party,
            Record::Deletion(r) => &r.provider,
        }
    }

    /// The third party it concerns, if any: the only records a third party may see.
    pub fn third_party_concerned(&self) -> Option<&PartyId> {
        match self {
            Record::Grant(r) => Some(&r.third_party),
            Record::Revocation(r) => Some(&r.third_party),
            Record::RevocationAck(r) => Some(&r.third_party),
            Record::ExpiryAck(r) => Some(&r.third_party),
            _ => None,
        }
    }

    /// Its kind, as the CLI and the audit log name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Request(_) => "request",
            Record::Grant(_) => "grant",
            Record::Denial(_) => "denial",
            Record::Revocation(_) => "revocation",
            Record::RevocationAck(_) => "revocation-ack",
            Record::Transmission(_) => "transmission",
            Record::ExpiryAck(_) => "expiry-ack",
            Record::Deletion(_) => "deletion",
        }
    }

    fn domain(&self) -> &'static str {
        match self {
            Record::Request(_) => "liaison/consent-request/v1",
            Record::Grant(_) => "liaison/consent-grant/v1",
            Record::Denial(_) => "liaison/consent-denial/v1",
            Record::Revocation(_) => "liaison/consent-revocation/v1",
            Record::RevocationAck(_) => "liaison/consent-revocation-ack/v1",
            Record::Transmission(_) => "liaison/consent-transmission/v1",
            Record::ExpiryAck(_) => "liaison/consent-expiry-ack/v1",
            Record::Deletion(_) => "liaison/item-deletion/v1",
        }
    }
}

impl Record {
    /// Where it comes in the order of a consent's life: a batch is applied in this order, so
    /// that a record is checked against the ones it refers to whatever order they were sent in.
    pub fn rank(&self) -> u8 {
        match self {
            Record::Request(_) => 0,
            Record::Grant(_) | Record::Denial(_) => 1,
            Record::Transmission(_) => 2,
            Record::Revocation(_) => 3,
            Record::RevocationAck(_) | Record::ExpiryAck(_) => 4,
            Record::Deletion(_) => 5,
        }
    }

    /// Whether it agrees with the records it refers to (`known` finds one by id). A revocation
    /// may only withdraw a grant that its own signer gave, for the same item, holder and third
    /// party; an acknowledgement only confirms what was asked of its signer; a transmission is
    /// reported only by the grant's holder. Records that refer to nothing are not checked here.
    pub fn fits<'a>(&self, known: impl Fn(&RecordId) -> Option<&'a Record>) -> Result<(), Misfit> {
        let grant = |id: &RecordId| match known(id) {
            Some(Record::Grant(g)) => Ok(g),
            Some(_) => Err(Misfit::NotAGrant(*id)),
            None => Err(Misfit::Unknown(*id)),
        };
        match self {
            Record::Revocation(v) => {
                let g = grant(&v.grant)?;
                if g.provider != v.provider
                    || g.item != v.item
                    || g.holder != v.holder
                    || g.third_party != v.third_party
                {
                    return Err(Misfit::NotTheGrantOfItsSigner { grant: g.id, by: v.provider.clone() });
                }
            }
            Record::RevocationAck(a) => {
                let v = match known(&a.revocation) {
                    Some(Record::Revocation(v)) => v,
                    Some(_) | None => return Err(Misfit::Unknown(a.revocation)),
                };
                if v.third_party != a.third_party || v.grant != a.grant || v.item != a.item {
                    return Err(Misfit::NotAskedOfItsSigner(a.revocation));
                }
            }
            Record::ExpiryAck(a) => {
                let g = grant(&a.grant)?;
                if g.third_party != a.third_party || g.item != a.item || g.expires.is_none() {
                    return Err(Misfit::NotAskedOfItsSigner(a.grant));
                }
            }
            Record::Transmission(t) => {
                let g = grant(&t.grant)?;
                if g.holder != t.holder || g.item != t.item || g.third_party != t.third_party {
                    return Err(Misfit::NotAskedOfItsSigner(t.grant));
                }
            }
            Record::Request(_) | Record::Grant(_) | Record::Denial(_) | Record::Deletion(_) => {}
        }
        Ok(())
    }
}

/// Why a record does not agree with the records it refers to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Misfit {
    /// It refers to a record not held here.
    #[error("it refers to {0}, which is not held here")]
    Unknown(RecordId),
    /// It refers to a record that is not a grant.
    #[error("{0} is not a grant")]
    NotAGrant(RecordId),
    /// A revocation of a grant that its signer did not give (or of other terms).
    #[error("grant {grant} was not given by {by} on these terms; only the grant's signer can revoke it")]
    NotTheGrantOfItsSigner {
        /// The grant.
        grant: RecordId,
        /// Who signed the revocation.
        by: PartyId,
    },
    /// An acknowledgement or report of something not asked of its signer.
    #[error("it does not match {0}")]
    NotAskedOfItsSigner(RecordId),
}

/// A record with its signer's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRecord {
    /// The record.
    pub record: Record,
    /// Ed25519 signature by [`Record::signer`]'s Party key.
    #[serde(with = "serde_bytes")]
    pub signature: [u8; 64],
}

/// A consent record that cannot be accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// The signer's key is not pinned here.
    #[error("{kind} {id}: no signing key is pinned for {signer}, so its signature cannot be checked")]
    UnknownSigner {
        /// Record kind.
        kind: &'static str,
        /// Record id.
        id: RecordId,
        /// Who should have signed.
        signer: PartyId,
    },
    /// The signature is forged, or the record was changed.
    #[error("{kind} {id}: {source}")]
    BadSignature {
        /// Record kind.
        kind: &'static str,
        /// Record id.
        id: RecordId,
        /// Why.
        source: SignatureError,
    },
}

impl SignedRecord {
    /// Signs `record` with the key of the Party that must sign it.
    pub fn sign(record: Record, key: &SigningKey) -> Result<SignedRecord, SignatureError> {
        let signature = signing::sign(key, record.domain(), &record)?;
        Ok(SignedRecord { record, signature })
    }

    /// Checks the signature against the pinned key of the Party that must have signed it.
    /// `key_of` gives a Party's pinned signing key. A record "signed by the wrong Party" fails
    /// here: it is checked against the key of the Party its kind requires, whoever signed it.
    pub fn verify(&self, key_of: impl Fn(&PartyId) -> Option<[u8; 32]>) -> Result<(), ConsentError> {
        let r = &self.record;
        let signer = r.signer();
        let key = key_of(signer).ok_or_else(|| ConsentError::UnknownSigner {
            kind: r.kind(),
            id: r.id(),
            signer: signer.clone(),
        })?;
        signing::verify(&key, signer.as_str(), r.domain(), r, &self.signature)
            .map_err(|source| ConsentError::BadSignature { kind: r.kind(), id: r.id(), source })
    }
}

/// Why a grant does not cover a transmission.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrantProblem {
    /// It names another item or another content.
    #[error("grant {0} is for other content than this item")]
    OtherContent(RecordId),
    /// It names another third party.
    #[error("grant {grant} names {named}, not {asked}")]
    OtherThirdParty {
        /// The grant.
        grant: RecordId,
        /// Who it names.
        named: PartyId,
        /// Who asked.
        asked: PartyId,
    },
    /// It was not given by the item's provider.
    #[error("grant {grant} was given by {by}, but the item's provider is {provider}")]
    NotTheProvider {
        /// The grant.
        grant: RecordId,
        /// Who gave it.
        by: PartyId,
        /// The provider.
        provider: PartyId,
    },
    /// It expired.
    #[error("grant {grant} expired at {expires}")]
    Expired {
        /// The grant.
        grant: RecordId,
        /// When.
        expires: String,
    },
    /// Its expiry does not parse.
    #[error("grant {0} has an unreadable expiry")]
    BadExpiry(RecordId),
    /// It was revoked.
    #[error("grant {0} was revoked by the provider")]
    Revoked(RecordId),
}

/// Does `g` (already signature-checked) allow sending the item with `content_hash` from
/// `provider` to `third_party` at `now`?
pub fn check_grant(
    g: &Grant,
    provider: &PartyId,
    content_hash: &[u8; 32],
    third_party: &PartyId,
    now: DateTime<Utc>,
    revoked: bool,
) -> Result<(), GrantProblem> {
    if &g.provider != provider {
        return Err(GrantProblem::NotTheProvider { grant: g.id, by: g.provider.clone(), provider: provider.clone() });
    }
    if &g.content_hash != content_hash {
        return Err(GrantProblem::OtherContent(g.id));
    }
    if &g.third_party != third_party {
        return Err(GrantProblem::OtherThirdParty {
            grant: g.id,
            named: g.third_party.clone(),
            asked: third_party.clone(),
        });
    }
    if revoked {
        return Err(GrantProblem::Revoked(g.id));
    }
    if let Some(e) = &g.expires {
        let t = DateTime::parse_from_rfc3339(e).map_err(|_| GrantProblem::BadExpiry(g.id))?;
        if t.with_timezone(&Utc) <= now {
            return Err(GrantProblem::Expired { grant: g.id, expires: e.clone() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(expires: Option<&str>) -> Grant {
        Grant {
            id: RecordId::random(),
            request: RecordId::random(),
            item: ItemId::random(),
            content_hash: [1; 32],
            provider: "cica".parse().unwrap(),
            holder: "sco-rats".parse().unwrap(),
            third_party: "un-oct".parse().unwrap(),
            purpose: "assessment".into(),
            expires: expires.map(String::from),
            at: "2026-11-28T10:00:00Z".into(),
            officer: "ana".into(),
        }
    }

    fn keys() -> (SigningKey, SigningKey) {
        (SigningKey::from_bytes(&[1; 32]), SigningKey::from_bytes(&[2; 32]))
    }

    #[test]
    fn a_grant_verifies_only_as_signed_by_the_provider() {
        let (cica, rats) = keys();
        let key_of = |p: &PartyId| match p.as_str() {
            "cica" => Some(cica.verifying_key().to_bytes()),
            "sco-rats" => Some(rats.verifying_key().to_bytes()),
            _ => None,
        };
        let good = SignedRecord::sign(Record::Grant(grant(None)), &cica).unwrap();
        good.verify(key_of).unwrap();
        // Signed by the wrong Party: the holder cannot grant itself consent.
        let wrong = SignedRecord::sign(Record::Grant(grant(None)), &rats).unwrap();
        assert!(matches!(wrong.verify(key_of), Err(ConsentError::BadSignature { .. })));
        // Tampered after signing: the third party changed.
        let mut forged = good.clone();
        if let Record::Grant(g) = &mut forged.record {
            g.third_party = "someone-else".parse().unwrap();
        }
        assert!(forged.verify(key_of).is_err());
        // A grant re-labelled as a revocation does not verify either (domain separation).
        let relabelled = SignedRecord {
            record: Record::Request(Request {
                id: RecordId::random(),
                item: ItemId::random(),
                content_hash: [1; 32],
                provider: "cica".parse().unwrap(),
                requester: "cica".parse().unwrap(),
                third_party: "x-y".parse().unwrap(),
                purpose: String::new(),
                at: String::new(),
                officer: String::new(),
            }),
            signature: good.signature,
        };
        assert!(relabelled.verify(key_of).is_err());
        // Unknown signer.
        let stranger =
            SignedRecord::sign(Record::Grant(Grant { provider: "nobody".parse().unwrap(), ..grant(None) }), &cica)
                .unwrap();
        assert!(matches!(stranger.verify(key_of), Err(ConsentError::UnknownSigner { .. })));
    }

    #[test]
    fn grants_cover_one_content_one_recipient_until_expiry_or_revocation() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z").unwrap().with_timezone(&Utc);
        let cica: PartyId = "cica".parse().unwrap();
        let un: PartyId = "un-oct".parse().unwrap();
        let g = grant(Some("2026-12-01T00:00:00Z"));
        assert_eq!(check_grant(&g, &cica, &[1; 32], &un, now, false), Ok(()));
        assert!(matches!(check_grant(&g, &cica, &[2; 32], &un, now, false), Err(GrantProblem::OtherContent(_))));
        assert!(matches!(
            check_grant(&g, &cica, &[1; 32], &"x-org".parse().unwrap(), now, false),
            Err(GrantProblem::OtherThirdParty { .. })
        ));
        assert!(matches!(
            check_grant(&g, &"sco-rats".parse().unwrap(), &[1; 32], &un, now, false),
            Err(GrantProblem::NotTheProvider { .. })
        ));
        assert!(matches!(check_grant(&g, &cica, &[1; 32], &un, now, true), Err(GrantProblem::Revoked(_))));
        let expired = grant(Some("2026-11-28T11:59:59Z"));
        assert!(matches!(check_grant(&expired, &cica, &[1; 32], &un, now, false), Err(GrantProblem::Expired { .. })));
    }
}
