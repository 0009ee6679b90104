//! Use cases of provided information: sharing, deleting and asking for items, the provider's
//! consent to pass one to a third party (request, grant, deny, revoke), and the Member-State
//! mandates actions cite.
//!
//! Each runs its checks and its change in one engine job, so that it is durable when it
//! answers `Ok` (see [`EngineHandle::write`]). A refusal is the use case's own enum; a failure
//! of the node (its store, its engine stopping) comes back in that enum's `Failed` variant.

use serde::{Deserialize, Serialize};

use crate::engine::{Core, EngineError, EngineHandle};

mod consent;
mod items;
mod mandates;

pub use consent::{GrantConsent, RequestConsent, deny_consent, grant_consent, request_consent, revoke_consent};
pub use items::{
    MAX_ITEM_BYTES, RequestItem, RequestItemRefusal, Requested, ShareItem, ShareRefusal, base_name, delete_item,
    request_item, share_item,
};
pub use mandates::{MandateChange, add_mandate, change_mandate};

pub use crate::engine::{AnswerRefusal, DeleteRefusal, ItemRefusal, RequestRefusal, RevokeRefusal};

/// Who asks: the officer a change is attributed to (an account's name, or the name the CLI
/// gives with the node's API token).
#[derive(Clone, Debug)]
pub struct Who {
    /// The officer's name, as the audit log and the signed records carry it.
    pub officer: String,
}

/// A signed record made (a consent step, a deletion).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Made {
    /// Its id.
    pub id: String,
}

/// Runs `step` in one engine job and answers once its round has committed. The engine's own
/// failures (it stopped, the store failed) become the refusal enum's `Failed`.
async fn commit<T, R>(
    engine: &EngineHandle,
    step: impl FnOnce(&mut Core) -> Result<T, R> + Send + 'static,
) -> Result<T, R>
where
    T: Send + 'static,
    R: From<EngineError> + Send + 'static,
{
    engine.write(move |c| Ok(step(c))).await.map_err(R::from)?
}
