//! Use cases over joint working groups: set one up under a mandate, change it.

use super::{Common, Created, Ctx};
use crate::config::MandatedAction;
use crate::engine::EngineHandle;
use crate::workspace::DocKind;
use crate::workspace::group::{self, Group, GroupPatch, NewGroup};

/// Why a use case over a working group is refused: a mandate's refusals are among the common ones.
pub type GroupRefusal = Common;

/// Sets up a working group, citing a mandate of our Party in force when the policy wants one.
pub async fn create_group(engine: &EngineHandle, who: &Ctx, input: NewGroup) -> Result<Created, GroupRefusal> {
    let ctx = who.change.clone();
    let id = engine
        .write(move |c| {
            c.check_mandate(MandatedAction::GroupCreate, input.mandate_ref.as_deref())?;
            c.create(DocKind::Group, |d| group::create(d, &ctx, &input))
        })
        .await?;
    Ok(Created { id: id.to_string() })
}

/// Changes a working group; answers with it as it then stands.
pub async fn update_group(
    engine: &EngineHandle,
    who: &Ctx,
    group: String,
    input: GroupPatch,
) -> Result<Group, GroupRefusal> {
    let ctx = who.change.clone();
    Ok(engine
        .write(move |c| {
            let id = c.resolve(DocKind::Group, &group)?;
            // A cited mandate must be one of this Party's, in force, as when a group is set up.
            if let Some(r) = input.mandate_ref.as_deref().filter(|r| !r.trim().is_empty()) {
                c.check_mandate(MandatedAction::GroupCreate, Some(r))?;
            }
            c.change(id, |d| group::update(d, &ctx, &input))?;
            Ok(group::read(c.doc(id)?, &id.to_string())?)
        })
        .await?)
}
