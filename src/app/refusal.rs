//! The refusals every use case can meet (a document not found, a prefix of several, a role too
//! low, the store failing, ...), shared by the use cases' own refusal enums, and how an engine
//! error becomes one.

use std::sync::Arc;

use serde::Serialize;

use crate::accounts::Role;
use crate::engine::{EngineError, ItemRefusal, Refusal as EngineRefusal};
use crate::workspace::{DocKind, WorkspaceError};

/// What kind of "no" a refusal is: the API answers each with its status, the CLI exits by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Names something that is not there.
    NotFound,
    /// The request itself is unclear (a prefix of several ids).
    BadRequest,
    /// The caller, or the caller's Party, may not do it.
    Forbidden,
    /// The state of a record does not allow it.
    Conflict,
    /// The input, or the document's content, does not allow it.
    Unprocessable,
    /// The node cannot do it now (store failed, shutting down); nothing was kept.
    Unavailable,
    /// Something on the node's side went wrong.
    Failed,
}

/// A refusal any use case can meet.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "kebab-case")]
pub enum Common {
    /// No document of that kind has that id (or prefix).
    NotFound {
        /// The kind asked for.
        kind: DocKind,
        /// The id or prefix given.
        id: String,
    },
    /// No entry (provision, suggestion, officer, ...) of that id in the document.
    NoSuchEntry {
        /// What was looked for.
        what: &'static str,
        /// The id given.
        id: String,
    },
    /// The prefix matches several.
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// How many match.
        count: usize,
    },
    /// The caller's role does not allow it.
    RoleRequired {
        /// The role it needs.
        need: Role,
        /// The caller's.
        role: Role,
    },
    /// An input value is not acceptable (a time, a length, a name).
    Invalid {
        /// The field, as the API names it.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No item of that id (or prefix) is held here (to attach it).
    NoItem {
        /// The id or prefix given.
        id: String,
    },
    /// The store failed; nothing of the request was kept.
    StoreFailed {
        /// The store's error, for the log.
        #[serde(skip)]
        detail: String,
    },
    /// The node is shutting down.
    Stopped,
    /// A refusal still given as a sentence by the part of the engine that made it.
    Refused {
        /// The engine's sentence.
        #[serde(skip)]
        detail: String,
    },
    /// Something on the node's side went wrong (a document that does not read).
    Failed {
        /// What, for the log.
        #[serde(skip)]
        detail: String,
    },
    /// The rule of who may write what refuses it (the other Party's record, an executed draft).
    #[serde(untagged)]
    Rule(crate::authority::Refusal),
    /// A mandate, consent or item refusal of the engine.
    #[serde(untagged)]
    Engine(EngineRefusal),
    /// An item refused by a rule.
    #[serde(untagged)]
    Item(ItemRefusal),
}

impl Common {
    /// What kind of "no" it is.
    pub fn class(&self) -> Class {
        match self {
            Common::NotFound { .. } | Common::NoSuchEntry { .. } | Common::NoItem { .. } => Class::NotFound,
            Common::Ambiguous { .. } => Class::BadRequest,
            Common::RoleRequired { .. } | Common::Rule(_) => Class::Forbidden,
            Common::Invalid { .. } => Class::Unprocessable,
            Common::StoreFailed { .. } | Common::Stopped => Class::Unavailable,
            Common::Refused { .. } => Class::Conflict,
            Common::Failed { .. } => Class::Failed,
            Common::Engine(r) if r.is_mandate() => Class::Forbidden,
            Common::Engine(r) if r.is_not_found() => Class::NotFound,
            Common::Engine(_) => Class::Conflict,
            Common::Item(ItemRefusal::ThirdPartyNode) => Class::Forbidden,
            Common::Item(_) => Class::Unprocessable,
        }
    }
}

impl From<EngineError> for Common {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotFound { kind, id } => Common::NotFound { kind, id },
            EngineError::Ambiguous { prefix, count } => Common::Ambiguous { prefix, count },
            EngineError::Workspace(w) => Common::from(w),
            EngineError::Load(e) => Common::Failed { detail: e.to_string() },
            EngineError::Store(e) => Common::StoreFailed { detail: e.to_string() },
            EngineError::Stopped => Common::Stopped,
            EngineError::NoItem(id) => Common::NoItem { id },
            // Failures of the node itself (its keys, a stored item that does not open), not
            // refusals of what the officer asked.
            e @ (EngineError::Vault(_)
            | EngineError::ChunkMissing { .. }
            | EngineError::Signing(_)
            | EngineError::Keys(_)
            | EngineError::NodeKeyShape
            | EngineError::Certificate(_)) => Common::Failed { detail: e.to_string() },
            EngineError::Refused(r) => Common::Engine(r),
            EngineError::ItemRefused(r) => Common::Item(r),
        }
    }
}

impl From<Arc<WorkspaceError>> for Common {
    fn from(w: Arc<WorkspaceError>) -> Self {
        match w.as_ref() {
            WorkspaceError::Invalid { field, reason } => Common::Invalid { field, reason: reason.clone() },
            WorkspaceError::NoSuchEntry { what, id } => Common::NoSuchEntry { what, id: id.clone() },
            WorkspaceError::Refused(r) => Common::Rule(r.clone()),
            // The drafts' own refusals reach here only from a use case that is not about a
            // draft, which would be a bug: said as a failure, with the words for the log.
            WorkspaceError::Malformed(_)
            | WorkspaceError::Automerge(_)
            | WorkspaceError::Workflow(_)
            | WorkspaceError::Edit(_) => Common::Failed { detail: w.to_string() },
        }
    }
}

impl From<WorkspaceError> for Common {
    fn from(w: WorkspaceError) -> Self {
        Common::from(Arc::new(w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_refusals_are_codes_with_parameters() {
        let v = serde_json::to_value(Common::NotFound { kind: DocKind::Group, id: "abcd".into() }).unwrap();
        assert_eq!(v, serde_json::json!({ "code": "not-found", "kind": "group", "id": "abcd" }));
        let v = serde_json::to_value(Common::RoleRequired { need: Role::Liaison, role: Role::Member }).unwrap();
        assert_eq!(v, serde_json::json!({ "code": "role-required", "need": "liaison", "role": "member" }));
        // The detail is for the log, not for the client.
        let v = serde_json::to_value(Common::StoreFailed { detail: "disk full".into() }).unwrap();
        assert_eq!(v, serde_json::json!({ "code": "store-failed" }));
        // A wrapped refusal keeps its own code.
        let v = serde_json::to_value(Common::Rule(crate::authority::Refusal::Frozen)).unwrap();
        assert_eq!(v, serde_json::json!({ "code": "frozen" }));
    }
}
