//! Who changed what and when, from the authenticated changes: the history of a draft (with each
//! Party's record on it), a meeting, or any document. The Party and the node of each change are
//! proven by its signed head and its actor's certificate; the officer is what the change's own
//! message says, that Party's claim.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::reader::kept_texts::TextsKey;
use super::{Core, EngineError};
use crate::authorship::{self, Attribution, ChangeFacts};
use crate::ids::DocId;
use crate::workspace::history::{self, Step};
use crate::workspace::word_diff::{self, Piece};
use crate::workspace::{DocKind, party_docs};

/// Changes of one author within this many seconds of each other, writing the same places, show
/// as one entry.
const GROUP_SECONDS: i64 = 600;

/// One line of a history: one change, or a run of like changes by one officer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When the first change of the run was made (its author's clock).
    pub from: String,
    /// When the last one was made.
    pub to: String,
    /// How many changes.
    pub changes: usize,
    /// How it is known who made it: `node` (signed by the node of a Party), `genesis` (the fixed
    /// first change every node makes), `before-authentication` (sealed by a Party when it
    /// upgraded), or `unverified`.
    pub proof: String,
    /// The Party that made it, proven.
    pub party: Option<String>,
    /// The node that made it (libp2p peer id), proven.
    pub node: Option<String>,
    /// The officer, as the change says (its Party's claim).
    pub officer: Option<String>,
    /// For a change written before authentication: the Party that sealed it.
    pub sealed_by: Option<String>,
    /// Whose record it is in, when it is a Party's own document (its approval, comments ...).
    pub record_of: Option<String>,
    /// What it changed.
    pub what: Vec<String>,
    /// The provisions it concerns (drafts).
    pub provisions: Vec<String>,
    /// What it did to the texts it wrote (a provision's text in one language, a meeting's
    /// field, a message), word by word: the text before the run against the text after it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub texts: Vec<TextChange>,
}

/// One text a history entry changed, as track changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextChange {
    /// Which text: one of the entry's `what` labels ("text of p1a2 (ru)", "agenda", "message").
    pub what: String,
    /// Which one, where a label names several (a message's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Word by word, from the text before to the text after.
    pub diff: Vec<Piece>,
}

struct Row {
    step: Step,
    who: Option<Attribution>,
    record_of: Option<String>,
    /// Which of the documents read (an index into them), and its heads before and after it.
    doc: usize,
    before: Vec<automerge::ChangeHash>,
    after: Vec<automerge::ChangeHash>,
}

impl Core {
    /// The history of `id` and, for a draft or a thread, of each Party's record on it, oldest
    /// first; only what concerns `provision` if given; the newest `limit` entries.
    pub fn history(
        &mut self,
        id: DocId,
        provision: Option<&str>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, EngineError> {
        self.history_in(id, provision, None, limit)
    }

    /// [`Core::history`], each entry with what it did to the texts it wrote, word by word; with
    /// `lang`, only the provisions' texts in that language are compared.
    pub fn history_in(
        &mut self,
        id: DocId,
        provision: Option<&str>,
        lang: Option<&str>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, EngineError> {
        entries(self, id, provision, lang, limit)
    }
}

/// What a history reads: the engine's documents, or the second reader's
/// (`engine::reader`), which serves the same entries off the engine's thread.
pub(super) trait Source {
    /// The annexes of a draft or thread held here.
    fn annexes(&mut self, id: DocId) -> Result<Vec<DocId>, EngineError>;
    /// A document's kind and owner, if it is held here.
    fn kind_owner(&mut self, id: DocId) -> Result<Option<(DocKind, crate::authority::Owner)>, EngineError>;
    /// The signed heads of a document.
    fn book(&mut self, id: DocId) -> Result<authorship::HeadBook, EngineError>;
    /// Every actor certificate known.
    fn certs(&mut self) -> Result<authorship::Certs, EngineError>;
    /// A document, loaded.
    fn doc(&mut self, id: DocId) -> Result<&automerge::Automerge, EngineError>;
    /// An entry's text changes, if this source kept them ([`TextsKey`]).
    fn kept_texts(&mut self, _key: &TextsKey) -> Option<Vec<TextChange>> {
        None
    }
    /// Keeps an entry's text changes, if this source keeps them.
    fn keep_texts(&mut self, _key: TextsKey, _texts: &[TextChange]) {}
    /// Every change of a document with what it did ([`history::steps`]); a source may keep them.
    fn steps(&mut self, id: DocId, kind: DocKind) -> Result<Vec<history::Step>, EngineError> {
        Ok(history::steps(self.doc(id)?, kind))
    }
}

impl Source for Core {
    fn annexes(&mut self, id: DocId) -> Result<Vec<DocId>, EngineError> {
        self.annexes_of(id)
    }
    fn kind_owner(&mut self, id: DocId) -> Result<Option<(DocKind, crate::authority::Owner)>, EngineError> {
        Ok(self.docs.meta(id).map(|m| (m.kind, m.owner.clone())))
    }
    fn book(&mut self, id: DocId) -> Result<authorship::HeadBook, EngineError> {
        Ok(self.auth.book(&self.store, id).map_err(|e| EngineError::Store(std::sync::Arc::new(e)))?.clone())
    }
    fn certs(&mut self) -> Result<authorship::Certs, EngineError> {
        Ok(self.auth.certs.clone())
    }
    fn doc(&mut self, id: DocId) -> Result<&automerge::Automerge, EngineError> {
        Ok(&*self.docs.get(&self.store, id)?)
    }
}

/// [`Core::history_in`] over any [`Source`].
pub(super) fn entries(
    src: &mut impl Source,
    id: DocId,
    provision: Option<&str>,
    lang: Option<&str>,
    limit: usize,
) -> Result<Vec<HistoryEntry>, EngineError> {
    let certs = src.certs()?;
    let mut docs = vec![id];
    docs.extend(src.annexes(id)?);
    let mut kinds = Vec::with_capacity(docs.len());
    let mut rows = Vec::new();
    for (index, &doc) in docs.iter().enumerate() {
        let found = src.kind_owner(doc)?;
        kinds.push(found.as_ref().map(|(k, _)| *k));
        let Some((kind, owner)) = found else { continue };
        let record_of = match &owner {
            crate::authority::Owner::Party(p) => Some(p.to_string()),
            _ => None,
        };
        let book = src.book(doc)?;
        let steps = src.steps(doc, kind)?;
        let d = src.doc(doc)?;
        let genesis = party_docs::identify(doc, d).ok().and_then(|i| i.genesis);
        let heads = history::heads_after(&steps);
        let present = |h: &[u8; 32]| {
            d.get_change_meta_by_hash(&automerge::ChangeHash(*h)).map(|m| (m.actor.to_bytes().to_vec(), m.seq))
        };
        let facts: Vec<ChangeFacts> =
            steps.iter().map(|s| ChangeFacts { hash: s.hash, actor: s.actor.clone(), seq: s.seq }).collect();
        // All at once: what each actor's signatures cover is worked out once, not per change.
        let whos = authorship::attribute_each(doc, &facts, &book, &certs, genesis, &present);
        let mut before = Vec::new();
        for ((step, after), who) in steps.into_iter().zip(heads).zip(whos) {
            // The fixed first change of a Party's document is nobody's act: not history.
            if who == Some(Attribution::Genesis) {
                before = after;
                continue;
            }
            let prior = std::mem::replace(&mut before, after.clone());
            rows.push(Row { step, who, record_of: record_of.clone(), doc: index, before: prior, after });
        }
    }
    if let Some(p) = provision {
        rows.retain(|r| r.step.provisions.iter().any(|x| x == p));
    }
    // With a language: a change of texts only in other languages is not that language's history.
    if let Some(l) = lang {
        let suffix = format!(" ({l})");
        rows.retain(|r| {
            let texts: Vec<&String> = r.step.what.iter().filter(|w| w.starts_with("text of ")).collect();
            texts.is_empty() || texts.iter().any(|w| w.ends_with(&suffix))
        });
    }
    // Each document's changes come in causal order; a stable sort by time keeps it where
    // the clocks agree and interleaves the Parties' records with the text.
    rows.sort_by_key(|r| r.step.time);
    let mut out: Vec<HistoryEntry> = Vec::new();
    // Per entry: its document, the heads before its first change and after its last.
    let mut spans: Vec<(usize, Vec<automerge::ChangeHash>, Vec<automerge::ChangeHash>)> = Vec::new();
    let mut last_time = i64::MIN;
    for r in rows {
        let e = entry(&r);
        match (out.last_mut(), spans.last_mut()) {
            (Some(prev), Some(span))
                if span.0 == r.doc
                    && prev.party == e.party
                    && prev.node == e.node
                    && prev.officer == e.officer
                    && prev.proof == e.proof
                    && prev.record_of == e.record_of
                    && prev.what == e.what
                    && r.step.time - last_time <= GROUP_SECONDS =>
            {
                prev.to = e.to;
                prev.changes += 1;
                span.2 = r.after;
            }
            _ => {
                out.push(e);
                spans.push((r.doc, r.before, r.after));
            }
        }
        last_time = r.step.time;
    }
    let skip = out.len().saturating_sub(limit.max(1));
    let mut out = out.split_off(skip);
    // Only the entries shown are compared: each comparison reads its texts twice.
    for (e, (doc, before, after)) in out.iter_mut().zip(spans.into_iter().skip(skip)) {
        let Some(kind) = kinds[doc] else { continue };
        let key = TextsKey {
            doc: docs[doc],
            before,
            after,
            what: e.what.clone(),
            provision: provision.map(str::to_string),
            lang: lang.map(str::to_string),
        };
        if let Some(texts) = src.kept_texts(&key) {
            e.texts = texts;
            continue;
        }
        let d = src.doc(docs[doc])?;
        e.texts = text_changes(d, kind, &e.what, provision, lang, &key.before, &key.after);
        src.keep_texts(key, &e.texts);
    }
    Ok(out)
}

/// What a run of changes from `before` to `after` did to each text its labels name.
fn text_changes(
    d: &automerge::Automerge,
    kind: DocKind,
    what: &[String],
    provision: Option<&str>,
    lang: Option<&str>,
    before: &[automerge::ChangeHash],
    after: &[automerge::ChangeHash],
) -> Vec<TextChange> {
    let mut out = Vec::new();
    // A provision's history starts with the text it was created with.
    let mut what = what.to_vec();
    if let (DocKind::Draft, Some(p)) = (kind, provision)
        && what.iter().any(|w| w == "created")
    {
        what.extend(history::provision_text_labels_at(d, p, after));
    }
    for label in &what {
        // With a provision or a language asked for, only its texts.
        if let Some(rest) = label.strip_prefix("text of ") {
            let (p, l) = rest.strip_suffix(')').and_then(|r| r.split_once(" (")).unwrap_or((rest, ""));
            if provision.is_some_and(|x| x != p) || lang.is_some_and(|x| x != l) {
                continue;
            }
        }
        let old: std::collections::HashMap<String, String> =
            history::texts_at(d, kind, label, before).into_iter().collect();
        for (key, new) in history::texts_at(d, kind, label, after) {
            let was = old.get(&key).map(String::as_str).unwrap_or("");
            let diff = word_diff::words(was, &new);
            if word_diff::changed(&diff) {
                out.push(TextChange { what: label.clone(), key: (!key.is_empty()).then_some(key), diff });
            }
        }
    }
    out
}

fn entry(r: &Row) -> HistoryEntry {
    let at = DateTime::<Utc>::from_timestamp(r.step.time, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default();
    let (proof, party, node, sealed_by) = match &r.who {
        Some(Attribution::Node { party, node }) => ("node", Some(party.to_string()), Some(node.clone()), None),
        Some(Attribution::Genesis) => ("genesis", None, None, None),
        Some(Attribution::Legacy { sealed_by }) => ("before-authentication", None, None, Some(sealed_by.to_string())),
        None => ("unverified", None, None, None),
    };
    HistoryEntry {
        from: at.clone(),
        to: at,
        changes: 1,
        proof: proof.into(),
        party,
        node,
        officer: if proof == "genesis" { None } else { r.step.officer.clone() },
        sealed_by,
        record_of: r.record_of.clone(),
        what: r.step.what.to_vec(),
        provisions: r.step.provisions.to_vec(),
        texts: Vec::new(),
    }
}
