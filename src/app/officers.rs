//! Use cases over our Party's liaison officers: assign one, end an assignment. A Party assigns
//! and ends its own officers only.

use super::{Common, Created, Ctx};
use crate::engine::EngineHandle;
use crate::workspace::registry::{NewOfficer, Officer};

/// Why a use case over the officers' registry is refused (the other Party's officer is the
/// rule of who may write what: `not-its-party`).
pub type OfficerRefusal = Common;

/// Records an assignment of one of our Party's officers (citing a mandate in force if the
/// policy wants one).
pub async fn assign_officer(engine: &EngineHandle, who: &Ctx, input: NewOfficer) -> Result<Created, OfficerRefusal> {
    let ctx = who.change.clone();
    let id = engine.write(move |c| c.assign_officer(&ctx, &input)).await?;
    Ok(Created { id })
}

/// Ends an assignment of our Party; answers with every officer of both Parties as they then
/// stand.
pub async fn end_officer(engine: &EngineHandle, who: &Ctx, officer: String) -> Result<Vec<Officer>, OfficerRefusal> {
    let ctx = who.change.clone();
    Ok(engine
        .write(move |c| {
            c.end_officer(&ctx, &officer)?;
            c.officers()
        })
        .await?)
}
