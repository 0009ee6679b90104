//! Liaison communications: threads of messages between the Parties' liaison officers, each
//! message attributed and timestamped. Messages are never edited once sent.
//!
//! A thread is a joint document with its subject (layout: `kind`, `schema`, `subject`,
//! `title_en`?, `title_ru`? (the subject in each language, see [`super::titles`]),
//! `created_by`, `created_at`), and each Party's messages are in its annex of the thread
//! (`posts: {id: {text, by, at}}`), which only that Party writes: nobody can post in the other
//! Party's name, nor edit or remove its messages. (Before authentication the messages were in
//! the thread document, under `messages`; each Party's node copies its own into its annex when
//! it upgrades.)

use automerge::{Automerge, ROOT};
use serde::{Deserialize, Serialize};

use super::attachments::{self, Attachment};
use super::party_docs::party_of;
use super::titles::Titles;
use super::util::{get_author, get_str, list_maps, map_maps, req_str};
use super::{Author, ChangeCtx, DocKind, Result, WorkspaceError, change, init_root};
use crate::authority::Refusal;
use crate::ids::random_hex;

/// Longest message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// A thread as officers see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    /// Document id.
    pub id: String,
    /// Subject as first written (older nodes know only this one).
    pub subject: String,
    /// The subject in English and in Russian, where given.
    #[serde(flatten)]
    pub titles: Titles,
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
    /// Provided items it cites (see [`super::attachments`]).
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// Refuses an empty or over-long message.
pub(crate) fn check_body(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(WorkspaceError::Invalid { field: "text", reason: "the message is empty".into() });
    }
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(WorkspaceError::Invalid { field: "text", reason: format!("is over {MAX_MESSAGE_BYTES} bytes") });
    }
    Ok(())
}

/// Starts a thread (its subject; the first message is [`post`]ed to the author's annex).
/// `subject` may be empty when `titles` gives one.
pub fn start(doc: &mut Automerge, ctx: &ChangeCtx, subject: &str, titles: &Titles) -> Result<()> {
    let subject = titles.own_title("subject", subject)?;
    change(doc, ctx, |tx| {
        init_root(tx, DocKind::Thread, ctx)?;
        tx.put_str(&ROOT, "subject", &subject)?;
        titles.write_new(tx, &ROOT)
    })
}

/// Adds a message of the author's Party to its annex of a thread; returns its id.
pub fn post(annex: &mut Automerge, ctx: &ChangeCtx, text: &str) -> Result<String> {
    post_with(annex, ctx, text, &[])
}

/// [`post`], citing provided items by full id (only the ids go into the message).
pub fn post_with(annex: &mut Automerge, ctx: &ChangeCtx, text: &str, attach: &[String]) -> Result<String> {
    check_body(text)?;
    let attach = attachments::check(attach, 0)?;
    let owner = party_of(annex).ok_or_else(|| WorkspaceError::Malformed("an annex that names no Party".into()))?;
    if owner != ctx.author.party {
        return Err(WorkspaceError::Refused(Refusal::NotItsParty {
            kind: DocKind::Annex,
            owner,
            writer: ctx.author.party.clone(),
        }));
    }
    let id = random_hex(6);
    change(annex, ctx, |tx| {
        let posts = tx.map(&ROOT, "posts")?;
        let m = tx.put_map(&posts, &id)?;
        tx.put_str(&m, "by", &ctx.author.officer)?;
        tx.put_str(&m, "at", &ctx.now_str())?;
        tx.put_str(&m, "text", text)?;
        attachments::put(tx, &m, &attach, ctx)
    })?;
    Ok(id)
}

/// Reads a thread with the messages in its Parties' annexes, in the order they were sent.
pub fn read(doc: &Automerge, annexes: &[&Automerge], id: &str) -> Result<Thread> {
    let mut messages = Vec::new();
    for a in annexes {
        let Some(party) = party_of(*a) else { continue };
        for (mid, m) in map_maps(*a, &ROOT, "posts")? {
            messages.push(Message {
                id: mid,
                author: Some(Author { officer: get_str(*a, &m, "by")?.unwrap_or_default(), party: party.clone() }),
                at: req_str(*a, &m, "at")?,
                text: req_str(*a, &m, "text")?,
                attachments: attachments::read(*a, &m)?,
            });
        }
    }
    messages.sort_by(|a, b| (&a.at, &a.id).cmp(&(&b.at, &b.id)));
    Ok(Thread {
        id: id.to_string(),
        subject: req_str(doc, &ROOT, "subject")?,
        titles: Titles::read(doc, &ROOT)?,
        created_by: get_author(doc, &ROOT, "created_by")?,
        created_at: get_str(doc, &ROOT, "created_at")?,
        messages,
    })
}

/// Copies the author's Party's messages from the thread document (where they were kept before
/// authentication) into its annex, under the same ids. Returns how many it copied.
pub fn migrate_from_legacy(annex: &mut Automerge, thread: &Automerge, ctx: &ChangeCtx) -> Result<usize> {
    let mine: Vec<(String, String, String, String)> = list_maps(thread, &ROOT, "messages")?
        .iter()
        .filter_map(|m| {
            let a = get_author(thread, m, "author").ok().flatten()?;
            (a.party == ctx.author.party).then(|| {
                Some((
                    req_str(thread, m, "id").ok()?,
                    a.officer,
                    req_str(thread, m, "at").ok()?,
                    req_str(thread, m, "text").ok()?,
                ))
            })?
        })
        .collect();
    if mine.is_empty() {
        return Ok(0);
    }
    change(annex, ctx, |tx| {
        let posts = tx.map(&ROOT, "posts")?;
        for (id, by, at, text) in &mine {
            let m = tx.put_map(&posts, id)?;
            tx.put_str(&m, "by", by)?;
            tx.put_str(&m, "at", at)?;
            tx.put_str(&m, "text", text)?;
        }
        Ok(())
    })?;
    Ok(mine.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::testing::{ctx, sync_pair};

    #[test]
    fn messages_from_both_sides_are_kept_and_attributed_to_their_party() {
        use crate::workspace::party_docs::PartyDoc;
        let mut t = Automerge::new();
        start(&mut t, &ctx("ana", "cica"), "Exchange of lists", &Titles::default()).unwrap();
        let tid = crate::ids::DocId([9; 16]);
        let annex = |p: &str| {
            let mut d = PartyDoc::Annex(tid).genesis(&p.parse().unwrap()).unwrap();
            d.set_actor(automerge::ActorId::random());
            d
        };
        let (mut a1, mut a2, mut b) = (annex("cica"), annex("cica"), annex("sco-rats"));
        post(&mut a1, &ctx("ana", "cica"), "Please find our list.").unwrap();
        post(&mut a2, &ctx("aigul", "cica"), "Also the annex.").unwrap();
        post(&mut b, &ctx("ivan", "sco-rats"), "Received, thank you.").unwrap();
        sync_pair(&mut a1, &mut a2);
        let th = read(&t, &[&a1, &b], "t").unwrap();
        assert_eq!(th.messages.len(), 3);
        assert!(th.messages.iter().any(|m| m.author.as_ref().unwrap().party.as_str() == "sco-rats"));
        assert!(post(&mut a1, &ctx("ana", "cica"), "  ").is_err());
        // Nobody posts into the other Party's annex.
        assert!(matches!(post(&mut b, &ctx("ana", "cica"), "forged"), Err(WorkspaceError::Refused(_))));
    }
}
