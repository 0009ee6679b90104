//! What of each document is searchable. Read on the reader's threads, from the store's last
//! commit (a 200-provision draft is tens of milliseconds to read, and every keystroke changes
//! it: on the engine's thread that was the keystrokes' wait); the indexing happens elsewhere.
//! An item's title needs its key, which only the engine holds: [`items`] runs there.

use std::collections::{BTreeMap, BTreeSet};

use automerge::ROOT;
use serde::{Deserialize, Serialize};

use crate::engine::{Core, EngineError, View};
use crate::ids::DocId;
use crate::workspace::draft::{self, Draft};
use crate::workspace::meeting::{self, Meeting};
use crate::workspace::{DocKind, group, util};

/// What a hit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartKind {
    /// A joint working meeting or consultation.
    Meeting,
    /// A working group.
    Group,
    /// A draft: its title, or one provision in one language.
    Draft,
    /// A thread: its subject, or one message.
    Thread,
    /// A provided item's title.
    Item,
}

impl PartKind {
    /// The name stored in the index and shown to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            PartKind::Meeting => "meeting",
            PartKind::Group => "group",
            PartKind::Draft => "draft",
            PartKind::Thread => "thread",
            PartKind::Item => "item",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<PartKind> {
        [PartKind::Meeting, PartKind::Group, PartKind::Draft, PartKind::Thread, PartKind::Item]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One searchable piece: what a hit points at.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// The document (or item) it belongs to; every part of a document is replaced together.
    pub doc: String,
    /// What it is.
    pub kind: PartKind,
    /// The document's title.
    pub title: String,
    /// Where in the document (a provision's label, a message's author).
    pub label: Option<String>,
    /// A provision's language.
    pub lang: Option<String>,
    /// A provision's or message's id.
    pub anchor: Option<String>,
    /// The words.
    pub text: String,
}

/// The searchable parts of the documents a batch of changes touched.
#[derive(Debug, Default)]
pub struct Extracted {
    /// Each document to index again, with all its parts (none: it no longer reads, or is gone).
    pub units: Vec<(String, Vec<Part>)>,
    /// The committed heads of each changed document, as the index records them.
    pub stamps: Vec<(String, String)>,
}

impl Part {
    /// The bytes of words it gives the index.
    fn bytes(&self) -> usize {
        self.title.len()
            + self.text.len()
            + self.label.as_ref().map_or(0, String::len)
            + self.anchor.as_ref().map_or(0, String::len)
    }
}

impl Extracted {
    /// These parts in groups of about `budget` bytes of words each, to be committed one after
    /// another: the index's writer queues up to 10,000 documents (each with its words three
    /// times, one per analyser) before it takes them in, and 64 long drafts are 25,000 parts.
    /// A document's parts stay together (they replace its old ones at once). A stamp goes with
    /// its document's parts; the stamps of documents with no parts of their own (an annex whose
    /// comments are its draft's) go with the last group, so that none is recorded as indexed
    /// before all the parts are in.
    pub fn split(self, budget: usize) -> Vec<Extracted> {
        let mut stamps: BTreeMap<String, String> = self.stamps.into_iter().collect();
        let mut out = vec![Extracted::default()];
        let mut bytes = 0;
        for (doc, parts) in self.units {
            let size: usize = parts.iter().map(Part::bytes).sum();
            if bytes > 0 && size > 0 && bytes + size > budget {
                out.push(Extracted::default());
                bytes = 0;
            }
            bytes += size;
            let Some(g) = out.last_mut() else { continue };
            if let Some(st) = stamps.remove(&doc) {
                g.stamps.push((doc.clone(), st));
            }
            g.units.push((doc, parts));
        }
        if let Some(g) = out.last_mut() {
            g.stamps.extend(stamps);
        }
        out
    }
}

/// The stamp of a document's version: its committed heads, sorted and joined.
pub fn stamp(heads: &[String]) -> String {
    let mut h = heads.to_vec();
    h.sort();
    h.join(",")
}

/// Every document's stamp (the kinds that hold searchable words, annexes included).
pub fn stamps(v: &mut View<'_>) -> Result<BTreeMap<String, (DocKind, String)>, EngineError> {
    Ok(v.metas()?
        .into_iter()
        .filter(|(_, m)| searchable(m.kind))
        .map(|(id, m)| (id.to_string(), stamp_of(&m)))
        .collect())
}

fn stamp_of(m: &crate::store::DocMeta) -> (DocKind, String) {
    (m.kind, stamp(&m.heads.iter().map(hex::encode).collect::<Vec<_>>()))
}

fn searchable(kind: DocKind) -> bool {
    matches!(kind, DocKind::Meeting | DocKind::Group | DocKind::Draft | DocKind::Thread | DocKind::Annex)
}

/// Reads the parts of every document `changed` touches: the document itself, or for a Party's
/// annex to a thread, the thread (its messages live in the annexes).
pub fn extract(v: &mut View<'_>, changed: &BTreeSet<String>) -> Result<Extracted, EngineError> {
    let mut out = Extracted::default();
    let mut units: BTreeMap<DocId, DocKind> = BTreeMap::new();
    for id in changed {
        let Ok(doc_id) = id.parse::<DocId>() else { continue };
        let Some((kind, st)) = v.meta(doc_id)?.filter(|m| searchable(m.kind)).map(|m| stamp_of(&m)) else { continue };
        out.stamps.push((id.clone(), st));
        match kind {
            DocKind::Annex => {
                if let Some(parent) = annex_parent(v, doc_id)
                    && v.meta(parent)?.is_some_and(|m| m.kind == DocKind::Thread)
                {
                    units.insert(parent, DocKind::Thread);
                }
            }
            k => {
                units.insert(doc_id, k);
            }
        }
    }
    for (id, kind) in units {
        let parts = parts_of(v, id, kind);
        // One document's sources at a time: a first build of thousands never holds them all.
        v.release();
        match parts {
            Ok(parts) => out.units.push((id.to_string(), parts)),
            // Left as indexed: a document that does not read is logged where it is listed.
            Err(e) => tracing::debug!(%id, error = %e, "not indexed: the document does not read"),
        }
    }
    Ok(out)
}

fn annex_parent(v: &mut View<'_>, id: DocId) -> Option<DocId> {
    let doc = v.doc(id).ok()?;
    util::get_str(doc, &ROOT, "parent").ok().flatten().and_then(|p| p.parse().ok())
}

/// The parts of one document.
pub fn parts_of(v: &mut View<'_>, id: DocId, kind: DocKind) -> Result<Vec<Part>, EngineError> {
    let sid = id.to_string();
    let part = |kind, title: &str, text: String| part(&sid, kind, title, text);
    Ok(match kind {
        DocKind::Meeting => meeting_parts(&sid, &meeting::read(v.doc(id)?, &sid)?),
        DocKind::Group => {
            let g = group::read(v.doc(id)?, &sid)?;
            let mut words = vec![g.name.clone(), g.mandate.clone()];
            words.extend(g.members.iter().map(|m| m.name.clone()));
            vec![part(PartKind::Group, &g.name, join(words))]
        }
        // The text alone: approvals and signatures hold no words to find.
        DocKind::Draft => draft_parts(&sid, &draft::read(v.doc(id)?, &sid)?),
        DocKind::Thread => {
            let t = v.read_thread(id)?;
            let mut parts = vec![part(PartKind::Thread, &t.subject, t.subject.clone())];
            for m in &t.messages {
                parts.push(Part {
                    label: m.author.as_ref().map(|a| format!("{} ({})", a.officer, a.party)),
                    anchor: Some(m.id.clone()),
                    ..part(PartKind::Thread, &t.subject, m.text.clone())
                });
            }
            parts
        }
        _ => Vec::new(),
    })
}

fn part(doc: &str, kind: PartKind, title: &str, text: String) -> Part {
    Part { doc: doc.to_string(), kind, title: title.to_string(), label: None, lang: None, anchor: None, text }
}

/// A meeting's one part: its title, venue, event, agenda, participants and minutes.
pub fn meeting_parts(id: &str, m: &Meeting) -> Vec<Part> {
    let mut words = vec![m.title.clone()];
    words.extend(m.venue.clone());
    words.extend(m.sidelines_of.clone());
    words.extend(m.agenda.iter().map(|a| a.text.clone()));
    words.extend(m.participants.iter().map(|p| p.name.clone()));
    words.push(m.minutes.clone());
    vec![part(id, PartKind::Meeting, &m.title, join(words))]
}

/// A draft's parts: its title, and each provision in each language that has text.
pub fn draft_parts(id: &str, d: &Draft) -> Vec<Part> {
    let mut parts = vec![part(id, PartKind::Draft, &d.title, d.title.clone())];
    for p in &d.provisions {
        for (lang, text) in &p.texts {
            if text.trim().is_empty() {
                continue;
            }
            parts.push(Part {
                label: Some(p.label.clone()),
                lang: Some(lang.clone()),
                anchor: Some(p.id.clone()),
                ..part(id, PartKind::Draft, &d.title, text.clone())
            });
        }
    }
    parts
}

/// The title of every item this node can read, as the item list shows them (decrypted in
/// memory here; they go to the in-memory index only).
pub fn items(core: &Core) -> Result<Vec<Part>, EngineError> {
    Ok(core
        .item_list()?
        .into_iter()
        .filter_map(|i| {
            let title = i.title?;
            Some(Part {
                doc: i.id,
                kind: PartKind::Item,
                label: Some(i.provider),
                lang: None,
                anchor: None,
                text: title.clone(),
                title,
            })
        })
        .collect())
}

fn join(words: Vec<String>) -> String {
    words.into_iter().filter(|w| !w.trim().is_empty()).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(doc: &str, words: usize) -> Part {
        Part {
            doc: doc.into(),
            kind: PartKind::Draft,
            title: String::new(),
            label: None,
            lang: None,
            anchor: None,
            text: "w".repeat(words),
        }
    }

    #[test]
    fn a_large_extract_is_split_by_its_words_with_each_stamp_after_its_parts() {
        let got = Extracted {
            units: vec![
                ("a".into(), vec![part("a", 60), part("a", 60)]),
                ("b".into(), vec![part("b", 50)]),
                ("c".into(), vec![part("c", 500)]),
                ("d".into(), Vec::new()),
            ],
            stamps: vec![("annex".into(), "s0".into()), ("a".into(), "s1".into()), ("c".into(), "s3".into())],
        };
        let groups = got.split(150);
        let docs: Vec<Vec<&str>> = groups.iter().map(|g| g.units.iter().map(|(d, _)| d.as_str()).collect()).collect();
        // `a` (120) fits; `b` would pass 150; `c` is over the budget alone, but whole; `d` has none.
        assert_eq!(docs, vec![vec!["a"], vec!["b"], vec!["c", "d"]]);
        assert_eq!(groups[0].stamps, vec![("a".to_string(), "s1".to_string())]);
        assert!(groups[1].stamps.is_empty());
        // The annex's stamp (no parts of its own) waits for the last group.
        assert_eq!(
            groups[2].stamps,
            vec![("c".to_string(), "s3".to_string()), ("annex".to_string(), "s0".to_string())]
        );
        let parts: usize = groups.iter().flat_map(|g| &g.units).map(|(_, p)| p.len()).sum();
        assert_eq!(parts, 4, "no part lost or repeated");
    }

    #[test]
    fn a_small_extract_stays_one_commit() {
        let got = Extracted { units: vec![("a".into(), vec![part("a", 10)])], stamps: vec![("a".into(), "s".into())] };
        let groups = got.split(2 << 20);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].stamps.len(), 1);
        assert!(Extracted::default().split(10).len() == 1, "stamps alone still commit once");
    }
}
