//! What each change of a document did, read from the change itself: the places it wrote (a
//! provision's text in one language, a meeting's agenda, an approval ...), so that a history can
//! say "who changed what". Who made it is proven elsewhere ([`crate::authorship`]); the officer
//! named in a change's message is its Party's claim.
//!
//! Reading every operation of a long history costs about as much as loading it, so this runs
//! on demand (a history asked for), never on the sync path.

use std::collections::{BTreeSet, HashMap};

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ActorId, Automerge, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use super::DocKind;

/// One change, as a history shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The change hash.
    pub hash: [u8; 32],
    /// Its actor.
    pub actor: Vec<u8>,
    /// Its seq.
    pub seq: u64,
    /// When (Unix seconds), by its author's clock.
    pub time: i64,
    /// The officer its message names (its Party's word).
    pub officer: Option<String>,
    /// What it changed, as short labels ("text of a2 (ru)", "approval"), sorted, each once.
    /// Vectors, not sets: a reader keeps the steps of the drafts shown, and a set's node was
    /// most of a step's memory.
    pub what: Vec<String>,
    /// The provisions it concerns, for a draft (or a Party's record on one), sorted, each once.
    pub provisions: Vec<String>,
    /// The changes it depends on (to know the document's heads after each change).
    pub deps: Vec<[u8; 32]>,
}

/// The officer a change message names: `officer (party)` as [`super::change`] writes it.
pub fn officer_of(message: Option<&str>) -> Option<String> {
    let m = message?;
    if m == "genesis" {
        return None;
    }
    Some(match m.rfind(" (") {
        Some(i) if m.ends_with(')') => m[..i].to_string(),
        _ => m.to_string(),
    })
}

/// A step of a path from the root: a map key, or "an element of a list or text".
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Key(String),
    Elem,
}

/// Every change of `doc` (a document of `kind`), oldest first, with what it did.
pub fn steps(doc: &Automerge, kind: DocKind) -> Vec<Step> {
    let mut kept = KeptSteps::default();
    kept.update(doc, kind);
    kept.steps
}

/// A document's [`steps`], kept and extended by the changes made since: automerge rebuilds every
/// change from its op set for `get_changes(&[])` (100 ms of a 200-provision draft's history page,
/// at each request), but the changes since known heads cost what they are.
#[derive(Default)]
pub struct KeptSteps {
    heads: Vec<ChangeHash>,
    /// Every change, in an order [`heads_after`] can follow (causal).
    pub steps: Vec<Step>,
    /// Where each object sits: the path of the object a Make operation created.
    paths: HashMap<(u64, ActorId), Vec<Seg>>,
}

impl KeptSteps {
    /// Brings the steps up to `doc`'s heads: the changes since the heads kept, or all of them if
    /// a kept head is not in `doc` (another document, or one loaded again differently).
    pub fn update(&mut self, doc: &Automerge, kind: DocKind) {
        let now = doc.get_heads();
        if !self.steps.is_empty() && now == self.heads {
            return;
        }
        let known = !self.steps.is_empty() && self.heads.iter().all(|h| doc.get_change_meta_by_hash(h).is_some());
        if !known {
            *self = KeptSteps::default();
        }
        let changes = doc.get_changes(&self.heads);
        extend(&changes, kind, &mut self.paths, &mut self.steps);
        self.heads = now;
    }

    /// How many steps are kept (a cache's measure).
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

fn extend(
    changes: &[automerge::Change],
    kind: DocKind,
    paths: &mut HashMap<(u64, ActorId), Vec<Seg>>,
    out: &mut Vec<Step>,
) {
    let path_of = |paths: &HashMap<(u64, ActorId), Vec<Seg>>, obj: &ObjectId| -> Vec<Seg> {
        match obj {
            ObjectId::Root => Vec::new(),
            ObjectId::Id(OpId(c, a)) => paths.get(&(*c, a.clone())).cloned().unwrap_or_else(|| vec![Seg::Elem]),
        }
    };
    out.reserve(changes.len());
    for c in changes {
        // A change that does not decode (it could not have loaded) is shown without details.
        let Ok(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.decode())) else {
            out.push(Step {
                hash: c.hash().0,
                actor: c.actor_id().to_bytes().to_vec(),
                seq: c.seq(),
                time: c.timestamp(),
                officer: officer_of(c.message()),
                what: Vec::new(),
                provisions: Vec::new(),
                deps: c.deps().iter().map(|h| h.0).collect(),
            });
            continue;
        };
        let mut what = BTreeSet::new();
        let mut provisions = BTreeSet::new();
        for (i, op) in e.operations.iter().enumerate() {
            let mut path = path_of(paths, &op.obj);
            match &op.key {
                Key::Map(k) => path.push(Seg::Key(k.to_string())),
                Key::Seq(_) => path.push(Seg::Elem),
            }
            if let OpType::Make(_) = op.action {
                paths.insert((e.start_op.get() + i as u64, e.actor_id.clone()), path.clone());
            }
            // A Party's record names the provision it is about in a "provision" field.
            if let (Some(Seg::Key(k)), OpType::Put(v)) = (path.last(), &op.action)
                && k == "provision"
                && let automerge::ScalarValue::Str(p) = v
            {
                provisions.insert(p.to_string());
            }
            let (label, provision) = label(kind, &path);
            what.insert(label);
            if let Some(p) = provision {
                provisions.insert(p);
            }
        }
        // The change that made the document is its creation, whatever it wrote; "who changed it
        // last" is written with every change: say it only when nothing else was.
        if what.contains("created") {
            what = BTreeSet::from(["created".to_string()]);
        } else if what.len() > 1 {
            what.remove("touched");
        }
        out.push(Step {
            hash: e.hash.map(|h| h.0).unwrap_or(c.hash().0),
            actor: e.actor_id.to_bytes().to_vec(),
            seq: e.seq,
            time: e.time,
            officer: officer_of(e.message.as_deref()),
            what: what.into_iter().collect(),
            provisions: provisions.into_iter().collect(),
            deps: c.deps().iter().map(|h| h.0).collect(),
        });
    }
}

/// The document's heads after each of `steps` (in the order [`steps`] gives, which is causal):
/// what a reader had seen once it had applied that change and those before it.
pub fn heads_after(steps: &[Step]) -> Vec<Vec<ChangeHash>> {
    let mut heads: BTreeSet<[u8; 32]> = BTreeSet::new();
    steps
        .iter()
        .map(|s| {
            for d in &s.deps {
                heads.remove(d);
            }
            heads.insert(s.hash);
            heads.iter().map(|h| ChangeHash(*h)).collect()
        })
        .collect()
}

/// The texts a history compares for one of a change's labels (see [`steps`]), as the document
/// was at `heads`, keyed by what they are (a message by its id): a provision's text in one
/// language, a meeting's field (its agenda and participants one per line), the messages of a
/// Party's record on a thread. Empty for a label whose change is not worth a text (a stamp, an
/// approval ...). Reads only the places named, so its cost is that of those objects.
pub fn texts_at(doc: &Automerge, kind: DocKind, label: &str, heads: &[ChangeHash]) -> Vec<(String, String)> {
    let one = |v: Option<String>| vec![(String::new(), v.unwrap_or_default())];
    match kind {
        DocKind::Draft => {
            let Some((p, lang)) =
                label.strip_prefix("text of ").and_then(|r| r.strip_suffix(')')).and_then(|r| r.split_once(" ("))
            else {
                return Vec::new();
            };
            let texts = obj_at(doc, &ROOT, "provisions", heads)
                .and_then(|ps| obj_at(doc, &ps, p, heads))
                .and_then(|po| obj_at(doc, &po, "texts", heads));
            one(texts.and_then(|t| str_at(doc, &t, lang, heads)))
        }
        DocKind::Meeting | DocKind::Group => match label {
            "agenda" => one(lines_at(doc, "agenda", heads, |m| str_at(doc, m, "text", heads))),
            "participants" | "members" => one(lines_at(doc, label, heads, |m| {
                let name = str_at(doc, m, "name", heads)?;
                let party = str_at(doc, m, "party", heads).unwrap_or_default();
                Some(match str_at(doc, m, "role", heads) {
                    Some(r) if !r.is_empty() => format!("{name} ({party}, {r})"),
                    _ => format!("{name} ({party})"),
                })
            })),
            "created" | "document" | "touched" => Vec::new(),
            // A field is its key with spaces for underscores (see `label`).
            _ => one(str_at(doc, &ROOT, &label.replace(' ', "_"), heads)),
        },
        DocKind::Thread => match label {
            "subject" => one(str_at(doc, &ROOT, "subject", heads)),
            _ => Vec::new(),
        },
        DocKind::Annex if label == "message" => {
            let Some(posts) = obj_at(doc, &ROOT, "posts", heads) else { return Vec::new() };
            doc.keys_at(&posts, heads)
                .filter_map(|id| {
                    let m = obj_at(doc, &posts, &id, heads)?;
                    Some((id, str_at(doc, &m, "text", heads).unwrap_or_default()))
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The languages a provision has a text in at `heads`, as the labels of those texts
/// ("text of P (en)"): what a provision's creation wrote, for its own history.
pub fn provision_text_labels_at(doc: &Automerge, provision: &str, heads: &[ChangeHash]) -> Vec<String> {
    let texts = obj_at(doc, &ROOT, "provisions", heads)
        .and_then(|ps| obj_at(doc, &ps, provision, heads))
        .and_then(|po| obj_at(doc, &po, "texts", heads));
    texts.map(|t| doc.keys_at(&t, heads).map(|l| format!("text of {provision} ({l})")).collect()).unwrap_or_default()
}

fn obj_at(doc: &Automerge, obj: &ObjId, key: &str, heads: &[ChangeHash]) -> Option<ObjId> {
    match doc.get_at(obj, key, heads) {
        Ok(Some((Value::Object(_), id))) => Some(id),
        _ => None,
    }
}

/// A string, or a text object's text, at `heads`.
fn str_at(doc: &Automerge, obj: &ObjId, key: &str, heads: &[ChangeHash]) -> Option<String> {
    match doc.get_at(obj, key, heads).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            ScalarValue::Null => None,
            other => Some(other.to_string()),
        },
        (Value::Object(ObjType::Text), id) => doc.text_at(&id, heads).ok(),
        _ => None,
    }
}

/// A list of maps at `heads`, one line per element.
fn lines_at(
    doc: &Automerge,
    key: &str,
    heads: &[ChangeHash],
    line: impl Fn(&ObjId) -> Option<String>,
) -> Option<String> {
    let list = obj_at(doc, &ROOT, key, heads)?;
    let lines: Vec<String> = doc
        .list_range_at(&list, .., heads)
        .filter_map(|item| match item.value {
            automerge::ValueRef::Object(_) => line(&item.id()),
            _ => None,
        })
        .collect();
    Some(lines.join("\n"))
}

fn key(path: &[Seg], i: usize) -> Option<&str> {
    match path.get(i) {
        Some(Seg::Key(k)) => Some(k.as_str()),
        _ => None,
    }
}

/// A short label for a write at `path` in a document of `kind`, and the provision it concerns.
fn label(kind: DocKind, path: &[Seg]) -> (String, Option<String>) {
    let top = key(path, 0).unwrap_or("");
    match (kind, top) {
        (_, "kind" | "created_by" | "created_at") => ("created".into(), None),
        (_, "schema" | "party" | "parent") => ("document".into(), None),
        (_, "updated_by" | "updated_at") => ("touched".into(), None),
        (DocKind::Draft, "provisions") => {
            let p = key(path, 1).map(str::to_string);
            let l = match (key(path, 2), key(path, 3)) {
                (Some("texts"), Some(lang)) => format!("text of {} ({lang})", p.as_deref().unwrap_or("?")),
                (Some("stale"), _) => format!("stale marks of {}", p.as_deref().unwrap_or("?")),
                (Some("removed"), _) => format!("removed {}", p.as_deref().unwrap_or("?")),
                _ => format!("provision {}", p.as_deref().unwrap_or("?")),
            };
            (l, p)
        }
        (DocKind::Draft, "order") => ("order of provisions".into(), None),
        (DocKind::Draft, "rev") => ("revision".into(), None),
        (DocKind::Draft, "phase") => ("workflow".into(), None),
        (DocKind::Draft, "versions") => ("named version".into(), None),
        (DocKind::Draft, "approvals" | "signatures" | "suggestions") => {
            (format!("{top} (before authentication)"), None)
        }
        (DocKind::Annex, "approval") => ("approval".into(), None),
        (DocKind::Annex, "signature") => ("execution signature".into(), None),
        (DocKind::Annex, "comments") => ("comment".into(), None),
        (DocKind::Annex, "suggestions") => ("suggestion".into(), None),
        (DocKind::Annex, "decisions") => ("decision on a suggestion".into(), None),
        (DocKind::Annex, "posts") => ("message".into(), None),
        (DocKind::Registry, "officers") => {
            let l = match key(path, 2) {
                Some("ended_at" | "ended_by") => "ended an officer's assignment",
                _ => "assigned an officer",
            };
            (format!("{l} ({})", key(path, 1).unwrap_or("?")), None)
        }
        (DocKind::Mandates, "mandates") => {
            let l = match key(path, 2) {
                Some("withdrawn_at" | "withdrawn_by") => "withdrew mandate",
                Some("scope" | "amended_at") => "recorded or amended mandate",
                _ => "recorded mandate",
            };
            (format!("{l} {}", key(path, 1).unwrap_or("?")), None)
        }
        (_, "") => ("document".into(), None),
        (_, k) => (k.replace('_', " "), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::draft::{self, NewDraft};
    use crate::workspace::testing::ctx;

    /// A new draft of group "g" in English with `text`.
    fn english(text: &str) -> NewDraft {
        NewDraft {
            group: "g".into(),
            title: "T".into(),
            lang: "en".into(),
            text: text.into(),
            languages: vec![],
            parties: vec![],
            titles: Default::default(),
        }
    }

    #[test]
    fn a_drafts_history_says_which_provision_and_language_each_change_wrote() {
        let mut d = Automerge::new();
        draft::create(
            &mut d,
            &ctx("ana", "cica"),
            &NewDraft {
                titles: Default::default(),
                group: "g".into(),
                title: "T".into(),
                lang: "en".into(),
                text: "Article 1. A.\n\nArticle 2. B.".into(),
                languages: vec![],
                parties: vec![],
            },
        )
        .unwrap();
        let a2 = draft::read(&d, "").unwrap().provisions[1].id.clone();
        draft::set_provision_text(&mut d, &ctx("ivan", "sco-rats"), &a2, "ru", "Статья 2. Б.").unwrap();
        let s = steps(&d, DocKind::Draft);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].officer.as_deref(), Some("ana"));
        assert!(s[0].what.iter().any(|w| w == "created"));
        assert_eq!(s[1].officer.as_deref(), Some("ivan"));
        assert!(s[1].what.contains(&format!("text of {a2} (ru)")), "{:?}", s[1].what);
        assert!(s[1].provisions.contains(&a2));
        assert_eq!(officer_of(Some("A. Karimov (cica)")).as_deref(), Some("A. Karimov"));
    }

    #[test]
    fn kept_steps_extended_by_new_and_concurrent_changes_are_the_steps_worked_out_anew() {
        let new = english("Article 1. A.\n\nArticle 2. B.");
        let mut d = Automerge::new();
        draft::create(&mut d, &ctx("ana", "cica"), &new).unwrap();
        let mut kept = KeptSteps::default();
        kept.update(&d, DocKind::Draft);
        assert_eq!(kept.steps, steps(&d, DocKind::Draft));
        // The other Party edits a copy while this one edits too: both lines of changes meet.
        let mut other = d.fork().with_actor(automerge::ActorId::random());
        let a2 = draft::read(&d, "").unwrap().provisions[1].id.clone();
        draft::set_provision_text(&mut other, &ctx("ivan", "sco-rats"), &a2, "ru", "Статья 2. Б.").unwrap();
        draft::set_provision_text(&mut d, &ctx("ana", "cica"), &a2, "en", "Article 2. B, closely.").unwrap();
        kept.update(&d, DocKind::Draft);
        d.merge(&mut other).unwrap();
        kept.update(&d, DocKind::Draft);
        let anew = steps(&d, DocKind::Draft);
        assert_eq!(kept.len(), anew.len());
        // The same steps, each with the same labels; the order may differ only between
        // concurrent changes, and any causal order gives the same heads at the end.
        let key = |s: &Step| (s.hash, s.what.clone(), s.provisions.clone(), s.officer.clone());
        let mut a: Vec<_> = kept.steps.iter().map(key).collect();
        let mut b: Vec<_> = anew.iter().map(key).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert_eq!(heads_after(&kept.steps).last().unwrap(), &d.get_heads());
        assert!(kept.steps.iter().any(|s| s.what.contains(&format!("text of {a2} (ru)"))));
        // A document the kept heads are not in: worked out anew.
        let mut unrelated = Automerge::new();
        draft::create(&mut unrelated, &ctx("ana", "cica"), &new).unwrap();
        kept.update(&unrelated, DocKind::Draft);
        assert_eq!(kept.steps, steps(&unrelated, DocKind::Draft));
    }

    #[test]
    fn a_provisions_texts_are_read_as_they_were_after_each_change() {
        let mut d = Automerge::new();
        let new = english("Article 1. A.\n\nArticle 2. The Parties cooperate.");
        draft::create(&mut d, &ctx("ana", "cica"), &new).unwrap();
        let a2 = draft::read(&d, "").unwrap().provisions[1].id.clone();
        draft::set_provision_text(&mut d, &ctx("ivan", "sco-rats"), &a2, "ru", "Статья 2. Стороны сотрудничают.")
            .unwrap();
        draft::set_provision_text(&mut d, &ctx("ana", "cica"), &a2, "en", "Article 2. The Parties cooperate closely.")
            .unwrap();
        let s = steps(&d, DocKind::Draft);
        let heads = heads_after(&s);
        assert_eq!(heads.last().unwrap(), &d.get_heads());
        let en = format!("text of {a2} (en)");
        let ru = format!("text of {a2} (ru)");
        let at = |label: &str, i: usize| texts_at(&d, DocKind::Draft, label, &heads[i]).remove(0).1;
        assert_eq!(at(&en, 0), "Article 2. The Parties cooperate.");
        assert_eq!(at(&ru, 0), "");
        assert_eq!(at(&ru, 1), "Статья 2. Стороны сотрудничают.");
        assert_eq!(at(&en, 1), "Article 2. The Parties cooperate.");
        assert_eq!(at(&en, 2), "Article 2. The Parties cooperate closely.");
        // Before anything, nothing; a label that is no text, no text.
        assert_eq!(texts_at(&d, DocKind::Draft, &en, &[]).remove(0).1, "");
        assert!(texts_at(&d, DocKind::Draft, "touched", &heads[2]).is_empty());
    }
}
