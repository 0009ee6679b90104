//! Member-State mandates of our Party: recorded, amended, withdrawn. They live in our Party's
//! mandates document, so what refuses them is the workspace's rule of who may write what.

use serde::Deserialize;

use super::Who;
use crate::engine::{EngineError, EngineHandle};
use crate::ids::PartyId;
use crate::workspace::mandates::{Mandate, NewMandate};
use crate::workspace::{Author, ChangeCtx};

/// A change to one of our Party's mandates.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum MandateChange {
    /// Withdraw it: from now on it is not in force.
    Withdraw,
    /// Amend its scope.
    Amend {
        /// The new scope.
        scope: String,
    },
}

fn ctx(who: &Who, party: PartyId) -> ChangeCtx {
    ChangeCtx { author: Author { officer: who.officer.clone(), party }, now: chrono::Utc::now() }
}

/// Records a mandate of our Party (`party`); answers every mandate of both Parties.
pub async fn add_mandate(
    engine: &EngineHandle,
    who: &Who,
    party: PartyId,
    new: NewMandate,
) -> Result<Vec<Mandate>, EngineError> {
    let ctx = ctx(who, party);
    engine
        .write(move |c| {
            c.add_mandate(&ctx, &new)?;
            c.mandates()
        })
        .await
}

/// Withdraws or amends a mandate of our Party (`party`); answers every mandate of both Parties.
pub async fn change_mandate(
    engine: &EngineHandle,
    who: &Who,
    party: PartyId,
    reference: String,
    change: MandateChange,
) -> Result<Vec<Mandate>, EngineError> {
    let ctx = ctx(who, party);
    engine
        .write(move |c| {
            match change {
                MandateChange::Withdraw => c.withdraw_mandate(&ctx, &reference)?,
                MandateChange::Amend { scope } => c.amend_mandate(&ctx, &reference, &scope)?,
            }
            c.mandates()
        })
        .await
}
