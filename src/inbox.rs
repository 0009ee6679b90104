//! The officer's inbox: what needs this officer, and what they have not seen yet.
//!
//! | kind | listed while | needs the role | unread until |
//! | --- | --- | --- | --- |
//! | `message` | a thread has messages not by this officer that they have not read | viewer | the thread is read |
//! | `meeting` | a meeting was made or changed by someone else since this officer saw it | viewer | the meeting is read |
//! | `consent` | a consent request waits for this Party's answer | liaison | the request is read |
//! | `approval` | a draft under review waits for this Party's approval of its current text | member | this text is read |
//! | `signature` | an agreed draft waits for this Party's signature | liaison | this text is read |
//! | `stale` | a draft this officer edits has provisions stale in a language | member | these stale provisions are read |
//!
//! Messages and meeting changes leave the list once read; the others are tasks and stay listed
//! (as read) while they wait for this officer, so the unread count says what is new and the list
//! says what is still to do.
//!
//! Read state is per reader: a web session's account, or the node token's caller (the CLI at the
//! node), which is one pseudo-account. It is kept in the node's accounts database
//! (`accounts::Accounts::inbox_marks`) as one [`ReadMark`] per reader and entry key: the version
//! of the entry seen (a thread's message count, a meeting's last change, a draft's content hash,
//! ...). An entry whose version differs from the mark is unread. Nothing of a document's content is
//! kept there, only ids and versions.
//!
//! The API gathers [`Facts`] from what the list routes show (the summaries kept at commit, each
//! draft's and thread's with the [`DraftFacts`] or [`ThreadFacts`] the inbox needs, and the
//! consent records in memory) and hands them to the pure [`build`], which the tests check row by
//! row: an inbox costs what the lists cost, not a read of every document.

use std::borrow::Cow;
use std::collections::HashMap;

mod facts;
mod page;

pub use facts::{DraftFacts, ThreadFacts};
pub use page::{DEFAULT_LIMIT, MAX_LIMIT, Page};

use serde::{Deserialize, Serialize};

use crate::accounts::Role;
use crate::engine::ConsentView;
use crate::ids::PartyId;
use crate::workspace::Author;
use crate::workspace::draft::DraftState;
use crate::workspace::meeting::Meeting;

/// The read-state key of the node token's caller: `:` is never in an account name.
pub const NODE_READER: &str = ":node";

/// Who is reading the inbox.
#[derive(Clone, Debug)]
pub struct Reader {
    /// The key its read state is kept under: the account name, or [`NODE_READER`].
    pub key: String,
    /// The officer name changes are attributed to (to leave out this officer's own messages and
    /// changes), if known.
    pub officer: Option<String>,
    /// This node's Party.
    pub party: PartyId,
    /// What the reader may do: tasks it could not act on are not its tasks.
    pub role: Role,
}

impl Reader {
    fn is(&self, a: Option<&Author>) -> bool {
        match (a, &self.officer) {
            (Some(a), Some(me)) => a.party == self.party && a.officer == *me,
            _ => false,
        }
    }
}

/// What a reader saw of one entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadMark {
    /// The entry's version when it was read.
    pub version: String,
    /// When it was read, RFC 3339.
    pub at: String,
}

/// A reader's marks, by entry key: looked up once per entry of the inbox (12,000 in the years
/// workload) on every request, so hashed rather than ordered.
pub type Marks = HashMap<String, ReadMark>;

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// New messages in a thread.
    Message,
    /// A consent request to answer.
    Consent,
    /// A draft awaiting this Party's approval.
    Approval,
    /// A draft awaiting this Party's signature.
    Signature,
    /// A meeting made or changed.
    Meeting,
    /// Stale provisions in a draft this officer edits.
    Stale,
}

/// Why an entry needs the officer: a code with its parameters; the CLI and the web app say it in
/// words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum Why {
    /// `count` messages not read (0 when listed read with `all`).
    NewMessages {
        /// How many.
        count: usize,
    },
    /// A meeting this officer has not seen yet.
    NewMeeting,
    /// A meeting changed since this officer saw it.
    MeetingChanged,
    /// A request for consent to pass `item` to `third_party`, from `requester`.
    ConsentToAnswer {
        /// The item.
        item: String,
        /// The Party asking.
        requester: String,
        /// The third party.
        third_party: String,
    },
    /// The draft is under review and this Party has not approved its current text.
    AwaitingApproval,
    /// The draft is agreed and this Party has not signed it.
    AwaitingSignature,
    /// Provisions (by label) with a stale language.
    StaleProvisions {
        /// Their labels.
        provisions: Vec<String>,
    },
}

/// One thing in the inbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// What it is.
    pub kind: EntryKind,
    /// The key its read state is kept under (`thread:ID`, `consent:REQUEST`, ...).
    pub key: String,
    /// The document (thread, meeting, draft) or, for consent, the request id.
    pub doc: String,
    /// The thread's subject, the meeting's or draft's title, or the consent request's purpose.
    pub title: String,
    /// Who made what is new.
    pub by: Option<Author>,
    /// When, RFC 3339.
    pub at: Option<String>,
    /// Why it needs the officer.
    pub why: Why,
    /// Not seen by this reader in this version.
    pub unread: bool,
    /// The version a mark stores.
    #[serde(skip)]
    pub version: String,
}

/// Unread entries by kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Threads with new messages.
    pub message: usize,
    /// Consent requests.
    pub consent: usize,
    /// Drafts to approve.
    pub approval: usize,
    /// Drafts to sign.
    pub signature: usize,
    /// Meetings made or changed.
    pub meeting: usize,
    /// Drafts with stale provisions.
    pub stale: usize,
}

impl Counts {
    fn total(&self) -> usize {
        self.message + self.consent + self.approval + self.signature + self.meeting + self.stale
    }

    fn add(&mut self, k: EntryKind) {
        let n = match k {
            EntryKind::Message => &mut self.message,
            EntryKind::Consent => &mut self.consent,
            EntryKind::Approval => &mut self.approval,
            EntryKind::Signature => &mut self.signature,
            EntryKind::Meeting => &mut self.meeting,
            EntryKind::Stale => &mut self.stale,
        };
        *n += 1;
    }
}

/// The inbox of one reader.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Inbox {
    /// How many entries are unread.
    pub unread: usize,
    /// The unread ones by kind.
    pub counts: Counts,
    /// How many entries there are in all (the page below is `offset..offset + entries.len()` of
    /// them).
    #[serde(default)]
    pub total: usize,
    /// Where the page starts.
    #[serde(default)]
    pub offset: usize,
    /// Unread first, then the newest first: one page of them (see [`Page`]).
    pub entries: Vec<Entry>,
    /// With [`Page::about`]: every entry about that document or item, wherever it falls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<Vec<Entry>>,
}

/// What the inbox is made from: the summaries the list routes show (kept at commit, see
/// `engine::summaries`), never the documents themselves, and the consent records.
#[derive(Default)]
pub struct Facts<'a> {
    /// Every thread.
    pub threads: Vec<&'a ThreadFacts>,
    /// Every meeting.
    pub meetings: Vec<&'a Meeting>,
    /// Every draft (none for a reader with no task in drafts).
    pub drafts: Vec<&'a DraftFacts>,
    /// Every consent request.
    pub consent: Vec<ConsentView>,
}

/// The inbox of `reader` over `f`: every entry with `all`, else the unread ones and the tasks
/// still waiting. Every entry is in the answer: [`build_page`] answers one page.
pub fn build(f: &Facts, reader: &Reader, marks: &Marks, all: bool) -> Inbox {
    build_page(f, reader, marks, all, &Page { offset: 0, limit: usize::MAX, about: None })
}

/// One page of the inbox of `reader` over `f` (see [`build`]); the counts and `total` count every
/// entry. Only the entries answered are made: the others are sorted and counted as borrowed
/// candidates, since an officer new to the app has 10,000 meetings unread and reads twenty.
pub fn build_page(f: &Facts, reader: &Reader, marks: &Marks, all: bool, page: &Page) -> Inbox {
    let out = candidates(f, reader, marks, all);
    // Unread first, then the newest, then by key (unique, so the order is total).
    let order = |a: &Candidate, b: &Candidate| {
        b.unread.cmp(&a.unread).then_with(|| b.at.cmp(&a.at)).then_with(|| (a.prefix, a.doc).cmp(&(b.prefix, b.doc)))
    };
    // The same order, first by each time's prefix held in one vector ([`at_prefix`]): the strings
    // behind the candidates are read only when two prefixes tie.
    let prefixes: Vec<u128> = out.iter().map(|c| at_prefix(c.at)).collect();
    let mut counts = Counts::default();
    for c in out.iter().filter(|c| c.unread) {
        counts.add(c.kind);
    }
    // Only the page's entries are sorted (`paging::window`); indices move, not candidates.
    let idx = crate::paging::window(out.len(), page.offset, page.limit, |a, b| {
        let (ca, cb) = (&out[a], &out[b]);
        cb.unread.cmp(&ca.unread).then(prefixes[b].cmp(&prefixes[a])).then_with(|| order(ca, cb))
    });
    let about = page.about.as_deref().map(|id| {
        let mut about: Vec<&Candidate> = out.iter().filter(|c| c.is_about(id)).collect();
        about.sort_unstable_by(|a, b| order(a, b));
        about.into_iter().map(Candidate::entry).collect()
    });
    Inbox {
        unread: counts.total(),
        counts,
        total: out.len(),
        offset: page.offset.min(out.len()),
        entries: idx.iter().map(|&i| out[i].entry()).collect(),
        about,
    }
}

/// An entry before it is made: what it is sorted and counted by, borrowed from the facts.
struct Candidate<'a> {
    kind: EntryKind,
    /// Its key is `prefix:doc`.
    prefix: &'static str,
    doc: &'a str,
    title: &'a str,
    by: Option<&'a Author>,
    at: Option<&'a str>,
    why: Why,
    unread: bool,
    version: Cow<'a, str>,
}

/// The first 16 bytes of a time (to the minute in RFC 3339), big-endian, zeros after a shorter
/// one: two prefixes that differ order as their strings do, and equal ones leave the order to
/// the strings. Sorting thousands of candidates by a string behind each one's pointer was a
/// cache miss or two per comparison, most of the inbox's time at 12,000 entries.
fn at_prefix(at: Option<&str>) -> u128 {
    let mut b = [0u8; 16];
    if let Some(at) = at {
        let n = at.len().min(16);
        b[..n].copy_from_slice(&at.as_bytes()[..n]);
    }
    u128::from_be_bytes(b)
}

impl Candidate<'_> {
    fn entry(&self) -> Entry {
        Entry {
            kind: self.kind,
            key: format!("{}:{}", self.prefix, self.doc),
            doc: self.doc.to_string(),
            title: self.title.to_string(),
            by: self.by.cloned(),
            at: self.at.map(str::to_string),
            why: self.why.clone(),
            unread: self.unread,
            version: self.version.to_string(),
        }
    }

    fn is_about(&self, id: &str) -> bool {
        self.doc == id || matches!(&self.why, Why::ConsentToAnswer { item, .. } if item == id)
    }
}

/// Every entry of the inbox, unsorted and not yet made.
fn candidates<'a>(f: &'a Facts<'a>, reader: &Reader, marks: &'a Marks, all: bool) -> Vec<Candidate<'a>> {
    let mut out = Vec::with_capacity(f.threads.len() + f.meetings.len());
    // One buffer for the keys the marks are looked up by, not one string per entry.
    let mut key = String::new();
    let mut seen = |prefix: &str, doc: &str| {
        key.clear();
        key.push_str(prefix);
        key.push(':');
        key.push_str(doc);
        marks.get(key.as_str()).map(|m| m.version.as_str())
    };
    for t in &f.threads {
        let total = t.messages.len();
        let read = seen("thread", &t.id).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0).min(total);
        // Messages arrive appended; a concurrent pair may sort either way, which moves neither
        // out of the count.
        let new = (read..total).filter(|&i| !reader.is(t.author(i))).count();
        let last = (read..total).rev().find(|&i| !reader.is(t.author(i))).or(total.checked_sub(1));
        if new == 0 && !all {
            continue;
        }
        out.push(Candidate {
            kind: EntryKind::Message,
            prefix: "thread",
            doc: &t.id,
            title: &t.subject,
            by: last.and_then(|i| t.author(i)),
            at: last.map(|i| t.messages[i].1.as_str()),
            why: Why::NewMessages { count: new },
            unread: new > 0,
            version: Cow::Owned(total.to_string()),
        });
    }
    for m in &f.meetings {
        let by = m.updated_by.as_ref().or(m.created_by.as_ref());
        let at = m.updated_at.as_deref().or(m.created_at.as_deref());
        let version = at.unwrap_or_default();
        let mark = seen("meeting", &m.id);
        let unread = mark != Some(version) && !reader.is(by);
        if !unread && !all {
            continue;
        }
        out.push(Candidate {
            kind: EntryKind::Meeting,
            prefix: "meeting",
            doc: &m.id,
            title: &m.title,
            by,
            at,
            why: if mark.is_none() { Why::NewMeeting } else { Why::MeetingChanged },
            unread,
            version: Cow::Borrowed(version),
        });
    }
    for c in &f.consent {
        if reader.role < Role::Liaison || !c.ours_to_answer || c.state != "pending" {
            continue;
        }
        out.push(Candidate {
            kind: EntryKind::Consent,
            prefix: "consent",
            unread: seen("consent", &c.request) != Some("pending"),
            doc: &c.request,
            title: &c.purpose,
            by: None,
            at: Some(&c.requested_at),
            why: Why::ConsentToAnswer {
                item: c.item.clone(),
                requester: c.requester.clone(),
                third_party: c.third_party.clone(),
            },
            version: Cow::Borrowed("pending"),
        });
    }
    let us = reader.party.to_string();
    for d in &f.drafts {
        if !d.parties.contains(&us) {
            continue;
        }
        let mut task = |kind: EntryKind, prefix: &'static str, why: Why, version: &'a str| {
            let unread = seen(prefix, &d.id) != Some(version);
            out.push(Candidate {
                kind,
                prefix,
                doc: &d.id,
                title: &d.title,
                by: d.updated_by.as_ref(),
                at: d.updated_at.as_deref(),
                why,
                unread,
                version: Cow::Borrowed(version),
            });
        };
        if d.state == DraftState::UnderReview && !d.approved.contains(&us) && reader.role >= Role::Member {
            task(EntryKind::Approval, "approve", Why::AwaitingApproval, &d.content_hash);
        }
        if d.state == DraftState::Agreed && !d.signed.contains(&us) && reader.role >= Role::Liaison {
            task(EntryKind::Signature, "sign", Why::AwaitingSignature, &d.content_hash);
        }
        let open = matches!(d.state, DraftState::Draft | DraftState::UnderReview);
        let edits = reader.is(d.created_by.as_ref())
            || reader.is(d.updated_by.as_ref())
            || d.stale_by.iter().any(|a| reader.is(Some(a)));
        if open && !d.stale.is_empty() && edits && reader.role >= Role::Member {
            // A new stale language, or one stale again after an edit, is new.
            let provisions = d.stale.clone();
            task(EntryKind::Stale, "stale", Why::StaleProvisions { provisions }, &d.stale_version);
        }
    }
    out
}

/// What to mark read.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// Every entry about this document (a thread, meeting or draft id, or a consent request id;
    /// a unique prefix of at least 4 characters will do).
    #[serde(default)]
    pub doc: Option<String>,
    /// Every entry.
    #[serde(default)]
    pub all: bool,
}

/// Why a mark was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MarkError {
    /// Neither `doc` nor `all`, or both.
    #[error("say what to mark read: a document id, or all")]
    NothingNamed,
    /// A prefix too short to name anything.
    #[error("{0:?} is too short: give at least 4 characters of the id")]
    TooShort(String),
}

/// The marks that mark `what` read in `inbox` (built with `all`), at `now`. A document with no
/// entry marks nothing: it has nothing to be unread about.
pub fn marks_for(inbox: &Inbox, what: &MarkRead, now: &str) -> Result<Vec<(String, ReadMark)>, MarkError> {
    let doc = match (&what.doc, what.all) {
        (Some(d), false) => {
            let d = d.trim().to_ascii_lowercase();
            if d.len() < 4 {
                return Err(MarkError::TooShort(d));
            }
            Some(d)
        }
        (None, true) => None,
        _ => return Err(MarkError::NothingNamed),
    };
    Ok(inbox
        .entries
        .iter()
        .filter(|e| doc.as_ref().is_none_or(|d| e.doc.starts_with(d.as_str())))
        .map(|e| (e.key.clone(), ReadMark { version: e.version.clone(), at: now.to_string() }))
        .collect())
}

#[cfg(test)]
mod tests;
