//! Use cases over liaison communications: start a thread with its first message, post a reply.

use serde::Deserialize;

use super::{Common, Created, Ctx};
use crate::engine::{Core, EngineError, EngineHandle};
use crate::ids::DocId;
use crate::workspace::DocKind;
use crate::workspace::thread::Thread;
use crate::workspace::titles::Titles;

/// Why a use case over a thread is refused: only what any use case can meet.
pub type ThreadRefusal = Common;

/// A new thread with its first message.
#[derive(Clone, Debug, Deserialize)]
pub struct NewThread {
    /// Subject as first written (may be empty when a title per language is given).
    #[serde(default)]
    pub subject: String,
    /// The subject in English and in Russian.
    #[serde(flatten)]
    pub titles: Titles,
    /// First message.
    pub text: String,
    /// Items the first message attaches (ids or unique prefixes of items held here).
    #[serde(default)]
    pub attach: Vec<String>,
}

/// Starts a thread with its first message, ours.
pub async fn start_thread(engine: &EngineHandle, who: &Ctx, input: NewThread) -> Result<Created, ThreadRefusal> {
    let ctx = who.change.clone();
    let id = engine
        .write(move |c| c.start_thread_with(&ctx, &input.subject, &input.titles, &input.text, &input.attach))
        .await?;
    Ok(Created { id: id.to_string() })
}

/// A reply.
#[derive(Clone, Debug, Deserialize)]
pub struct NewMessage {
    /// Body.
    pub text: String,
    /// Items it attaches (ids or unique prefixes of items held here).
    #[serde(default)]
    pub attach: Vec<String>,
}

/// Posts a message of ours to a thread; answers with the thread as it then stands, its
/// attachments as the caller may see them.
pub async fn post_message(
    engine: &EngineHandle,
    who: &Ctx,
    thread: String,
    input: NewMessage,
) -> Result<Thread, ThreadRefusal> {
    let may_read = super::meetings::reads_items(who.role);
    let ctx = who.change.clone();
    Ok(engine
        .write(move |c| {
            let id = c.resolve(DocKind::Thread, &thread)?;
            c.post_message_with(&ctx, id, &input.text, &input.attach)?;
            thread_for(c, id, may_read)
        })
        .await?)
}

/// A thread with its messages' attachments filled in for the caller.
fn thread_for(c: &mut Core, id: DocId, may_read: bool) -> Result<Thread, EngineError> {
    let mut t = c.read_thread(id)?;
    for m in &mut t.messages {
        c.fill_attachments(&mut m.attachments, may_read)?;
    }
    Ok(t)
}
