//! What each change of a document did, read from the change itself: the places it wrote (a
//! provision's text in one language, a meeting's agenda, an approval ...), so that a history can
//! say "who changed what". Who made it is proven elsewhere ([`crate::authorship`]); the officer
//! named in a change's message is its Party's claim.
//!
//! Reading every operation of a long history costs about as much as loading it, so this runs
//! on demand (a history asked for), never on the sync path.

use std::collections::{BTreeSet, HashMap};

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ActorId, Automerge};

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
    /// What it changed, as short labels ("text of a2 (ru)", "approval").
    pub what: BTreeSet<String>,
    /// The provisions it concerns, for a draft (or a Party's record on one).
    pub provisions: BTreeSet<String>,
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
    let changes = doc.get_changes(&[]);
    // Where each object sits: the path of the object a Make operation created.
    let mut paths: HashMap<(u64, ActorId), Vec<Seg>> = HashMap::new();
    let path_of = |paths: &HashMap<(u64, ActorId), Vec<Seg>>, obj: &ObjectId| -> Vec<Seg> {
        match obj {
            ObjectId::Root => Vec::new(),
            ObjectId::Id(OpId(c, a)) => paths.get(&(*c, a.clone())).cloned().unwrap_or_else(|| vec![Seg::Elem]),
        }
    };
    let mut out = Vec::with_capacity(changes.len());
    for c in &changes {
        // A change that does not decode (it could not have loaded) is shown without details.
        let Ok(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.decode())) else {
            out.push(Step {
                hash: c.hash().0,
                actor: c.actor_id().to_bytes().to_vec(),
                seq: c.seq(),
                time: c.timestamp(),
                officer: officer_of(c.message()),
                what: BTreeSet::new(),
                provisions: BTreeSet::new(),
            });
            continue;
        };
        let mut what = BTreeSet::new();
        let mut provisions = BTreeSet::new();
        for (i, op) in e.operations.iter().enumerate() {
            let mut path = path_of(&paths, &op.obj);
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
            what,
            provisions,
        });
    }
    out
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
        assert!(s[0].what.contains("created"));
        assert_eq!(s[1].officer.as_deref(), Some("ivan"));
        assert!(s[1].what.contains(&format!("text of {a2} (ru)")), "{:?}", s[1].what);
        assert!(s[1].provisions.contains(&a2));
        assert_eq!(officer_of(Some("A. Karimov (cica)")).as_deref(), Some("A. Karimov"));
    }
}
