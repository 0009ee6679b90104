//! Liaison communications: threads of messages between the Parties' liaison officers, each
//! message attributed and timestamped. Messages are never edited once sent.
//!
//! Layout: `kind`, `schema`, `subject`, `created_by`, `created_at`,
//! `messages: [{id, author, at, text}]`.

use automerge::{Automerge, ROOT};
use serde::{Deserialize, Serialize};

use super::util::{get_author, get_str, list_maps, req_str};
use super::{Author, ChangeCtx, DocKind, Result, WorkspaceError, change, check_line, init_root};
use crate::ids::random_hex;

/// Longest message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// A thread as officers see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    /// Document id.
    pub id: String,
    /// Subject.
    pub subject: String,
    /// Who started it.
    pub created_by: Option<Author>,
    /// When.
    pub created_at: Option<String>,
    /// The messages, in the order they were sent (concurrent ones in a stable order).
    pub messages: Vec<Message>,
}

/// One message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Id within the thread.
    pub id: String,
    /// Sender.
    pub author: Option<Author>,
    /// When it was sent.
    pub at: String,
    /// Body.
    pub text: String,
}

fn check_body(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(WorkspaceError::Invalid { field: "text", reason: "the message is empty".into() });
    }
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(WorkspaceError::Invalid { field: "text", reason: format!("is over {MAX_MESSAGE_BYTES} bytes") });
    }
    Ok(())
}

/// Starts a thread with its first message.
pub fn start(doc: &mut Automerge, ctx: &ChangeCtx, subject: &str, text: &str) -> Result<()> {
    check_line("subject", subject)?;
    check_body(text)?;
    change(doc, ctx, |tx| {
        init_root(tx, DocKind::Thread, ctx)?;
        tx.put_str(&ROOT, "subject", subject)?;
        let list = tx.list(&ROOT, "messages")?;
        push(tx, &list, ctx, text)
    })
}

/// Adds a message to a thread.
pub fn post(doc: &mut Automerge, ctx: &ChangeCtx, text: &str) -> Result<()> {
    check_body(text)?;
    change(doc, ctx, |tx| {
        let list = tx.list(&ROOT, "messages")?;
        push(tx, &list, ctx, text)
    })
}

fn push(tx: &mut super::Tx<'_, '_>, list: &automerge::ObjId, ctx: &ChangeCtx, text: &str) -> Result<()> {
    let m = tx.push_map(list)?;
    tx.put_str(&m, "id", &random_hex(4))?;
    tx.put_author(&m, "author", &ctx.author)?;
    tx.put_str(&m, "at", &ctx.now_str())?;
    tx.put_str(&m, "text", text)
}

/// Reads a thread.
pub fn read(doc: &Automerge, id: &str) -> Result<Thread> {
    let messages = list_maps(doc, &ROOT, "messages")?
        .iter()
        .map(|m| {
            Ok(Message {
                id: req_str(doc, m, "id")?,
                author: get_author(doc, m, "author")?,
                at: req_str(doc, m, "at")?,
                text: req_str(doc, m, "text")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Thread {
        id: id.to_string(),
        subject: req_str(doc, &ROOT, "subject")?,
        created_by: get_author(doc, &ROOT, "created_by")?,
        created_at: get_str(doc, &ROOT, "created_at")?,
        messages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::testing::{ctx, sync_pair};

    #[test]
    fn replies_from_both_sides_are_kept_and_attributed() {
        let mut a = Automerge::new();
        start(&mut a, &ctx("ana", "cica"), "Exchange of lists", "Please find our list.").unwrap();
        let mut b = a.fork();
        post(&mut a, &ctx("ana", "cica"), "Also the annex.").unwrap();
        post(&mut b, &ctx("ivan", "sco-rats"), "Received, thank you.").unwrap();
        sync_pair(&mut a, &mut b);
        let t = read(&a, "t").unwrap();
        assert_eq!(t.messages.len(), 3);
        assert_eq!(t, read(&b, "t").unwrap());
        assert!(t.messages.iter().any(|m| m.author.as_ref().unwrap().party.as_str() == "sco-rats"));
        assert!(post(&mut a, &ctx("ana", "cica"), "  ").is_err());
    }
}
