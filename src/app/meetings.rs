//! Use cases over joint working meetings and consultations: set one up, change it.

use super::{Common, Created, Ctx};
use crate::accounts::Role;
use crate::engine::{Core, EngineError, EngineHandle};
use crate::ids::DocId;
use crate::workspace::DocKind;
use crate::workspace::meeting::{self, Meeting, MeetingPatch, NewMeeting};

/// Why a use case over a meeting is refused: only what any use case can meet.
pub type MeetingRefusal = Common;

/// Sets up a meeting.
pub async fn create_meeting(engine: &EngineHandle, who: &Ctx, input: NewMeeting) -> Result<Created, MeetingRefusal> {
    let ctx = who.change.clone();
    let id = engine.write(move |c| c.create(DocKind::Meeting, |d| meeting::create(d, &ctx, &input))).await?;
    Ok(Created { id: id.to_string() })
}

/// Changes a meeting (its times, agenda, participants, attachments); answers with the meeting as
/// it then stands, its attachments as the caller may see them.
pub async fn update_meeting(
    engine: &EngineHandle,
    who: &Ctx,
    meeting: String,
    input: MeetingPatch,
) -> Result<Meeting, MeetingRefusal> {
    // Attaching cites a provided item: the role that handles items does it.
    if !input.attach.is_empty() || !input.detach.is_empty() {
        who.require(Role::Liaison)?;
    }
    let may_read = reads_items(who.role);
    let ctx = who.change.clone();
    Ok(engine
        .write(move |c| {
            let mut patch = input;
            let id = c.resolve(DocKind::Meeting, &meeting)?;
            patch.attach = patch.attach.iter().map(|i| c.item_to_attach(i)).collect::<Result<_, _>>()?;
            c.change(id, |d| meeting::update(d, &ctx, &patch))?;
            meeting_for(c, id, may_read)
        })
        .await?)
}

/// Whether a role reads provided items: then attachments show their titles.
pub(super) fn reads_items(role: Role) -> bool {
    role >= Role::Liaison
}

/// A meeting with its attachments filled in for the caller.
fn meeting_for(c: &mut Core, id: DocId, may_read: bool) -> Result<Meeting, EngineError> {
    let mut m = meeting::read(c.doc(id)?, &id.to_string())?;
    c.fill_attachments(&mut m.attachments, may_read)?;
    Ok(m)
}
