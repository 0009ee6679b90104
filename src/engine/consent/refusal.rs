//! Why a consent step or an item's deletion is refused: one enum per use case, each a code with
//! parameters (`{"code": "not-the-provider", "request": .., "provider": ..}`). The codes are
//! the ones the web app and scripts already know; the words are the adapters' (the CLI names
//! its commands and flags, the web app speaks English and Russian). The `Display` texts here
//! are neutral English for logs and for the API's `error` field: no command, no flag.
//!
//! Each enum ends with `Failed`: not a refusal but a failure of the node (its store, its
//! engine), which the adapters answer as they answer any such failure. It is never serialised
//! as a refusal.

use serde::Serialize;

use crate::engine::EngineError;
use crate::ids::{ItemId, PartyId, RecordId};

/// A consent record looked up by id or prefix that is not there, or not alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::engine) enum Lookup {
    /// No record has that id (or prefix).
    Unknown(String),
    /// Several records start with the prefix.
    Ambiguous(String, usize),
}

/// An item looked up by id or prefix, narrowed from the engine's errors: not held, not alone,
/// or the store failed.
fn item_lookup(e: EngineError) -> Result<(String, Option<usize>), EngineError> {
    match e {
        EngineError::NoItem(id) => Ok((id, None)),
        EngineError::Ambiguous { prefix, count } => Ok((prefix, Some(count))),
        other => Err(other),
    }
}

/// Why a consent request is refused (`POST /api/consent`, `liaison consent request`).
#[derive(Clone, Debug, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum RequestRefusal {
    /// No item of that id (or prefix) is held here.
    #[error("no item {id} is held here")]
    NoItem {
        /// The id or prefix given.
        id: String,
    },
    /// The prefix names several items.
    #[error("{prefix:?} matches {count} items; give more of the id")]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// How many match.
        count: usize,
    },
    /// Consent was asked for a Party, which needs none.
    #[error("{party} is a Party, not a third party: the Parties share items without consent")]
    ConsentForParty {
        /// The Party named as the third party.
        party: PartyId,
    },
    /// No purpose was given.
    #[error("a consent request must say what the third party needs the item for")]
    PurposeMissing,
    /// The node failed (not a refusal).
    #[serde(skip)]
    #[error(transparent)]
    Failed(EngineError),
}

/// Why a grant or a denial of a consent request is refused (`POST /api/consent/{id}/grant`,
/// `.../deny`).
#[derive(Clone, Debug, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum AnswerRefusal {
    /// No consent record has that id (or prefix).
    #[error("no consent record {id}")]
    ConsentUnknown {
        /// The id or prefix given.
        id: String,
    },
    /// The prefix names several records.
    #[error("{prefix:?} matches {count} consent records; give more of the id")]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// How many match.
        count: usize,
    },
    /// The record named is not a request.
    #[error("{id} is a {kind}, not a {expected}")]
    ConsentWrongKind {
        /// The record.
        id: RecordId,
        /// What it is (`grant`, `denial`, ...).
        kind: String,
        /// What the step needs.
        expected: String,
    },
    /// The request is for the item's provider to answer, and that is not our Party.
    #[error("request {request} is for {provider}, the item's provider, to answer")]
    NotTheProvider {
        /// The request.
        request: RecordId,
        /// The item's provider.
        provider: PartyId,
    },
    /// The request was answered already.
    #[error("request {request} was already {answer}")]
    Answered {
        /// The request.
        request: RecordId,
        /// `granted` or `denied`.
        answer: String,
    },
    /// The expiry is not an RFC 3339 time.
    #[error("the expiry {value:?} is not an RFC 3339 time (like 2027-01-31T00:00:00Z)")]
    ExpiryInvalid {
        /// What was given.
        value: String,
    },
    /// The expiry is in the past.
    #[error("the expiry {value} is in the past")]
    ExpiryPast {
        /// What was given.
        value: String,
    },
    /// The item held here is not the content the request names.
    #[error("request {request} names other content than item {item} as held here")]
    ContentChanged {
        /// The request.
        request: RecordId,
        /// The item.
        item: ItemId,
    },
    /// The item the request names is not held here (any more).
    #[error("no item {id} is held here")]
    NoItem {
        /// The item.
        id: String,
    },
    /// The node failed (not a refusal).
    #[serde(skip)]
    #[error(transparent)]
    Failed(EngineError),
}

/// Why a revocation of a grant is refused (`POST /api/consent/{id}/revoke`).
#[derive(Clone, Debug, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum RevokeRefusal {
    /// No consent record has that id (or prefix).
    #[error("no consent record {id}")]
    ConsentUnknown {
        /// The id or prefix given.
        id: String,
    },
    /// The prefix names several records.
    #[error("{prefix:?} matches {count} consent records; give more of the id")]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// How many match.
        count: usize,
    },
    /// The record named is not a grant.
    #[error("{id} is a {kind}, not a {expected}")]
    ConsentWrongKind {
        /// The record.
        id: RecordId,
        /// What it is.
        kind: String,
        /// What the step needs.
        expected: String,
    },
    /// The grant was given by another Party.
    #[error("grant {grant} was given by {provider}; only it can revoke it")]
    NotTheGrantor {
        /// The grant.
        grant: RecordId,
        /// Who gave it.
        provider: PartyId,
    },
    /// The grant is revoked already.
    #[error("grant {grant} is already revoked")]
    RevokedAlready {
        /// The grant.
        grant: RecordId,
    },
    /// The node failed (not a refusal).
    #[serde(skip)]
    #[error(transparent)]
    Failed(EngineError),
}

/// Why the deletion of an item is refused (`DELETE /api/items/{id}`).
#[derive(Clone, Debug, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum DeleteRefusal {
    /// No item of that id (or prefix) is held here.
    #[error("no item {id} is held here")]
    NoItem {
        /// The id or prefix given.
        id: String,
    },
    /// The prefix names several items.
    #[error("{prefix:?} matches {count} items; give more of the id")]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// How many match.
        count: usize,
    },
    /// Only an item's provider deletes it.
    #[error("item {item} was provided by {provider}; only its provider can delete it")]
    NotItsProvider {
        /// The item.
        item: ItemId,
        /// Its provider.
        provider: PartyId,
    },
    /// The node failed (not a refusal).
    #[serde(skip)]
    #[error(transparent)]
    Failed(EngineError),
    /// Revoking one of the item's grants first was refused (not expected: only open grants of
    /// our own item are revoked).
    #[serde(untagged)]
    #[error(transparent)]
    Revoke(RevokeRefusal),
}

impl From<EngineError> for RequestRefusal {
    fn from(e: EngineError) -> Self {
        match item_lookup(e) {
            Ok((id, None)) => RequestRefusal::NoItem { id },
            Ok((prefix, Some(count))) => RequestRefusal::Ambiguous { prefix, count },
            Err(e) => RequestRefusal::Failed(e),
        }
    }
}

impl From<EngineError> for DeleteRefusal {
    fn from(e: EngineError) -> Self {
        match item_lookup(e) {
            Ok((id, None)) => DeleteRefusal::NoItem { id },
            Ok((prefix, Some(count))) => DeleteRefusal::Ambiguous { prefix, count },
            Err(e) => DeleteRefusal::Failed(e),
        }
    }
}

impl From<EngineError> for AnswerRefusal {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NoItem(id) => AnswerRefusal::NoItem { id },
            e => AnswerRefusal::Failed(e),
        }
    }
}

impl From<EngineError> for RevokeRefusal {
    fn from(e: EngineError) -> Self {
        RevokeRefusal::Failed(e)
    }
}

impl From<Lookup> for AnswerRefusal {
    fn from(l: Lookup) -> Self {
        match l {
            Lookup::Unknown(id) => AnswerRefusal::ConsentUnknown { id },
            Lookup::Ambiguous(prefix, count) => AnswerRefusal::Ambiguous { prefix, count },
        }
    }
}

impl From<Lookup> for RevokeRefusal {
    fn from(l: Lookup) -> Self {
        match l {
            Lookup::Unknown(id) => RevokeRefusal::ConsentUnknown { id },
            Lookup::Ambiguous(prefix, count) => RevokeRefusal::Ambiguous { prefix, count },
        }
    }
}

impl From<RevokeRefusal> for DeleteRefusal {
    fn from(r: RevokeRefusal) -> Self {
        match r {
            RevokeRefusal::Failed(e) => DeleteRefusal::Failed(e),
            r => DeleteRefusal::Revoke(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_keep_the_names_the_clients_know() {
        let v = serde_json::to_value(AnswerRefusal::ConsentUnknown { id: "abcd".into() }).unwrap();
        assert_eq!(v, serde_json::json!({ "code": "consent-unknown", "id": "abcd" }));
        let v = serde_json::to_value(RequestRefusal::PurposeMissing).unwrap();
        assert_eq!(v, serde_json::json!({ "code": "purpose-missing" }));
        let g = RecordId([1; 16]);
        let v = serde_json::to_value(DeleteRefusal::Revoke(RevokeRefusal::RevokedAlready { grant: g })).unwrap();
        assert_eq!(v, serde_json::json!({ "code": "revoked-already", "grant": g.to_string() }));
        // A failure is not a refusal: it has no code to serialise.
        assert!(serde_json::to_value(RevokeRefusal::Failed(EngineError::Stopped)).is_err());
    }

    #[test]
    fn the_words_name_no_command_and_no_flag() {
        let all = [
            RequestRefusal::PurposeMissing.to_string(),
            AnswerRefusal::ExpiryInvalid { value: "soon".into() }.to_string(),
            AnswerRefusal::ConsentUnknown { id: "abcd".into() }.to_string(),
            DeleteRefusal::NoItem { id: "abcd".into() }.to_string(),
        ];
        for w in all {
            assert!(!w.contains("--") && !w.contains("liaison "), "{w}");
        }
    }
}
