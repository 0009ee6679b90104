//! What a committed change of a document changed, named for the pages that show it: a draft's
//! provision in one language, its title, its structure, its workflow state; a meeting's or a
//! thread's fields; a message added. `Event::DocChanged` carries it, so that a page fetches only
//! what changed (the editor one provision, a list one entry) instead of the whole document.
//!
//! It is read from the operations of the new changes, not from a diff of the document: a diff
//! (`Automerge::diff`) walks every operation of the document, which on a draft with a long
//! history costs more than the keystroke itself, while a keystroke's change holds a few
//! operations, each located by its object's path (`ReadDoc::parents`, an index lookup per
//! level). What costs more than it saves is not computed and says [`Changed::Part`] `any`:
//! a round that changed many documents (a bulk sync), or a document that took many changes at
//! once. A document new here says `created`.

use std::collections::{BTreeSet, HashMap};

use automerge::{Automerge, Change, ChangeHash, ObjId, Prop, ReadDoc};
use serde::Serialize;

use super::docs::Docs;
use crate::ids::DocId;
use crate::store::Store;
use crate::workspace::DocKind;

/// Most documents changed in one round for which changes are named; above it (a bulk sync)
/// each says `any`, and pages reload what they show, as they would have anyway.
pub const MAX_DOCS: usize = 64;
/// Most new changes of one document that are looked into.
pub const MAX_CHANGES: usize = 32;
/// Most operations of one document's new changes that are looked into.
pub const MAX_OPS: usize = 4096;

/// One thing a change changed. Serialised untagged, so the event reads
/// `"changed": [{"provision": "1a2b3c4d", "lang": "en"}, {"part": "title"}, {"field": "venue"}]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum Changed {
    /// A draft's provision: its text in `lang`, or (without `lang`) its stale marks.
    Provision {
        /// The provision's id.
        provision: String,
        /// The language whose text changed; none for the provision's other data.
        #[serde(skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
    },
    /// A part of the document as a whole.
    Part {
        /// Which.
        part: Part,
    },
    /// A top-level field of a meeting, group, thread or Party record (`venue`, `agenda` ...).
    Field {
        /// The field's key in the document.
        field: String,
    },
}

/// A part of a document, as [`Changed::Part`] names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    /// The document is new here.
    Created,
    /// Not computed (too much changed at once): anything may have changed.
    Any,
    /// A draft's title (in any language).
    Title,
    /// A draft's provisions' order, set, kinds (so their labels), or its languages.
    Structure,
    /// A draft's workflow: its phase or its Parties.
    State,
    /// Comments.
    Comments,
    /// Suggestions or decisions on them.
    Suggestions,
    /// Named versions.
    Versions,
    /// A message added to a thread (or a Party's record of it).
    MessageAdded,
}

impl Changed {
    fn part(part: Part) -> Changed {
        Changed::Part { part }
    }
}

/// What each document of a round changed, keyed by document. Called before the round's commit
/// is adopted, while each document's metadata still holds its previously committed heads and
/// the changed documents are still loaded.
pub(super) fn of_round(docs: &mut Docs, store: &Store, changed: &[DocId]) -> HashMap<DocId, Vec<Changed>> {
    let mut out = HashMap::with_capacity(changed.len());
    for id in changed {
        let before = docs.meta(*id).map(|m| (m.kind, m.heads.iter().map(|h| ChangeHash(*h)).collect::<Vec<_>>()));
        let what = match without_looking(changed.len(), before.as_ref().map(|(_, h)| h.as_slice())) {
            Some(short) => short,
            None => match before.map(|(kind, heads)| (kind, docs.changes_since(store, *id, &heads, MAX_CHANGES))) {
                Some((kind, Ok((doc, Some(changes))))) => of_changes(doc, kind, &changes),
                _ => vec![Changed::part(Part::Any)],
            },
        };
        out.insert(*id, what);
    }
    out
}

/// The answer for a document that is not looked into: `created` for one new here (no heads
/// before), `any` in a bulk round or for one not known; none when it is worth looking.
fn without_looking(round_docs: usize, before: Option<&[ChangeHash]>) -> Option<Vec<Changed>> {
    match before {
        Some([]) => Some(vec![Changed::part(Part::Created)]),
        Some(_) if round_docs <= MAX_DOCS => None,
        _ => Some(vec![Changed::part(Part::Any)]),
    }
}

/// What the changes of `doc` after `before` changed, sorted, each once.
pub fn of_doc(doc: &Automerge, kind: DocKind, before: &[ChangeHash]) -> Vec<Changed> {
    let metas = doc.get_changes_meta(before);
    if metas.len() > MAX_CHANGES {
        return vec![Changed::part(Part::Any)];
    }
    drop(metas);
    of_changes(doc, kind, &doc.get_changes(before))
}

/// What `changes` of `doc` (those after some heads) changed, sorted, each once.
fn of_changes(doc: &Automerge, kind: DocKind, changes: &[Change]) -> Vec<Changed> {
    if changes.len() > MAX_CHANGES {
        return vec![Changed::part(Part::Any)];
    }
    let mut ops = 0;
    let mut found = BTreeSet::new();
    // One path lookup per object, however many of its operations the changes hold.
    let mut paths: HashMap<String, Option<Vec<String>>> = HashMap::new();
    for change in changes {
        ops += change.len();
        if ops > MAX_OPS {
            return vec![Changed::part(Part::Any)];
        }
        for op in change.decode().operations {
            let obj = op.obj.to_string();
            let path = paths.entry(obj).or_insert_with_key(|obj| path_of(doc, obj)).clone();
            let Some(mut path) = path else {
                // An object this document no longer resolves: say so rather than guess.
                found.insert(Changed::part(Part::Any));
                continue;
            };
            let creates_entry = path.len() == 1;
            if let automerge::legacy::Key::Map(k) = &op.key {
                path.push(k.to_string());
            }
            if let Some(c) = classify(kind, &path, creates_entry) {
                found.insert(c);
            }
        }
    }
    found.into_iter().collect()
}

/// The keys from the root to the object written as "counter@actor" (`_root` for the root):
/// map keys as they are, list indexes as numbers.
fn path_of(doc: &Automerge, obj: &str) -> Option<Vec<String>> {
    // `import_obj` is the one way automerge offers from an operation's object id to the id
    // its reading functions take.
    let id: ObjId = doc.import_obj(obj).ok()?;
    if id == automerge::ROOT {
        return Some(Vec::new());
    }
    let path = doc.parents(&id).ok()?.path();
    Some(
        path.into_iter()
            .map(|(_, prop)| match prop {
                Prop::Map(k) => k,
                Prop::Seq(i) => i.to_string(),
            })
            .collect(),
    )
}

/// What writing at `path` (keys from the root) changed, or none for bookkeeping every change
/// makes (`updated_at`, `updated_by`, `rev`). `entry_op` says the operation was on the
/// collection at `path[0]` itself (an entry added or removed), not inside an entry.
fn classify(kind: DocKind, path: &[String], entry_op: bool) -> Option<Changed> {
    let top = path.first()?.as_str();
    if matches!(top, "updated_at" | "updated_by" | "rev" | "created_at" | "created_by" | "schema" | "kind") {
        return None;
    }
    if kind == DocKind::Draft {
        return Some(match top {
            "provisions" => match path.get(1) {
                None => Changed::part(Part::Structure),
                Some(pid) => match path.get(2).map(String::as_str) {
                    // A provision added, or its kind or removal: labels and order change.
                    None | Some("kind" | "removed") => Changed::part(Part::Structure),
                    Some("texts") => Changed::Provision { provision: pid.clone(), lang: path.get(3).cloned() },
                    Some("comments") => Changed::part(Part::Comments),
                    Some(_) => Changed::Provision { provision: pid.clone(), lang: None },
                },
            },
            "order" | "languages" => Changed::part(Part::Structure),
            "title" | "title_en" | "title_ru" => Changed::part(Part::Title),
            "phase" | "parties" | "approvals" | "signatures" => Changed::part(Part::State),
            "suggestions" => Changed::part(Part::Suggestions),
            "versions" => Changed::part(Part::Versions),
            other => Changed::Field { field: other.to_string() },
        });
    }
    Some(match top {
        "posts" | "messages" if entry_op => Changed::part(Part::MessageAdded),
        "comments" => Changed::part(Part::Comments),
        "suggestions" | "decisions" => Changed::part(Part::Suggestions),
        other => Changed::Field { field: other.to_string() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT};

    fn draft_doc() -> Automerge {
        let mut doc = Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "kind", "draft")?;
            tx.put(ROOT, "title", "T")?;
            let order = tx.put_object(ROOT, "order", ObjType::List)?;
            tx.insert(&order, 0, "p1")?;
            let provs = tx.put_object(ROOT, "provisions", ObjType::Map)?;
            let p = tx.put_object(&provs, "p1", ObjType::Map)?;
            tx.put(&p, "kind", "article")?;
            let texts = tx.put_object(&p, "texts", ObjType::Map)?;
            let en = tx.put_object(&texts, "en", ObjType::Text)?;
            tx.splice_text(&en, 0, 0, "Hello")?;
            let ru = tx.put_object(&texts, "ru", ObjType::Text)?;
            tx.splice_text(&ru, 0, 0, "Привет")?;
            Ok(())
        })
        .unwrap();
        doc
    }

    fn edit(doc: &mut Automerge, f: impl FnOnce(&mut automerge::transaction::Transaction<'_>)) -> Vec<ChangeHash> {
        let before = doc.get_heads();
        let mut tx = doc.transaction();
        f(&mut tx);
        tx.commit();
        before
    }

    fn obj(doc: &Automerge, path: &[&str]) -> ObjId {
        let mut o = ROOT;
        for k in path {
            o = doc.get(&o, *k).unwrap().unwrap().1;
        }
        o
    }

    #[test]
    fn a_keystroke_names_its_provision_and_language() {
        let mut doc = draft_doc();
        let ru = obj(&doc, &["provisions", "p1", "texts", "ru"]);
        let before = edit(&mut doc, |tx| {
            tx.splice_text(&ru, 6, 0, "!").unwrap();
            tx.put(ROOT, "updated_at", "now").unwrap();
        });
        assert_eq!(
            of_doc(&doc, DocKind::Draft, &before),
            vec![Changed::Provision { provision: "p1".into(), lang: Some("ru".into()) }]
        );
    }

    #[test]
    fn title_structure_and_state_are_named_not_provisions() {
        let mut doc = draft_doc();
        let order = obj(&doc, &["order"]);
        let before = edit(&mut doc, |tx| {
            tx.put(ROOT, "title_en", "New").unwrap();
            tx.put(ROOT, "phase", "under-review").unwrap();
            tx.delete(&order, 0).unwrap();
        });
        assert_eq!(
            of_doc(&doc, DocKind::Draft, &before),
            vec![Changed::part(Part::Title), Changed::part(Part::Structure), Changed::part(Part::State)]
        );
    }

    #[test]
    fn a_new_provision_is_structure() {
        let mut doc = draft_doc();
        let provs = obj(&doc, &["provisions"]);
        let before = edit(&mut doc, |tx| {
            let p = tx.put_object(&provs, "p2", ObjType::Map).unwrap();
            let texts = tx.put_object(&p, "texts", ObjType::Map).unwrap();
            tx.put_object(&texts, "en", ObjType::Text).unwrap();
        });
        let got = of_doc(&doc, DocKind::Draft, &before);
        assert!(got.contains(&Changed::part(Part::Structure)), "{got:?}");
    }

    #[test]
    fn meetings_name_their_fields_and_threads_a_message() {
        let mut doc = Automerge::new();
        let before = edit(&mut doc, |tx| {
            tx.put(ROOT, "venue", "Almaty").unwrap();
        });
        assert_eq!(of_doc(&doc, DocKind::Meeting, &before), vec![Changed::Field { field: "venue".into() }]);
        let mut annex = Automerge::new();
        edit(&mut annex, |tx| {
            tx.put_object(ROOT, "posts", ObjType::Map).unwrap();
        });
        let posts = obj(&annex, &["posts"]);
        let before = edit(&mut annex, |tx| {
            let m = tx.put_object(&posts, "m1", ObjType::Map).unwrap();
            tx.put(&m, "text", "hi").unwrap();
        });
        let got = of_doc(&annex, DocKind::Annex, &before);
        assert!(got.contains(&Changed::part(Part::MessageAdded)), "{got:?}");
    }

    #[test]
    fn new_documents_and_bulk_rounds_are_not_looked_into() {
        let heads = draft_doc().get_heads();
        assert_eq!(without_looking(1, Some(&[])), Some(vec![Changed::part(Part::Created)]));
        assert_eq!(without_looking(MAX_DOCS, Some(&heads)), None);
        assert_eq!(without_looking(MAX_DOCS + 1, Some(&heads)), Some(vec![Changed::part(Part::Any)]));
        assert_eq!(without_looking(1, None), Some(vec![Changed::part(Part::Any)]));
    }

    #[test]
    fn many_changes_at_once_say_any() {
        let mut doc = draft_doc();
        let en = obj(&doc, &["provisions", "p1", "texts", "en"]);
        let before = doc.get_heads();
        for i in 0..=MAX_CHANGES {
            edit(&mut doc, |tx| {
                tx.splice_text(&en, i, 0, "x").unwrap();
            });
        }
        assert_eq!(of_doc(&doc, DocKind::Draft, &before), vec![Changed::part(Part::Any)]);
    }

    #[test]
    fn serialised_as_the_event_carries_it() {
        let v = vec![
            Changed::Provision { provision: "p1".into(), lang: Some("en".into()) },
            Changed::Provision { provision: "p1".into(), lang: None },
            Changed::part(Part::MessageAdded),
            Changed::Field { field: "venue".into() },
        ];
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"[{"provision":"p1","lang":"en"},{"provision":"p1"},{"part":"message-added"},{"field":"venue"}]"#
        );
    }
}
