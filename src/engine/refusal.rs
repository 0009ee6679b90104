//! Refusals of an officer's request that the web app shows: a code with parameters, so that each
//! adapter says it in its own words. Serialised as `{"code": "mandate-unknown", "reference": ..}`
//! (the API puts it under `refusal`, as it does for the rule of who may write what); the web app
//! words each code in English and Russian, the CLI in its own words with its commands and flags
//! (`src/cli/refusal_words.rs`). The `Display` text is a neutral English sentence, which the API
//! sends as `error` for scripts and logs: it names no command or flag of any client.

use serde::Serialize;

use crate::config::MandatedAction;
use crate::ids::{ItemId, PartyId, RecordId};

/// Why the engine refused an officer's request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum Refusal {
    /// The Party's policy requires a mandate for this action and none was cited.
    #[error("this Party's policy requires a recorded mandate for {action}, and none was cited")]
    MandateRequired {
        /// The action.
        action: MandatedAction,
    },
    /// The cited mandate was withdrawn.
    #[error("mandate {reference:?} of {party} was withdrawn on {on}")]
    MandateWithdrawn {
        /// Its reference.
        reference: String,
        /// Whose it is.
        party: PartyId,
        /// When it was withdrawn.
        on: String,
    },
    /// The cited mandate is dated in the future.
    #[error("mandate {reference:?} of {party} is dated {date}: it is not in force yet")]
    MandateNotInForce {
        /// Its reference.
        reference: String,
        /// Whose it is.
        party: PartyId,
        /// Its date.
        date: String,
    },
    /// No mandate of that reference is recorded for this Party.
    #[error("no mandate {reference:?} of {party} is recorded")]
    MandateUnknown {
        /// The reference cited.
        reference: String,
        /// The Party it was looked for in.
        party: PartyId,
    },
    /// No consent record has that id (or prefix).
    #[error("no consent record {id}")]
    ConsentUnknown {
        /// The id or prefix given.
        id: String,
    },
    /// Consent was asked for a Party, which needs none.
    #[error("{party} is a Party, not a third party: the Parties share items without consent")]
    ConsentForParty {
        /// The Party named as the third party.
        party: PartyId,
    },
    /// A consent request without a purpose.
    #[error("a consent request must say what the third party needs the item for (its purpose)")]
    PurposeMissing,
    /// The consent record named is of another kind than the action needs.
    #[error("{id} is a {kind}, not a {expected}")]
    ConsentWrongKind {
        /// The record.
        id: RecordId,
        /// What it is (`request`, `grant`, ...).
        kind: String,
        /// What the action needs.
        expected: String,
    },
    /// A request that is the provider's to answer, not ours.
    #[error("request {request} is for {provider}, the item's provider, to answer")]
    NotTheProvider {
        /// The request.
        request: RecordId,
        /// The item's provider.
        provider: PartyId,
    },
    /// A request answered already.
    #[error("request {request} was already {answer}")]
    Answered {
        /// The request.
        request: RecordId,
        /// `granted` or `denied`.
        answer: String,
    },
    /// An expiry that is not a time.
    #[error("the expiry {value:?} is not an RFC 3339 time (like 2027-01-31T00:00:00Z)")]
    ExpiryInvalid {
        /// What was given.
        value: String,
    },
    /// An expiry in the past.
    #[error("the expiry {value} is in the past")]
    ExpiryPast {
        /// What was given.
        value: String,
    },
    /// The item changed since consent was asked for it.
    #[error("request {request} names other content than item {item} as held here")]
    ContentChanged {
        /// The request.
        request: RecordId,
        /// The item.
        item: ItemId,
    },
    /// A grant given by another Party.
    #[error("grant {grant} was given by {provider}; only it can revoke it")]
    NotTheGrantor {
        /// The grant.
        grant: RecordId,
        /// Who gave it.
        provider: PartyId,
    },
    /// A grant revoked already.
    #[error("grant {grant} is already revoked")]
    RevokedAlready {
        /// The grant.
        grant: RecordId,
    },
    /// Only an item's provider deletes it.
    #[error("item {item} was provided by {provider}; only its provider can delete it")]
    NotItsProvider {
        /// The item.
        item: ItemId,
        /// Its provider.
        provider: PartyId,
    },
    /// The consent an item was received under has ended; its key is gone.
    #[error(
        "item {item}: the provider's consent under which it was received has expired or was revoked; its key is destroyed"
    )]
    ConsentLapsed {
        /// The item.
        item: ItemId,
    },
    /// No key of the item is sealed to this Party.
    #[error("item {item}: no key sealed to {party} is held here")]
    NoKey {
        /// The item.
        item: ItemId,
        /// This node's Party.
        party: PartyId,
    },
    /// The provider's signing key is not pinned here, so the item cannot be checked.
    #[error("item {item}: no signing key of its provider {provider} is pinned, so it cannot be checked")]
    ProviderUnknown {
        /// The item.
        item: ItemId,
        /// Its provider.
        provider: PartyId,
    },
}

impl Refusal {
    /// Whether it is a mandate's refusal (answered 403: not allowed without one), rather than a
    /// conflict with the state of an item or a consent record (409).
    pub fn is_mandate(&self) -> bool {
        matches!(
            self,
            Refusal::MandateRequired { .. }
                | Refusal::MandateWithdrawn { .. }
                | Refusal::MandateNotInForce { .. }
                | Refusal::MandateUnknown { .. }
        )
    }

    /// Whether it names something that is not there (answered 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Refusal::ConsentUnknown { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_a_code_with_parameters() {
        let r = Refusal::MandateUnknown { reference: "MS-1".into(), party: "cica".parse().unwrap() };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v, serde_json::json!({ "code": "mandate-unknown", "reference": "MS-1", "party": "cica" }));
        let v = serde_json::to_value(Refusal::MandateRequired { action: MandatedAction::GroupCreate }).unwrap();
        assert_eq!(v, serde_json::json!({ "code": "mandate-required", "action": "group-create" }));
        assert_eq!(
            serde_json::to_value(Refusal::PurposeMissing).unwrap(),
            serde_json::json!({ "code": "purpose-missing" })
        );
    }
}
