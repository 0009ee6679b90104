//! Who changed what and when, from the authenticated changes: the history of a draft (with each
//! Party's record on it), a meeting, or any document. The Party and the node of each change are
//! proven by its signed head and its actor's certificate; the officer is what the change's own
//! message says, that Party's claim.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{Core, EngineError};
use crate::authorship::{self, Attribution, ChangeFacts};
use crate::ids::DocId;
use crate::workspace::history::{self, Step};
use crate::workspace::party_docs;

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
}

struct Row {
    step: Step,
    who: Option<Attribution>,
    record_of: Option<String>,
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
        let mut docs = vec![id];
        docs.extend(self.annexes_of(id)?);
        let mut rows = Vec::new();
        for doc in docs {
            let Some(meta) = self.docs.meta(doc) else { continue };
            let kind = meta.kind;
            let record_of = match &meta.owner {
                crate::authority::Owner::Party(p) => Some(p.to_string()),
                _ => None,
            };
            let book =
                self.auth.book(&self.store, doc).map_err(|e| EngineError::Store(std::sync::Arc::new(e)))?.clone();
            let d = self.docs.get(&self.store, doc)?;
            let genesis = party_docs::identify(doc, d).ok().and_then(|i| i.genesis);
            let steps = history::steps(d, kind);
            let present = |h: &[u8; 32]| {
                d.get_change_meta_by_hash(&automerge::ChangeHash(*h)).map(|m| (m.actor.to_bytes().to_vec(), m.seq))
            };
            for step in steps {
                let facts = [ChangeFacts { hash: step.hash, actor: step.actor.clone(), seq: step.seq }];
                let who = authorship::attribute(doc, &facts, &book, &self.auth.certs, genesis, &present)
                    .ok()
                    .and_then(|mut v| v.pop());
                // The fixed first change of a Party's document is nobody's act: not history.
                if who == Some(Attribution::Genesis) {
                    continue;
                }
                rows.push(Row { step, who, record_of: record_of.clone() });
            }
        }
        if let Some(p) = provision {
            rows.retain(|r| r.step.provisions.contains(p));
        }
        // Each document's changes come in causal order; a stable sort by time keeps it where
        // the clocks agree and interleaves the Parties' records with the text.
        rows.sort_by_key(|r| r.step.time);
        let mut out: Vec<HistoryEntry> = Vec::new();
        let mut last_time = i64::MIN;
        for r in rows {
            let e = entry(&r);
            match out.last_mut() {
                Some(prev)
                    if prev.party == e.party
                        && prev.node == e.node
                        && prev.officer == e.officer
                        && prev.proof == e.proof
                        && prev.record_of == e.record_of
                        && prev.what == e.what
                        && r.step.time - last_time <= GROUP_SECONDS =>
                {
                    prev.to = e.to;
                    prev.changes += 1;
                }
                _ => out.push(e),
            }
            last_time = r.step.time;
        }
        let skip = out.len().saturating_sub(limit.max(1));
        Ok(out.split_off(skip))
    }
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
        what: r.step.what.iter().cloned().collect(),
        provisions: r.step.provisions.iter().cloned().collect(),
    }
}
