//! The shared workspace: the automerge documents the Parties replicate.
//!
//! One document per meeting, working group, draft and communication thread, plus one registry
//! of liaison officers. Every document's root carries `kind` and `schema`, so that a node can
//! tell what a document is without knowing where it came from. The code here is pure and
//! synchronous: it turns officers' requests into automerge changes and documents into views;
//! it knows nothing of disks or networks.

pub mod attachments;
pub mod draft;
pub mod group;
pub mod history;
pub mod mandates;
pub mod meeting;
pub mod party_docs;
pub mod registry;
pub mod thread;
pub mod titles;
pub(crate) mod util;
pub mod word_diff;

use std::fmt;
use std::str::FromStr;

use automerge::{ActorId, Automerge, AutomergeError, ROOT, ReadDoc, transaction::CommitOptions};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::PartyId;

pub use util::Tx;

/// Version of the document layout written by this code.
pub const SCHEMA: u64 = 1;

/// What a workspace document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocKind {
    /// The liaison officers' registry (one per workspace).
    Registry,
    /// A joint working meeting or consultation.
    Meeting,
    /// A joint working group.
    Group,
    /// A draft of a working group.
    Draft,
    /// A thread of liaison communications.
    Thread,
    /// The Member-State mandates the Parties recorded (one per workspace).
    Mandates,
    /// A Party's record on a draft or a thread: what only that Party writes about it.
    Annex,
}

impl DocKind {
    /// Every kind.
    pub const ALL: [DocKind; 7] = [
        DocKind::Registry,
        DocKind::Meeting,
        DocKind::Group,
        DocKind::Draft,
        DocKind::Thread,
        DocKind::Mandates,
        DocKind::Annex,
    ];

    /// The name stored in documents and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Registry => "registry",
            DocKind::Meeting => "meeting",
            DocKind::Group => "group",
            DocKind::Draft => "draft",
            DocKind::Thread => "thread",
            DocKind::Mandates => "mandates",
            DocKind::Annex => "annex",
        }
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DocKind {
    type Err = WorkspaceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| WorkspaceError::Malformed(format!("unknown document kind {s:?}")))
    }
}

/// Who made a change: an officer of a Party, at a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// The officer's name or account.
    pub officer: String,
    /// The officer's Party.
    pub party: PartyId,
}

/// A request to the workspace that cannot be carried out, or a document that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// An input value is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as the CLI and API name it.
        field: &'static str,
        /// What is wrong and what would be right.
        reason: String,
    },
    /// A referenced entry (agenda item, member) does not exist in the document.
    #[error("no {what} with id {id:?} in this document")]
    NoSuchEntry {
        /// What was looked for.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The document does not have the expected layout (it may come from a broken peer).
    #[error("malformed document: {0}")]
    Malformed(String),
    /// automerge refused an operation.
    #[error("automerge: {0}")]
    Automerge(#[from] AutomergeError),
    /// The rule of who may write what refuses it.
    #[error("{0}")]
    Refused(#[from] crate::authority::Refusal),
    /// A step of a draft's workflow that the draft's state does not allow.
    #[error(transparent)]
    Workflow(#[from] draft::WorkflowRefusal),
    /// An edit of a draft that its content does not allow (a splice out of range, a language
    /// it is not in, a version it never had, ...).
    #[error(transparent)]
    Edit(#[from] draft::EditRefusal),
}

/// Result of workspace operations.
pub type Result<T, E = WorkspaceError> = std::result::Result<T, E>;

/// The context of one change: who and when. Passed in, so that the domain code stays pure.
#[derive(Clone, Debug)]
pub struct ChangeCtx {
    /// Who is making the change.
    pub author: Author,
    /// When, by the node's clock.
    pub now: DateTime<Utc>,
}

impl ChangeCtx {
    /// The time as stored in documents.
    pub fn now_str(&self) -> String {
        self.now.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

/// Runs `f` in one automerge transaction attributed to `ctx`: all of it lands or none of it.
pub fn change<T>(doc: &mut Automerge, ctx: &ChangeCtx, f: impl FnOnce(&mut Tx<'_, '_>) -> Result<T>) -> Result<T> {
    let message = format!("{} ({})", ctx.author.officer, ctx.author.party);
    let time = ctx.now.timestamp();
    doc.transact_with(
        |_| CommitOptions::default().with_message(message).with_time(time),
        |tx| {
            let mut tx = Tx::new(tx);
            f(&mut tx)
        },
    )
    .map(|ok| ok.result)
    .map_err(|fail| fail.error)
}

/// The kind a document declares, if it declares a known one.
pub fn kind_of(doc: &Automerge) -> Option<DocKind> {
    match doc.get(ROOT, "kind") {
        Ok(Some((v, _))) => v.as_str().and_then(|s| s.parse().ok()),
        _ => None,
    }
}

/// Writes the fields every document root carries.
fn init_root(tx: &mut Tx<'_, '_>, kind: DocKind, ctx: &ChangeCtx) -> Result<()> {
    tx.put_str(&ROOT, "kind", kind.as_str())?;
    tx.put_u64(&ROOT, "schema", SCHEMA)?;
    tx.put_author(&ROOT, "created_by", &ctx.author)?;
    tx.put_str(&ROOT, "created_at", &ctx.now_str())?;
    Ok(())
}

/// Marks who changed a document last.
fn touch(tx: &mut Tx<'_, '_>, ctx: &ChangeCtx) -> Result<()> {
    tx.put_author(&ROOT, "updated_by", &ctx.author)?;
    tx.put_str(&ROOT, "updated_at", &ctx.now_str())
}

/// The first change of a document every node creates on its own (the registry, the mandates):
/// the same actor, time and content everywhere, so that all nodes make the very same change
/// (same hash) and hold one document from the start. The root gets `kind`, `schema` and an
/// empty map under `map`.
pub fn genesis(kind: DocKind, map: &str) -> Result<Automerge> {
    let mut doc = Automerge::new();
    doc.set_actor(ActorId::from(b"liaison-genesis!".as_slice()));
    doc.transact_with(
        |_| automerge::transaction::CommitOptions::default().with_time(0).with_message("genesis"),
        |tx| {
            use automerge::transaction::Transactable;
            tx.put(ROOT, "kind", kind.as_str())?;
            tx.put(ROOT, "schema", SCHEMA)?;
            tx.put_object(ROOT, map, automerge::ObjType::Map)?;
            Ok::<_, automerge::AutomergeError>(())
        },
    )
    .map_err(|f| WorkspaceError::Automerge(f.error))?;
    Ok(doc)
}

/// Parses an RFC 3339 timestamp given by an officer, naming the field when it is not one.
pub fn parse_time(field: &'static str, s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| WorkspaceError::Invalid {
        field,
        reason: format!("{s:?} is not an RFC 3339 time (like 2026-12-01T09:30:00Z)"),
    })
}

/// Refuses an empty or over-long single-line value.
fn check_line(field: &'static str, s: &str) -> Result<()> {
    if s.trim().is_empty() {
        return Err(WorkspaceError::Invalid { field, reason: "must not be empty".into() });
    }
    if s.chars().count() > 500 {
        return Err(WorkspaceError::Invalid { field, reason: "is longer than 500 characters".into() });
    }
    if s.contains('\n') {
        return Err(WorkspaceError::Invalid { field, reason: "must be one line".into() });
    }
    Ok(())
}

/// Whether a document still reads as what it is. A peer's change can be signed by a writer the
/// rules allow and still break the document's shape (a field of the wrong type, a list that is
/// not one); accepted, it would leave the document unreadable, and unrepairable, for every
/// officer. So the engine refuses a peer's batch after which a document no longer reads.
/// `whole` also reads drafts and a Party's records on them (a document received whole); a draft
/// changed by a peer's live edits is not read whole on every keystroke, to keep them fast.
pub fn check_shape(kind: DocKind, doc: &Automerge, whole: bool) -> Result<()> {
    match kind {
        DocKind::Meeting => meeting::read(doc, "").map(drop),
        DocKind::Group => group::read(doc, "").map(drop),
        DocKind::Thread => thread::read(doc, &[], "").map(drop),
        DocKind::Registry => registry::list(doc).map(drop),
        DocKind::Mandates => mandates::list(doc).map(drop),
        DocKind::Draft if whole => draft::read(doc, "").map(drop),
        DocKind::Draft | DocKind::Annex => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the workspace's tests.
    use super::*;

    pub fn ctx(officer: &str, party: &str) -> ChangeCtx {
        ChangeCtx {
            author: Author { officer: officer.into(), party: party.parse().unwrap() },
            now: DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").unwrap().with_timezone(&Utc),
        }
    }

    /// A new draft in English of `text` (paragraphs become provisions), written by `officer` of
    /// `party`, in group "g", titled "t", with no Parties named.
    pub fn draft_doc(officer: &str, party: &str, text: &str) -> Automerge {
        let mut d = Automerge::new();
        let new = draft::NewDraft {
            titles: Default::default(),
            group: "g".into(),
            title: "t".into(),
            lang: "en".into(),
            text: text.into(),
            languages: vec![],
            parties: vec![],
        };
        draft::create(&mut d, &ctx(officer, party), &new).unwrap();
        d
    }

    /// Brings two documents to the same state through the sync protocol, as two nodes do.
    pub fn sync_pair(a: &mut Automerge, b: &mut Automerge) {
        use automerge::sync::{State, SyncDoc};
        let (mut sa, mut sb) = (State::new(), State::new());
        loop {
            let m1 = a.generate_sync_message(&mut sa);
            if let Some(m) = m1.clone() {
                b.receive_sync_message(&mut sb, m).unwrap();
            }
            let m2 = b.generate_sync_message(&mut sb);
            if let Some(m) = m2.clone() {
                a.receive_sync_message(&mut sa, m).unwrap();
            }
            if m1.is_none() && m2.is_none() {
                break;
            }
        }
    }
}
