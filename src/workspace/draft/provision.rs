//! One provision of a draft, read alone: what the editor fetches when an event says that
//! provision changed, instead of the whole draft (every text, the records, the content hash).

use std::collections::BTreeMap;

use automerge::Automerge;
use serde::{Deserialize, Serialize};

use super::{Labels, ProvisionKind, Stale, languages, ordered_fields, stale_in, texts_in};
use crate::workspace::{Result, WorkspaceError};

/// One provision as it stands, with the draft's version it was read at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProvisionAt {
    /// The provision's id.
    pub id: String,
    /// Its kind.
    pub kind: ProvisionKind,
    /// Its label in the draft as it stands ("Article 2", "(b)", "Preamble 1").
    pub label: String,
    /// Its place among the draft's provisions, from 1.
    pub number: usize,
    /// Its text by language: every language of the draft, or the one asked for.
    pub texts: BTreeMap<String, String>,
    /// Languages marked stale, and why.
    pub stale: BTreeMap<String, Stale>,
    /// The draft's version (heads, comma-separated) the texts were read at: the base of the
    /// next splice made from them.
    pub version: String,
}

/// Reads provision `id` (its whole id) of a draft, with its text in `lang` only, or in every
/// language of the draft. Costs one pass over the provisions' order and kinds (for the label)
/// and the texts of this provision alone.
pub fn read_provision(doc: &Automerge, id: &str, lang: Option<&str>) -> Result<ProvisionAt> {
    let languages = languages(doc)?;
    if let Some(l) = lang
        && !languages.iter().any(|x| x == l)
    {
        return Err(WorkspaceError::Invalid { field: "lang", reason: format!("the draft has no language {l:?}") });
    }
    let mut labels = Labels::default();
    for (number, (pid, _, p)) in ordered_fields(doc)?.into_iter().enumerate() {
        let kind = ProvisionKind::parse(&p.str(doc, "kind")?.unwrap_or_default());
        let label = labels.next(kind);
        if pid != id {
            continue;
        }
        let texts = texts_in(doc, &p, languages.iter().filter(|l| lang.is_none_or(|x| x == l.as_str())))?;
        let stale = stale_in(doc, &p)?;
        return Ok(ProvisionAt {
            id: pid,
            kind,
            label,
            number: number + 1,
            texts,
            stale,
            version: super::version_of(doc),
        });
    }
    Err(WorkspaceError::NoSuchEntry { what: "provision", id: id.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::draft::{self, NewDraft};
    use crate::workspace::testing::ctx;

    #[test]
    fn reads_one_provision_as_the_whole_draft_shows_it() {
        let mut doc = Automerge::new();
        let new = NewDraft {
            titles: Default::default(),
            group: "g".into(),
            title: "T".into(),
            lang: "en".into(),
            text: "Preamble: recalling,\n\nArticle 1. One.\n\nArticle 2. Two.".into(),
            languages: vec![],
            parties: vec!["cica".into(), "sco-rats".into()],
        };
        draft::create(&mut doc, &ctx("ana", "cica"), &new).unwrap();
        let whole = draft::read(&doc, "d").unwrap();
        assert_eq!(whole.provisions.len(), 3);
        for (i, p) in whole.provisions.iter().enumerate() {
            let one = read_provision(&doc, &p.id, None).unwrap();
            assert_eq!((&one.label, one.number, &one.texts, &one.stale), (&p.label, i + 1, &p.texts, &p.stale));
            assert_eq!(one.version, whole.version);
        }
        let p = &whole.provisions[2];
        let en = read_provision(&doc, &p.id, Some("en")).unwrap();
        assert_eq!(en.texts.keys().collect::<Vec<_>>(), vec!["en"]);
        assert_eq!(en.label, "Article 2");
        assert!(read_provision(&doc, &p.id, Some("fr")).is_err());
        assert!(matches!(read_provision(&doc, "ffffffff", None), Err(WorkspaceError::NoSuchEntry { .. })));
    }
}
