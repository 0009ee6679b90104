//! Reading a document into its summary (and the facts the inbox keeps beside it).

use super::{DraftSummary, Entry, Facts, Summary, ThreadSummary, hex_heads};
use crate::engine::{Core, EngineError};
use crate::ids::DocId;
use crate::workspace::group;
use crate::workspace::meeting;
use crate::workspace::{Author, DocKind, draft};

/// Reads one document (and its annexes) into its summary.
pub(super) fn compute(core: &mut Core, id: DocId, kind: DocKind) -> Result<Entry, EngineError> {
    let sid = id.to_string();
    let heads_of = |core: &mut Core, d: DocId| -> Result<(DocId, Vec<[u8; 32]>), EngineError> {
        Ok((d, core.doc(d)?.get_heads().into_iter().map(|h| h.0).collect()))
    };
    let mut heads = vec![heads_of(core, id)?];
    let (summary, suggestions, facts) = match kind {
        DocKind::Meeting => of_meeting(core.doc(id)?, &sid)?,
        DocKind::Group => (Summary::Group(Box::new(group::read(core.doc(id)?, &sid)?)), vec![], None),
        DocKind::Draft => {
            for a in core.annexes_of(id)? {
                heads.push(heads_of(core, a)?);
            }
            let recs = core.draft_records(id)?;
            of_draft(&draft::read_with(core.doc(id)?, &recs, &sid)?, &recs)
        }
        DocKind::Thread => {
            for a in core.annexes_of(id)? {
                heads.push(heads_of(core, a)?);
            }
            of_thread(core.read_thread(id)?)
        }
        other => return Err(crate::workspace::WorkspaceError::Malformed(format!("a {other} has no summary")).into()),
    };
    let version = hex_heads(&heads[0].1).join(",");
    Ok(Entry { summary, version, heads, suggestions, facts, listed: Default::default(), instants: Default::default() })
}

/// A meeting's summary and its invitation's sequence.
pub(super) fn of_meeting(
    doc: &automerge::Automerge,
    id: &str,
) -> Result<(Summary, Vec<String>, Option<Facts>), EngineError> {
    let facts = Facts::Meeting { sequence: meeting::sequence(doc) };
    Ok((Summary::Meeting(Box::new(meeting::read(doc, id)?)), vec![], Some(facts)))
}

/// A draft's summary, its suggestions' ids (of any state) and the inbox's facts.
pub(super) fn of_draft(d: &draft::Draft, recs: &draft::Records) -> (Summary, Vec<String>, Option<Facts>) {
    let suggestions = recs.parties.iter().flat_map(|r| r.suggestions.iter().map(|s| s.id.clone())).collect();
    let facts = Facts::Draft(Box::new(crate::inbox::DraftFacts::from(d)));
    (Summary::Draft(Box::new(draft_summary(d))), suggestions, Some(facts))
}

/// A thread's summary and the inbox's facts.
pub(super) fn of_thread(t: crate::workspace::thread::Thread) -> (Summary, Vec<String>, Option<Facts>) {
    let facts = Facts::Thread(Box::new(crate::inbox::ThreadFacts::from(&t)));
    (Summary::Thread(Box::new(thread_summary(t))), vec![], Some(facts))
}

/// What the draft list shows of a draft.
pub fn draft_summary(d: &draft::Draft) -> DraftSummary {
    DraftSummary {
        chars: d.text.chars().count(),
        stale: draft::stale_provisions(d).len(),
        provisions: d.provisions.len(),
        id: d.id.clone(),
        group: d.group.clone(),
        title: d.title.clone(),
        titles: d.titles.clone(),
        lang: d.lang.clone(),
        languages: d.languages.clone(),
        state: d.state,
        updated_at: d.updated_at.clone(),
        suggestions_open: d.open_suggestions.len(),
        comments: d.provisions.iter().map(|p| p.comments.len()).sum(),
        versions: d.versions.len(),
    }
}

/// What the thread list shows of a thread.
pub fn thread_summary(t: crate::workspace::thread::Thread) -> ThreadSummary {
    let last = t.messages.last();
    let mut participants: Vec<Author> = Vec::new();
    for m in &t.messages {
        if let Some(a) = &m.author
            && !participants.contains(a)
        {
            participants.push(a.clone());
        }
    }
    participants.sort_by(|a, b| (&a.party, &a.officer).cmp(&(&b.party, &b.officer)));
    ThreadSummary {
        last_at: last.map(|m| m.at.clone()),
        last_by: last.and_then(|m| m.author.clone()),
        messages: t.messages.len(),
        participants,
        id: t.id,
        subject: t.subject,
        titles: t.titles,
    }
}
